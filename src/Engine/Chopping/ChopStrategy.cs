using LayerChop.Engine.Chopping.Importance;
using LayerChop.Settings;

namespace LayerChop.Engine.Chopping;

/// <summary>
/// Which layers to remove. The paper's fixed placements are defined exactly, so results are comparable
/// across runs and with published numbers; every placement keeps the first and last layer. Data-driven
/// criteria (<see cref="DataDrivenStrategy"/>) parse from the same names and choose their layers from a
/// calibration set instead.
/// </summary>
public abstract record ChopStrategy
{
    public static IReadOnlyList<string> PlacementNames => ChopSettings.Placements;

    /// <summary>The sorted, distinct layer indices to remove from a model of <paramref name="layers"/> layers.</summary>
    public abstract IReadOnlyList<int> LayersToRemove(int layers);

    public abstract string Name { get; }

    /// <summary>Every name <see cref="Parse"/> accepts besides "layers:i,j,...": placements, then data-driven criteria.</summary>
    public static IReadOnlyList<string> Names => ChopSettings.Names;

    /// <summary>Reads a strategy as the command line writes it (see <see cref="ChopSettings.TryParse"/>).</summary>
    /// <exception cref="LayerChopException">it does not parse; the message says why.</exception>
    public static ChopSettings ParseSettings(string text, int? remove) =>
        ChopSettings.TryParse(text, remove, out var chop, out var error) ? chop : throw new LayerChopException(error);

    /// <summary>
    /// Parses "input", "output", "middle", "both", "max-gap", "block-influence", "angular", "perplexity",
    /// "iterative" (each with --remove K) or "layers:i,j,...". <paramref name="allowEnds"/> lets a data-driven
    /// criterion remove the first or last layer; placements are defined without them and layers: names them itself.
    /// </summary>
    public static ChopStrategy Parse(string text, int? remove, bool allowEnds = false)
    {
        if (allowEnds && !ChopSettings.Criteria.Contains(text.Trim()))
            throw new LayerChopException($"--allow-ends only applies to {string.Join(", ", ChopSettings.Criteria)}; placements always keep the first and last layer, and layers:i,j,... may list them itself");
        return From(ParseSettings(text, remove), allowEnds);
    }

    /// <summary>The strategy that carries out <paramref name="chop"/>.</summary>
    public static ChopStrategy From(ChopSettings chop, bool allowEnds = false) => chop switch
    {
        PlacementChop p => new Placement(p.Placement, p.Remove),
        LayerListChop l => new ExplicitLayers(l.Layers),
        CriterionChop c => DataDrivenStrategy.Create(c.Criterion, c.Remove, allowEnds),
        _ => throw new ArgumentException($"no strategy for {chop.GetType().Name}", nameof(chop)),
    };
}

/// <summary>One of the paper's placements of K removed layers.</summary>
public sealed record Placement(string Kind, int Remove) : ChopStrategy
{
    public override string Name => Kind;

    public override IReadOnlyList<int> LayersToRemove(int layers)
    {
        int l = layers, k = Remove;
        if (k < 1 || k > l - 2)
            throw new LayerChopException(l < 3
                ? $"a model of {l} layers cannot be chopped: the first and last layer are always kept"
                : $"cannot remove {k} of {l} layers: the first and last layer are always kept, so K must be between 1 and {l - 2}");
        IEnumerable<int> removed = Kind switch
        {
            "input" => Enumerable.Range(1, k),                                  // 1..K
            "output" => Enumerable.Range(l - 1 - k, k),                          // L-1-K .. L-2
            "middle" => Enumerable.Range((l - k) / 2, k),                        // block from floor((L-K)/2)
            "both" => Enumerable.Range(1, (k + 1) / 2)                           // ceil(K/2) from 1
                          .Concat(Enumerable.Range(l - 1 - k / 2, k / 2)),       // floor(K/2) ending at L-2
            "max-gap" => Enumerable.Range(0, k)                                  // evenly spread over 1..L-2
                          .Select(i => 1 + (int)((2L * i + 1) * (l - 2) / (2L * k))),
            _ => throw new LayerChopException($"unknown placement '{Kind}'"),
        };
        var list = removed.ToList();
        if (list.Distinct().Count() != k || list.Min() < 1 || list.Max() > l - 2)
            throw new InvalidOperationException($"placement {Kind} K={k} L={l} produced an invalid set [{string.Join(",", list)}]");
        list.Sort();
        return list;
    }
}

/// <summary>Exactly the listed layers; the first and last may be listed on purpose.</summary>
public sealed record ExplicitLayers(IReadOnlyList<int> Layers) : ChopStrategy
{
    public override string Name => ChopSettings.LayersPrefix + string.Join(",", Layers);

    public override IReadOnlyList<int> LayersToRemove(int layers)
    {
        if (Layers.Count == 0)
            throw new LayerChopException("layers: needs at least one layer index");
        foreach (int i in Layers)
            if (i < 0 || i >= layers)
                throw new LayerChopException($"layer {i} does not exist: the model has layers 0..{layers - 1}");
        if (Layers.Distinct().Count() != Layers.Count)
            throw new LayerChopException($"layers {Name[ChopSettings.LayersPrefix.Length..]}: a layer is listed twice");
        if (Layers.Count >= layers)
            throw new LayerChopException($"cannot remove all {layers} layers: at least one must stay");
        return Layers.Order().ToList();
    }
}
