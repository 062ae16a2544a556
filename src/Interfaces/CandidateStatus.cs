using LayerChop.Worker;
namespace LayerChop.Interfaces;

/// <summary>Where a candidate is in its life. Numeric values are persisted: append, never renumber.</summary>
[GenerateSerializer, Alias("layerchop.candidate-status")]
public enum CandidateStatus
{
    /// <summary>Waiting for a slot, for its first attempt or for the next one after an interrupted attempt.</summary>
    Pending = 0,
    /// <summary>Loading the base model, warming up the optimizer, removing layers.</summary>
    Chopping = 1,
    /// <summary>Continued pretraining or distillation.</summary>
    Healing = 2,
    /// <summary>Zero-shot tasks, perplexity, size and latency.</summary>
    Evaluating = 3,
    Completed = 4,
    /// <summary>Out of attempts, or a problem that another attempt cannot fix.</summary>
    Failed = 5,
    Cancelled = 6,
}

/// <summary>
/// The one place that says which status changes are allowed; grains check every change here, so a late or
/// duplicated message (a progress report after a cancel, a second completion) cannot move a candidate back.
/// </summary>
public static class CandidateTransitions
{
    // Work moves forward only: Chopping -> Healing -> Evaluating, and healing or chopping may be skipped when
    // there is nothing to heal or a resumed attempt finds that stage's output already on disk. Any running stage
    // may drop back to Pending (the attempt was interrupted and will be retried), fail or be cancelled. Failed
    // and Cancelled go back to Pending only through an explicit retry; Completed is final.
    static readonly Dictionary<CandidateStatus, CandidateStatus[]> Allowed = new()
    {
        [CandidateStatus.Pending] = [CandidateStatus.Chopping, CandidateStatus.Healing, CandidateStatus.Evaluating, CandidateStatus.Failed, CandidateStatus.Cancelled],
        [CandidateStatus.Chopping] = [CandidateStatus.Healing, CandidateStatus.Evaluating, CandidateStatus.Pending, CandidateStatus.Failed, CandidateStatus.Cancelled],
        [CandidateStatus.Healing] = [CandidateStatus.Evaluating, CandidateStatus.Pending, CandidateStatus.Failed, CandidateStatus.Cancelled],
        [CandidateStatus.Evaluating] = [CandidateStatus.Completed, CandidateStatus.Pending, CandidateStatus.Failed, CandidateStatus.Cancelled],
        [CandidateStatus.Completed] = [],
        [CandidateStatus.Failed] = [CandidateStatus.Pending],
        [CandidateStatus.Cancelled] = [CandidateStatus.Pending],
    };

    /// <summary>Whether a candidate in <paramref name="from"/> may move to <paramref name="to"/> (never to itself).</summary>
    public static bool CanMove(CandidateStatus from, CandidateStatus to) =>
        Allowed.TryGetValue(from, out var targets) && targets.Contains(to);

    /// <summary>The statuses reachable from <paramref name="from"/> in one move.</summary>
    public static IReadOnlyList<CandidateStatus> From(CandidateStatus from) =>
        Allowed.TryGetValue(from, out var targets) ? targets : [];

    /// <summary>Completed, Failed or Cancelled: nothing runs and nothing will without a retry.</summary>
    public static bool IsFinished(CandidateStatus status) =>
        status is CandidateStatus.Completed or CandidateStatus.Failed or CandidateStatus.Cancelled;

    /// <summary>The status that a worker's stage means: measuring is the end of evaluation.</summary>
    public static CandidateStatus Of(WorkerStage stage) => stage switch
    {
        WorkerStage.Chopping => CandidateStatus.Chopping,
        WorkerStage.Healing => CandidateStatus.Healing,
        WorkerStage.Evaluating or WorkerStage.Measuring => CandidateStatus.Evaluating,
        _ => throw new ArgumentOutOfRangeException(nameof(stage), stage, "not a worker stage"),
    };

    /// <summary>Chopping, Healing or Evaluating: a worker holds a slot for it.</summary>
    public static bool IsRunning(CandidateStatus status) =>
        status is CandidateStatus.Chopping or CandidateStatus.Healing or CandidateStatus.Evaluating;
}
