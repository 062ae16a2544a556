using LayerChop.Engine;
using LayerChop.Interfaces;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Orleans.Runtime.Placement;

namespace LayerChop.Grains.Sweeps;

/// <summary>Persisted state of a sweep: its spec and the last state each candidate reported.</summary>
[GenerateSerializer, Alias("layerchop.sweep-state")]
public sealed record SweepState
{
    [Id(0)] public SweepSpec? Spec { get; init; }
    [Id(1)] public DateTime SubmittedUtc { get; init; }
    [Id(2)] public Dictionary<string, CandidateState> Candidates { get; init; } = [];
}

/// <summary>
/// The coordinator of one sweep (key: the sweep's name). It validates and expands the grid, keeps the
/// unfinished candidates in a queue (grid order) and places each on a silo with a free worker slot as soon as
/// one frees, on any silo: it reserves the slot with that silo's <see cref="IWorkerHostGrain"/>, then activates
/// the candidate there. It collects what candidates report, keeps the Pareto front incrementally, and answers
/// status, results and front queries from its own memory without calling the candidates. A candidate whose
/// silo leaves the cluster goes back to the queue and resumes from its checkpoint elsewhere. Submitting the
/// same spec again changes nothing; a new activation (after this one's silo died, or the whole cluster
/// stopped) picks up the persisted state and carries on.
/// </summary>
public sealed class SweepGrain(
    [PersistentState("sweep", StorageNames.Sweeps)] IPersistentState<SweepState> state,
    IClusterMembershipService membership, ILogger<SweepGrain> log)
    : Grain, ISweepGrain, IRemindable
{
    readonly ParetoFront front = new();
    // Candidates known to run, and the silo they run on; every other unfinished candidate waits in the queue.
    readonly Dictionary<string, string> placed = new(StringComparer.Ordinal);
    Dictionary<string, int> gridOrder = [];
    long ticks;
    bool watching;   // in the index of unfinished sweeps, with a reminder where the silo has reminders

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        foreach (var c in state.State.Candidates.Values) AddToFront(c);
        if (state.State.Spec is { } spec) gridOrder = Order(spec);
        // While the sweep is unfinished: place queued candidates each second (at once when one of ours ends),
        // and every few seconds ask the placed ones whether they still run.
        this.RegisterGrainTimer(Tick, new GrainTimerCreationOptions(TimeSpan.Zero, TimeSpan.FromSeconds(1)) { KeepAlive = false });
        watching = true;                     // until a first tick of a finished sweep has cleared what an earlier activation left
        if (Unfinished) await KeepWatching();
    }

    bool Unfinished => state.State.Spec is not null && state.State.Candidates.Values.Any(c => !CandidateTransitions.IsFinished(c.Status));

    static Dictionary<string, int> Order(SweepSpec spec) =>
        SweepGrid.Expand(spec).Select((c, i) => (c.Id, i)).ToDictionary(p => p.Id, p => p.i, StringComparer.Ordinal);

    async Task Tick(CancellationToken cancel)
    {
        if (!Unfinished)
        {
            if (watching) await StopWatching();
            return;
        }
        DelayDeactivation(TimeSpan.FromMinutes(2));
        await Schedule(confirm: ticks++ % 5 == 0);
    }

    /// <summary>The silos that are members of the cluster now, by <c>SiloAddress.ToParsableString()</c>.</summary>
    HashSet<string> ActiveSilos() => membership.CurrentSnapshot.Members.Values
        .Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress.ToParsableString()).ToHashSet(StringComparer.Ordinal);

    ICandidateGrain Candidate(string id) => GrainFactory.GetGrain<ICandidateGrain>(SweepKeys.Candidate(state.State.Spec!.Name, id));

    /// <summary>
    /// Puts every candidate it can into a free slot. With <paramref name="confirm"/>, first asks each placed
    /// candidate whether it still runs (which also keeps it active while it has no other callers).
    /// </summary>
    async Task Schedule(bool confirm)
    {
        var spec = state.State.Spec;
        if (spec is null) return;
        var active = ActiveSilos();
        foreach (var (id, silo) in placed.ToList())
            if (!active.Contains(silo)) placed.Remove(id);               // its silo is gone: back to the queue
        if (confirm)
            foreach (var id in placed.Keys.ToList()) await Ask(id, c => c.Ensure());

        // A candidate whose last attempt still runs on a live silo may only have lost touch with this
        // coordinator (a new activation of it): ask before giving it a second slot.
        foreach (var c in Queue())
            if (c.Attempts.LastOrDefault() is { Outcome: AttemptOutcome.Running } last && active.Contains(last.Silo))
                await Ask(c.Id, g => g.Ensure());

        var queue = Queue();
        if (queue.Count == 0) return;
        var free = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var silo in active)
        {
            try { free[silo] = (await GrainFactory.GetGrain<IWorkerHostGrain>(silo).GetSlots()).Free; }
            catch (Exception e) when (e is not OperationCanceledException) { }   // joining or leaving: skip it this time
        }
        foreach (var c in queue)
        {
            while (true)
            {
                // The silo with the most free slots, so that work spreads over the cluster.
                var silo = free.Where(f => f.Value > 0).OrderByDescending(f => f.Value).ThenBy(f => f.Key, StringComparer.Ordinal).Select(f => f.Key).FirstOrDefault();
                if (silo is null) return;                                       // every slot is busy: the rest wait
                var host = GrainFactory.GetGrain<IWorkerHostGrain>(silo);
                int? slot;
                try { slot = await host.Reserve(SweepKeys.Candidate(spec.Name, c.Id)); }
                catch (Exception e) when (e is not OperationCanceledException) { slot = null; }
                if (slot is null) { free[silo] = 0; continue; }
                var reply = await Ask(c.Id, g =>
                {
                    RequestContext.Set(IPlacementDirector.PlacementHintKey, SiloAddress.FromParsableString(silo));
                    try { return g.Start(spec, c.Config); }
                    finally { RequestContext.Remove(IPlacementDirector.PlacementHintKey); }
                });
                if (reply is { Outcome: StartOutcome.Running } && reply.Silo == silo) free[silo]--;
                else
                {
                    try { await host.CancelReservation(SweepKeys.Candidate(spec.Name, c.Id)); }
                    catch (Exception e) when (e is not OperationCanceledException) { }   // it expires by itself
                    if (reply is { Outcome: StartOutcome.NoSlot }) free[silo] = 0;
                }
                break;
            }
        }
    }

    /// <summary>Unfinished candidates not known to run, in grid order.</summary>
    List<CandidateState> Queue() => state.State.Candidates.Values
        .Where(c => !CandidateTransitions.IsFinished(c.Status) && !placed.ContainsKey(c.Id))
        .OrderBy(c => gridOrder.GetValueOrDefault(c.Id, int.MaxValue)).ToList();

    /// <summary>Calls a candidate and takes in its reply (its state, and whether and where it runs).</summary>
    async Task<StartReply?> Ask(string id, Func<ICandidateGrain, Task<StartReply>> call)
    {
        StartReply reply;
        try { reply = await call(Candidate(id)); }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogDebug(e, "candidate {Id} did not answer; it stays queued", id);
            placed.Remove(id);
            return null;
        }
        if (reply.Outcome == StartOutcome.Running && reply.Silo is { } silo) placed[id] = silo;
        else placed.Remove(id);
        if (reply.State is { } s) await Take(s);
        return reply;
    }

    // In cluster mode a reminder brings the coordinator back after a whole-cluster stop, with nobody watching;
    // the embedded mode has no reminders (its silo's startup task, or running the sweep again, resumes it).
    async Task KeepWatching()
    {
        if (state.State.Spec is null) return;
        watching = true;
        await GrainFactory.GetGrain<ISweepIndexGrain>(0).Add(state.State.Spec.Name);   // a starting silo wakes it
        if (ServiceProvider.GetService(typeof(Orleans.Timers.IReminderRegistry)) is null) return;
        try { await this.RegisterOrUpdateReminder("watch", TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1)); }
        catch (Exception e) when (e is not OperationCanceledException) { }   // no reminder service in this silo
    }

    async Task StopWatching()
    {
        watching = false;
        await GrainFactory.GetGrain<ISweepIndexGrain>(0).Remove(this.GetPrimaryKeyString());
        try { if (await this.GetReminder("watch") is { } r) await this.UnregisterReminder(r); }
        catch (Exception e) when (e is not OperationCanceledException) { }
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => Task.CompletedTask;   // activating is enough

    public Task Resume() => Task.CompletedTask;                      // activating is enough: the timer does the rest

    public async Task<SubmitResult> Submit(SweepSpec spec)
    {
        if (spec.Name != this.GetPrimaryKeyString())
            return SubmitResult.Rejected($"spec name '{spec.Name}' does not match sweep '{this.GetPrimaryKeyString()}'");
        try { SweepSpecValidator.Validate(spec); }
        catch (LayerChopException e) { return SubmitResult.Rejected(e.Message); }
        var previous = state.State.Spec;
        if (previous is not null && !SameExceptGrid(previous, spec))
            return SubmitResult.Rejected($"sweep '{spec.Name}' already exists with different settings; only new grid values may be added (or choose another name)");

        var configs = SweepGrid.Expand(spec);
        var added = new List<string>();
        var candidates = new Dictionary<string, CandidateState>(state.State.Candidates);
        foreach (var config in configs)
        {
            if (candidates.ContainsKey(config.Id)) continue;
            candidates[config.Id] = new CandidateState { Sweep = spec.Name, Config = config, Status = CandidateStatus.Pending, UpdatedUtc = DateTime.UtcNow };
            added.Add(config.Id);
        }
        state.State = state.State with { Spec = spec, SubmittedUtc = previous is null ? DateTime.UtcNow : state.State.SubmittedUtc, Candidates = candidates };
        gridOrder = Order(spec);
        await state.WriteStateAsync();

        await KeepWatching();
        await Schedule(confirm: false);
        return new SubmitResult { Accepted = true, Candidates = configs.Select(c => c.Id).ToArray(), Added = added };
    }

    static bool SameExceptGrid(SweepSpec a, SweepSpec b) => a with { Grid = b.Grid } == b;

    public Task<SweepSpec?> GetSpec() => Task.FromResult(state.State.Spec);

    public Task<SweepStatus?> GetStatus() => Task.FromResult(state.State.Spec is null ? null : new SweepStatus
    {
        Name = state.State.Spec.Name, SubmittedUtc = state.State.SubmittedUtc, Candidates = Ordered(),
    });

    public Task<SweepFront> GetFront() => Task.FromResult(front.ToSweepFront());

    public Task<IReadOnlyList<CandidateState>> GetResults() => Task.FromResult<IReadOnlyList<CandidateState>>(Ordered());

    IReadOnlyList<CandidateState> Ordered() => state.State.Spec is null ? []
        : state.State.Candidates.Values.OrderBy(c => gridOrder.GetValueOrDefault(c.Id, int.MaxValue)).ToArray();

    public async Task CandidateChanged(CandidateState candidate)
    {
        if (!await Take(candidate)) return;
        if (CandidateTransitions.IsFinished(candidate.Status))
        {
            placed.Remove(candidate.Id);
            await Schedule(confirm: false);                            // its slot is free: the next one goes now
        }
    }

    /// <summary>Mirrors a candidate's state; returns false for a stale or unknown one.</summary>
    async Task<bool> Take(CandidateState candidate)
    {
        if (!state.State.Candidates.TryGetValue(candidate.Id, out var known)) return false;
        // Reports are one-way and may overtake each other: an end is only undone by a retry (no attempts yet).
        if (CandidateTransitions.IsFinished(known.Status) && !CandidateTransitions.IsFinished(candidate.Status) && candidate.Attempts.Count > 0)
            return false;
        state.State.Candidates[candidate.Id] = candidate;
        AddToFront(candidate);
        // Progress ticks stay in memory; status changes are written.
        if (known.Status != candidate.Status || known.Attempts.Count != candidate.Attempts.Count) await state.WriteStateAsync();
        return true;
    }

    void AddToFront(CandidateState c)
    {
        if (c.Status == CandidateStatus.Completed && c.Result is { } r && double.IsFinite(r.Average))
            front.Add(FrontPoint.Of(c.Config, r));
    }

    public async Task Cancel()
    {
        if (state.State.Spec is null) return;
        foreach (var c in state.State.Candidates.Values.Where(c => !CandidateTransitions.IsFinished(c.Status)).ToList())
        {
            await Candidate(c.Id).Cancel();
            if (await Candidate(c.Id).GetState() is { } now) await Take(now);
        }
    }

    public async Task<IReadOnlyList<string>> Retry()
    {
        var retried = new List<string>();
        if (state.State.Spec is null) return retried;
        foreach (var c in state.State.Candidates.Values.Where(c => c.Status is CandidateStatus.Failed or CandidateStatus.Cancelled).ToList())
        {
            if (!await Candidate(c.Id).Retry()) continue;
            retried.Add(c.Id);
            if (await Candidate(c.Id).GetState() is { } now) await Take(now);
        }
        await KeepWatching();
        await Schedule(confirm: false);
        return retried;
    }
}
