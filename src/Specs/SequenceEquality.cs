namespace LayerChop.Specs;

/// <summary>
/// Value equality for the list members of contract records: the compiler's record equality compares lists by
/// reference, and two specs read from the same file must compare equal.
/// </summary>
internal static class SequenceEquality
{
    public static bool Equal<T>(IReadOnlyList<T>? a, IReadOnlyList<T>? b)
    {
        if (ReferenceEquals(a, b)) return true;
        if (a is null || b is null || a.Count != b.Count) return false;
        var comparer = EqualityComparer<T>.Default;
        for (int i = 0; i < a.Count; i++)
            if (!comparer.Equals(a[i], b[i])) return false;
        return true;
    }

    public static int Hash<T>(IReadOnlyList<T>? list)
    {
        if (list is null) return 0;
        var hash = new HashCode();
        foreach (var item in list) hash.Add(item);
        return hash.ToHashCode();
    }
}
