
namespace LayerChop.Worker;

/// <summary>What a completed candidate measured.</summary>
[GenerateSerializer, Alias("layerchop.candidate-result")]
[Immutable]
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
    public double AverageStderr => LayerChop.Settings.StandardErrors.OfMean([.. Scores.Keys.Select(t => ScoreStderrs.GetValueOrDefault(t, double.NaN))]);
}

/// <summary>The conditions and spread of a latency figure, shared by every candidate of one architecture.</summary>
[GenerateSerializer, Alias("layerchop.latency-conditions")]
[Immutable]
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

