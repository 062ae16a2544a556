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
    [Alias("status")] Task<SweepStatus?> GetStatus();

    [Alias("front")] Task<SweepFront> GetFront();

    /// <summary>Every candidate's state, results included where completed, in grid order.</summary>
    [Alias("results")] Task<IReadOnlyList<CandidateState>> GetResults();

    /// <summary>Cancels every candidate that has not finished.</summary>
    [Alias("cancel")] Task Cancel();

    /// <summary>Puts failed and cancelled candidates back to Pending with fresh attempts; returns their ids.</summary>
    [Alias("retry")] Task<IReadOnlyList<string>> Retry();

    /// <summary>A candidate grain reports a change of status, progress or result.</summary>
    [Alias("candidate-changed")] Task CandidateChanged(CandidateState state);

    /// <summary>The accepted spec, or null before any submit.</summary>
    [Alias("spec")] Task<SweepSpec?> GetSpec();
}
