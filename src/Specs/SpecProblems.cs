namespace LayerChop.Specs;

/// <summary>
/// The problems found in one spec, each reported once: a field that already has a problem (or whose parent or
/// child has one) gets no second, so a value of the wrong type is not also reported as empty or out of range.
/// </summary>
internal sealed class SpecProblems(IReadOnlyDictionary<string, int>? lines = null)
{
    readonly List<SpecProblem> items = [];
    // Fields whose problem is already told under another name (a misspelt key names the field it was meant to be).
    readonly List<string> covered = [];

    public IReadOnlyList<SpecProblem> Items => items;

    public bool Any => items.Count > 0;

    /// <summary><paramref name="message"/> names the field itself, as the user will read it.</summary>
    public void Add(string field, string message)
    {
        if (Has(field)) return;
        items.Add(new SpecProblem(field, LineOf(field), message));
    }

    /// <summary>Reports nothing for <paramref name="field"/> or within it from now on.</summary>
    public void Cover(string field) => covered.Add(field);

    public bool Has(string field) => items.Any(p => Related(p.Field, field)) || covered.Any(c => Related(c, field));

    public void ThrowIfAny(string source)
    {
        if (items.Count > 0) throw new SweepSpecException(source, items.ToList());
    }

    static bool Related(string a, string b) => a == b || Within(a, b) || Within(b, a);

    static bool Within(string inner, string outer) =>
        outer.Length > 0 && inner.Length > outer.Length && inner.StartsWith(outer, StringComparison.Ordinal)
        && inner[outer.Length] is '.' or '[';

    // The line of the field, or of the nearest enclosing one that the file has (a missing field's parent).
    int? LineOf(string field)
    {
        if (lines is null) return null;
        while (true)
        {
            if (lines.TryGetValue(field, out int line)) return line;
            int cut = Math.Max(field.LastIndexOf('.'), field.LastIndexOf('['));
            if (cut <= 0) return lines.TryGetValue("", out int root) ? root : null;
            field = field[..cut];
        }
    }
}
