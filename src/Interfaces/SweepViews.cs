namespace LayerChop.Interfaces;

/// <summary>The answer to <see cref="ISweepGrain.Submit"/>. A rejected spec is an answer, not an exception, so
/// the client prints <see cref="Error"/> as it is.</summary>
[GenerateSerializer, Alias("layerchop.submit-result")]
public sealed record SubmitResult
{
    [Id(0)] public bool Accepted { get; init; }
    /// <summary>Why the spec was rejected (one line naming the field); null when accepted.</summary>
    [Id(1)] public string? Error { get; init; }
    /// <summary>Every candidate of the sweep, in grid order.</summary>
    [Id(2)] public IReadOnlyList<string> Candidates { get; init; } = [];
    /// <summary>The candidates this submission created; empty when the same spec is submitted again.</summary>
    [Id(3)] public IReadOnlyList<string> Added { get; init; } = [];

    public static SubmitResult Rejected(string error) => new() { Accepted = false, Error = error };
}

/// <summary>A sweep at one moment: every candidate's state.</summary>
[GenerateSerializer, Alias("layerchop.sweep-status")]
public sealed record SweepStatus
{
    [Id(0)] public string Name { get; init; } = "";
    [Id(1)] public DateTime SubmittedUtc { get; init; }
    [Id(2)] public IReadOnlyList<CandidateState> Candidates { get; init; } = [];

    public int Count(CandidateStatus status) => Candidates.Count(c => c.Status == status);

    /// <summary>Nothing left to run: every candidate Completed, Failed or Cancelled.</summary>
    public bool IsFinished => Candidates.All(c => CandidateTransitions.IsFinished(c.Status));
}

/// <summary>The two Pareto fronts of a sweep, each ordered by its cost (ascending).</summary>
[GenerateSerializer, Alias("layerchop.sweep-front")]
public sealed record SweepFront
{
    /// <summary>Not dominated on (parameters, average accuracy).</summary>
    [Id(0)] public IReadOnlyList<FrontPoint> ByParams { get; init; } = [];
    /// <summary>Not dominated on (latency per token, average accuracy).</summary>
    [Id(1)] public IReadOnlyList<FrontPoint> ByLatency { get; init; } = [];
}
