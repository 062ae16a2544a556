using LayerChop.Settings;

namespace LayerChop.Worker;

/// <summary>
/// One candidate of a sweep, self-contained: what to chop, how to heal, how to evaluate, and the folder its
/// work lives in. A worker process receives it as JSON and can be restarted on it at any time.
/// </summary>
public sealed record CandidateJob
{
    /// <summary>The job file format: snake_case JSON, shared by the silo that writes it and the worker that reads it.</summary>
    public static System.Text.Json.JsonSerializerOptions FileFormat => JsonFormat.Indented;

    public required string Id { get; init; }
    /// <summary>The sweep the candidate belongs to: its folder's work is never reused by another sweep (see
    /// <see cref="CandidateInputs"/>). Empty for a job run by hand.</summary>
    public string Sweep { get; init; } = "";
    /// <summary>
    /// The attempt this job runs (1, 2, ...): every event the worker writes carries it, and the worker publishes
    /// files in its folder only while no newer attempt has claimed the folder (see <see cref="AttemptFence"/>).
    /// 0 for a job run by hand, which claims nothing and is fenced by no one.
    /// </summary>
    public int Attempt { get; init; }
    /// <summary>The silo and slot that run it ("SILO#SLOT"), written into the folder's worker log; null when run by hand.</summary>
    public string? Where { get; init; }
    public required string BaseModel { get; init; }
    /// <summary>The candidate's own folder on storage every host sees: chopped model, healing run, results.</summary>
    public required string WorkDir { get; init; }
    /// <summary>The layers to remove; null for the unchopped baseline.</summary>
    public ChopSettings? Chop { get; init; }
    public long HealTokens { get; init; }
    public HealMethod HealMethod { get; init; } = HealMethods.Default;
    public long Seed { get; init; } = CandidateSeed.Default;
    public IReadOnlyList<string> Data { get; init; } = [];
    public string TextField { get; init; } = TextCorpus.DefaultField;
    public TrainSettings Train { get; init; } = new();
    /// <summary>The sweep's adapters, read when <see cref="HealMethod"/> is lora.</summary>
    public LoraSettings Lora { get; init; } = new();
    public EvalSettings Eval { get; init; } = new();
    public LatencySettings Latency { get; init; } = new();
    public string Device { get; init; } = "cpu";
    /// <summary>Text for data-driven strategies' calibration (default: the first healing corpus path).</summary>
    public string? Calibration { get; init; }
    public int CalibrationSequences { get; init; } = Engine.Chopping.Importance.CalibrationSet.DefaultSequences;
    public int CalibrationLength { get; init; } = Engine.Chopping.Importance.CalibrationSet.DefaultLength;
    /// <summary>The sweep's latency book (see <see cref="LatencyBook"/>): one figure per shape and device, shared by its candidates.</summary>
    public string? LatencyDir { get; init; }
    /// <summary>What to keep of the candidate's folder once it completes.</summary>
    public Retention Retention { get; init; } = Retention.Final;
}

/// <summary>What a finished candidate measured. Sizes are counted from the stored tensors.</summary>
public sealed record CandidateOutcome
{
    public required string Id { get; init; }
    public required IReadOnlyList<int> Removed { get; init; }
    public required long Params { get; init; }
    public required long NonEmbeddingParams { get; init; }
    public required long BytesOnDisk { get; init; }
    /// <summary>The figure of the candidate's shape and device, shared with every candidate of that shape.</summary>
    public required LatencyFigure Latency { get; init; }
    public required IReadOnlyDictionary<string, double> TaskScores { get; init; }   // each task's paper metric
    /// <summary>Standard error of each task's paper metric (null where undefined: fewer than 2 questions).</summary>
    public IReadOnlyDictionary<string, double?> TaskStderrs { get; init; } = new Dictionary<string, double?>();
    /// <summary>Questions each task was scored on.</summary>
    public IReadOnlyDictionary<string, int> TaskCounts { get; init; } = new Dictionary<string, int>();
    public double? Average { get; init; }
    public double? Perplexity { get; init; }
    public double? HealFinalLoss { get; init; }
    public double? HealValLoss { get; init; }
    public long HealSteps { get; init; }
    /// <summary>A data-driven strategy's per-layer (or per-block) scores; lower = more removable.</summary>
    public IReadOnlyList<double?>? ImportanceScores { get; init; }
}
