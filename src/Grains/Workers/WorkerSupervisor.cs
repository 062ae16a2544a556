using System.Threading.Channels;
using LayerChop.Interfaces;
using LayerChop.Worker;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace LayerChop.Grains.Workers;

/// <summary>
/// The owner of this silo's worker slots and worker processes. When a slot is free it pulls work: it asks the
/// unfinished sweeps, in turn, for their next queued candidate (<see cref="ISweepGrain.TakeNext"/>), which comes
/// with a lease carrying the attempt's number; the slot says how much memory it has, and a sweep hands it only a
/// candidate whose planned peak fits (<see cref="SlotRef.MemoryBytes"/>). It runs the worker, passes each of its typed events to the
/// candidate grain and, when the process exits, ends the attempt. It is woken when work appears (a submit, a
/// retry, a candidate back in the queue) and asks by itself every <see cref="AskEvery"/> in case a wake-up was
/// lost. A report that fails (the database briefly down) is logged and the worker goes on; an attempt's end is
/// retried until it is delivered. A worker whose attempt is no longer live is stopped. When the silo stops,
/// its workers checkpoint and their attempts end as interrupted. Before it asks, it reads the membership table:
/// a silo the cluster declared dead while it was cut off counts itself active until it reads the table, and must
/// not take work meanwhile (Orleans stops a silo that finds its own row dead).
/// </summary>
public sealed class WorkerSupervisor(
    WorkerOptions options, IGrainFactory grains, ILocalSiloDetails silo, IClusterMembershipService membership, ILogger<WorkerSupervisor> log)
    : ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    /// <summary>A free slot asks the sweeps for work at least this often.</summary>
    public static readonly TimeSpan AskEvery = TimeSpan.FromSeconds(30);
    /// <summary>A worker told to stop (cancel, stale attempt) is killed after this long.</summary>
    public static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);
    /// <summary>When the silo stops, workers get this long to checkpoint.</summary>
    public static readonly TimeSpan ShutdownGrace = TimeSpan.FromSeconds(20);

    enum StopReason { None, Cancelled, Stale, SiloStopping }

    sealed class Worker(Lease lease, WorkerProcess process)
    {
        public readonly Lease Lease = lease;
        public readonly WorkerProcess Process = process;
        public volatile StopReason Stop;
        public Task Done = Task.CompletedTask;
    }

    readonly object gate = new();
    readonly Worker?[] slots = new Worker?[options.Slots];
    readonly SemaphoreSlim signal = new(0, 1);
    readonly CancellationTokenSource stopping = new();
    Task loop = Task.CompletedTask;

    string SiloKey => silo.SiloAddress.ToParsableString();

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(WorkerSupervisor), ServiceLifecycleStage.Active, OnStart, OnStop);

    Task OnStart(CancellationToken cancel)
    {
        if (slots.Length > 0) loop = Task.Run(Loop);
        return Task.CompletedTask;
    }

    public SlotsView View()
    {
        lock (gate)
            return new SlotsView
            {
                Silo = SiloKey, Gpu = options.Gpu, Holders = slots.Select(w => w?.Lease.ToString()).ToArray(),
                MemoryBytes = Enumerable.Range(0, slots.Length).Select(options.MemoryOf).ToArray(),
            };
    }

    /// <summary>There may be work: a free slot asks now.</summary>
    public void Wake()
    {
        try { signal.Release(); }
        catch (SemaphoreFullException) { }    // a wake-up is pending already
    }

    /// <summary>Stops the worker of <paramref name="lease"/> if it runs here: SIGTERM, then SIGKILL after <see cref="StopGrace"/>.</summary>
    public void Stop(Lease lease)
    {
        Worker? worker;
        lock (gate) worker = slots.FirstOrDefault(w => w is not null && w.Lease == lease);
        if (worker is not null) StopWorker(worker, StopReason.Cancelled, StopGrace);
    }

    void StopWorker(Worker worker, StopReason reason, TimeSpan grace)
    {
        if (worker.Stop != StopReason.None) return;
        worker.Stop = reason;
        worker.Process.Stop();
        _ = Task.Delay(grace).ContinueWith(_ => worker.Process.Kill(), TaskScheduler.Default);
    }

    async Task Loop()
    {
        var token = stopping.Token;
        var backoff = TimeSpan.FromSeconds(1);
        while (!token.IsCancellationRequested)
        {
            int[] free;
            lock (gate) free = Enumerable.Range(0, slots.Length).Where(i => slots[i] is null).ToArray();
            if (free.Length > 0)
            {
                try
                {
                    // Every free slot asks, the smallest first: work that only a larger slot can hold is left to it,
                    // and work a small slot can hold does not take a larger one that something bigger waits for.
                    bool started = false;
                    foreach (int slot in free.OrderBy(i => options.MemoryOf(i) ?? long.MaxValue))
                    {
                        if (await Ask(slot) is not { } order) continue;
                        Start(slot, order);
                        started = true;
                    }
                    if (started)
                    {
                        backoff = TimeSpan.FromSeconds(1);
                        continue;                                  // a slot that found nothing may find something now
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException || !token.IsCancellationRequested)
                {
                    log.LogWarning("asking the sweeps for work failed: {Message}; asking again in {Seconds} s", e.Message, backoff.TotalSeconds);
                    try { await Task.Delay(backoff, token); } catch (OperationCanceledException) { return; }
                    backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, AskEvery.Ticks));
                    continue;
                }
            }
            try { await signal.WaitAsync(AskEvery, token); }
            catch (OperationCanceledException) { return; }
        }
    }

    async Task<WorkOrder?> Ask(int slot)
    {
        var where = new SlotRef { Silo = SiloKey, Slot = slot, MemoryBytes = options.MemoryOf(slot) };
        await membership.Refresh();
        if (membership.CurrentSnapshot.GetSiloStatus(silo.SiloAddress) is var status && status != SiloStatus.Active)
        {
            log.LogWarning("not asking for work: the membership table has this silo as {Status}", status);
            return null;
        }
        foreach (var sweep in await grains.GetGrain<ISweepIndexGrain>(0).GetNames())
            if (await grains.GetGrain<ISweepGrain>(sweep).TakeNext(where) is { } order) return order;
        return null;
    }

    void Start(int slot, WorkOrder order)
    {
        WorkerProcess process;
        try
        {
            var job = JobBuilder.Build(order.Spec, order.Config, options.Gpu) with { Attempt = order.Lease.Attempt, Where = $"{SiloKey}#{slot}" };
            process = WorkerProcess.Start(options, job, slot);
        }
        catch (Exception e)
        {
            log.LogError("could not start the worker of {Lease}: {Message}", order.Lease, e.Message);
            var failed = new AttemptEnd { Outcome = AttemptOutcome.Failed, Reason = $"could not start the worker: {e.Message}" };
            _ = Task.Run(() => Deliver(order.Lease, failed));
            return;
        }
        var worker = new Worker(order.Lease, process);
        lock (gate) slots[slot] = worker;
        worker.Done = Task.Run(() => Follow(slot, worker));
    }

    /// <summary>Reads the worker's events, passes them on in order without ever blocking the worker, then ends the attempt.</summary>
    async Task Follow(int slot, Worker worker)
    {
        var events = Channel.CreateUnbounded<WorkerEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var reporting = Task.Run(() => Report(worker, events.Reader));
        CandidateResult? result = null;
        FailureEvent? failure = null;
        FencedEvent? fenced = null;
        string? protocolError = null;
        try
        {
            string? line;
            while ((line = await worker.Process.ReadLineAsync(CancellationToken.None)) is not null)
            {
                WorkerEvent? e;
                try { e = WorkerProtocol.Read(line); }
                catch (FormatException x) { protocolError ??= x.Message; continue; }
                if (e is null) continue;
                if (e.Attempt != worker.Lease.Attempt)
                {
                    protocolError ??= $"the worker of attempt {worker.Lease.Attempt} reported attempt {e.Attempt}";
                    continue;
                }
                switch (e)
                {
                    // The attempt's end carries these to the candidate.
                    case ResultEvent r: result = r.Result; break;
                    case FailureEvent f: failure = f; break;
                    case FencedEvent f: fenced = f; break;
                    case MessageEvent m: log.LogInformation("{Lease}: {Message}", worker.Lease, m.Message); break;
                    default: events.Writer.TryWrite(e); break;    // stage, progress, checkpoint: the candidate applies them
                }
            }
        }
        finally
        {
            events.Writer.TryComplete();
        }
        int code = await worker.Process.WaitAsync();
        var exited = DateTime.UtcNow;
        await reporting;
        var end = EndOf(worker, code, result, failure, fenced, protocolError) with { WorkerEndedUtc = exited };
        await Deliver(worker.Lease, end);
        lock (gate) slots[slot] = null;
        worker.Process.Dispose();
        Wake();                                                    // the slot is free: ask for work
    }

    async Task Report(Worker worker, ChannelReader<WorkerEvent> events)
    {
        var candidate = grains.GetGrain<ICandidateGrain>(worker.Lease.Key);
        await foreach (var e in events.ReadAllAsync())
        {
            // Behind: only the newest evaluation tick is worth sending (every healing step carries a point of the loss curve).
            if (e is EvalProgressEvent && events.TryPeek(out var next) && next is EvalProgressEvent) continue;
            try
            {
                if (await candidate.Report(e) == ReportVerdict.Stale && worker.Stop == StopReason.None)
                {
                    log.LogWarning("{Lease} is no longer the live attempt; stopping its worker", worker.Lease);
                    StopWorker(worker, StopReason.Stale, StopGrace);
                }
            }
            catch (Exception x) when (x is not OperationCanceledException)
            {
                // The worker goes on: its progress is on disk, and the attempt's end is delivered with retries.
                log.LogWarning("could not report {Event} of {Lease}: {Message}", e.GetType().Name, worker.Lease, x.Message);
            }
        }
    }

    static AttemptEnd EndOf(Worker worker, int code, CandidateResult? result, FailureEvent? failure, FencedEvent? fenced, string? protocolError)
    {
        var exit = WorkerProtocol.ExitOf(code);
        if (exit == WorkerExit.Completed && result is not null && protocolError is null)
            return new AttemptEnd { Outcome = AttemptOutcome.Succeeded, Result = result };
        if (fenced is not null || exit == WorkerExit.Fenced)
            return new AttemptEnd { Outcome = AttemptOutcome.Interrupted, Reason = $"a newer attempt ({fenced?.Owner.ToString() ?? "?"}) owns the candidate's folder" };
        switch (worker.Stop)
        {
            case StopReason.Cancelled: return new AttemptEnd { Outcome = AttemptOutcome.Cancelled, Reason = "cancelled" };
            case StopReason.SiloStopping: return new AttemptEnd { Outcome = AttemptOutcome.Interrupted, Reason = "its silo stopped" };
            case StopReason.Stale: return new AttemptEnd { Outcome = AttemptOutcome.Interrupted, Reason = "stale attempt, stopped" };
        }
        if (exit == WorkerExit.Stopped)
            return new AttemptEnd { Outcome = AttemptOutcome.Interrupted, Reason = "the worker was stopped from outside (SIGTERM or SIGINT)" };
        if (protocolError is not null)
            return new AttemptEnd { Outcome = AttemptOutcome.Failed, Reason = $"protocol error: {protocolError}" };
        if (failure is not null)
            return AttemptEnd.Of(failure);
        string tail = worker.Process.StderrTail();
        return new AttemptEnd
        {
            Outcome = AttemptOutcome.Failed,
            Reason = $"worker {WorkerProtocol.DescribeExit(code)}{(tail.Length > 0 ? ": " + tail : "")}",
        };
    }

    /// <summary>Ends the attempt, retrying while the cluster or its database cannot take it, until the silo stops.</summary>
    async Task Deliver(Lease lease, AttemptEnd end)
    {
        var delay = TimeSpan.FromSeconds(1);
        while (true)
        {
            try
            {
                await grains.GetGrain<ICandidateGrain>(lease.Key).End(lease.Attempt, end);
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                if (stopping.IsCancellationRequested && delay > TimeSpan.FromSeconds(2))
                {
                    log.LogWarning("gave up ending {Lease} as the silo stops ({Message}); the cluster requeues it when this silo is gone", lease, e.Message);
                    return;
                }
                log.LogWarning("could not end {Lease} ({Message}); trying again in {Seconds} s", lease, e.Message, delay.TotalSeconds);
                await Task.Delay(delay);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            }
        }
    }

    async Task OnStop(CancellationToken cancel)
    {
        stopping.Cancel();
        await loop;
        Worker[] workers;
        lock (gate) workers = slots.OfType<Worker>().ToArray();
        foreach (var w in workers) StopWorker(w, StopReason.SiloStopping, ShutdownGrace);
        try { await Task.WhenAll(workers.Select(w => w.Done)).WaitAsync(ShutdownGrace + TimeSpan.FromSeconds(5), cancel); }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            foreach (var w in workers) w.Process.Kill();
        }
    }

    /// <summary>No worker outlives the silo.</summary>
    public void Dispose()
    {
        Worker?[] workers;
        lock (gate) workers = slots.ToArray();
        foreach (var w in workers) w?.Process.Kill();
        stopping.Dispose();
    }
}
