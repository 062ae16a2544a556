using LayerChop.Engine;
using LayerChop.Interfaces;
using Orleans.Runtime;

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
/// The coordinator of one sweep (key: the sweep's name). It validates and expands the grid, starts every
/// candidate, collects what they report, keeps the Pareto front incrementally, and answers status, results
/// and front queries from its own memory without calling the candidates. Submitting the same spec again
/// restarts whatever is unfinished: that is how an interrupted sweep resumes.
/// </summary>
public sealed class SweepGrain([PersistentState("sweep", StorageNames.Sweeps)] IPersistentState<SweepState> state)
    : Grain, ISweepGrain, IRemindable
{
    readonly ParetoFront front = new();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        foreach (var c in state.State.Candidates.Values) AddToFront(c);
        // While the sweep is unfinished, look after its candidates every few seconds: one whose silo died is
        // activated again on a live silo and resumes from its checkpoint.
        this.RegisterGrainTimer(EnsureCandidates, new GrainTimerCreationOptions(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5)) { KeepAlive = false });
        await KeepWatching();
    }

    async Task EnsureCandidates(CancellationToken cancel)
    {
        if (state.State.Spec is null) return;
        var unfinished = state.State.Candidates.Values.Where(c => !CandidateTransitions.IsFinished(c.Status)).ToList();
        if (unfinished.Count == 0) { await StopWatching(); return; }
        DelayDeactivation(TimeSpan.FromMinutes(2));
        foreach (var c in unfinished)
        {
            try { await GrainFactory.GetGrain<ICandidateGrain>(SweepKeys.Candidate(state.State.Spec.Name, c.Id)).Ensure(); }
            catch (Exception e) when (e is TimeoutException or SiloUnavailableException or OrleansMessageRejectionException) { }  // next tick
        }
    }

    // In cluster mode a reminder brings the coordinator back after a whole-cluster stop, with nobody watching;
    // the embedded mode has no reminders (running the sweep again resumes it there).
    async Task KeepWatching()
    {
        if (state.State.Spec is null || ServiceProvider.GetService(typeof(Orleans.Timers.IReminderRegistry)) is null) return;
        try { await this.RegisterOrUpdateReminder("watch", TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1)); }
        catch (Exception e) when (e is not OperationCanceledException) { }   // no reminder service in this silo
    }

    async Task StopWatching()
    {
        try { if (await this.GetReminder("watch") is { } r) await this.UnregisterReminder(r); }
        catch (Exception e) when (e is not OperationCanceledException) { }
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => EnsureCandidates(CancellationToken.None);

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
        await state.WriteStateAsync();

        await KeepWatching();
        foreach (var config in configs)
            if (!CandidateTransitions.IsFinished(candidates[config.Id].Status))
                await GrainFactory.GetGrain<ICandidateGrain>(SweepKeys.Candidate(spec.Name, config.Id)).Start(spec, config);
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

    IReadOnlyList<CandidateState> Ordered()
    {
        if (state.State.Spec is null) return [];
        var order = SweepGrid.Expand(state.State.Spec).Select(c => c.Id).ToList();
        return state.State.Candidates.Values.OrderBy(c => order.IndexOf(c.Id)).ToArray();
    }

    public async Task CandidateChanged(CandidateState candidate)
    {
        if (!state.State.Candidates.TryGetValue(candidate.Id, out var known)) return;
        state.State.Candidates[candidate.Id] = candidate;
        AddToFront(candidate);
        // Progress ticks stay in memory; status changes are written.
        if (known.Status != candidate.Status || known.Attempts.Count != candidate.Attempts.Count) await state.WriteStateAsync();
    }

    void AddToFront(CandidateState c)
    {
        if (c.Status == CandidateStatus.Completed && c.Result is { } r && double.IsFinite(r.Average))
            front.Add(FrontPoint.Of(c.Config, r));
    }

    public async Task Cancel()
    {
        if (state.State.Spec is null) return;
        foreach (var c in state.State.Candidates.Values.Where(c => !CandidateTransitions.IsFinished(c.Status)))
            await GrainFactory.GetGrain<ICandidateGrain>(SweepKeys.Candidate(state.State.Spec.Name, c.Id)).Cancel();
    }

    public async Task<IReadOnlyList<string>> Retry()
    {
        var retried = new List<string>();
        if (state.State.Spec is null) return retried;
        foreach (var c in state.State.Candidates.Values.Where(c => c.Status is CandidateStatus.Failed or CandidateStatus.Cancelled))
            if (await GrainFactory.GetGrain<ICandidateGrain>(SweepKeys.Candidate(state.State.Spec.Name, c.Id)).Retry()) retried.Add(c.Id);
        return retried;
    }
}
