using LayerChop.Specs;
using LayerChop.Worker;
namespace LayerChop.Interfaces;

/// <summary>One completed candidate as the Pareto fronts see it: size and latency (lower is better) against
/// average accuracy (higher is better).</summary>
[GenerateSerializer, Alias("layerchop.front-point")]
[Immutable]
public sealed record FrontPoint
{
    [Id(0)] public string CandidateId { get; init; } = "";
    [Id(1)] public CandidateConfig Config { get; init; } = new();
    [Id(2)] public long Params { get; init; }
    [Id(3)] public double LatencyMsPerToken { get; init; }
    [Id(4)] public double Average { get; init; }
    /// <summary>Standard error of <see cref="Average"/> (see <see cref="CandidateResult.AverageStderr"/>); NaN where unknown.</summary>
    [Id(5)] public double AverageStderr { get; init; } = double.NaN;

    public static FrontPoint Of(CandidateConfig config, CandidateResult result) => new()
    {
        CandidateId = config.Id,
        Config = config,
        Params = result.Params,
        LatencyMsPerToken = result.LatencyMsPerToken,
        Average = result.Average,
        AverageStderr = result.AverageStderr,
    };
}
