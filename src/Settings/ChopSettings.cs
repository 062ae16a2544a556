using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json.Serialization;

namespace LayerChop.Settings;

/// <summary>
/// Which layers a chop removes: a placement of K layers, an explicit list, or a criterion that measures the model
/// and removes the K it finds least important. <see cref="TryParse"/> is the one reader of the strategy text that
/// the command line and sweep specs write; <see cref="Strategy"/> writes it back.
/// </summary>
[GenerateSerializer, Alias("layerchop.chop")]
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(PlacementChop), "placement")]
[JsonDerivedType(typeof(LayerListChop), "layers")]
[JsonDerivedType(typeof(CriterionChop), "criterion")]
public abstract record ChopSettings
{
    public const string LayersPrefix = "layers:";

    /// <summary>The paper's placements, each defined for any K (see the engine's Placement).</summary>
    public static readonly IReadOnlyList<string> Placements = ["input", "output", "middle", "both", "max-gap"];

    /// <summary>The data-driven criteria, which measure the model on a calibration set.</summary>
    public static readonly IReadOnlyList<string> Criteria = ["block-influence", "angular", "perplexity", "iterative"];

    /// <summary>Every strategy spelled by name (all but layers:i,j,...).</summary>
    public static IReadOnlyList<string> Names => [.. Placements, .. Criteria];

    /// <summary>For messages: every accepted form.</summary>
    public static string DescribeForms() => string.Join(", ", Placements.Append(LayersPrefix + "i,j,...").Concat(Criteria));

    /// <summary>The strategy as written: "max-gap", "layers:1,3", "angular".</summary>
    [JsonIgnore] public string Strategy => Text();

    protected abstract string Text();

    public sealed override string ToString() => Strategy;

    public static bool IsLayerList(string strategy) => strategy.Trim().StartsWith(LayersPrefix, StringComparison.Ordinal);

    /// <summary>
    /// Reads a strategy: a placement or criterion name, which needs <paramref name="remove"/> (K), or
    /// "layers:i,j,...", which says itself how many layers go and so takes no K. A list comes back sorted.
    /// </summary>
    /// <param name="error">one line naming what is wrong, when it does not parse.</param>
    public static bool TryParse(string strategy, int? remove, [NotNullWhen(true)] out ChopSettings? chop, [NotNullWhen(false)] out string? error)
    {
        var text = strategy.Trim();
        chop = null;
        error = null;
        if (IsLayerList(text))
        {
            if (remove is not null)
                error = $"--remove does not go with '{LayersPrefix}i,j,...': the list already says which layers to remove";
            else if (ReadLayers(text, out var layers, out error))
                chop = new LayerListChop { Layers = layers };
        }
        else if (!Names.Contains(text))
            error = $"unknown strategy '{text}'; use one of {string.Join(", ", Names)} or {LayersPrefix}i,j,...";
        else if (remove is not { } k)
            error = $"strategy '{text}' needs --remove K, the number of layers to remove";
        else
            chop = Criteria.Contains(text) ? new CriterionChop { Criterion = text, Remove = k } : new PlacementChop { Placement = text, Remove = k };
        return chop is not null;
    }

    static bool ReadLayers(string text, out IReadOnlyList<int> layers, [NotNullWhen(false)] out string? error)
    {
        var indices = new List<int>();
        layers = indices;
        foreach (var part in text[LayersPrefix.Length..].Split(',', StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int i))
            {
                error = $"strategy '{text}': '{part}' is not a layer index; write {LayersPrefix}1,2,5";
                return false;
            }
            if (indices.Contains(i))
            {
                error = $"strategy '{text}': layer {i} is listed twice";
                return false;
            }
            indices.Add(i);
        }
        indices.Sort();
        error = null;
        return true;
    }
}

/// <summary>One of the paper's placements of <see cref="Remove"/> layers.</summary>
[GenerateSerializer, Alias("layerchop.chop-placement")]
public sealed record PlacementChop : ChopSettings
{
    /// <summary>One of <see cref="ChopSettings.Placements"/>.</summary>
    [Id(0)] public required string Placement { get; init; }
    [Id(1)] public required int Remove { get; init; }

    protected override string Text() => Placement;
}

/// <summary>Exactly these layers, sorted and distinct; the first and last may be listed on purpose.</summary>
[GenerateSerializer, Alias("layerchop.chop-layers")]
public sealed record LayerListChop : ChopSettings
{
    [Id(0)] public required IReadOnlyList<int> Layers { get; init; }

    protected override string Text() => LayersPrefix + string.Join(",", Layers.Select(i => i.ToString(CultureInfo.InvariantCulture)));

    public bool Equals(LayerListChop? other) => other is not null && Layers.SequenceEqual(other.Layers);

    public override int GetHashCode() => Strategy.GetHashCode(StringComparison.Ordinal);
}

/// <summary>The <see cref="Remove"/> layers a criterion measures as least important on calibration text.</summary>
[GenerateSerializer, Alias("layerchop.chop-criterion")]
public sealed record CriterionChop : ChopSettings
{
    /// <summary>One of <see cref="ChopSettings.Criteria"/>.</summary>
    [Id(0)] public required string Criterion { get; init; }
    [Id(1)] public required int Remove { get; init; }

    protected override string Text() => Criterion;
}
