using LayerChop.Interfaces;
using LayerChop.Specs;
using LayerChop.Worker;
using Microsoft.Extensions.Logging;

namespace LayerChop.Grains.Sweeps;

/// <summary>
/// One grid point of a sweep: the owner of its <see cref="CandidateState"/> and the state machine of its
/// lifecycle. Each call does one step and returns. Every status change goes through
/// <see cref="CandidateTransitions"/>; an illegal move is refused and logged, never forced. Attempts are numbered
/// and only the live attempt's events and end are applied: a worker of an older attempt (its silo declared dead,
/// a slow worker after a retry) is answered <see cref="ReportVerdict.Stale"/> and its supervisor stops it.
/// Progress ticks stay in memory (the revision counts writes only; a tick carries a newer progress time);
/// status changes, checkpoints and ends are written.
/// </summary>
public sealed class CandidateGrain(
    [PersistentState(StorageNames.CandidateState, StorageNames.Sweeps)] IPersistentState<CandidateState> state,
    ILogger<CandidateGrain> log)
    : Grain, ICandidateGrain
{
    public Task<CandidateState?> GetState() => Task.FromResult(state.RecordExists ? state.State : null);

    /// <summary>The state, created Pending on first use.</summary>
    CandidateState Current(string sweep, CandidateConfig config) => state.RecordExists
        ? state.State
        : new CandidateState { Sweep = sweep, Config = config, Status = CandidateStatus.Pending, UpdatedUtc = DateTime.UtcNow };

    public async Task<BeginReply> Begin(string sweep, CandidateConfig config, SlotRef slot, int maxAttempts)
    {
        var s = Current(sweep, config);
        if (CandidateTransitions.IsFinished(s.Status)) return new BeginReply { Summary = s.Summarize() };
        if (s.Running is { } left) s = CloseLost(s, left, "its silo stopped before the attempt ended");
        if (CandidateTransitions.IsRunning(s.Status)) s = Moved(s, CandidateStatus.Pending) ?? s;
        var attempt = new AttemptRecord
        {
            Number = s.Attempts.Count + 1, StartedUtc = DateTime.UtcNow, Silo = slot.Silo, Slot = slot.Slot, Outcome = AttemptOutcome.Running,
        };
        s = s with { Attempts = [.. s.Attempts, attempt], MaxAttempts = maxAttempts, Progress = null };
        await Save(s);
        return new BeginReply
        {
            Lease = new Lease { Sweep = sweep, Candidate = config.Id, Attempt = attempt.Number, Slot = slot },
            Summary = state.State.Summarize(),
        };
    }

    public async Task<ReportVerdict> Report(WorkerEvent e)
    {
        if (!IsLive(e.Attempt)) return Stale(e.Attempt, e.GetType().Name);
        var s = state.State = Seen(state.State, DateTime.UtcNow);
        switch (e)
        {
            case StartedEvent started:
                await Save(Started(s, started));
                return ReportVerdict.Accepted;
            case StageEvent stage:
                var to = CandidateTransitions.Of(stage.Stage);
                if (to == s.Status) return ReportVerdict.Accepted;
                if (Moved(s, to) is not { } moved) return ReportVerdict.Accepted;   // refused and logged
                await SaveAndTell(moved);
                return ReportVerdict.Accepted;
            case HealProgressEvent p:
                state.State = s with
                {
                    Progress = new CandidateProgress
                    {
                        Stage = CandidateStatus.Healing, Step = p.Step, TotalSteps = p.TotalSteps, Loss = p.Loss,
                        TokensPerS = p.TokensPerS, UpdatedUtc = DateTime.UtcNow,
                    },
                    Loss = s.Loss.Add(p.Step, p.Loss, p.TokensPerS),
                };
                await Tell();
                return ReportVerdict.Accepted;
            case EvalProgressEvent p:
                state.State = s with
                {
                    Progress = new CandidateProgress { Stage = CandidateStatus.Evaluating, Step = p.Done, TotalSteps = p.Total, UpdatedUtc = DateTime.UtcNow },
                };
                await Tell();
                return ReportVerdict.Accepted;
            case CheckpointEvent:
                await Save(state.State);   // progress and loss curve survive a crash from here
                return ReportVerdict.Accepted;
            case MessageEvent:
                return ReportVerdict.Accepted;   // for the worker's log: nothing of the state changes
            case ResultEvent or FailureEvent or StoppedEvent or FencedEvent:
                return ReportVerdict.Accepted;   // how the attempt ends: End carries it, with the worker's exit
            default:
                throw new ArgumentException($"{e.GetType().Name} is not an event of the worker protocol", nameof(e));
        }
    }

    public async Task<ReportVerdict> End(int attempt, AttemptEnd end)
    {
        var s = state.RecordExists ? state.State : null;
        if (s is null || attempt < 1 || attempt > s.Attempts.Count) return Stale(attempt, "end");
        if (!IsLive(attempt))
        {
            // Ended before (a retried End whose first answer was lost, a cancel, a silo declared dead): the
            // worker's exit time corrects the history if it ran on longer, unless a later attempt began (then that
            // attempt's worker reports this one's own stop record, which its silo's exit time can only overshoot);
            // then tell the sweep again.
            if (end.WorkerEndedUtc is { } real && s.Attempts[attempt - 1] is { EndedUtc: { } closed } && real > closed && s.Attempts.Count == attempt)
                await Save(s with { Attempts = s.Attempts.Select(x => x.Number == attempt ? x with { EndedUtc = real } : x).ToArray() });
            await Tell();
            return ReportVerdict.Stale;
        }
        s = CloseAttempt(s, attempt, end.Outcome, end.Reason, end.WorkerEndedUtc ?? DateTime.UtcNow, end.Failure);
        switch (end.Outcome)
        {
            case AttemptOutcome.Succeeded when end.Result is { } result:
                // A resumed attempt can find every stage's output on disk and report only evaluation; the moves
                // still go through the table, stage by stage.
                if (s.Status != CandidateStatus.Evaluating) s = Moved(s, CandidateStatus.Evaluating) ?? s;
                s = (Moved(s, CandidateStatus.Completed) ?? s) with { Result = result, Error = null };
                break;
            case AttemptOutcome.Interrupted:
                if (CandidateTransitions.IsRunning(s.Status)) s = Moved(s, CandidateStatus.Pending) ?? s;
                break;
            case AttemptOutcome.Cancelled:
                s = Moved(s, CandidateStatus.Cancelled) ?? s;
                break;
            default:
                log.LogWarning("candidate {Key} attempt {Attempt} failed: {Reason}", this.GetPrimaryKeyString(), attempt, end.Reason);
                bool last = end.Permanent || s.Failures >= s.MaxAttempts;
                string error = end.Permanent ? end.Reason ?? "failed" : $"failed {s.Failures} attempt(s); last: {end.Reason}";
                if (last) s = (Moved(s, CandidateStatus.Failed) ?? s) with { Error = error };
                else
                {
                    if (CandidateTransitions.IsRunning(s.Status)) s = Moved(s, CandidateStatus.Pending) ?? s;
                    s = s with { Error = end.Reason };
                }
                break;
        }
        await SaveAndTell(s with { Progress = s.Status == CandidateStatus.Completed ? null : s.Progress });
        return ReportVerdict.Accepted;
    }

    public async Task<CandidateSummary> Interrupt(string sweep, CandidateConfig config, int attempt, string reason)
    {
        var s = Current(sweep, config);
        if (!IsLive(attempt)) return s.Summarize();
        s = CloseLost(s, s.Running!, reason);
        if (CandidateTransitions.IsRunning(s.Status)) s = Moved(s, CandidateStatus.Pending) ?? s;
        await Save(s);
        return state.State.Summarize();
    }

    public async Task<CandidateSummary> Cancel(string sweep, CandidateConfig config)
    {
        var s = Current(sweep, config);
        if (CandidateTransitions.IsFinished(s.Status)) return s.Summarize();
        var running = s.Running;
        if (running is not null) s = CloseAttempt(s, running.Number, AttemptOutcome.Cancelled, "cancelled", DateTime.UtcNow);
        s = (Moved(s, CandidateStatus.Cancelled) ?? s) with { Error = "cancelled" };
        await Save(s);
        if (running is not null)
        {
            // The worker's later events are stale from now on; stopping it frees its slot within seconds.
            var lease = new Lease { Sweep = sweep, Candidate = config.Id, Attempt = running.Number, Slot = new SlotRef { Silo = running.Silo, Slot = running.Slot } };
            try { await GrainFactory.GetGrain<IWorkerHostGrain>(running.Silo).Stop(lease); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.LogInformation("could not reach the silo of {Lease} to stop it ({Message}); its next report is refused and stops it", lease, e.Message);
            }
        }
        return state.State.Summarize();
    }

    public async Task<CandidateSummary?> Retry(int maxAttempts)
    {
        if (!state.RecordExists || state.State.Status is not (CandidateStatus.Failed or CandidateStatus.Cancelled)) return null;
        var s = state.State;
        if (Moved(s, CandidateStatus.Pending) is not { } moved) return null;
        await Save(moved with { Error = null, MaxAttempts = maxAttempts, FailuresCountFrom = s.Attempts.Count });
        return state.State.Summarize();
    }

    public async Task<CandidateSummary?> RetryOutOfMemory(int maxAttempts) =>
        state.RecordExists && state.State is { Status: CandidateStatus.Failed } s && s.Attempts.LastOrDefault()?.Failure == FailureKind.OutOfMemory
            ? await Retry(maxAttempts)
            : null;

    public async Task<CandidateSummary?> RaiseMaxAttempts(int maxAttempts)
    {
        if (!state.RecordExists || maxAttempts <= state.State.MaxAttempts) return null;
        var s = state.State with { MaxAttempts = maxAttempts };
        if (s.Status == CandidateStatus.Failed && s.Failures < maxAttempts && s.Attempts.LastOrDefault()?.Outcome == AttemptOutcome.Failed)
            s = (Moved(s, CandidateStatus.Pending) ?? s) with { Error = null };
        await Save(s);
        return state.State.Summarize();
    }

    bool IsLive(int attempt) => state.RecordExists && state.State.Running?.Number == attempt && attempt > 0;

    ReportVerdict Stale(int attempt, string what)
    {
        log.LogInformation("candidate {Key}: refused {What} of attempt {Attempt}; the live attempt is {Live}",
            this.GetPrimaryKeyString(), what, attempt, state.RecordExists ? state.State.Running?.Number.ToString() ?? "none" : "none");
        return ReportVerdict.Stale;
    }

    static CandidateState CloseAttempt(CandidateState s, int number, AttemptOutcome outcome, string? reason, DateTime ended, FailureKind? failure = null) => s with
    {
        Attempts = s.Attempts.Select(a => a.Number == number && a.Outcome == AttemptOutcome.Running
            ? a with { EndedUtc = ended, Outcome = outcome, Reason = reason, Failure = failure } : a).ToArray(),
    };

    /// <summary>
    /// Closes an attempt whose worker was lost with its silo: it ended, as far as anyone knows, when it was last
    /// heard from (the next attempt's worker corrects this from the lost worker's own stop record, if it left one).
    /// </summary>
    static CandidateState CloseLost(CandidateState s, AttemptRecord running, string reason)
    {
        var seen = running.LastSeenUtc ?? running.StartedUtc;
        return CloseAttempt(s, running.Number, AttemptOutcome.Interrupted, $"{reason} (its worker was last heard from at {seen:HH:mm:ss} UTC)", seen);
    }

    /// <summary>The live attempt heard from at <paramref name="utc"/> (kept in memory; written with the next save).</summary>
    static CandidateState Seen(CandidateState s, DateTime utc) => s with
    {
        Attempts = s.Attempts.Select(a => a.Outcome == AttemptOutcome.Running ? a with { LastSeenUtc = utc } : a).ToArray(),
    };

    /// <summary>
    /// The live attempt's worker started: its own start time and process id replace the lease's, and the previous
    /// attempt's end becomes its worker's own stop time when that was later than what the history says.
    /// </summary>
    static CandidateState Started(CandidateState s, StartedEvent e)
    {
        var live = s.Running!;
        var previous = s.Attempts.LastOrDefault(a => a.Number < live.Number);
        return s with
        {
            Attempts = s.Attempts.Select(a =>
                a.Number == live.Number ? a with { StartedUtc = e.StartedUtc, Pid = e.Pid }
                : a.Number == previous?.Number && e.PreviousStoppedUtc is { } stopped && (a.EndedUtc is null || stopped > a.EndedUtc) ? a with { EndedUtc = stopped }
                : a).ToArray(),
        };
    }

    /// <summary>The state moved to <paramref name="to"/>, or null (logged) when the table forbids the move.</summary>
    CandidateState? Moved(CandidateState s, CandidateStatus to)
    {
        if (!CandidateTransitions.CanMove(s.Status, to))
        {
            log.LogWarning("candidate {Key}: refused the illegal move {From} -> {To}", this.GetPrimaryKeyString(), s.Status, to);
            return null;
        }
        var now = DateTime.UtcNow;
        return s with { Status = to, UpdatedUtc = now, Changes = [.. s.Changes, new StatusChange { Status = to, Utc = now }] };
    }

    /// <summary>
    /// Writes <paramref name="s"/> as the next revision. A write that fails (the database down) leaves the state
    /// as it was before this step, in memory too, so the caller's retry of the same step finds it undone.
    /// </summary>
    async Task Save(CandidateState s)
    {
        var before = state.State;
        state.State = s with { Revision = s.Revision + 1, UpdatedUtc = DateTime.UtcNow };
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State = before;
            throw;
        }
    }

    async Task SaveAndTell(CandidateState s)
    {
        await Save(s);
        await Tell();
    }

    /// <summary>Passes the summary on to the sweep (only from calls that the sweep does not make).</summary>
    Task Tell() => GrainFactory.GetGrain<ISweepGrain>(state.State.Sweep).Changed(state.State.Summarize());
}

public static class StorageNames
{
    /// <summary>The grain storage holding sweep and candidate state.</summary>
    public const string Sweeps = "sweeps";

    /// <summary>The candidate grain's state name in that storage (its [PersistentState] name).</summary>
    public const string CandidateState = "candidate";
}
