using System.Runtime.InteropServices;
using System.Text.Json;
using LayerChop.Engine;
using LayerChop.Engine.Data;
using LayerChop.Engine.Evaluation;
using LayerChop.Engine.Training;

namespace LayerChop.Worker;

/// <summary>
/// The worker's entry point (`layerchop worker JOB.json`): runs one sweep candidate (chop, heal, evaluate,
/// measure) in its own process, so that a native crash or an out-of-memory error takes down only this candidate and
/// process exit hands its GPU memory back. Silos start it; people can too, to rerun a candidate by hand. Progress
/// goes to stdout as <see cref="WorkerProtocol"/> events; the exit code is a <see cref="WorkerExit"/>.
/// </summary>
public static class WorkerMain
{
    /// <param name="guard">runs the body as every command does: a problem with the input is one line on stderr and
    /// <see cref="WorkerExit.BadInput"/>, anything else <see cref="WorkerExit.InternalError"/>; it tells the line to its second argument.</param>
    public static int Run(string path, Func<Func<int>, Action<string>, int> guard)
    {
        using var stop = new CancellationTokenSource();
        void RequestStop(PosixSignalContext context) { context.Cancel = true; stop.Cancel(); }
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, RequestStop);
        using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, RequestStop);
        WatchParent();
        if (int.TryParse(Environment.GetEnvironmentVariable("LAYERCHOP_THREADS"), out int threads) && threads > 0)
            TorchSharp.torch.set_num_threads(threads);
        var events = new WorkerEvents();
        string? error = null, outOfMemory = null;
        CandidateJob? claimed = null;
        int code = guard(() =>
        {
            if (!File.Exists(path)) throw new LayerChopException($"{path}: no such job file");
            CandidateJob? parsed;
            try { parsed = JsonSerializer.Deserialize<CandidateJob>(File.ReadAllText(path), CandidateJob.FileFormat); }
            catch (JsonException e) { throw new LayerChopException($"{path}: not a candidate job ({e.Message})"); }
            if (parsed is null) throw new LayerChopException($"{path}: empty job file");
            events.Attempt = parsed.Attempt;
            claimed = parsed;
            try
            {
                // A sweep's attempt claims the candidate's folder; a job run by hand (attempt 0) publishes freely.
                using var slot = HostSlot.Hold(Environment.GetEnvironmentVariable(HostSlot.Variable), HostComputeGate.Folder, name => events.Emit(new MessageEvent { Message = $"waiting for an earlier worker on this host's slot {name} to exit" }));
                using var fence = parsed.Attempt > 0 ? Claim(parsed, events) : null;
                CandidateOutcome? outcome;
                try { outcome = CandidatePipeline.Run(parsed, events, stop.Token, fence); }
                catch (Exception e) when (OutOfMemory.Is(e))
                {
                    outOfMemory = OutOfMemoryLine(parsed, events.Stage);
                    Console.Error.WriteLine("error: " + outOfMemory);
                    return (int)WorkerExit.OutOfMemory;
                }
                if (outcome is null)
                {
                    events.Emit(new StoppedEvent { CheckpointStep = events.LastCheckpoint });
                    return (int)WorkerExit.Stopped;
                }
                events.Emit(new ResultEvent { Result = CandidateResults.From(outcome) });
                return (int)WorkerExit.Completed;
            }
            catch (AttemptFencedException e)
            {
                ReportFenced(events, e.Attempt, e.Owner);
                return (int)WorkerExit.Fenced;
            }
        }, message => error = message);
        // Whatever failed once a newer attempt took the folder over is a consequence of that: the worker was fenced.
        if (code == (int)WorkerExit.InternalError && claimed is { Attempt: > 0 } c && AttemptFence.Owner(c.WorkDir) is int owner && owner > c.Attempt)
        {
            ReportFenced(events, c.Attempt, owner);
            return (int)WorkerExit.Fenced;
        }
        if (outOfMemory is not null) events.Emit(new FailureEvent { Kind = FailureKind.OutOfMemory, Message = outOfMemory });
        else if (error is not null)
            events.Emit(new FailureEvent { Kind = code == (int)WorkerExit.BadInput ? FailureKind.BadInput : FailureKind.Internal, Message = error });
        return code;
    }

    /// <summary>The one line of a candidate that ran out of memory in <paramref name="stage"/>: the plan's figure, the slot's memory, what lowers the need.</summary>
    static string OutOfMemoryLine(CandidateJob job, WorkerStage? stage)
    {
        bool cuda = Trainer.ResolveDevice(job.Device).type == TorchSharp.DeviceType.CUDA;
        Engine.Memory.CandidateMemory? plan;
        try { plan = JobMemory.For(job); }
        catch (LayerChopException) { plan = null; }                  // the base model's config went away meanwhile
        return OutOfMemory.Describe(stage, plan, SlotMemory.OfThisWorker(cuda), OutOfMemory.Remedies(job, stage));
    }

    /// <summary>
    /// Claims the candidate's folder for the job's attempt and waits until no older attempt's worker runs; from
    /// then on the worker stops at once (exit <see cref="WorkerExit.Fenced"/>) when a newer attempt claims the
    /// folder. Its start and its stop, however it stops short of being killed, go into the folder's worker log.
    /// </summary>
    static AttemptFence Claim(CandidateJob job, WorkerEvents events)
    {
        var fence = AttemptFence.Claim(job.WorkDir, job.Attempt, older => events.Emit(new MessageEvent
        {
            Message = older is null
                ? "waiting for an older attempt's worker to stop"
                : $"waiting for the worker of attempt {older.Attempt} (pid {older.Pid}{(older.Where is null ? "" : " on " + older.Where)}) to stop",
        }));
        var previous = AttemptFence.ReadWorkerLog(job.WorkDir).LastOrDefault(r => r.Attempt < job.Attempt);
        var start = fence.Record(WorkerRecord.Start, job.Where);
        events.Emit(new StartedEvent
        {
            Pid = start.Pid, StartedUtc = start.Utc,
            PreviousStoppedUtc = previous is { Event: WorkerRecord.Stop } ? previous.Utc : null,
        });
        int stopped = 0;
        void RecordStop(int? code)
        {
            if (Interlocked.Exchange(ref stopped, 1) == 0)
                try { fence.Record(WorkerRecord.Stop, job.Where, code); } catch (IOException) { }
        }
        AppDomain.CurrentDomain.ProcessExit += (_, _) => RecordStop(Environment.ExitCode);
        beforeExitNow = RecordStop;
        fence.WatchOwner(owner =>
        {
            ReportFenced(events, job.Attempt, owner);
            ExitNow(WorkerExit.Fenced);
        });
        return fence;
    }

    static int fencedReported;

    /// <summary>Says once (the owner watch and the main thread may both notice) that a newer attempt owns the folder.</summary>
    static void ReportFenced(WorkerEvents events, int attempt, int owner)
    {
        if (Interlocked.Exchange(ref fencedReported, 1) != 0) return;
        Console.Error.WriteLine($"stopped: attempt {attempt} no longer owns the candidate's folder: attempt {owner} does");
        events.Emit(new FencedEvent { Owner = owner });
    }

    static Action<int?>? beforeExitNow;

    /// <summary>
    /// Ends the process at once from a watcher thread, with its stop recorded and its output flushed: no runtime
    /// shutdown, which could hang or crash while libtorch still computes on other threads.
    /// </summary>
    static void ExitNow(WorkerExit code)
    {
        beforeExitNow?.Invoke((int)code);
        Console.Out.Flush();
        Console.Error.Flush();
        ExitProcess((int)code);
    }

    [DllImport("libc", EntryPoint = "_exit")]
    static extern void ExitProcess(int code);

    /// <summary>
    /// A worker started by a silo exits when that silo's process is gone, so a dead silo leaves no orphan
    /// holding a GPU; the candidate resumes from its last checkpoint wherever it runs next.
    /// </summary>
    static void WatchParent()
    {
        if (!int.TryParse(Environment.GetEnvironmentVariable("LAYERCHOP_PARENT_PID"), out int parent)) return;
        // A process is reparented the moment its parent exits, even while the dead parent is an unreaped
        // zombie (which a pid lookup would still find): so the parent is gone when getppid() changes.
        var thread = new Thread(() =>
        {
            while (true)
            {
                if (getppid() != parent) ExitNow(WorkerExit.SiloGone);
                Thread.Sleep(500);
            }
        }) { IsBackground = true, Name = "parent watch" };
        thread.Start();
    }

    [DllImport("libc", SetLastError = false)]
    static extern int getppid();
}

/// <summary>The worker's side of <see cref="WorkerProtocol"/>: pipeline callbacks become event lines on stdout, flushed at once.</summary>
sealed class WorkerEvents : ICandidateObserver
{
    DateTime lastEvalReport = DateTime.MinValue;

    /// <summary>The job's attempt, stamped on every event.</summary>
    public int Attempt { get; set; }

    public long? LastCheckpoint { get; private set; }

    /// <summary>The stage the pipeline entered last; null before the first.</summary>
    public WorkerStage? Stage { get; private set; }

    public void Emit(WorkerEvent e)
    {
        Console.Out.WriteLine(WorkerProtocol.Write(e with { Attempt = Attempt }));
        Console.Out.Flush();
    }

    public void OnStage(WorkerStage stage)
    {
        Stage = stage;
        Emit(new StageEvent { Stage = stage });
    }

    public void OnStep(StepReport r) => Emit(new HealProgressEvent
    {
        Step = r.Step, TotalSteps = r.TotalSteps, Tokens = r.Tokens, Loss = r.Loss, Lr = r.Lr, TokensPerS = Math.Round(r.TokensPerSecond, 1),
    });

    public void OnCheckpoint(long step, string folder)
    {
        LastCheckpoint = step;
        Emit(new CheckpointEvent { Step = step });
    }

    public void OnMessage(string message) => Emit(new MessageEvent { Message = message });

    public void OnCorpusProgress(CorpusProgress p) { }

    public void OnEvaluationProgress(EvaluationProgress p)
    {
        if (p.Done != p.Total && (DateTime.UtcNow - lastEvalReport).TotalSeconds < 1) return;
        lastEvalReport = DateTime.UtcNow;
        Emit(new EvalProgressEvent { Task = p.Task, Done = p.Done, Total = p.Total });
    }
}

/// <summary>A pipeline outcome as the sweep keeps it.</summary>
public static class CandidateResults
{
    public static CandidateResult From(CandidateOutcome o) => new()
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
}
