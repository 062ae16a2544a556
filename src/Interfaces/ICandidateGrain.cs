using LayerChop.Specs;
using LayerChop.Worker;
namespace LayerChop.Interfaces;

/// <summary>
/// One candidate's lifecycle state machine, keyed by <see cref="SweepKeys.Candidate"/>. It owns the candidate's
/// state and alone changes it, every status change through <see cref="CandidateTransitions"/>. Its sweep begins
/// attempts (<see cref="Begin"/>), cancels and retries; the supervisor of the silo that runs an attempt feeds it
/// the worker's typed events and the attempt's end. Calls from the sweep answer with the new summary and never
/// call back; calls from supervisors pass the new summary on to the sweep.
/// </summary>
[Alias("layerchop.candidate-grain")]
public interface ICandidateGrain : IGrainWithStringKey
{
    /// <summary>Null while the candidate has never been begun, cancelled or retried (it is then Pending).</summary>
    [Alias("state")] Task<CandidateState?> GetState();

    /// <summary>
    /// Starts a new attempt in <paramref name="slot"/>: a running attempt left by a silo that died is closed as
    /// interrupted first, and the new attempt's number fences every older one. No lease when the candidate is
    /// finished (Completed, Failed, Cancelled).
    /// </summary>
    [Alias("begin")] Task<BeginReply> Begin(string sweep, CandidateConfig config, SlotRef slot, int maxAttempts);

    /// <summary>Applies a worker event when its attempt is the live one; <see cref="ReportVerdict.Stale"/> otherwise.</summary>
    [Alias("report")] Task<ReportVerdict> Report(WorkerEvent e);

    /// <summary>
    /// Ends the live attempt: Completed with its result, back to Pending (interrupted, or failed with attempts
    /// left), or Failed. Ending an attempt that already ended changes nothing and tells the sweep again.
    /// </summary>
    [Alias("end")] Task<ReportVerdict> End(int attempt, AttemptEnd end);

    /// <summary>
    /// The silo of <paramref name="attempt"/> left the cluster: the attempt is closed as interrupted and the
    /// candidate waits for a slot again. Nothing changes when another attempt is live by now.
    /// </summary>
    [Alias("interrupt")] Task<CandidateSummary> Interrupt(string sweep, CandidateConfig config, int attempt, string reason);

    /// <summary>Cancels an unfinished candidate: a running worker is told to stop, and its later reports are refused.</summary>
    [Alias("cancel")] Task<CandidateSummary> Cancel(string sweep, CandidateConfig config);

    /// <summary>
    /// Moves a Failed or Cancelled candidate back to Pending with <paramref name="maxAttempts"/> fresh attempts
    /// (numbers go on from the last one); null when it was in no such state.
    /// </summary>
    [Alias("retry")] Task<CandidateSummary?> Retry(int maxAttempts);

    /// <summary>
    /// A resubmitted spec raised max_attempts: a candidate that failed for running out of attempts gets the new
    /// allowance (back to Pending when it has attempts left); null when nothing changed.
    /// </summary>
    [Alias("raise-attempts")] Task<CandidateSummary?> RaiseMaxAttempts(int maxAttempts);

    /// <summary>
    /// A resubmitted spec changed a setting that lowers a candidate's memory need: a candidate whose last attempt
    /// ran out of memory is retried as by <see cref="Retry"/>; null when it did not fail that way.
    /// </summary>
    [Alias("retry-out-of-memory")] Task<CandidateSummary?> RetryOutOfMemory(int maxAttempts);
}

/// <summary>The answer to <see cref="ICandidateGrain.Begin"/>.</summary>
[GenerateSerializer, Alias("layerchop.begin-reply")]
public sealed record BeginReply
{
    /// <summary>Null when the candidate is finished and nothing starts.</summary>
    [Id(0)] public Lease? Lease { get; init; }
    [Id(1)] public CandidateSummary Summary { get; init; } = new();
}

/// <summary>Grain keys, in one place so the client, the coordinator and tools agree.</summary>
public static class SweepKeys
{
    /// <summary>"&lt;sweep&gt;/&lt;candidate id&gt;": sweep names and candidate ids never contain '/'.</summary>
    public static string Candidate(string sweep, string candidateId) => $"{sweep}/{candidateId}";
}
