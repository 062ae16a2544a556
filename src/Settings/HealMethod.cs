namespace LayerChop.Settings;

/// <summary>How a chopped model is healed. Its names (<see cref="HealMethods.Name"/>) are what specs, ids, reports and
/// outputs write.</summary>
public enum HealMethod
{
    /// <summary>Continued pretraining on the healing corpus (the paper's method).</summary>
    Pretrain,
    /// <summary>Distillation from the unchopped model (the paper's baseline).</summary>
    Distill,
    /// <summary>Continued pretraining of low-rank adapters on the frozen chopped model (see <see cref="LoraSettings"/>);
    /// the healed model is written with the adapters merged into its weights.</summary>
    Lora,
}

/// <summary>The one owner of the heal methods' names, as <see cref="ChopSettings"/> owns the strategies'.</summary>
public static class HealMethods
{
    /// <summary>What a spec that names no heal method gets.</summary>
    public const HealMethod Default = HealMethod.Pretrain;

    public static IReadOnlyList<string> Names { get; } = Enum.GetValues<HealMethod>().Select(Name).ToArray();

    public static string Name(HealMethod method) => Words.Of(method);

    public static bool TryParse(string name, out HealMethod method)
    {
        foreach (var value in Enum.GetValues<HealMethod>())
            if (Name(value) == name) { method = value; return true; }
        method = Default;
        return false;
    }

    /// <exception cref="FormatException">not one of <see cref="Names"/> (a spec's methods are checked when it is read).</exception>
    public static HealMethod Parse(string name) =>
        TryParse(name, out var method) ? method : throw new FormatException($"heal method '{name}' is not one of {string.Join(", ", Names)}");

    /// <summary>Whether a candidate's heal method text names <paramref name="method"/>.</summary>
    public static bool Is(string name, HealMethod method) => name == Name(method);
}

/// <summary>How every output writes an enum value (a status, an outcome, a stage, a heal method): "completed", "pretrain".</summary>
public static class Words
{
    public static string Of(Enum value) => value.ToString().ToLowerInvariant();
}
