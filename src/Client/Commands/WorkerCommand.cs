using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text.Json;
using LayerChop.Engine;
using LayerChop.Engine.Data;
using LayerChop.Engine.Evaluation;
using LayerChop.Engine.Pipeline;
using LayerChop.Engine.Training;

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
        var command = new Command("worker", "Run one sweep candidate end to end; progress as JSON lines on stdout ({\"event\":\"stage\"|\"progress\"|\"checkpoint\"|\"result\"|\"error\",...}); rerunning continues where it stopped")
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
            var events = new JsonLinesObserver();
            string? error = null;
            int code = Cli.Run(() =>
            {
                var path = p.GetValue(job)!;
                if (!File.Exists(path)) throw new LayerChopException($"{path}: no such job file");
                CandidateJob? parsed;
                try { parsed = JsonSerializer.Deserialize<CandidateJob>(File.ReadAllText(path), CandidateJob.FileFormat); }
                catch (JsonException e) { throw new LayerChopException($"{path}: not a candidate job ({e.Message})"); }
                if (parsed is null) throw new LayerChopException($"{path}: empty job file");
                var outcome = CandidatePipeline.Run(parsed, events, stop.Token);
                if (outcome is null) { events.Emit(new() { ["event"] = "stopped" }); return 130; }
                events.Emit(new() { ["event"] = "result", ["result"] = outcome });
                return 0;
            }, message => error = message);
            if (error is not null) events.Emit(new() { ["event"] = "error", ["message"] = error, ["exit_code"] = code });
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
                if (getppid() != parent) Environment.Exit(137);
                Thread.Sleep(500);
            }
        }) { IsBackground = true, Name = "parent watch" };
        thread.Start();
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = false)]
    static extern int getppid();
}

/// <summary>The worker's progress protocol: one JSON object per line, flushed at once.</summary>
sealed class JsonLinesObserver : ICandidateObserver
{
    static readonly JsonSerializerOptions Options = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
    DateTime lastEvalReport = DateTime.MinValue;

    public void Emit(Dictionary<string, object?> value)
    {
        Console.Out.WriteLine(JsonSerializer.Serialize(value, Options));
        Console.Out.Flush();
    }

    public void OnStage(string stage) => Emit(new() { ["event"] = "stage", ["stage"] = stage });

    public void OnStep(StepReport r) => Emit(new()
    {
        ["event"] = "progress", ["stage"] = "healing", ["step"] = r.Step, ["total_steps"] = r.TotalSteps,
        ["tokens"] = r.Tokens, ["loss"] = r.Loss, ["lr"] = r.Lr, ["tokens_per_s"] = Math.Round(r.TokensPerSecond, 1),
    });

    public void OnCheckpoint(long step, string folder) => Emit(new() { ["event"] = "checkpoint", ["step"] = step });

    public void OnMessage(string message) => Emit(new() { ["event"] = "message", ["message"] = message });

    public void OnCorpusProgress(CorpusProgress p) { }

    public void OnEvaluationProgress(EvaluationProgress p)
    {
        if (p.Done != p.Total && (DateTime.UtcNow - lastEvalReport).TotalSeconds < 1) return;
        lastEvalReport = DateTime.UtcNow;
        Emit(new() { ["event"] = "progress", ["stage"] = "evaluating", ["task"] = p.Task, ["done"] = p.Done, ["total"] = p.Total });
    }
}
