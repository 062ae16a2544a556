using LayerChop.Engine;
using LayerChop.Interfaces;
using LayerChop.Specs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Orleans.Storage;

namespace LayerChop.Grains.Sweeps;

/// <summary>Persisted state of a sweep: its spec, and whether it was cancelled. Candidates own their own state.</summary>
[GenerateSerializer, Alias("layerchop.sweep-state")]
public sealed record SweepState
{
    [Id(0)] public SweepSpec? Spec { get; init; }
    [Id(1)] public DateTime SubmittedUtc { get; init; }
    // Id 2 held a copy of every candidate's state in earlier releases; it is no longer read or written.
    [Id(3)] public bool Cancelled { get; init; }
}

/// <summary>
/// The coordinator of one sweep (key: the sweep's name). It owns the queue of candidates waiting for a slot,
/// cancellation and the Pareto fronts. It writes only its spec: each candidate grain owns its state, and the
/// sweep keeps a summary of each in memory, fed by the candidates' <see cref="Changed"/> reports and rebuilt
/// from the candidates' stored states when it activates. So a status change costs one candidate write and an
/// in-memory update, whatever the sweep's size. Silos' supervisors pull work with <see cref="TakeNext"/>; the
/// sweep wakes them when work appears, and puts the candidates of a silo that left the cluster back in the queue.
/// </summary>
public sealed class SweepGrain(
    [PersistentState("sweep", StorageNames.Sweeps)] IPersistentState<SweepState> state,
    IClusterMembershipService membership, ILocalSiloDetails localSilo, ILogger<SweepGrain> log)
    : Grain, ISweepGrain, IRemindable
{
    /// <summary>How often an unfinished sweep looks for running candidates whose silo left the cluster.</summary>
    static readonly TimeSpan LostSiloCheck = TimeSpan.FromSeconds(5);

    sealed class Entry(int order, CandidateSummary summary)
    {
        public readonly int Order = order;
        public CandidateSummary Summary = summary;
        public long ChangedAt;
    }

    readonly ParetoFront front = new();
    readonly Dictionary<string, Entry> entries = new(StringComparer.Ordinal);
    readonly List<Entry> ordered = [];
    readonly SortedSet<int> queue = [];                  // grid positions of candidates waiting for a slot
    readonly Dictionary<string, Entry> running = new(StringComparer.Ordinal);
    readonly Dictionary<CandidateStatus, int> counts = [];
    // Each candidate's planned peak memory, a pure function of the spec and the candidate: worked out when a slot
    // first asks, kept for this activation (and dropped when a resubmission changes the spec); null: no figure.
    readonly Dictionary<string, long?> peaks = new(StringComparer.Ordinal);
    // The base model's config.json, read once for every candidate's plan (dropped with the peaks).
    Engine.Modeling.ModelConfig? baseConfig;
    long revision;
    readonly string epoch = Guid.NewGuid().ToString("N");
    bool watching;

    SweepSpec? Spec => state.State.Spec;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (Spec is { } spec)
        {
            var storage = ServiceProvider.GetRequiredKeyedService<IGrainStorage>(StorageNames.Sweeps);
            foreach (var config in SweepGrid.Expand(spec)) Add(config);
            // The candidates' own stored states, read in parallel batches: the summaries are derived from them.
            foreach (var batch in ordered.Chunk(64))
            {
                var reads = batch.Select(async e =>
                {
                    var grainState = new GrainState<CandidateState>();
                    var id = Candidate(e.Summary.Id).GetGrainId();
                    await storage.ReadStateAsync(StorageNames.CandidateState, id, grainState);
                    return (e, grainState);
                }).ToArray();
                foreach (var (e, s) in await Task.WhenAll(reads))
                    if (s.RecordExists && s.State is { } stored) Apply(stored.Summarize());
            }
        }
        this.RegisterGrainTimer(CheckLostSilos, new GrainTimerCreationOptions(LostSiloCheck, LostSiloCheck) { KeepAlive = false });
        if (Unfinished) await KeepWatching();
    }

    ICandidateGrain Candidate(string id) => GrainFactory.GetGrain<ICandidateGrain>(SweepKeys.Candidate(this.GetPrimaryKeyString(), id));

    bool Unfinished => Spec is not null && counts.Where(c => !CandidateTransitions.IsFinished(c.Key)).Any(c => c.Value > 0);

    Entry Add(CandidateConfig config)
    {
        var entry = new Entry(ordered.Count, CandidateSummary.New(config)) { ChangedAt = ++revision };
        ordered.Add(entry);
        entries[config.Id] = entry;
        counts[CandidateStatus.Pending] = counts.GetValueOrDefault(CandidateStatus.Pending) + 1;
        queue.Add(entry.Order);
        return entry;
    }

    /// <summary>
    /// Takes a candidate's summary when it is newer than the one kept: a higher revision (a write), or the same
    /// revision with newer progress (a tick). Older ones, arriving late, are dropped. Returns whether it was taken.
    /// </summary>
    bool Apply(CandidateSummary summary)
    {
        if (!entries.TryGetValue(summary.Id, out var entry)) return false;
        var known = entry.Summary;
        if (summary.Revision < known.Revision) return false;
        // (A first tick after a write has no progress to compare with: null is older than any time.)
        if (summary.Revision == known.Revision && !(summary.Progress is { } p && (known.Progress is null || p.UpdatedUtc > known.Progress.UpdatedUtc))) return false;
        counts[known.Status]--;
        counts[summary.Status] = counts.GetValueOrDefault(summary.Status) + 1;
        entry.Summary = summary;
        entry.ChangedAt = ++revision;
        if (summary.Running is not null) running[summary.Id] = entry; else running.Remove(summary.Id);
        if (summary.Status == CandidateStatus.Pending && summary.Running is null) queue.Add(entry.Order); else queue.Remove(entry.Order);
        if (summary.Status == CandidateStatus.Completed && summary.Result is { } r && double.IsFinite(r.Average))
            front.Add(FrontPoint.Of(summary.Config, r));
        return true;
    }

    public async Task Changed(CandidateSummary summary)
    {
        bool wasQueued = entries.TryGetValue(summary.Id, out var e) && queue.Contains(e.Order);
        if (!Apply(summary)) return;
        if (!wasQueued && queue.Contains(e!.Order) && !state.State.Cancelled) await WakeSupervisors();   // back in the queue
        if (!Unfinished && watching) await StopWatching();
    }

    public async Task<WorkOrder?> TakeNext(SlotRef slot)
    {
        if (Spec is not { } spec || state.State.Cancelled) return null;
        if (IsLeaving(slot.Silo))
        {
            // A silo the cluster declared dead may still ask until it learns so (a partition healed) and ends itself.
            log.LogInformation("sweep {Sweep}: no work for {Silo}: the cluster no longer counts it as active", spec.Name, slot.Silo);
            return null;
        }
        await RequeueLost();
        // In grid order, the first queued candidate that the slot's memory can hold; a larger one stays queued for a
        // larger slot and does not hold up those behind it.
        foreach (int order in queue.ToArray())
        {
            if (!queue.Contains(order)) continue;        // taken or finished while an earlier one began
            var entry = ordered[order];
            if (!Fits(spec, entry.Summary.Config, slot)) continue;
            queue.Remove(entry.Order);                   // out of the queue while its attempt begins
            BeginReply reply;
            try
            {
                reply = await Candidate(entry.Summary.Id).Begin(spec.Name, entry.Summary.Config, slot, spec.MaxAttempts);
            }
            catch
            {
                if (entry.Summary.Status == CandidateStatus.Pending && entry.Summary.Running is null) queue.Add(entry.Order);
                throw;
            }
            Apply(reply.Summary);
            if (reply.Lease is { } lease) return new WorkOrder { Lease = lease, Spec = spec, Config = entry.Summary.Config };
        }
        return null;
    }

    /// <summary>Whether <paramref name="slot"/> has the memory <paramref name="config"/>'s plan needs at its peak (a slot or a
    /// plan without a figure: yes).</summary>
    bool Fits(SweepSpec spec, CandidateConfig config, SlotRef slot) =>
        slot.MemoryBytes is not { } memory || PlannedPeak(spec, config) is not { } peak || peak <= memory;

    long? PlannedPeak(SweepSpec spec, CandidateConfig config)
    {
        if (peaks.TryGetValue(config.Id, out var known)) return known;
        long? peak;
        try { peak = SweepMemory.For(baseConfig ??= Engine.Modeling.ModelConfig.Load(spec.BaseModel), spec, config).PeakBytes; }
        catch (Exception e) when (e is LayerChopException or IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            // The base model's config cannot be read from this silo: the candidate goes anywhere, and its worker says what is wrong.
            log.LogWarning("sweep {Sweep}: no memory plan for {Candidate}: {Message}; it may run in any slot", spec.Name, config.Id, e.Message);
            peak = null;
        }
        peaks[config.Id] = peak;
        return peak;
    }

    Task CheckLostSilos(CancellationToken cancel) => Unfinished ? RequeueLost() : watching ? StopWatching() : Task.CompletedTask;

    /// <summary>Candidates whose attempt ran on a silo that the cluster declared dead go back to the queue.</summary>
    async Task RequeueLost()
    {
        if (running.Count == 0 || Spec is not { } spec) return;
        var members = membership.CurrentSnapshot.Members.Values.ToDictionary(m => m.SiloAddress.ToParsableString(), m => m.Status, StringComparer.Ordinal);
        bool requeued = false;
        foreach (var entry in running.Values.ToList())
        {
            var silo = entry.Summary.Running!.Silo;
            if (!IsLost(members, silo, entry.Summary.UpdatedUtc)) continue;
            var summary = await Candidate(entry.Summary.Id).Interrupt(spec.Name, entry.Summary.Config, entry.Summary.RunningAttempt, $"its silo {silo} left the cluster");
            requeued |= Apply(summary) && queue.Contains(entry.Order);
            log.LogInformation("sweep {Sweep}: {Candidate} was running on {Silo}, which left the cluster; queued again", spec.Name, entry.Summary.Id, silo);
        }
        if (requeued && !state.State.Cancelled) await WakeSupervisors();
    }

    /// <summary>
    /// Whether the silo of an attempt is gone: the cluster declared it dead, or this silo's view of the membership
    /// does not know it although it started before this silo did (this silo read every older row when it joined:
    /// the row is gone, or it was a silo of an earlier embedded run). A silo that started later and is unknown may
    /// just have joined: only an attempt that has not changed for <see cref="UnknownSiloGrace"/> counts as lost.
    /// </summary>
    bool IsLost(Dictionary<string, SiloStatus> members, string silo, DateTime sinceUtc)
    {
        if (members.TryGetValue(silo, out var status)) return status == SiloStatus.Dead;
        try
        {
            if (SiloAddress.FromParsableString(silo).Generation < localSilo.SiloAddress.Generation) return true;
        }
        catch (FormatException) { return true; }
        return DateTime.UtcNow - sinceUtc > UnknownSiloGrace;
    }

    /// <summary>Whether this silo's membership view has <paramref name="silo"/> as dead or on its way out (an unknown one may have just joined).</summary>
    bool IsLeaving(string silo) =>
        membership.CurrentSnapshot.Members.Values.FirstOrDefault(m => m.SiloAddress.ToParsableString() == silo) is { } member
        && member.Status is SiloStatus.Dead or SiloStatus.ShuttingDown or SiloStatus.Stopping;

    /// <summary>How long a silo unknown to the membership view is given before its attempts count as lost.</summary>
    static readonly TimeSpan UnknownSiloGrace = TimeSpan.FromMinutes(2);

    /// <summary>Tells every live silo's supervisor that there is work (a silo without a free slot ignores it).</summary>
    async Task WakeSupervisors()
    {
        foreach (var member in membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Active))
        {
            try { await GrainFactory.GetGrain<IWorkerHostGrain>(member.SiloAddress.ToParsableString()).Wake(); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.LogDebug("could not wake the supervisor of {Silo}: {Message}", member.SiloAddress, e.Message);   // it asks by itself soon
            }
        }
    }

    // In cluster mode a reminder brings the coordinator back after a whole-cluster stop, with nobody watching;
    // the embedded mode has no reminders (its silo's startup task, or running the sweep again, resumes it).
    async Task KeepWatching()
    {
        if (Spec is null) return;
        watching = true;
        await GrainFactory.GetGrain<ISweepIndexGrain>(0).Add(Spec.Name);
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

    public Task Resume() => Unfinished && !state.State.Cancelled ? WakeSupervisors() : Task.CompletedTask;

    public async Task<SubmitResult> Submit(SweepSpec spec)
    {
        if (spec.Name != this.GetPrimaryKeyString())
            return SubmitResult.Rejected($"spec name '{spec.Name}' does not match sweep '{this.GetPrimaryKeyString()}'");
        try { SweepSpecValidator.Validate(spec); }
        catch (LayerChopException e) { return SubmitResult.Rejected(e.Message); }
        var previous = Spec;
        if (previous is not null && SweepSpecDiff.Refusal(previous, spec) is { } refusal) return SubmitResult.Rejected(refusal);
        try
        {
            if (SweepOutput.Claim(spec.Output, spec.Name) is { } taken) return SubmitResult.Rejected(taken);
        }
        catch (LayerChopException e) { return SubmitResult.Rejected(e.Message); }

        var configs = SweepGrid.Expand(spec);
        var added = new List<string>();
        foreach (var config in configs)
        {
            if (entries.ContainsKey(config.Id)) continue;
            Add(config);
            added.Add(config.Id);
        }
        // New candidates in a cancelled sweep resume it: they would otherwise wait for a slot that never comes.
        string? note = null;
        bool resume = state.State.Cancelled && added.Count > 0;
        if (resume)
        {
            int cancelled = ordered.Count(e => e.Summary.Status == CandidateStatus.Cancelled);
            note = $"sweep {spec.Name} was cancelled; its {added.Count} new candidate(s) resume it" +
                   (cancelled > 0 ? $" ({cancelled} cancelled candidate(s) stay cancelled until a retry)" : "");
        }
        else if (state.State.Cancelled)
            note = $"sweep {spec.Name} is cancelled: nothing new starts until a retry";
        state.State = state.State with
        {
            Spec = spec, SubmittedUtc = previous is null ? DateTime.UtcNow : state.State.SubmittedUtc, Cancelled = state.State.Cancelled && !resume,
        };
        await state.WriteStateAsync();
        peaks.Clear();
        baseConfig = null;

        // A setting that lowers the memory need changed: candidates that ran out of memory run again with it.
        if (previous is not null && SweepSpecDiff.MemoryChanges(previous, spec) is { Count: > 0 } lowered)
        {
            var again = new List<string>();
            foreach (var entry in ordered.Where(e => e.Summary.Status == CandidateStatus.Failed).ToList())
                if (await Candidate(entry.Summary.Id).RetryOutOfMemory(spec.MaxAttempts) is { } retried && Apply(retried)) again.Add(entry.Summary.Id);
            if (again.Count > 0)
                note = (note is null ? "" : note + "; ") +
                       $"{string.Join(", ", lowered.Select(d => $"{d.Field} {d.Existing} -> {d.Submitted}"))}: {again.Count} candidate(s) that ran out of memory run again ({string.Join(", ", again)})";
        }

        if (previous is not null && spec.MaxAttempts > previous.MaxAttempts)
            foreach (var entry in ordered.Where(e => e.Summary.Attempts > 0 && e.Summary.Status != CandidateStatus.Completed).ToList())
                if (await Candidate(entry.Summary.Id).RaiseMaxAttempts(spec.MaxAttempts) is { } raised) Apply(raised);

        if (Unfinished)
        {
            await KeepWatching();
            if (!state.State.Cancelled) await WakeSupervisors();
        }
        return new SubmitResult { Accepted = true, Candidates = configs.Select(c => c.Id).ToArray(), Added = added, Note = note };
    }

    public Task<SweepSpec?> GetSpec() => Task.FromResult(Spec);

    public Task<SweepStatus?> GetStatus(long sinceRevision = 0) => Task.FromResult(Spec is null ? null : new SweepStatus
    {
        Name = Spec.Name, SubmittedUtc = state.State.SubmittedUtc, Revision = revision, Epoch = epoch, Running = running.Count,
        Cancelled = state.State.Cancelled, Counts = new Dictionary<CandidateStatus, int>(counts.Where(c => c.Value > 0)),
        Candidates = ordered.Where(e => e.ChangedAt > sinceRevision).Select(e => e.Summary).ToArray(),
    });

    public Task<SweepFront> GetFront() => Task.FromResult(front.ToSweepFront());

    public Task<IReadOnlyList<CandidateSummary>> GetResults() =>
        Task.FromResult<IReadOnlyList<CandidateSummary>>(ordered.Select(e => e.Summary).ToArray());

    public async Task<CancelResult> Cancel()
    {
        if (Spec is not { } spec) return new CancelResult();
        int finished = ordered.Count(e => CandidateTransitions.IsFinished(e.Summary.Status));
        if (!Unfinished) return new CancelResult { AlreadyFinished = finished };   // a finished sweep stays as it was
        state.State = state.State with { Cancelled = true };    // from here on nothing new starts
        await state.WriteStateAsync();
        var stopped = new List<string>();
        var queued = new List<string>();
        // Running ones first: their workers stop while the queued ones are marked.
        foreach (var entry in ordered.Where(e => !CandidateTransitions.IsFinished(e.Summary.Status)).OrderBy(e => e.Summary.Running is null).ToList())
        {
            bool wasRunning = entry.Summary.Running is not null;
            Apply(await Candidate(entry.Summary.Id).Cancel(spec.Name, entry.Summary.Config));
            if (entry.Summary.Status != CandidateStatus.Cancelled) continue;   // it finished meanwhile
            (wasRunning ? stopped : queued).Add(entry.Summary.Id);
        }
        if (!Unfinished && watching) await StopWatching();
        return new CancelResult { Queued = queued, Stopped = stopped, AlreadyFinished = finished };
    }

    public async Task<IReadOnlyList<string>> Retry()
    {
        if (Spec is not { } spec) return [];
        if (state.State.Cancelled)
        {
            state.State = state.State with { Cancelled = false };
            await state.WriteStateAsync();
        }
        var retried = new List<string>();
        foreach (var entry in ordered.Where(e => e.Summary.Status is CandidateStatus.Failed or CandidateStatus.Cancelled).ToList())
        {
            if (await Candidate(entry.Summary.Id).Retry(spec.MaxAttempts) is not { } summary) continue;
            Apply(summary);
            retried.Add(entry.Summary.Id);
        }
        if (Unfinished)
        {
            await KeepWatching();
            await WakeSupervisors();
        }
        return retried;
    }
}
