namespace LayerChop.Interfaces;

/// <summary>
/// One candidate's chop, heal and evaluate lifecycle, keyed by <see cref="SweepKeys.Candidate"/>. It owns the
/// worker process, persists progress, retries interrupted attempts up to the spec's max_attempts and reports
/// every change to its sweep grain.
/// </summary>
[Alias("layerchop.candidate-grain")]
public interface ICandidateGrain : IGrainWithStringKey
{
    /// <summary>
    /// Begins the work on this silo if it has not begun, in the slot reserved for this candidate here (or a
    /// free one); calling it again does nothing. Without a slot nothing starts, the reply says so and this
    /// activation goes away, so that the coordinator can place the candidate again.
    /// </summary>
    [Alias("start")] Task<StartReply> Start(SweepSpec sweep, CandidateConfig config);

    /// <summary>Null before the first <see cref="Start"/>.</summary>
    [Alias("state")] Task<CandidateState?> GetState();

    /// <summary>Stops the worker and marks the candidate Cancelled, unless it already finished.</summary>
    [Alias("cancel")] Task Cancel();

    /// <summary>Moves a Failed or Cancelled candidate back to Pending with a fresh attempt count (its coordinator
    /// then queues it); returns false when the candidate was in no such state.</summary>
    [Alias("retry")] Task<bool> Retry();

    /// <summary>
    /// Whether this candidate's work is running, and its state; starts nothing. An activation with no work
    /// (its silo died and this call activated it afresh) goes away, and the coordinator queues the candidate
    /// again: it resumes from its last checkpoint wherever a slot frees.
    /// </summary>
    [Alias("ensure")] Task<StartReply> Ensure();
}

/// <summary>Where a candidate stands after <see cref="ICandidateGrain.Start"/> or <see cref="ICandidateGrain.Ensure"/>.</summary>
[GenerateSerializer, Alias("layerchop.start-reply")]
public sealed record StartReply
{
    [Id(0)] public StartOutcome Outcome { get; init; }
    /// <summary>The silo whose slot runs it (<c>SiloAddress.ToParsableString()</c>), when running.</summary>
    [Id(1)] public string? Silo { get; init; }
    [Id(2)] public CandidateState? State { get; init; }
}

/// <summary>Numeric values cross the wire: append, never renumber.</summary>
[GenerateSerializer, Alias("layerchop.start-outcome")]
public enum StartOutcome
{
    /// <summary>Its worker runs (or is starting) in a slot of <see cref="StartReply.Silo"/>.</summary>
    Running = 0,
    /// <summary>No slot was free on the silo it was activated on; nothing runs. Queue it again.</summary>
    NoSlot = 1,
    /// <summary>Completed, Failed or Cancelled: nothing to run.</summary>
    Finished = 2,
    /// <summary>Unfinished, but no work runs in this activation (never started, or its silo died).</summary>
    Idle = 3,
}

/// <summary>Grain keys, in one place so the client, the coordinator and tools agree.</summary>
public static class SweepKeys
{
    /// <summary>"&lt;sweep&gt;/&lt;candidate id&gt;": sweep names and candidate ids never contain '/'.</summary>
    public static string Candidate(string sweep, string candidateId) => $"{sweep}/{candidateId}";
}
