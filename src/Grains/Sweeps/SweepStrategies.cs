using LayerChop.Engine.Chopping;

namespace LayerChop.Grains.Sweeps;

/// <summary>The strategy names a sweep accepts: the paper's placements, an explicit layer list, and the
/// data-driven strategies, which rank layers by a measurement on the base model before removing K.</summary>
public static class SweepStrategies
{
    public const string LayersPrefix = "layers:";

    public static IReadOnlyList<string> Placements => ChopStrategy.PlacementNames;

    public static readonly IReadOnlyList<string> DataDriven = ["block-influence", "angular", "perplexity", "iterative"];

    /// <summary>Every strategy spelled by name (everything but layers:i,j,...).</summary>
    public static readonly IReadOnlyList<string> Named = [.. ChopStrategy.PlacementNames, .. DataDriven];

    public static bool IsExplicit(string strategy) => strategy.StartsWith(LayersPrefix, StringComparison.Ordinal);

    /// <summary>For messages: every accepted form.</summary>
    public static string Describe() =>
        string.Join(", ", ChopStrategy.PlacementNames.Append("layers:i,j,...").Concat(DataDriven));
}
