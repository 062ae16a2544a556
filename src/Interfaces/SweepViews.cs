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
    /// <summary>What the submission did besides adding candidates, in one line (a cancelled sweep resumed); null when nothing.</summary>
    [Id(4)] public string? Note { get; init; }

    public static SubmitResult Rejected(string error) => new() { Accepted = false, Error = error };
}

/// <summary>A sweep at one moment: counts by status and candidate summaries (all, or those changed since a revision).</summary>
[GenerateSerializer, Alias("layerchop.sweep-status")]
[Immutable]
public sealed record SweepStatus
{
    [Id(0)] public string Name { get; init; } = "";
    [Id(1)] public DateTime SubmittedUtc { get; init; }
    /// <summary>The candidates asked for, in grid order: all of them, or those changed after the revision given.</summary>
    [Id(2)] public IReadOnlyList<CandidateSummary> Candidates { get; init; } = [];
    /// <summary>Candidates by status, over the whole sweep.</summary>
    [Id(3)] public IReadOnlyDictionary<CandidateStatus, int> Counts { get; init; } = new Dictionary<CandidateStatus, int>();
    /// <summary>The sweep's revision: ask again with it to get only what changed since.</summary>
    [Id(4)] public long Revision { get; init; }
    /// <summary>Candidates whose worker runs now (their status may still be Pending while it starts).</summary>
    [Id(5)] public int Running { get; init; }
    /// <summary>Cancelled as a whole: nothing more starts until a retry.</summary>
    [Id(6)] public bool Cancelled { get; init; }
    /// <summary>
    /// The coordinator's activation that numbered <see cref="Revision"/>: revisions of different epochs do not
    /// compare (a new activation numbers afresh), so a reader whose epoch changed asks for everything again.
    /// </summary>
    [Id(7)] public string Epoch { get; init; } = "";

    public int Total => Counts.Values.Sum();

    public int Count(CandidateStatus status) => Counts.TryGetValue(status, out int n) ? n : 0;

    /// <summary>Nothing left to run: every candidate Completed, Failed or Cancelled.</summary>
    public bool IsFinished => Counts.Where(c => !CandidateTransitions.IsFinished(c.Key)).All(c => c.Value == 0);
}

/// <summary>The answer to <see cref="ISweepGrain.Cancel"/>.</summary>
[GenerateSerializer, Alias("layerchop.cancel-result")]
public sealed record CancelResult
{
    /// <summary>Queued candidates now Cancelled.</summary>
    [Id(0)] public IReadOnlyList<string> Queued { get; init; } = [];
    /// <summary>Running candidates now Cancelled, whose workers were told to stop.</summary>
    [Id(1)] public IReadOnlyList<string> Stopped { get; init; } = [];
    /// <summary>Candidates that had finished before (left as they were).</summary>
    [Id(2)] public int AlreadyFinished { get; init; }
}

/// <summary>The two Pareto fronts of a sweep, each ordered by its cost (ascending).</summary>
[GenerateSerializer, Alias("layerchop.sweep-front")]
[Immutable]
public sealed record SweepFront
{
    /// <summary>Not dominated on (parameters, average accuracy).</summary>
    [Id(0)] public IReadOnlyList<FrontPoint> ByParams { get; init; } = [];
    /// <summary>Not dominated on (latency per token, average accuracy).</summary>
    [Id(1)] public IReadOnlyList<FrontPoint> ByLatency { get; init; } = [];
}
