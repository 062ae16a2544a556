namespace LayerChop.Interfaces;

/// <summary>
/// One candidate's chop, heal and evaluate lifecycle, keyed by <see cref="SweepKeys.Candidate"/>. It owns the
/// worker process, persists progress, retries interrupted attempts up to the spec's max_attempts and reports
/// every change to its sweep grain.
/// </summary>
[Alias("layerchop.candidate-grain")]
public interface ICandidateGrain : IGrainWithStringKey
{
    /// <summary>Begins the work if it has not begun; calling it again (with the same configuration) does nothing.</summary>
    [Alias("start")] Task Start(SweepSpec sweep, CandidateConfig config);

    /// <summary>Null before the first <see cref="Start"/>.</summary>
    [Alias("state")] Task<CandidateState?> GetState();

    /// <summary>Stops the worker and marks the candidate Cancelled, unless it already finished.</summary>
    [Alias("cancel")] Task Cancel();

    /// <summary>Moves a Failed or Cancelled candidate back to Pending with a fresh attempt count and starts it;
    /// returns false when the candidate was in no such state.</summary>
    [Alias("retry")] Task<bool> Retry();

    /// <summary>
    /// Makes sure an unfinished candidate is running here: after its silo died (or the whole cluster stopped),
    /// the next call activates it on a live silo, and this restarts its work from the last checkpoint.
    /// </summary>
    [Alias("ensure")] Task Ensure();
}

/// <summary>Grain keys, in one place so the client, the coordinator and tools agree.</summary>
public static class SweepKeys
{
    /// <summary>"&lt;sweep&gt;/&lt;candidate id&gt;": sweep names and candidate ids never contain '/'.</summary>
    public static string Candidate(string sweep, string candidateId) => $"{sweep}/{candidateId}";
}
