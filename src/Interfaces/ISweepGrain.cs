using LayerChop.Specs;
namespace LayerChop.Interfaces;

/// <summary>
/// The coordinator of one sweep, keyed by the sweep's name: it validates and expands the spec, owns the queue of
/// candidates waiting for a slot, cancellation and the Pareto fronts, and keeps a summary of each candidate,
/// fed by the candidate grains. Supervisors pull work from it (<see cref="TakeNext"/>). Queries answer from
/// memory and never wait for work.
/// </summary>
[Alias("layerchop.sweep-grain")]
public interface ISweepGrain : IGrainWithStringKey
{
    /// <summary>
    /// Starts the sweep, or, for a sweep that exists, accepts the same spec again (nothing changes), one whose
    /// grid only grew (the new candidates are added) or whose max_attempts rose (failed candidates with attempts
    /// left are queued again). A spec that changes anything else is rejected, naming the field.
    /// </summary>
    [Alias("submit")] Task<SubmitResult> Submit(SweepSpec spec);

    /// <summary>
    /// Counts by status, and the summaries of the candidates that changed after <paramref name="sinceRevision"/>
    /// (all of them for 0), in grid order; null when no spec was ever submitted under this name.
    /// </summary>
    [Alias("summary"), Orleans.Concurrency.AlwaysInterleave] Task<SweepStatus?> GetStatus(long sinceRevision = 0);

    [Alias("front"), Orleans.Concurrency.AlwaysInterleave] Task<SweepFront> GetFront();

    /// <summary>Every candidate's summary, results included where completed, in grid order.</summary>
    [Alias("results"), Orleans.Concurrency.AlwaysInterleave] Task<IReadOnlyList<CandidateSummary>> GetResults();

    /// <summary>Cancels every unfinished candidate: queued ones at once, running ones by stopping their workers.</summary>
    [Alias("cancel")] Task<CancelResult> Cancel();

    /// <summary>Puts failed and cancelled candidates back in the queue with fresh attempts; returns their ids.</summary>
    [Alias("retry")] Task<IReadOnlyList<string>> Retry();

    /// <summary>Wakes the coordinator: an unfinished sweep carries on from its persisted state (a silo's startup
    /// task calls it for every sweep, so that a restarted cluster resumes with nobody acting).</summary>
    [Alias("resume"), Orleans.Concurrency.AlwaysInterleave] Task Resume();

    /// <summary>
    /// A free slot asks for work: the next queued candidate whose planned peak fits the slot's memory
    /// (<see cref="SlotRef.MemoryBytes"/>) begins an attempt there and the order says what to run; a larger one stays
    /// queued for a larger slot. Null when nothing queued fits (or the sweep is cancelled).
    /// </summary>
    [Alias("take-next")] Task<WorkOrder?> TakeNext(SlotRef slot);

    /// <summary>A candidate grain's new summary. Interleaves: it only updates memory, so it can never deadlock
    /// with a call of this grain that waits on that candidate.</summary>
    [Alias("changed"), Orleans.Concurrency.AlwaysInterleave] Task Changed(CandidateSummary summary);

    /// <summary>The accepted spec, or null before any submit.</summary>
    [Alias("spec"), Orleans.Concurrency.AlwaysInterleave] Task<SweepSpec?> GetSpec();
}

/// <summary>
/// Every sweep of the cluster (key 0), and which are unfinished, so that a starting silo wakes those and only
/// those, supervisors know where to ask for work, and `sweep list` can list them all.
/// </summary>
[Alias("layerchop.sweep-index-grain")]
public interface ISweepIndexGrain : IGrainWithIntegerKey
{
    /// <summary>Records the sweep, as unfinished.</summary>
    [Alias("add")] Task Add(string sweep);

    /// <summary>The sweep has finished: it stays listed but is no longer woken.</summary>
    [Alias("remove")] Task Remove(string sweep);

    /// <summary>The unfinished sweeps.</summary>
    [Alias("names"), Orleans.Concurrency.AlwaysInterleave] Task<IReadOnlyList<string>> GetNames();

    /// <summary>Every sweep ever submitted, in the order they were first submitted.</summary>
    [Alias("all"), Orleans.Concurrency.AlwaysInterleave] Task<IReadOnlyList<string>> GetAll();
}
