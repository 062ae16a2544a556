using System.Text.Json;
using LayerChop.Engine.Pipeline;
using LayerChop.Grains.Workers;
using LayerChop.Interfaces;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace LayerChop.Grains.Sweeps;

/// <summary>
/// One grid point of a sweep. Its coordinator activates it on a silo where it reserved a worker slot; it runs
/// the candidate in a supervised worker process in that slot, follows its events, persists every status change
/// and every checkpoint, retries a crashed worker (which resumes from its last checkpoint) up to the sweep's
/// max_attempts, and reports each change to its sweep. Grain calls only start or inspect the work; the work
/// runs beside them.
/// </summary>
public sealed class CandidateGrain(
    [PersistentState("candidate", StorageNames.Sweeps)] IPersistentState<CandidateState> state,
    WorkerSlots slots, WorkerOptions workerOptions, ILocalSiloDetails silo, ILogger<CandidateGrain> log)
    : Grain, ICandidateGrain
{
    SweepSpec? spec;
    Task? run;
    CancellationTokenSource? cancel;
    WorkerProcess? worker;
    bool cancelRequested;

    public Task<CandidateState?> GetState() => Task.FromResult(state.RecordExists ? state.State : null);

    public async Task<StartReply> Start(SweepSpec sweep, CandidateConfig config)
    {
        spec = sweep;
        if (run is { IsCompleted: false }) return Reply(StartOutcome.Running);    // already running here
        if (!state.RecordExists)
        {
            state.State = new CandidateState { Sweep = sweep.Name, Config = config, Status = CandidateStatus.Pending, UpdatedUtc = DateTime.UtcNow };
            await state.WriteStateAsync();
        }
        if (CandidateTransitions.IsFinished(state.State.Status)) return Reply(StartOutcome.Finished);   // they stay so
        var slot = slots.TryClaim(this.GetPrimaryKeyString());
        if (slot is null)
        {
            DeactivateOnIdle();                        // so that the coordinator's next placement is a fresh one
            return Reply(StartOutcome.NoSlot);
        }
        cancelRequested = false;
        cancel = new CancellationTokenSource();
        RequestContext.Clear();                        // the coordinator's placement hint must not follow the work
        run = Run(slot, cancel.Token);                 // continues on this grain's scheduler
        return Reply(StartOutcome.Running);
    }

    public Task<StartReply> Ensure()
    {
        if (run is { IsCompleted: false }) return Task.FromResult(Reply(StartOutcome.Running));
        DeactivateOnIdle();                            // nothing runs here: the coordinator places it again
        return Task.FromResult(Reply(state.RecordExists && CandidateTransitions.IsFinished(state.State.Status) ? StartOutcome.Finished : StartOutcome.Idle));
    }

    StartReply Reply(StartOutcome outcome) => new()
    {
        Outcome = outcome, Silo = outcome == StartOutcome.Running ? silo.SiloAddress.ToParsableString() : null,
        State = state.RecordExists ? state.State : null,
    };

    public async Task Cancel()
    {
        if (!state.RecordExists || CandidateTransitions.IsFinished(state.State.Status)) return;
        cancelRequested = true;
        cancel?.Cancel();
        worker?.Stop();
        if (run is null or { IsCompleted: true })
        {
            await Finish(CandidateStatus.Cancelled, "cancelled");
            DeactivateOnIdle();
        }
    }

    public async Task<bool> Retry()
    {
        if (!state.RecordExists || state.State.Status is not (CandidateStatus.Failed or CandidateStatus.Cancelled)) return false;
        state.State = state.State with { Status = CandidateStatus.Pending, Error = null, Attempts = [], UpdatedUtc = DateTime.UtcNow };
        await state.WriteStateAsync();
        await Report();
        DeactivateOnIdle();                            // its coordinator places it where a slot is free
        return true;
    }

    async Task Run(WorkerSlots.Slot slot, CancellationToken token)
    {
        var sweep = spec!;
        using var held = slot;                         // every attempt of this run uses the slot; then it is free
        try
        {
            while (!token.IsCancellationRequested)
            {
                if (state.State.Attempts.LastOrDefault() is { Outcome: AttemptOutcome.Running } stale)
                {
                    // The silo that ran this attempt died: close it as interrupted (it does not count as a failure).
                    state.State = state.State with
                    {
                        Attempts = [.. state.State.Attempts.SkipLast(1), stale with { EndedUtc = DateTime.UtcNow, Outcome = AttemptOutcome.Interrupted, Reason = "its silo stopped" }],
                    };
                }
                if (CandidateTransitions.IsRunning(state.State.Status)) await Move(CandidateStatus.Pending);
                int number = state.State.Attempts.Count + 1;
                int failures = state.State.Attempts.Count(a => a.Outcome == AttemptOutcome.Failed);
                var attempt = new AttemptRecord { Number = number, StartedUtc = DateTime.UtcNow, Silo = silo.SiloAddress.ToParsableString(), Slot = slot.Index, Outcome = AttemptOutcome.Running };
                state.State = state.State with { Attempts = [.. state.State.Attempts, attempt] };
                await state.WriteStateAsync();
                var (outcome, reason) = await RunWorker(sweep, slot, token);
                state.State = state.State with
                {
                    Attempts = [.. state.State.Attempts.SkipLast(1), attempt with { EndedUtc = DateTime.UtcNow, Outcome = outcome, Reason = reason }],
                };
                if (outcome == AttemptOutcome.Succeeded) { await Finish(CandidateStatus.Completed, null); return; }
                if (cancelRequested || outcome == AttemptOutcome.Cancelled) { await Finish(CandidateStatus.Cancelled, "cancelled"); return; }
                if (outcome == AttemptOutcome.Interrupted) { await state.WriteStateAsync(); return; }   // the silo is stopping
                log.LogWarning("candidate {Id} attempt {Number} failed: {Reason}", state.State.Id, number, reason);
                if (failures + 1 >= sweep.MaxAttempts) { await Finish(CandidateStatus.Failed, $"failed {failures + 1} attempt(s); last: {reason}"); return; }
                await state.WriteStateAsync();
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            if (cancelRequested) await Finish(CandidateStatus.Cancelled, "cancelled");
        }
    }

    async Task<(AttemptOutcome, string?)> RunWorker(SweepSpec sweep, WorkerSlots.Slot slot, CancellationToken token)
    {
        var job = JobBuilder.Build(sweep, state.State.Config, workerOptions.Gpu);
        using var process = WorkerProcess.Start(workerOptions, job, slot);
        worker = process;
        slot.Attach(process);
        string? error = null;
        try
        {
            string? line;
            while ((line = await process.ReadLineAsync(CancellationToken.None)) is not null)
            {
                DelayDeactivation(TimeSpan.FromMinutes(10));
                JsonElement e;
                try { e = JsonDocument.Parse(line).RootElement; } catch (JsonException) { continue; }
                switch (e.GetProperty("event").GetString())
                {
                    case "stage":
                        var stage = e.GetProperty("stage").GetString() switch
                        {
                            "chopping" => CandidateStatus.Chopping,
                            "healing" => CandidateStatus.Healing,
                            _ => CandidateStatus.Evaluating,
                        };
                        if (stage != state.State.Status && CandidateTransitions.CanMove(state.State.Status, stage)) await Move(stage);
                        break;
                    case "progress" when e.GetProperty("stage").GetString() == "healing":
                        state.State = state.State with
                        {
                            Progress = new CandidateProgress
                            {
                                Stage = CandidateStatus.Healing, Step = e.GetProperty("step").GetInt64(), TotalSteps = e.GetProperty("total_steps").GetInt64(),
                                Loss = e.GetProperty("loss").GetDouble(), TokensPerS = e.GetProperty("tokens_per_s").GetDouble(), UpdatedUtc = DateTime.UtcNow,
                            },
                        };
                        await Report();
                        break;
                    case "checkpoint":
                        await state.WriteStateAsync();
                        break;
                    case "error":
                        error = e.TryGetProperty("message", out var m) ? m.GetString() : null;
                        break;
                }
            }
            int code = await process.WaitAsync();
            if (code == 0 && CandidatePipeline.ReadResult(job.WorkDir) is { } outcome)
            {
                state.State = state.State with { Result = ToResult(outcome) };
                return (AttemptOutcome.Succeeded, null);
            }
            if (code == 130) return (cancelRequested ? AttemptOutcome.Cancelled : AttemptOutcome.Interrupted, "stopped");
            return (AttemptOutcome.Failed, error ?? $"worker exited with code {code}: {process.StderrTail()}");
        }
        finally
        {
            worker = null;
            slot.Attach(null);
        }
    }

    static CandidateResult ToResult(CandidateOutcome o) => new()
    {
        Params = o.Params, NonEmbeddingParams = o.NonEmbeddingParams, BytesOnDisk = o.BytesOnDisk,
        LatencyMsPerToken = o.Latency.MedianMsPerToken, Scores = new Dictionary<string, double>(o.TaskScores),
        ScoreStderrs = o.TaskStderrs.ToDictionary(p => p.Key, p => p.Value ?? double.NaN),
        ScoreCounts = new Dictionary<string, int>(o.TaskCounts),
        Latency = new LatencyConditions
        {
            P10MsPerToken = o.Latency.P10MsPerToken, P90MsPerToken = o.Latency.P90MsPerToken, Runs = o.Latency.Runs,
            Shape = o.Latency.Shape, Device = o.Latency.Device, Exclusive = o.Latency.Exclusive,
        },
        Average = o.Average ?? double.NaN, Perplexity = o.Perplexity, HeldoutLoss = o.HealValLoss,
        Importance = o.ImportanceScores?.Select(v => v ?? double.NaN).ToArray(),
    };

    async Task Move(CandidateStatus to)
    {
        if (!CandidateTransitions.CanMove(state.State.Status, to))
            throw new InvalidOperationException($"candidate {state.State.Id}: {state.State.Status} -> {to} is not a legal transition");
        state.State = state.State with { Status = to, UpdatedUtc = DateTime.UtcNow };
        await state.WriteStateAsync();
        await Report();
    }

    async Task Finish(CandidateStatus status, string? error)
    {
        state.State = state.State with { Status = status, Error = error, UpdatedUtc = DateTime.UtcNow };
        await state.WriteStateAsync();
        await Report();
    }

    Task Report() => GrainFactory.GetGrain<ISweepGrain>(state.State.Sweep).CandidateChanged(state.State);

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken token)
    {
        // The silo is going away (or the grain is being moved): stop the worker, which checkpoints first.
        worker?.Stop();
        if (run is { IsCompleted: false })
        {
            try { await run.WaitAsync(TimeSpan.FromSeconds(20), token); } catch (TimeoutException) { worker?.Kill(); }
            catch (OperationCanceledException) { worker?.Kill(); }
        }
    }
}

public static class StorageNames
{
    /// <summary>The grain storage holding sweep and candidate state.</summary>
    public const string Sweeps = "sweeps";
}
