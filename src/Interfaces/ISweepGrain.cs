namespace LayerChop.Interfaces;

/// <summary>
/// The coordinator of one sweep, keyed by the sweep's name: it validates and expands the spec, starts a
/// candidate grain per configuration, mirrors their states and keeps the Pareto fronts. Every query is answered
/// from memory; none waits for work.
/// </summary>
[Alias("layerchop.sweep-grain")]
public interface ISweepGrain : IGrainWithStringKey
{
    /// <summary>
    /// Starts the sweep, or, for a sweep that exists, accepts the same spec again (nothing changes) or one whose
    /// grid only grew (the new candidates are added; existing ones keep their ids and work). A spec that changes
    /// anything else is rejected.
    /// </summary>
    [Alias("submit")] Task<SubmitResult> Submit(SweepSpec spec);

    /// <summary>Null when no spec was ever submitted under this name.</summary>
    [Alias("status"), Orleans.Concurrency.AlwaysInterleave] Task<SweepStatus?> GetStatus();

    [Alias("front"), Orleans.Concurrency.AlwaysInterleave] Task<SweepFront> GetFront();

    /// <summary>Every candidate's state, results included where completed, in grid order.</summary>
    [Alias("results"), Orleans.Concurrency.AlwaysInterleave] Task<IReadOnlyList<CandidateState>> GetResults();

    /// <summary>Cancels every candidate that has not finished.</summary>
    [Alias("cancel")] Task Cancel();

    /// <summary>Puts failed and cancelled candidates back to Pending with fresh attempts; returns their ids.</summary>
    [Alias("retry")] Task<IReadOnlyList<string>> Retry();

    /// <summary>Wakes the coordinator: an unfinished sweep carries on from its persisted state (a silo's startup
    /// task calls it for every sweep, so that a restarted cluster resumes with nobody acting).</summary>
    [Alias("resume"), Orleans.Concurrency.AlwaysInterleave] Task Resume();

    /// <summary>A candidate grain reports a change of status, progress or result.</summary>
    // One-way: a candidate reports and goes on. Awaiting the coordinator here would deadlock whenever the
    // coordinator is itself waiting on that candidate (starting or looking after it).
    [Alias("candidate-changed"), Orleans.Concurrency.OneWay] Task CandidateChanged(CandidateState state);

    // Reads interleave with the coordinator's own work: a query never waits behind it, and a candidate that
    // asks for the spec while the coordinator is calling it does not deadlock.
    /// <summary>The accepted spec, or null before any submit.</summary>
    [Alias("spec"), Orleans.Concurrency.AlwaysInterleave] Task<SweepSpec?> GetSpec();
}

/// <summary>
/// The names of the cluster's unfinished sweeps (key 0), so that a starting silo wakes those and only those:
/// a sweep is added when submitted or retried and removed once every candidate has finished.
/// </summary>
[Alias("layerchop.sweep-index-grain")]
public interface ISweepIndexGrain : IGrainWithIntegerKey
{
    [Alias("add")] Task Add(string sweep);

    [Alias("remove")] Task Remove(string sweep);

    [Alias("names"), Orleans.Concurrency.AlwaysInterleave] Task<IReadOnlyList<string>> GetNames();
}
