namespace LayerChop.Interfaces;

/// <summary>How one attempt at a candidate ended. Numeric values are persisted: append, never renumber.</summary>
[GenerateSerializer, Alias("layerchop.attempt-outcome")]
public enum AttemptOutcome
{
    /// <summary>Still going (no end time yet).</summary>
    Running = 0,
    Succeeded = 1,
    /// <summary>The worker reported an error or died (native crash, out of memory).</summary>
    Failed = 2,
    /// <summary>The silo or the host went away; the work resumes from its last checkpoint.</summary>
    Interrupted = 3,
    Cancelled = 4,
}

/// <summary>One start of a candidate's worker, kept so a user can see why a candidate needed several.</summary>
[GenerateSerializer, Alias("layerchop.attempt-record")]
public sealed record AttemptRecord
{
    /// <summary>1 for the first attempt.</summary>
    [Id(0)] public int Number { get; init; }
    [Id(1)] public DateTime StartedUtc { get; init; }
    [Id(2)] public DateTime? EndedUtc { get; init; }
    /// <summary>The silo that ran it (its address or host name).</summary>
    [Id(3)] public string Silo { get; init; } = "";
    [Id(4)] public AttemptOutcome Outcome { get; init; }
    /// <summary>Why it ended other than by success: the worker's one-line error, exit code or signal.</summary>
    [Id(5)] public string? Reason { get; init; }
    /// <summary>The worker slot it ran in on that silo (the GPU index on a GPU silo).</summary>
    [Id(6)] public int Slot { get; init; }
}

/// <summary>Live progress of a running candidate, reported by its worker and persisted at each checkpoint.</summary>
[GenerateSerializer, Alias("layerchop.candidate-progress")]
public sealed record CandidateProgress
{
    [Id(0)] public CandidateStatus Stage { get; init; }
    /// <summary>Steps done in this stage (optimizer steps while healing, documents while evaluating).</summary>
    [Id(1)] public long Step { get; init; }
    [Id(2)] public long TotalSteps { get; init; }
    /// <summary>Training loss of the last step; null outside healing.</summary>
    [Id(3)] public double? Loss { get; init; }
    [Id(4)] public double? TokensPerS { get; init; }
    [Id(5)] public DateTime UpdatedUtc { get; init; }
}

/// <summary>What a completed candidate measured.</summary>
[GenerateSerializer, Alias("layerchop.candidate-result")]
public sealed record CandidateResult
{
    /// <summary>Every parameter, counted from the stored tensors.</summary>
    [Id(0)] public long Params { get; init; }
    /// <summary>Without the token embedding and the untied output projection.</summary>
    [Id(1)] public long NonEmbeddingParams { get; init; }
    [Id(2)] public long BytesOnDisk { get; init; }
    /// <summary>Time per generated token on the candidate's device (see <see cref="LatencySpec"/>).</summary>
    [Id(3)] public double LatencyMsPerToken { get; init; }
    /// <summary>Each task's paper metric (acc_norm or acc, as a fraction), by task name.</summary>
    [Id(4)] public IReadOnlyDictionary<string, double> Scores { get; init; } = new Dictionary<string, double>();
    /// <summary>The mean of <see cref="Scores"/>: the accuracy axis of the Pareto front.</summary>
    [Id(5)] public double Average { get; init; }
    /// <summary>Perplexity of the spec's held-out text; null when the spec names none.</summary>
    [Id(6)] public double? Perplexity { get; init; }
    /// <summary>Validation loss on the healing corpus's held-out documents; null when nothing was healed.</summary>
    [Id(7)] public double? HeldoutLoss { get; init; }
    /// <summary>Per-layer importance of the base model, when a data-driven strategy computed it.</summary>
    [Id(8)] public IReadOnlyList<double>? Importance { get; init; }
    /// <summary>Standard error of each task's score (NaN where undefined), by task name.</summary>
    [Id(9)] public IReadOnlyDictionary<string, double> ScoreStderrs { get; init; } = new Dictionary<string, double>();
    /// <summary>Questions each task's score was measured on, by task name.</summary>
    [Id(10)] public IReadOnlyDictionary<string, int> ScoreCounts { get; init; } = new Dictionary<string, int>();
    /// <summary>How <see cref="LatencyMsPerToken"/> (the median) was measured and how much it spread.</summary>
    [Id(11)] public LatencyConditions? Latency { get; init; }

    /// <summary>
    /// Standard error of <see cref="Average"/>: the tasks' errors combined as for a mean of independent
    /// estimates, sqrt(sum se^2) / tasks; NaN when a task has none.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public double AverageStderr => Scores.Count == 0 ? double.NaN
        : Math.Sqrt(Scores.Keys.Sum(t => ScoreStderrs.TryGetValue(t, out var se) ? se * se : double.NaN)) / Scores.Count;

    /// <summary>The fewest questions any task was scored on (0 when unknown).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public int Questions => ScoreCounts.Count == 0 ? 0 : ScoreCounts.Values.Min();
}

/// <summary>The conditions and spread of a latency figure, shared by every candidate of one architecture.</summary>
[GenerateSerializer, Alias("layerchop.latency-conditions")]
public sealed record LatencyConditions
{
    [Id(0)] public double P10MsPerToken { get; init; }
    [Id(1)] public double P90MsPerToken { get; init; }
    /// <summary>Timed runs after one warm-up run.</summary>
    [Id(2)] public int Runs { get; init; }
    /// <summary>The architecture the figure belongs to (layers, sizes and a hash of every other shape field).</summary>
    [Id(3)] public string Shape { get; init; } = "";
    /// <summary>The hardware: CPU model and threads, or GPU name.</summary>
    [Id(4)] public string Device { get; init; } = "";
    /// <summary>No other LayerChop worker computed on the host meanwhile (CPU), or timed on the model's own GPU.</summary>
    [Id(5)] public bool Exclusive { get; init; }
}

/// <summary>Everything known about one candidate: what the candidate grain holds and the sweep grain mirrors.</summary>
[GenerateSerializer, Alias("layerchop.candidate-state")]
public sealed record CandidateState
{
    [Id(0)] public string Sweep { get; init; } = "";
    [Id(1)] public CandidateConfig Config { get; init; } = new();
    [Id(2)] public CandidateStatus Status { get; init; }
    [Id(3)] public CandidateProgress? Progress { get; init; }
    [Id(4)] public IReadOnlyList<AttemptRecord> Attempts { get; init; } = [];
    /// <summary>Set once Completed.</summary>
    [Id(5)] public CandidateResult? Result { get; init; }
    /// <summary>The last attempt's failure, one line.</summary>
    [Id(6)] public string? Error { get; init; }
    [Id(7)] public DateTime UpdatedUtc { get; init; }

    public string Id => Config.Id;
}
