using LayerChop.Specs;
using LayerChop.Worker;
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
    /// <summary>When its worker started work (its own record); until the worker says so, when the lease was granted.</summary>
    [Id(1)] public DateTime StartedUtc { get; init; }
    /// <summary>
    /// When its worker stopped: the process's exit as its silo saw it, or, for a worker lost with its silo, the
    /// last time it was heard from (corrected to the worker's own stop record when the next attempt finds one).
    /// </summary>
    [Id(2)] public DateTime? EndedUtc { get; init; }
    /// <summary>The silo that ran it (its address or host name).</summary>
    [Id(3)] public string Silo { get; init; } = "";
    [Id(4)] public AttemptOutcome Outcome { get; init; }
    /// <summary>Why it ended other than by success: the worker's one-line error, exit code or signal.</summary>
    [Id(5)] public string? Reason { get; init; }
    /// <summary>The worker slot it ran in on that silo (the GPU index on a GPU silo).</summary>
    [Id(6)] public int Slot { get; init; }
    /// <summary>The worker's process id on its host, once it started.</summary>
    [Id(7)] public int? Pid { get; init; }
    /// <summary>The last time the worker was heard from (an event reached the candidate).</summary>
    [Id(8)] public DateTime? LastSeenUtc { get; init; }
    /// <summary>What kind of failure the worker reported, when it failed and said so.</summary>
    [Id(9)] public FailureKind? Failure { get; init; }
}

/// <summary>Live progress of a running candidate, reported by its worker and persisted at each checkpoint.</summary>
[GenerateSerializer, Alias("layerchop.candidate-progress")]
[Immutable]
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

/// <summary>
/// Everything known about one candidate. The candidate grain owns it and alone writes it; the sweep keeps a
/// <see cref="CandidateSummary"/> derived from it.
/// </summary>
[GenerateSerializer, Alias("layerchop.candidate-state")]
public sealed record CandidateState
{
    [Id(0)] public string Sweep { get; init; } = "";
    [Id(1)] public CandidateConfig Config { get; init; } = new();
    [Id(2)] public CandidateStatus Status { get; init; }
    [Id(3)] public CandidateProgress? Progress { get; init; }
    /// <summary>Every attempt ever started, numbered 1, 2, ... without gaps; a retry adds to them.</summary>
    [Id(4)] public IReadOnlyList<AttemptRecord> Attempts { get; init; } = [];
    /// <summary>Set once Completed.</summary>
    [Id(5)] public CandidateResult? Result { get; init; }
    /// <summary>The last attempt's failure, one line.</summary>
    [Id(6)] public string? Error { get; init; }
    [Id(7)] public DateTime UpdatedUtc { get; init; }
    /// <summary>Grows by one with every change the grain makes, so that a reader keeps the newest of two copies.</summary>
    [Id(8)] public long Revision { get; init; }
    /// <summary>Failed attempts allowed, from <see cref="FailuresCountFrom"/> on (the sweep's max_attempts).</summary>
    [Id(9)] public int MaxAttempts { get; init; } = 3;
    /// <summary>Attempts before this index do not count against <see cref="MaxAttempts"/> (a retry moves it).</summary>
    [Id(10)] public int FailuresCountFrom { get; init; }
    /// <summary>Healing loss by step, thinned to a bounded number of points (see <see cref="LossCurve"/>).</summary>
    [Id(11)] public LossCurve Loss { get; init; } = new();
    /// <summary>Every status change, in order, with its time.</summary>
    [Id(12)] public IReadOnlyList<StatusChange> Changes { get; init; } = [];

    public string Id => Config.Id;

    /// <summary>The attempt that runs now: the last one, when it has not ended.</summary>
    public AttemptRecord? Running => Attempts.Count > 0 && Attempts[^1].Outcome == AttemptOutcome.Running ? Attempts[^1] : null;

    /// <summary>Failed attempts that count against <see cref="MaxAttempts"/>.</summary>
    public int Failures => Attempts.Skip(FailuresCountFrom).Count(a => a.Outcome == AttemptOutcome.Failed);

    public CandidateSummary Summarize() => new()
    {
        Config = Config, Status = Status, Revision = Revision, Attempts = Attempts.Count,
        Running = Running is { } r ? new SlotRef { Silo = r.Silo, Slot = r.Slot } : null,
        RunningAttempt = Running?.Number ?? 0, Progress = Progress, Error = Error, Result = Result, UpdatedUtc = UpdatedUtc,
    };
}

/// <summary>
/// A training loss curve with at most <see cref="Capacity"/> points: when full, every other point is dropped and
/// only every 2nd, 4th, ... step is kept from then on, so a curve of any length keeps its shape in bounded space.
/// </summary>
[GenerateSerializer, Alias("layerchop.loss-curve")]
[Immutable]
public sealed record LossCurve
{
    public const int Capacity = 512;

    [Id(0)] public IReadOnlyList<long> Steps { get; init; } = [];
    [Id(1)] public IReadOnlyList<double> Losses { get; init; } = [];
    /// <summary>Only steps that are multiples of this are kept.</summary>
    [Id(2)] public long Stride { get; init; } = 1;
    /// <summary>Training throughput at each kept step (NaN where unknown).</summary>
    [Id(3)] public IReadOnlyList<double> TokensPerS { get; init; } = [];

    /// <summary>The curve with this step added (points at or after it, from an interrupted attempt, are replaced).</summary>
    public LossCurve Add(long step, double loss, double tokensPerS = double.NaN)
    {
        if (step % Stride != 0) return this;
        int keep = 0;
        while (keep < Steps.Count && Steps[keep] < step) keep++;
        var speeds = TokensPerS.Count == Steps.Count ? TokensPerS : Steps.Select(_ => double.NaN).ToList();
        var steps = Steps.Take(keep).Append(step).ToList();
        var losses = Losses.Take(keep).Append(loss).ToList();
        var rates = speeds.Take(keep).Append(tokensPerS).ToList();
        long stride = Stride;
        while (steps.Count > Capacity)
        {
            stride *= 2;
            var kept = Enumerable.Range(0, steps.Count).Where(i => steps[i] % stride == 0).ToList();
            steps = kept.Select(i => steps[i]).ToList();
            losses = kept.Select(i => losses[i]).ToList();
            rates = kept.Select(i => rates[i]).ToList();
        }
        return new LossCurve { Steps = steps, Losses = losses, Stride = stride, TokensPerS = rates };
    }
}

/// <summary>One move of a candidate's status.</summary>
[GenerateSerializer, Alias("layerchop.status-change")]
[Immutable]
public sealed record StatusChange
{
    [Id(0)] public CandidateStatus Status { get; init; }
    [Id(1)] public DateTime Utc { get; init; }
}

/// <summary>A worker slot of a silo: the silo's address (<c>SiloAddress.ToParsableString()</c>) and the slot's index.</summary>
[GenerateSerializer, Alias("layerchop.slot-ref")]
[Immutable]
public sealed record SlotRef
{
    [Id(0)] public string Silo { get; init; } = "";
    [Id(1)] public int Slot { get; init; }
    /// <summary>The slot's memory in bytes when it asks for work: only a candidate whose planned peak fits is handed
    /// to it. Null where not known (a silo of an earlier release, a device nvidia-smi did not list): any candidate fits.</summary>
    [Id(2)] public long? MemoryBytes { get; init; }

    public override string ToString() => $"{Silo} slot {Slot}";
}

/// <summary>
/// The right to run one attempt of one candidate in one slot. Whatever the worker of an attempt reports is
/// accepted only while that attempt is the candidate's live one; a newer lease fences every older one.
/// </summary>
[GenerateSerializer, Alias("layerchop.lease")]
public sealed record Lease
{
    [Id(0)] public string Sweep { get; init; } = "";
    [Id(1)] public string Candidate { get; init; } = "";
    [Id(2)] public int Attempt { get; init; }
    [Id(3)] public SlotRef Slot { get; init; } = new();

    /// <summary>The candidate grain's key.</summary>
    public string Key => SweepKeys.Candidate(Sweep, Candidate);

    public override string ToString() => $"{Key} attempt {Attempt}";
}

/// <summary>What a silo's supervisor gets when it asks a sweep for work: the lease and what the job is built from.</summary>
[GenerateSerializer, Alias("layerchop.work-order")]
public sealed record WorkOrder
{
    [Id(0)] public Lease Lease { get; init; } = new();
    [Id(1)] public SweepSpec Spec { get; init; } = new();
    [Id(2)] public CandidateConfig Config { get; init; } = new();
}

/// <summary>How an attempt's worker process ended, as its supervisor saw it.</summary>
[GenerateSerializer, Alias("layerchop.attempt-end")]
public sealed record AttemptEnd
{
    [Id(0)] public AttemptOutcome Outcome { get; init; }
    /// <summary>One line: the worker's failure message, its named exit reason, or a signal.</summary>
    [Id(1)] public string? Reason { get; init; }
    /// <summary>Set when <see cref="Outcome"/> is Succeeded.</summary>
    [Id(2)] public CandidateResult? Result { get; init; }
    /// <summary>A failure no further attempt can fix (bad input, or out of memory with these settings): the candidate fails at once.</summary>
    [Id(3)] public bool Permanent { get; init; }
    /// <summary>When the worker process exited, as its silo saw it; null when no process ran.</summary>
    [Id(4)] public DateTime? WorkerEndedUtc { get; init; }
    /// <summary>What kind of failure the worker reported; null when it reported none.</summary>
    [Id(5)] public FailureKind? Failure { get; init; }

    /// <summary>
    /// The end of an attempt whose worker reported <paramref name="failure"/>. Bad input and running out of memory
    /// are permanent: another attempt with the same inputs and settings would fail the same way.
    /// </summary>
    public static AttemptEnd Of(FailureEvent failure) => new()
    {
        Outcome = AttemptOutcome.Failed, Reason = failure.Message, Failure = failure.Kind,
        Permanent = failure.Kind is FailureKind.BadInput or FailureKind.OutOfMemory,
    };
}

/// <summary>What the candidate grain answers to a worker's report.</summary>
[GenerateSerializer, Alias("layerchop.report-verdict")]
public enum ReportVerdict
{
    /// <summary>Applied: the attempt is the live one.</summary>
    Accepted = 0,
    /// <summary>Refused: a newer attempt exists, or this one was ended (cancelled, or its silo declared dead). Stop the worker.</summary>
    Stale = 1,
}

/// <summary>What a sweep keeps of one candidate: enough for status, queue, front and report, and no attempt history.</summary>
[GenerateSerializer, Alias("layerchop.candidate-summary")]
[Immutable]
public sealed record CandidateSummary
{
    [Id(0)] public CandidateConfig Config { get; init; } = new();
    [Id(1)] public CandidateStatus Status { get; init; }
    /// <summary>The candidate state's revision this summary was made from.</summary>
    [Id(2)] public long Revision { get; init; }
    /// <summary>Attempts started so far.</summary>
    [Id(3)] public int Attempts { get; init; }
    /// <summary>The slot of the attempt that runs now; null when none runs.</summary>
    [Id(4)] public SlotRef? Running { get; init; }
    [Id(5)] public CandidateProgress? Progress { get; init; }
    [Id(6)] public string? Error { get; init; }
    [Id(7)] public CandidateResult? Result { get; init; }
    [Id(8)] public DateTime UpdatedUtc { get; init; }
    /// <summary>The number of the attempt that runs now; 0 when none runs.</summary>
    [Id(9)] public int RunningAttempt { get; init; }

    public string Id => Config.Id;

    /// <summary>A candidate that has never run and has no stored state.</summary>
    public static CandidateSummary New(CandidateConfig config) => new() { Config = config, Status = CandidateStatus.Pending };
}
