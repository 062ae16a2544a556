using LayerChop.Engine.Modeling;
using LayerChop.Engine.Training;
using LayerChop.Settings;

namespace LayerChop.Engine.Memory;

/// <summary>One part of a stage's memory: what it holds, its bytes, and where the figure comes from.</summary>
public sealed record MemoryTerm(string Name, long Bytes, string Basis);

/// <summary>What one stage of a candidate holds at its peak, term by term.</summary>
public sealed record StageMemory(string Stage, IReadOnlyList<MemoryTerm> Terms)
{
    public long Bytes => Terms.Sum(t => t.Bytes);
}

/// <summary>How a model is healed, as far as memory goes.</summary>
public sealed record HealShape
{
    public required TrainSettings Train { get; init; }
    public HealMethod Method { get; init; } = HealMethods.Default;
    public LoraSettings Lora { get; init; } = new();
    /// <summary>The model distilled from (the unchopped one); null unless <see cref="Method"/> is distill.</summary>
    public ModelConfig? Teacher { get; init; }
    /// <summary>Sequences per forward pass (the trainer's choice when the settings leave it to it).</summary>
    public required int MicroBatch { get; init; }
    public long LogitsSliceBytes { get; init; } = Losses.LogitsSliceBytes;
}

/// <summary>
/// The one place that predicts a stage's peak memory from a model's shape (config.json alone) and its settings.
/// Each term models what LayerChop's own code holds at the stage's peak, so the prediction follows the code:
/// <list type="bullet">
/// <item>Healing with full AdamW holds weights, gradients (both in the compute dtype), float32 master weights when
/// computing in bf16, and two float32 moments: 16 bytes per parameter in float32, as the ZeRO paper counts
/// (Rajbhandari et al. 2020, section 3.1); LoRA holds the frozen weights and 16 bytes per adapter parameter.</item>
/// <item>Activations: what autograd keeps per token of a decoder layer, counted from the tensors our layer saves
/// for its backward pass (<see cref="LayerActivationBytes"/>; Korthikanti et al. 2022 count the same way for
/// Megatron's layer). With activation checkpointing only each layer's input is kept, plus one layer's
/// activations while it is recomputed.</item>
/// <item>The head and loss: float32 logits, their log-softmax and both gradients, for a slice of tokens
/// (all of the micro-batch's without checkpointing unless they pass the slice budget).</item>
/// <item>A runtime floor: what a worker process holds before any tensor (the .NET runtime, libtorch and its
/// thread pools on a CPU; the CUDA context on a GPU), measured (bench/RESULTS.md, "Memory plan").</item>
/// </list>
/// The plan is checked against measured peaks in bench/RESULTS.md; it is meant to be within 15%.
/// </summary>
public static class MemoryModel
{
    /// <summary>A worker's memory beyond its tensors: the .NET runtime and libtorch (0.2 GiB of RSS healing a
    /// model of 56K parameters) and the allocator's slack at the peak, fitted to the measured peaks of
    /// bench/memory/run.sh (bench/RESULTS.md, "Memory plan"); on a GPU, the CUDA context is of the same order.</summary>
    public const long RuntimeBytes = 400L << 20;

    /// <summary>Multiple-choice rows of the zero-shot tasks are assumed this long (context and continuations packed
    /// in one row); hellaswag's longest are about 200 tokens with the Llama tokenizers.</summary>
    public const int ChoiceRowTokens = 256;

    /// <summary>Held-out documents are scored in windows of up to the model's context; the plan assumes the
    /// longest window of a batch is at most this long (documents longer than it, on a long-context model, need more).</summary>
    public const int PerplexityWindowTokens = 4096;

    public static int Bytes(string precision) => precision == "bf16" ? 2 : 4;

    /// <summary>Bytes autograd keeps per token of one decoder layer for its backward pass (our layer's saved
    /// tensors, d = bytes of the compute dtype): the layer's input; each RMSNorm's normalised input and output
    /// (and a float32 copy of the input in bf16); q, k, v; each of q and k rotated and their rotate-half copies;
    /// k and v repeated to every head under grouped-query attention; the attention output and its contiguous
    /// copy; the residual sum; the MLP's gate, its SiLU, up, and their product.</summary>
    public static long LayerActivationBytes(ModelConfig c, int d)
    {
        long h = c.HiddenSize, a = (long)c.NumHeads * c.HeadDim, k = (long)c.NumKvHeads * c.HeadDim, i = c.IntermediateSize;
        long norm = (d == 4 ? 0 : 4 * h) + 4 * h + (d == 4 ? 0 : d * h) + d * h;
        long attention = d * (a + 2 * k) + d * 2 * (a + k) + (c.NumKvHeads != c.NumHeads ? d * 2 * a : 0) + d * 2 * a;
        long mlp = d * 4 * i;
        return d * h + norm + attention + d * h + norm + mlp;
    }

    /// <summary>Bytes per token of the head and loss: logits in the compute dtype, their float32 copy in bf16, the
    /// float32 log-softmax, and the float32 gradients of both.</summary>
    static long LossBytesPerToken(ModelConfig c, int d) => (long)c.VocabSize * (d + (d == 4 ? 0 : 4) + 12);

    static long AdapterParams(ModelConfig c, LoraSettings lora)
    {
        long h = c.HiddenSize, a = (long)c.NumHeads * c.HeadDim, k = (long)c.NumKvHeads * c.HeadDim, i = c.IntermediateSize;
        var shapes = new Dictionary<string, (long In, long Out)>
        {
            ["q_proj"] = (h, a), ["k_proj"] = (h, k), ["v_proj"] = (h, k), ["o_proj"] = (a, h),
            ["gate_proj"] = (h, i), ["up_proj"] = (h, i), ["down_proj"] = (i, h),
        };
        return c.NumLayers * lora.Targets.Sum(t => shapes.TryGetValue(t, out var s) ? lora.Rank * (s.In + s.Out) : 0);
    }

    /// <summary>The largest tensor of a model, in parameters: the embedding for every Llama-family shape we know,
    /// an MLP matrix otherwise.</summary>
    static long LargestTensor(ModelConfig c) => Math.Max(c.EmbeddingParams, (long)c.HiddenSize * c.IntermediateSize);

    /// <summary>Healing <paramref name="model"/> (the chopped shape) for one optimizer step's peak: the end of a
    /// micro-batch's forward pass, with the gradients of the step so far.</summary>
    public static StageMemory Heal(ModelConfig model, HealShape shape)
    {
        var t = shape.Train;
        int d = Bytes(t.Precision);
        long p = model.TotalParams, tokens = (long)shape.MicroBatch * t.SeqLen;
        var terms = new List<MemoryTerm> { new("runtime", RuntimeBytes, "the runtime and allocator slack, measured") };
        bool lora = shape.Method == HealMethod.Lora;
        long trainable = lora ? AdapterParams(model, shape.Lora) : p;
        terms.Add(new(lora ? "frozen weights" : "weights", p * d, $"{p:N0} parameters x {d} B"));
        if (lora) terms.Add(new("adapters", trainable * d, $"{trainable:N0} adapter parameters (rank {shape.Lora.Rank}) x {d} B"));
        if (d != 4) terms.Add(new("float32 master weights", trainable * 4, "bf16 compute keeps float32 masters of what trains"));
        terms.Add(new("gradients", trainable * d, $"{trainable:N0} x {d} B"));
        terms.Add(new("AdamW moments", trainable * 8, "two float32 moments per trained parameter"));
        if (shape.Method == HealMethod.Distill && shape.Teacher is { } teacherModel)
            terms.Add(new("teacher weights", teacherModel.TotalParams * d, $"{teacherModel.TotalParams:N0} parameters x {d} B"));
        long sliceTokens = Losses.SliceTokens(model.VocabSize, shape.LogitsSliceBytes);
        bool hiddenDistill = shape.Method == HealMethod.Distill && t.DistillHiddenWeight > 0;
        bool split = !hiddenDistill && (t.ActivationCheckpointing || sliceTokens < tokens);
        long lossTokens = split ? Math.Min(sliceTokens, tokens) : tokens;
        var pass = new List<MemoryTerm>();
        long layer = LayerActivationBytes(model, d);
        if (t.ActivationCheckpointing)
        {
            pass.Add(new("kept layer inputs", model.NumLayers * tokens * model.HiddenSize * d, $"{model.NumLayers} layers x {tokens:N0} tokens x hidden {model.HiddenSize} x {d} B"));
            pass.Add(new("recomputed layer", 2 * tokens * layer, $"one layer's activations and their gradients, {layer:N0} B/token"));
        }
        else
            pass.Add(new("activations", model.NumLayers * tokens * layer + tokens * layer, $"{model.NumLayers} layers x {tokens:N0} tokens x {layer:N0} B/token, plus one layer's gradients"));
        pass.Add(new("logits and loss", lossTokens * LossBytesPerToken(model, d), $"{lossTokens:N0} tokens x vocab {model.VocabSize:N0} x {LossBytesPerToken(model, d) / model.VocabSize} B"));
        if (!lora)
            pass.Add(new("head gradient", (long)model.VocabSize * model.HiddenSize * d, "the output projection's gradient, made whole in the head's backward pass before it is added to the accumulated one"));
        if (shape.Method == HealMethod.Distill && shape.Teacher is { } teacher)
            pass.Add(new("teacher logits", lossTokens * (long)teacher.VocabSize * (d + 12) + (split ? tokens * teacher.HiddenSize * d : 0),
                "the teacher's logits and the two float32 log-softmaxes of the distillation term"));
        // The optimizer's update comes after the backward pass has freed the activations: the larger of the two is the peak.
        long update = lora ? 0 : LargestTensor(model) * 4;
        if (update > pass.Sum(x => x.Bytes)) pass = [new("optimizer update", update, "the update's float32 temporary for the largest tensor, after the backward pass")];
        terms.AddRange(pass);
        return new StageMemory("heal", terms.Where(x => x.Bytes > 0).ToList());
    }

    /// <summary>Evaluation: float32 weights, and the larger of its two kinds of batch: multiple-choice rows
    /// (<see cref="ChoiceRowTokens"/> long, packed, so attention goes through an explicit mask and holds its
    /// scores) and held-out perplexity windows (<see cref="PerplexityWindowTokens"/> or the context, causal
    /// attention); each with one layer's activations at a time and the float32 logits of a slice of scored tokens.</summary>
    public static StageMemory Eval(ModelConfig model, EvalSettings eval)
    {
        long p = model.TotalParams, slice = Losses.SliceTokens(model.VocabSize);
        long Logits(long tokens) => Math.Min(tokens, slice) * model.VocabSize * 4L * 2;
        int rowWidth = Math.Min(model.MaxPositionEmbeddings, ChoiceRowTokens);
        long rowTokens = (long)eval.BatchSize * rowWidth;
        var choice = new List<MemoryTerm>
        {
            new("layer activations", rowTokens * LayerActivationBytes(model, 4), $"batch {eval.BatchSize} x {rowWidth} tokens of multiple-choice rows, one layer at a time"),
            new("attention scores", (long)eval.BatchSize * model.NumHeads * rowWidth * rowWidth * 4, $"packed rows attend through an explicit mask: batch x heads x {rowWidth}^2 x 4 B"),
            new("logits", Logits(rowTokens), "float32 logits and log-softmax of a slice of scored tokens"),
        };
        var pass = choice;
        if (eval.Perplexity is not null)
        {
            int window = Math.Min(model.MaxPositionEmbeddings, PerplexityWindowTokens);
            long windowTokens = (long)eval.BatchSize * window;
            var perplexity = new List<MemoryTerm>
            {
                new("layer activations", windowTokens * LayerActivationBytes(model, 4), $"batch {eval.BatchSize} x {window}-token perplexity windows, one layer at a time"),
                new("logits", Logits(windowTokens), "float32 logits and log-softmax of a slice of scored tokens"),
            };
            if (perplexity.Sum(t => t.Bytes) > choice.Sum(t => t.Bytes)) pass = perplexity;
        }
        var terms = new List<MemoryTerm>
        {
            new("runtime", RuntimeBytes, "the runtime and allocator slack, measured"),
            new("weights", p * 4, $"{p:N0} parameters x 4 B (evaluation runs in float32)"),
        };
        terms.AddRange(pass);
        return new StageMemory("eval", terms);
    }

    /// <summary>Latency: float32 weights and the key/value cache of one prompt and its new tokens.</summary>
    public static StageMemory Latency(ModelConfig model, LatencySettings latency)
    {
        long positions = (long)latency.PromptTokens + latency.NewTokens;
        long cache = 2L * model.NumLayers * model.NumKvHeads * model.HeadDim * positions * 4;
        var terms = new List<MemoryTerm>
        {
            new("runtime", RuntimeBytes, "the runtime and allocator slack, measured"),
            new("weights", model.TotalParams * 4, $"{model.TotalParams:N0} parameters x 4 B"),
            new("KV cache", cache, $"2 x {model.NumLayers} layers x {model.NumKvHeads} KV heads x {model.HeadDim} x {positions} positions x 4 B"),
            new("prompt pass", latency.PromptTokens * (LayerActivationBytes(model, 4) + model.VocabSize * 4L), "one layer's activations and the logits of the prompt"),
        };
        return new StageMemory("latency", terms);
    }

    /// <summary>Chopping: a layer placement streams tensor by tensor (the largest one in flight); a data-driven
    /// strategy also loads the whole base model in float32 and runs its calibration text through it, one
    /// sequence at a time, keeping every layer's hidden states.</summary>
    public static StageMemory Chop(ModelConfig baseModel, bool dataDriven, int calibrationLength)
    {
        int stored = baseModel.TorchDtype is "bfloat16" or "float16" ? 2 : 4;
        var terms = new List<MemoryTerm>
        {
            new("runtime", RuntimeBytes, "the runtime and allocator slack, measured"),
            new("largest tensor", LargestTensor(baseModel) * stored, "tensors are read and written one at a time, in the stored dtype"),
        };
        if (dataDriven)
        {
            terms.Add(new("base model", baseModel.TotalParams * 4, $"{baseModel.TotalParams:N0} parameters x 4 B"));
            terms.Add(new("calibration pass", (long)calibrationLength * ((baseModel.NumLayers + 1) * baseModel.HiddenSize * 4L
                + LayerActivationBytes(baseModel, 4) + baseModel.VocabSize * 4L), "every layer's hidden states of one sequence, one layer's activations, its logits"));
        }
        return new StageMemory("chop", terms);
    }
}

/// <summary>A candidate's plan: each stage it runs, and the largest of them.</summary>
public sealed record CandidateMemory(string Id, IReadOnlyList<StageMemory> Stages)
{
    public StageMemory Peak => Stages.MaxBy(s => s.Bytes)!;
    public long PeakBytes => Peak.Bytes;
    public string PeakStage => Peak.Stage;

    /// <summary>What a candidate runs: its chop (when it removes layers), healing (when it has tokens), evaluation
    /// and latency, planned on the base model's config.</summary>
    public static CandidateMemory Of(string id, ModelConfig baseModel, ChopSettings? chop, long healTokens, HealShape heal,
        EvalSettings eval, LatencySettings latency, int calibrationLength)
    {
        int remove = chop switch { PlacementChop p => p.Remove, CriterionChop c => c.Remove, LayerListChop l => l.Layers.Count, _ => 0 };
        remove = Math.Clamp(remove, 0, baseModel.NumLayers - 1);
        var chopped = remove == 0 ? baseModel : baseModel.WithLayersKept(Enumerable.Range(0, baseModel.NumLayers - remove).ToList());
        var stages = new List<StageMemory>();
        if (chop is not null) stages.Add(MemoryModel.Chop(baseModel, chop is CriterionChop, calibrationLength));
        if (healTokens > 0 && chop is not null && heal.Train.OptimizerWarmupSteps > 0)
        {
            // The optimizer warms up on the unchopped model; the chopped model and its optimizer are built from it
            // before it is freed.
            var warm = MemoryModel.Heal(baseModel, heal);
            long perParameter = MemoryModel.Bytes(heal.Train.Precision) + (heal.Train.Precision == "bf16" ? 4 : 0) + 8;
            long trained = heal.Method == HealMethod.Lora ? 0 : chopped.TotalParams;
            stages.Add(warm with { Terms = [.. warm.Terms, new MemoryTerm("chopped model and its optimizer state", chopped.TotalParams * MemoryModel.Bytes(heal.Train.Precision) + trained * (perParameter - MemoryModel.Bytes(heal.Train.Precision)),
                "built while the warmed-up unchopped model still holds its state")] });
        }
        else if (healTokens > 0) stages.Add(MemoryModel.Heal(chopped, heal));
        stages.Add(MemoryModel.Eval(chopped, eval));
        stages.Add(MemoryModel.Latency(chopped, latency));
        return new CandidateMemory(id, stages);
    }
}

/// <summary>Byte counts as people read them.</summary>
public static class MemoryUnits
{
    public const double GiB = 1L << 30;
    public static string Gib(long bytes) => (bytes / GiB).ToString(bytes < (10L << 30) ? "0.00" : "0.0", System.Globalization.CultureInfo.InvariantCulture) + " GiB";
}
