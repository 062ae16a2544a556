using System.Diagnostics;
using LayerChop.Engine.Checkpoints;
using LayerChop.Engine.Chopping;
using LayerChop.Engine.Data;
using LayerChop.Engine.Modeling;
using LayerChop.Engine.Tokenization;
using LayerChop.Settings;
using TorchSharp;
using static LayerChop.Engine.Scalars;
using static TorchSharp.torch;

namespace LayerChop.Engine.Training;

public sealed record StepReport(long Step, long TotalSteps, long Tokens, double Loss, double Lr, double TokensPerSecond, TimeSpan Elapsed);
public sealed record TrainResult(bool Completed, long Steps, long Tokens, double FinalLoss, double? ValLoss, string OutputFolder);

public interface ITrainingObserver
{
    void OnStart(long startStep, long totalSteps, long tokensPerStep) { }
    void OnStep(StepReport report) { }
    void OnCheckpoint(long step, string folder) { }
    void OnMessage(string message) { }
    void OnCorpusProgress(CorpusProgress progress) { }
}

/// <summary>
/// Heals a model by continued pretraining (or distillation from a teacher, or LoRA adapters on the frozen model):
/// AdamW, warm-up then cosine decay, gradient clipping and accumulation, checkpoints every N steps and on request,
/// exact resume.
/// </summary>
public sealed class Trainer
{
    readonly string modelDir, outDir;
    readonly TrainOptions options;
    readonly ITrainingObserver observer;

    readonly IPublishGate publish;

    /// <param name="publish">moves checkpoints and the final model into <paramref name="outDir"/> (a sweep
    /// candidate's attempt fence); by default they are moved in directly.</param>
    public Trainer(string modelDir, string outDir, TrainOptions options, ITrainingObserver? observer = null, IPublishGate? publish = null)
    {
        this.modelDir = modelDir; this.outDir = outDir; this.options = options;
        this.observer = observer ?? new NullObserver();
        this.publish = publish ?? OpenGate.Instance;
    }

    sealed class NullObserver : ITrainingObserver;

    /// <summary>Reports on the calling thread, in order (Progress&lt;T&gt; would post to the thread pool).</summary>
    sealed class ImmediateProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    /// <param name="stop">when cancelled, the run writes a checkpoint at the end of the current step and returns.</param>
    public TrainResult Run(bool resume, CancellationToken stop = default)
    {
        var config = ModelConfig.Load(modelDir);
        options.Validate(config.MaxPositionEmbeddings);
        var device = ResolveDevice(options.Device);
        var computeDtype = options.Settings.Precision == "bf16" ? ScalarType.BFloat16 : ScalarType.Float32;
        // A run that chops the model itself trains a model of the kept layers only; what is kept is fixed up front.
        IReadOnlyList<int>? kept = options.Chop is null ? null
            : Chopper.Plan(config, Chopping.ChopStrategy.From(options.Chop)).Kept;
        string? newest = TrainCheckpoint.Newest(outDir);
        if (!resume && (newest is not null || File.Exists(Path.Combine(outDir, "config.json"))))
            throw new LayerChopException($"{outDir} already holds a run; pass --resume to continue it, or choose another --out");
        if (resume && newest is null)
            throw new LayerChopException(File.Exists(Path.Combine(outDir, "train_result.json"))
                ? $"{outDir} holds a finished run with no checkpoint to resume from"
                : $"--resume: {outDir} holds no checkpoint to resume from; drop --resume to start a fresh run");
        CheckWritable(outDir);

        var tokenizer = TextTokenizer.Load(modelDir);
        // Token caches live in the shared cache folder: every candidate of a sweep healing on the same corpus
        // reuses one tokenization.
        using var corpus = TokenCorpus.Open(new CorpusOptions(options.Data, options.TextField, options.Settings.HeldoutPerMille), tokenizer,
            new ImmediateProgress<CorpusProgress>(observer.OnCorpusProgress));
        if (corpus.HeldoutTokens == 0)
            observer.OnMessage("warning: the corpus is too small to hold out documents; there will be no validation loss");

        var trainedConfig = kept is null ? config : config.WithLayersKept(kept);
        string shape = ShapeKey(trainedConfig);
        string? teacherDir = options.Teacher ?? (options.Method == HealMethod.Distill && kept is not null ? modelDir : null);
        using var teacher = options.Method == HealMethod.Distill ? ModelFolder.Load(teacherDir!, computeDtype, device) : null;
        teacher?.eval();

        var state = new TrainState
        {
            Step = 0, Tokens = 0, Cursor = new DataCursor(0, 0), ResumeSettings = options.ResumeSettings(),
            DataFingerprint = corpus.Fingerprint, ModelShape = shape, Losses = [], KeptLayers = kept,
        };
        TrainState? saved = null;
        if (resume && newest is not null)
        {
            saved = TrainCheckpoint.ReadState(newest);
            if (saved.ModelShape != shape)
                throw new LayerChopException($"{newest}: checkpoint is for a model of shape {saved.ModelShape}, but {modelDir} is {shape}");
            if (options.ChangesSince(saved) is [_, ..] changes)
                throw new LayerChopException($"--resume: the checkpoint in {outDir} was trained with {string.Join(", ", changes.Select(c => $"{c.Name} {Shown(c.Stored)}"))}; " +
                    $"this run says {string.Join(", ", changes.Select(c => $"{c.Name} {Shown(c.Now)}"))}; resume with the same settings or use a new --out");
            if (saved.DataFingerprint != corpus.Fingerprint)
                throw new LayerChopException($"{newest}: checkpoint was written for different training data; resume with the same --data or choose another --out");
            state = saved with { ResumedFrom = [.. saved.ResumedFrom, saved.Step], ResumeSettings = state.ResumeSettings, OptionsKey = null };
        }
        var loader = new SequenceLoader(corpus, options.Settings.SeqLen, options.Seed, state.Cursor);

        CausalLM model;
        AdamW optimizer;
        if (saved is null && kept is not null && options.Settings.OptimizerWarmupSteps > 0)
            (model, optimizer) = WarmUpThenChop(kept, computeDtype, device, teacher, loader);
        else
        {
            // A resumed run's weights all come from its checkpoint; loading them from the model folder first
            // gives every tensor a defined value and checks the shapes.
            model = ModelFolder.Load(modelDir, computeDtype, device, kept);
            optimizer = NewOptimizer(model);
        }
        using var modelScope = model;
        using var optimizerScope = optimizer;
        model.train();
        IReadOnlyList<int>? teacherLayers = options.Settings.DistillHiddenWeight > 0 ? TeacherLayerMap(teacher!, model, kept) : null;
        var schedule = new LrSchedule(options.PeakLr, options.Settings.WarmupSteps, options.TotalSteps, options.Settings.MinLrRatio);
        if (saved is not null)
        {
            TrainCheckpoint.Restore(newest!, optimizer, saved.OptimizerStep);
            observer.OnMessage($"resuming from {newest} (step {saved.Step})");
        }
        state = state with { Cursor = loader.Cursor, OptimizerStep = optimizer.Step };

        observer.OnStart(state.Step, options.TotalSteps, options.Settings.BatchTokens);
        var clock = Stopwatch.StartNew();
        long tokensThisRun = 0;
        double lastLoss = state.Losses.LastOrDefault(double.NaN);
        while (state.Step < options.TotalSteps)
        {
            double lr = schedule.At(state.Step);
            double loss = TrainStep(model, teacher, teacherLayers, optimizer, loader, lr);
            tokensThisRun += options.Settings.BatchTokens;
            lastLoss = loss;
            state.Losses.Add(loss);
            state = state with { Step = state.Step + 1, Tokens = state.Tokens + options.Settings.BatchTokens, Cursor = loader.Cursor, OptimizerStep = optimizer.Step };
            observer.OnStep(new StepReport(state.Step, options.TotalSteps, state.Tokens, loss, lr,
                tokensThisRun / Math.Max(clock.Elapsed.TotalSeconds, 1e-9), clock.Elapsed));

            bool stopping = stop.IsCancellationRequested;
            if (state.Step % options.Settings.CheckpointEvery == 0 || stopping)
            {
                TrainCheckpoint.Save(outDir, model, optimizer, state, options.Settings.KeepCheckpoints, publish);
                observer.OnCheckpoint(state.Step, TrainCheckpoint.Newest(outDir)!);
            }
            if (stopping && state.Step < options.TotalSteps)
                return new TrainResult(false, state.Step, state.Tokens, lastLoss, null, outDir);
        }

        double? valLoss = ValidationLoss(model, loader);
        model.eval();
        WriteFinal(model, state, lastLoss, valLoss, kept);
        return new TrainResult(true, state.Step, state.Tokens, lastLoss, valLoss, outDir);
    }

    static string Shown(string value) => value.Length == 0 ? "(none)" : value;

    /// <summary>Creates the run folder and writes a file in it, so an unwritable --out fails before any compute.</summary>
    static void CheckWritable(string outDir)
    {
        try
        {
            Directory.CreateDirectory(outDir);
            var probe = Path.Combine(outDir, $".probe.{Guid.NewGuid():N}.tmp");
            File.WriteAllBytes(probe, [0]);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            string why = e switch
            {
                UnauthorizedAccessException => "permission denied",
                DirectoryNotFoundException => "part of the path is a file",
                _ => e.Message,
            };
            throw new LayerChopException($"--out {outDir}: cannot create or write the run folder ({why}); choose a folder you can write to");
        }
    }

    /// <summary>AdamW over the model's weights, or, healing by LoRA, over the adapters it attaches to the frozen model.</summary>
    AdamW NewOptimizer(CausalLM model) => new(options.Method == HealMethod.Lora ? LoraAdapter.Attach(model, options.Lora, options.Seed) : model.NamedWeights(),
        options.Settings.DecayEmbeddings ? (n, p) => p.dim() >= 2 : AdamW.DecayMatricesOnly,
        options.Settings.Beta1, options.Settings.Beta2, 1e-8, options.Settings.WeightDecay);

    /// <summary>
    /// Runs the optimizer warm-up on the whole model at learning rate 0 (moments only; weights untouched), then
    /// removes the layers in memory: kept parameters and their moments move to the smaller model by name.
    /// </summary>
    (CausalLM, AdamW) WarmUpThenChop(IReadOnlyList<int> kept, ScalarType dtype, Device device, CausalLM? teacher, SequenceLoader loader)
    {
        using var full = ModelFolder.Load(modelDir, dtype, device);
        full.train();
        using var fullOptimizer = NewOptimizer(full);
        for (int i = 0; i < options.Settings.OptimizerWarmupSteps; i++)
        {
            double loss = TrainStep(full, teacher, null, fullOptimizer, loader, lr: 0);
            observer.OnMessage($"optimizer warm-up {i + 1}/{options.Settings.OptimizerWarmupSteps}: loss {loss:0.0000}");
        }
        var chopped = ModelFolder.Load(modelDir, dtype, device, kept);
        var optimizer = NewOptimizer(chopped);
        var fullSlots = fullOptimizer.Slots.ToDictionary(s => s.Name);
        using (no_grad())
            foreach (var slot in optimizer.Slots)
            {
                var source = fullSlots[ModelFolder.StoredName(slot.Name, kept)];
                slot.Master.copy_(source.Master);
                slot.ExpAvg.copy_(source.ExpAvg);
                slot.ExpAvgSq.copy_(source.ExpAvgSq);
                if (slot.OwnsMaster) slot.Parameter.copy_(slot.Master);
            }
        optimizer.Step = fullOptimizer.Step;
        return (chopped, optimizer);
    }

    double TrainStep(CausalLM model, CausalLM? teacher, IReadOnlyList<int>? teacherLayers, AdamW optimizer, SequenceLoader loader, double lr)
    {
        optimizer.ZeroGrad();
        double total = 0;
        int accumulation = options.AccumulationSteps;
        long chunk = options.LossChunkTokens(model.Config.VocabSize);
        // Hidden-state distillation needs every layer's output in one graph: it takes the plain pass.
        bool split = teacherLayers is null
            && (options.Settings.ActivationCheckpointing || chunk < (long)options.MicroBatchSize * options.Settings.SeqLen);
        using Scalar parts = accumulation.ToScalar(), distillWeight = options.Settings.DistillWeight.ToScalar(),
            hiddenWeight = options.Settings.DistillHiddenWeight.ToScalar();
        for (int micro = 0; micro < accumulation; micro++)
        {
            using var scope = NewDisposeScope();
            var batch = loader.NextBatch(options.MicroBatchSize).to(model.Device);         // (B, T+1)
            var inputs = batch.narrow(1, 0, options.Settings.SeqLen);                             // (B, T)
            var targets = batch.narrow(1, 1, options.Settings.SeqLen);                            // (B, T)
            if (split)
            {
                total += SplitBackward(model, teacher, inputs, targets, chunk, parts, distillWeight);
                continue;
            }
            var studentLayers = teacherLayers is null ? null : new Dictionary<int, Tensor>();
            var logits = model.Forward(inputs, layerOutputs: studentLayers);            // (B, T, V)
            var lossTensor = Losses.NextTokenLoss(logits, targets);
            if (teacher is not null)
            {
                Tensor teacherLogits;
                var teacherHidden = teacherLayers is null ? null : new Dictionary<int, Tensor>();
                using (no_grad()) teacherLogits = teacher.Forward(inputs, layerOutputs: teacherHidden);
                lossTensor = lossTensor.add(distillWeight * Losses.Distillation(logits, teacherLogits, options.Settings.DistillTemperature), One);
                if (teacherLayers is not null)
                    lossTensor = lossTensor.add(hiddenWeight * Losses.HiddenMse(studentLayers!, teacherHidden!, teacherLayers), One);
            }
            var scaled = lossTensor / parts;
            scaled.backward();
            total += lossTensor.item<float>();
        }
        optimizer.ClipGradNorm(options.Settings.GradClip);
        optimizer.Update(lr);
        return total / accumulation;
    }

    /// <summary>
    /// One micro-batch's backward pass in two parts: the language-model head and loss on the final hidden states,
    /// a slice of <paramref name="chunk"/> tokens at a time, so the (tokens, vocab) float32 logits are never held
    /// whole; then the layers, recomputed one by one when activation checkpointing is on, else through the
    /// graph the forward pass kept. Returns the micro-batch's mean loss.
    /// </summary>
    double SplitBackward(CausalLM model, CausalLM? teacher, Tensor inputs, Tensor targets, long chunk, Scalar parts, Scalar distillWeight)
    {
        Tensor? teacherHidden = null;
        if (teacher is not null)
            using (no_grad()) teacherHidden = teacher.Hidden(inputs);                               // (B, T, C)
        double Head(Tensor hidden) => Losses.HeadBackward(model, hidden, targets, teacher, teacherHidden,
            options.Settings.DistillTemperature, distillWeight, chunk, parts);
        if (options.Settings.ActivationCheckpointing) return model.RecomputingBackward(inputs, Head);
        var final = model.Hidden(inputs);                                                      // (B, T, C)
        using var leaf = final.detach().requires_grad_(true);
        double loss = Head(leaf);
        final.backward([leaf.grad!]);
        return loss;
    }

    double? ValidationLoss(CausalLM model, SequenceLoader loader)
    {
        var loss = HeldoutLoss(model, loader, options.MicroBatchSize, options.Settings.ValSequences);
        model.train();
        return loss;
    }

    /// <summary>Mean next-token loss over the corpus' fixed held-out sequences (null when it has none).</summary>
    public static double? HeldoutLoss(CausalLM model, SequenceLoader loader, int batchSize, int maxSequences)
    {
        model.eval();
        using var noGrad = no_grad();
        double sum = 0; long count = 0;
        foreach (var batch in loader.HeldoutBatches(batchSize, maxSequences))
        {
            using var scope = NewDisposeScope();
            var onDevice = batch.to(model.Device);
            long t = batch.shape[1] - 1;
            var logits = model.Forward(onDevice.narrow(1, 0, t));
            sum += Losses.NextTokenLoss(logits, onDevice.narrow(1, 1, t)).item<float>() * batch.shape[0];
            count += batch.shape[0];
            batch.Dispose();
        }
        return count == 0 ? null : sum / count;
    }

    /// <summary>The healed model goes into the run folder only when complete: files are written aside, then moved in.
    /// LoRA's adapters are merged into the weights first, so the folder is the model's own tensors, as full healing writes it.</summary>
    void WriteFinal(CausalLM model, TrainState state, double finalLoss, double? valLoss, IReadOnlyList<int>? kept)
    {
        if (options.Method == HealMethod.Lora) LoraAdapter.Merge(model);
        var staging = Path.Combine(outDir, $".final.{Guid.NewGuid():N}.tmp");   // this writer's own
        var storeDtype = DTypes.Parse(ModelConfig.Load(modelDir).TorchDtype);
        ModelFolder.Save(model, staging, storeDtype, tokenizerFrom: modelDir);
        if (kept is not null)
            Chopper.WriteRecord(staging, modelDir, options.Chop!.Strategy, Enumerable.Range(0, ModelConfig.Load(modelDir).NumLayers).Except(kept).ToList(), kept);
        else if (File.Exists(Path.Combine(modelDir, Chopper.RecordFile)))
            File.Copy(Path.Combine(modelDir, Chopper.RecordFile), Path.Combine(staging, Chopper.RecordFile), true);
        File.WriteAllText(Path.Combine(staging, "train_result.json"), System.Text.Json.JsonSerializer.Serialize(new
        {
            steps = state.Step, tokens = state.Tokens, final_loss = finalLoss, val_loss = valLoss, losses = state.Losses,
            resumed_from = state.ResumedFrom, heal_method = HealMethods.Name(options.Method),
            lora = options.Method == HealMethod.Lora
                ? new { rank = options.Lora.Rank, alpha = options.Lora.Alpha, targets = options.Lora.Targets, lr = options.PeakLr }
                : null,
        }));
        // config.json last: a folder with config.json is a complete model.
        publish.Publish(() =>
        {
            foreach (var file in Directory.GetFiles(staging).OrderBy(f => Path.GetFileName(f) == "config.json" ? 1 : 0))
                File.Move(file, Path.Combine(outDir, Path.GetFileName(file)), overwrite: true);
        });
        Directory.Delete(staging, recursive: true);
    }

    /// <summary>Student layer i corresponds to teacher layer kept[i] (from the chop record), else to i.</summary>
    IReadOnlyList<int> TeacherLayerMap(CausalLM teacher, CausalLM student, IReadOnlyList<int>? kept)
    {
        if (kept is not null) return kept;
        var record = Path.Combine(modelDir, Chopper.RecordFile);
        if (File.Exists(record))
        {
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(record));
            if (doc.RootElement.TryGetProperty("kept", out var recorded))
                return recorded.EnumerateArray().Select(e => e.GetInt32()).ToList();
        }
        if (teacher.NumLayers != student.NumLayers)
            throw new LayerChopException($"{modelDir}: no layerchop.json to map the student's {student.NumLayers} layers onto the teacher's {teacher.NumLayers}; hidden-state distillation needs a model made by 'layerchop chop'");
        return Enumerable.Range(0, student.NumLayers).ToList();
    }

    static string ShapeKey(ModelConfig c) =>
        $"{c.ModelType} L{c.NumLayers} H{c.HiddenSize} A{c.NumHeads}/{c.NumKvHeads} I{c.IntermediateSize} V{c.VocabSize}";

    public static Device ResolveDevice(string name) => name switch
    {
        "cpu" => CPU,
        "cuda" when cuda.is_available() => CUDA,
        "cuda" => throw new LayerChopException("--device cuda: no CUDA device is available to TorchSharp; build with -p:LayerChopCuda=true on a GPU host, or use --device cpu"),
        "auto" => cuda.is_available() ? CUDA : CPU,
        _ => throw new LayerChopException($"unknown device '{name}'; use cpu, cuda or auto"),
    };
}
