using System.Text.Json;
using LayerChop.Engine;
using LayerChop.Engine.Checkpoints;
using LayerChop.Engine.Chopping;
using LayerChop.Engine.Chopping.Importance;
using LayerChop.Engine.Data;
using LayerChop.Engine.Evaluation;
using LayerChop.Engine.Modeling;
using LayerChop.Engine.Tokenization;
using LayerChop.Engine.Training;
using LayerChop.Settings;

namespace LayerChop.Worker;

public interface ICandidateObserver : ITrainingObserver
{
    void OnStage(WorkerStage stage) { }
    void OnEvaluationProgress(EvaluationProgress progress) { }
}

/// <summary>
/// A candidate's whole lifecycle: chop the base model, heal it, evaluate it, measure its size and speed.
/// Every stage leaves its output in the candidate's folder and is skipped when that output is complete, and
/// healing resumes from its newest checkpoint, so running the pipeline again after any crash continues where
/// the last run stopped and ends with the same result.
/// </summary>
public static class CandidatePipeline
{
    public const string ResultFile = "result.json";
    static JsonSerializerOptions Json => JsonFormat.Indented;

    public static CandidateOutcome? ReadResult(string workDir)
    {
        var path = Path.Combine(workDir, ResultFile);
        return File.Exists(path) ? JsonSerializer.Deserialize<CandidateOutcome>(File.ReadAllText(path), Json) : null;
    }

    /// <returns>null when <paramref name="stop"/> interrupted healing (a checkpoint was written).</returns>
    /// <param name="publish">moves every finished piece of work into the candidate's folder (the attempt's
    /// fence in a sweep; see <see cref="AttemptFence"/>); by default it is moved in directly.</param>
    /// <exception cref="AttemptFencedException">a newer attempt owns the folder: nothing of this run was published after that.</exception>
    public static CandidateOutcome? Run(CandidateJob job, ICandidateObserver observer, CancellationToken stop = default, IPublishGate? publish = null)
    {
        publish ??= OpenGate.Instance;
        Directory.CreateDirectory(job.WorkDir);
        CheckInputs(job, observer, publish);
        if (ReadResult(job.WorkDir) is { } done)
        {
            observer.OnStage(WorkerStage.Evaluating);          // every stage's output is there: this attempt only reports it
            return done;
        }
        // On the CPU, workers of one host take turns with latency measurements (see HostComputeGate).
        using var gate = Trainer.ResolveDevice(job.Device).type == TorchSharp.DeviceType.CPU ? HostComputeGate.EnterShared() : null;
        if (gate is not null) observer = new GatedObserver(observer, gate);
        var baseConfig = ModelConfig.Load(job.BaseModel);
        var chop = job.Chop;
        var strategy = chop is null ? null : ChopStrategy.From(chop);
        IReadOnlyList<double?>? importance = null;
        if (strategy is DataDrivenStrategy dataDriven)
        {
            // Measured once and recorded: a rerun reuses the selection, so every attempt chops the same layers.
            (chop, importance) = SelectLayers(job, dataDriven, observer, publish);
            strategy = ChopStrategy.From(chop);
        }
        var removed = strategy is null ? [] : Chopper.Plan(baseConfig, strategy).Removed;
        // With optimizer warm-up, the trainer chops after warming AdamW up on the whole model.
        bool chopWhileHealing = strategy is not null && job.HealTokens > 0 && job.Train.OptimizerWarmupSteps > 0;

        string model = job.BaseModel;
        if (strategy is not null && !chopWhileHealing)
        {
            observer.OnStage(WorkerStage.Chopping);
            var chopped = Path.Combine(job.WorkDir, CandidateArtifacts.ChoppedFolder);
            if (!File.Exists(Path.Combine(chopped, "config.json")))
            {
                var staging = Path.Combine(job.WorkDir, $".chopped.{Guid.NewGuid():N}");   // this writer's own
                Chopper.Chop(job.BaseModel, strategy, staging);
                publish.Publish(() =>
                {
                    if (Directory.Exists(chopped)) Directory.Delete(chopped, recursive: true);   // an unfinished one
                    Directory.Move(staging, chopped);
                });
            }
            model = chopped;
        }

        TrainResultSummary? healing = null;
        if (job.HealTokens > 0)
        {
            observer.OnStage(WorkerStage.Healing);
            var healed = Path.Combine(job.WorkDir, CandidateArtifacts.HealedFolder);
            if (!File.Exists(Path.Combine(healed, "config.json")))      // the trainer moves config.json in last
            {
                var options = new TrainOptions
                {
                    Data = job.Data, Tokens = job.HealTokens, TextField = job.TextField, Seed = job.Seed, Device = job.Device,
                    Settings = chopWhileHealing ? job.Train : job.Train with { OptimizerWarmupSteps = 0 },
                    Method = job.HealMethod, Lora = job.Lora,
                    Teacher = job.HealMethod == HealMethod.Distill ? job.BaseModel : null,
                    Chop = chopWhileHealing ? chop : null,
                };
                bool resume = TrainCheckpoint.Newest(healed) is not null;
                var result = new Trainer(chopWhileHealing ? job.BaseModel : model, healed, options, observer, publish).Run(resume, stop);
                if (!result.Completed) return null;
            }
            healing = TrainResultSummary.Read(healed);
            model = healed;
        }

        observer.OnStage(WorkerStage.Evaluating);
        var evalPath = Path.Combine(job.WorkDir, CandidateArtifacts.EvalFile);
        var device = Trainer.ResolveDevice(job.Device);
        using var loaded = ModelFolder.Load(model, TorchSharp.torch.ScalarType.Float32, device);
        EvaluationResults? evaluation = null;
        if (!File.Exists(evalPath))
        {
            var tokenizer = TextTokenizer.Load(model);
            var eval = job.Eval;
            evaluation = Evaluator.Run(loaded, tokenizer, string.Join(",", eval.Tasks), eval.TaskDir.Length == 0 ? null : eval.TaskDir, new EvaluationOptions
            {
                Limit = eval.Limit, PerplexityPath = eval.Perplexity, Progress = observer.OnEvaluationProgress,
                Scorer = new ScorerOptions { BatchSize = eval.BatchSize }, AddBos = eval.AddBos switch { null => AddBos.Auto, true => AddBos.True, false => AddBos.False },
                Seed = (ulong)eval.Seed, PerplexityStride = eval.PerplexityStride, TextField = job.TextField,
            });
            WriteAtomically(evalPath, evaluation.ToJson(), publish);
        }
        var evalJson = JsonDocument.Parse(File.ReadAllText(evalPath)).RootElement;

        observer.OnStage(WorkerStage.Measuring);
        var summary = ModelSummary.Read(model);
        var latency = LatencyBook.GetOrMeasure(job.LatencyDir ?? Path.Combine(job.WorkDir, "latency"), loaded,
            job.Latency.PromptTokens, job.Latency.NewTokens, gate);
        var scores = new Dictionary<string, double>();
        var stderrs = new Dictionary<string, double?>();
        var counts = new Dictionary<string, int>();
        foreach (var task in evalJson.GetProperty("tasks").EnumerateObject())
        {
            string metric = task.Value.GetProperty("paper_metric").GetString()!;
            if (task.Value.GetProperty(metric).ValueKind != JsonValueKind.Number) continue;
            scores[task.Name] = task.Value.GetProperty(metric).GetDouble();
            var stderr = task.Value.GetProperty(metric + "_stderr");
            stderrs[task.Name] = stderr.ValueKind == JsonValueKind.Number ? stderr.GetDouble() : null;
            counts[task.Name] = task.Value.GetProperty("n").GetInt32();
        }
        var outcome = new CandidateOutcome
        {
            Id = job.Id, Removed = removed, Params = summary.Params, NonEmbeddingParams = summary.NonEmbeddingParams,
            BytesOnDisk = summary.BytesOnDisk, Latency = latency, TaskScores = scores, TaskStderrs = stderrs, TaskCounts = counts,
            Average = evalJson.GetProperty("average").ValueKind == JsonValueKind.Number ? evalJson.GetProperty("average").GetDouble() : null,
            Perplexity = evalJson.TryGetProperty("perplexity", out var ppl) ? HeldOutPerplexity(ppl) : null,
            HealFinalLoss = healing?.FinalLoss, HealValLoss = healing?.ValLoss, HealSteps = healing?.Steps ?? 0,
            ImportanceScores = importance,
        };
        WriteAtomically(Path.Combine(job.WorkDir, ResultFile), JsonSerializer.Serialize(outcome, Json), publish);
        if (job.Retention == Retention.Final)
        {
            // Only the final model and the results stay: checkpoints and optimizer state were kept to resume.
            var freed = default(Freed);
            publish.Publish(() => freed = CandidateArtifacts.Prune(job.WorkDir));
            if (freed is { Files: > 0 }) observer.OnMessage($"retention: kept the final model and results, freed {freed.Bytes / 1e6:0.#} MB ({freed.Files} files of checkpoints and intermediate models)");
        }
        return outcome;
    }

    /// <summary>
    /// Reuses the folder's work only when it was made from this job's inputs (see <see cref="CandidateInputs"/>):
    /// another sweep's folder is refused; work made from other inputs, or from inputs nobody recorded, is
    /// discarded (said in a message) and the inputs are recorded before anything is done.
    /// </summary>
    static void CheckInputs(CandidateJob job, ICandidateObserver observer, IPublishGate publish)
    {
        var inputs = CandidateInputs.Of(job);
        var recorded = CandidateInputs.Read(job.WorkDir);
        var redo = inputs.Compare(recorded);
        if (redo == Redo.Nothing) return;
        if (redo == Redo.Refuse)
            throw new LayerChopException($"{job.WorkDir}: {inputs.Describe(recorded)}; give each sweep an output folder of its own");
        var doomed = CandidateArtifacts.Products(job.WorkDir, evaluationOnly: redo == Redo.Evaluation);
        if (doomed.Count > 0)
        {
            var freed = default(Freed);
            publish.Publish(() => freed = CandidateArtifacts.Discard(job.WorkDir, doomed));
            observer.OnMessage($"{inputs.Describe(recorded)}: {(redo == Redo.Evaluation ? "evaluating again" : "starting the candidate afresh")} " +
                               $"(discarded {string.Join(", ", doomed.Select(Path.GetFileName))}: {freed!.Bytes / 1e6:0.#} MB)");
        }
        WriteAtomically(Path.Combine(job.WorkDir, CandidateInputs.FileName), inputs.ToJson(), publish);
    }

    /// <summary>
    /// The held-out perplexity of eval.json, where a non-finite value is null: it is then recomputed from the
    /// summed negative log-likelihood (an overflow gives +Infinity), or NaN when that is not finite either, so
    /// a diverged model's perplexity is kept as the non-finite number it is.
    /// </summary>
    static double HeldOutPerplexity(JsonElement heldOut)
    {
        var ppl = heldOut.GetProperty("perplexity");
        if (ppl.ValueKind == JsonValueKind.Number) return ppl.GetDouble();
        var nll = heldOut.GetProperty("nll");
        long tokens = heldOut.GetProperty("tokens").GetInt64();
        return nll.ValueKind == JsonValueKind.Number && tokens > 0 ? Math.Exp(nll.GetDouble() / tokens) : double.NaN;
    }

    /// <summary>Runs a data-driven criterion on the base model (or reads its earlier selection) and returns the explicit layers it chose.</summary>
    static (ChopSettings, IReadOnlyList<double?>) SelectLayers(CandidateJob job, DataDrivenStrategy criterion, ICandidateObserver observer, IPublishGate publish)
    {
        var path = Path.Combine(job.WorkDir, CandidateArtifacts.SelectionFile);
        if (!File.Exists(path))
        {
            observer.OnStage(WorkerStage.Chopping);
            var tokenizer = TextTokenizer.Load(job.BaseModel);
            var source = job.Calibration ?? job.Data.FirstOrDefault()
                ?? throw new LayerChopException($"strategy {criterion.Name} needs calibration text: the sweep has no healing data to use");
            var calib = CalibrationSet.Load(source, tokenizer, job.CalibrationSequences, job.CalibrationLength, job.TextField);
            using var model = ModelFolder.Load(job.BaseModel, TorchSharp.torch.ScalarType.Float32, Trainer.ResolveDevice(job.Device));
            var result = criterion.Select(model, calib);
            WriteAtomically(path, JsonSerializer.Serialize(new Selection(result.Removed.ToList(), result.Scores.ToList()), Json), publish);
        }
        var selection = JsonSerializer.Deserialize<Selection>(File.ReadAllText(path), Json)!;
        return (new LayerListChop { Layers = selection.Removed }, selection.Scores);
    }

    sealed record Selection(List<int> Removed, List<double?> Scores);

    static void WriteAtomically(string path, string text, IPublishGate publish)
    {
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";   // this writer's own
        File.WriteAllText(temp, text);
        try { publish.Publish(() => File.Move(temp, path, overwrite: true)); }
        finally { File.Delete(temp); }                   // left only when not published
    }

    sealed record TrainResultSummary(long Steps, double FinalLoss, double? ValLoss)
    {
        public static TrainResultSummary Read(string run)
        {
            var root = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "train_result.json"))).RootElement;
            var val = root.GetProperty("val_loss");
            return new TrainResultSummary(root.GetProperty("steps").GetInt64(), root.GetProperty("final_loss").GetDouble(),
                val.ValueKind == JsonValueKind.Number ? val.GetDouble() : null);
        }
    }

    /// <summary>Passes every event on, and lets a waiting latency measurement of the host go first between steps.</summary>
    sealed class GatedObserver(ICandidateObserver inner, HostComputeGate gate) : ICandidateObserver
    {
        public void OnStage(WorkerStage stage) => inner.OnStage(stage);
        public void OnEvaluationProgress(EvaluationProgress progress) { gate.Yield(); inner.OnEvaluationProgress(progress); }
        public void OnStart(long startStep, long totalSteps, long tokensPerStep) => inner.OnStart(startStep, totalSteps, tokensPerStep);
        public void OnStep(StepReport report) { gate.Yield(); inner.OnStep(report); }
        public void OnCheckpoint(long step, string folder) => inner.OnCheckpoint(step, folder);
        public void OnMessage(string message) => inner.OnMessage(message);
        public void OnCorpusProgress(CorpusProgress progress) => inner.OnCorpusProgress(progress);
    }
}
