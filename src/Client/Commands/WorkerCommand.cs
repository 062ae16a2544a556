using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text.Json;
using LayerChop.Engine;
using LayerChop.Engine.Data;
using LayerChop.Engine.Evaluation;
using LayerChop.Engine.Pipeline;
using LayerChop.Engine.Training;
using LayerChop.Interfaces;

namespace LayerChop.Client.Commands;

/// <summary>
/// Runs one sweep candidate (chop, heal, evaluate, measure) in its own process, so that a native crash or an
/// out-of-memory error takes down only this candidate and process exit hands its GPU memory back. Silos start
/// it; people can too, to rerun a candidate by hand.
/// </summary>
public static class WorkerCommand
{

    public static Command Create()
    {
        var job = new Argument<string>("JOB") { Description = "Candidate job file (JSON, snake_case fields of a CandidateJob)" };
        var command = new Command("worker", "Run one sweep candidate end to end; progress as JSON lines on stdout (the worker protocol: {\"event\":\"stage\"|\"heal_progress\"|\"eval_progress\"|\"checkpoint\"|\"message\"|\"result\"|\"failure\"|\"stopped\"|\"fenced\",\"attempt\":N,...}); rerunning continues where it stopped")
        {
            job,
        };
        command.SetAction(p =>
        {
            using var stop = new CancellationTokenSource();
            void RequestStop(PosixSignalContext context) { context.Cancel = true; stop.Cancel(); }
            using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, RequestStop);
            using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, RequestStop);
            WatchParent();
            if (int.TryParse(Environment.GetEnvironmentVariable("LAYERCHOP_THREADS"), out int threads) && threads > 0)
                TorchSharp.torch.set_num_threads(threads);
            var events = new WorkerEvents();
            string? error = null;
            int code = Cli.Run(() =>
            {
                var path = p.GetValue(job)!;
                if (!File.Exists(path)) throw new LayerChopException($"{path}: no such job file");
                CandidateJob? parsed;
                try { parsed = JsonSerializer.Deserialize<CandidateJob>(File.ReadAllText(path), CandidateJob.FileFormat); }
                catch (JsonException e) { throw new LayerChopException($"{path}: not a candidate job ({e.Message})"); }
                if (parsed is null) throw new LayerChopException($"{path}: empty job file");
                events.Attempt = parsed.Attempt;
                try
                {
                    // A sweep's attempt claims the candidate's folder; a job run by hand (attempt 0) publishes freely.
                    using var fence = parsed.Attempt > 0 ? AttemptFence.Claim(parsed.WorkDir, parsed.Attempt) : null;
                    var outcome = CandidatePipeline.Run(parsed, events, stop.Token, fence);
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
                    Console.Error.WriteLine($"stopped: {e.Message}");
                    events.Emit(new FencedEvent { Owner = e.Owner });
                    return (int)WorkerExit.Fenced;
                }
            }, message => error = message);
            if (error is not null)
                events.Emit(new FailureEvent { Kind = code == Cli.UserError ? FailureKind.BadInput : FailureKind.Internal, Message = error });
            return code;
        });
        return command;
    }

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
                if (getppid() != parent) Environment.Exit((int)WorkerExit.SiloGone);
                Thread.Sleep(500);
            }
        }) { IsBackground = true, Name = "parent watch" };
        thread.Start();
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = false)]
    static extern int getppid();
}

/// <summary>The worker's side of <see cref="WorkerProtocol"/>: pipeline callbacks become event lines on stdout, flushed at once.</summary>
sealed class WorkerEvents : ICandidateObserver
{
    DateTime lastEvalReport = DateTime.MinValue;

    /// <summary>The job's attempt, stamped on every event.</summary>
    public int Attempt { get; set; }

    public long? LastCheckpoint { get; private set; }

    public void Emit(WorkerEvent e)
    {
        Console.Out.WriteLine(WorkerProtocol.Write(e with { Attempt = Attempt }));
        Console.Out.Flush();
    }

    public void OnStage(string stage) => Emit(new StageEvent { Stage = Enum.Parse<WorkerStage>(stage, ignoreCase: true) });

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
