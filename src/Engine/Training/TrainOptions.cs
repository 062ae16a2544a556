namespace LayerChop.Engine.Training;

public enum HealMethod { Pretrain, Distill }

/// <summary>Everything that decides what a healing run computes. Stored in every checkpoint; a resume must match.</summary>
public sealed record TrainOptions
{
    public required IReadOnlyList<string> Data { get; init; }
    public required long Tokens { get; init; }
    public string TextField { get; init; } = "text";
    public int SeqLen { get; init; } = 256;
    /// <summary>Tokens per optimizer step (a multiple of SeqLen); reached by gradient accumulation.</summary>
    public int BatchTokens { get; init; } = 8 * 256;
    /// <summary>Sequences per forward pass (0: the largest divisor of a step's sequences up to 8); smaller
    /// trades speed for memory.</summary>
    public int MicroBatch { get; init; }
    public double Lr { get; init; } = 3e-4;
    public int WarmupSteps { get; init; } = 10;
    public double MinLrRatio { get; init; } = 0.1;
    public double WeightDecay { get; init; } = 0.1;
    public bool DecayEmbeddings { get; init; }
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.95;
    public double GradClip { get; init; } = 1.0;
    public long Seed { get; init; } = 1;
    public int CheckpointEvery { get; init; } = 100;
    public int KeepCheckpoints { get; init; } = 2;
    public int HeldoutPerMille { get; init; } = 10;
    public int ValSequences { get; init; } = 64;
    public string Precision { get; init; } = "fp32";       // fp32 | bf16 (bf16 compute, fp32 master weights)
    public string Device { get; init; } = "cpu";
    public HealMethod Method { get; init; } = HealMethod.Pretrain;
    public string? Teacher { get; init; }
    public double DistillWeight { get; init; } = 1.0;
    public double DistillTemperature { get; init; } = 1.0;
    public double DistillHiddenWeight { get; init; }
    /// <summary>Chop inside the run instead of before it: the model is the unchopped one, and these layers are
    /// removed after <see cref="OptimizerWarmupSteps"/>.</summary>
    public string? ChopStrategy { get; init; }
    public int? ChopRemove { get; init; }
    /// <summary>Steps on the unchopped model at learning rate 0 before chopping: AdamW's moment estimates fill
    /// in while the weights stay exactly the original ones (the paper warms up its optimizer for 500 steps).</summary>
    public int OptimizerWarmupSteps { get; init; }

    public int SequencesPerStep => BatchTokens / SeqLen;
    public int MicroBatchSize => MicroBatch > 0 ? MicroBatch
        : Enumerable.Range(1, Math.Min(8, Math.Max(1, SequencesPerStep))).Last(d => SequencesPerStep % d == 0);
    public int AccumulationSteps => SequencesPerStep / MicroBatchSize;
    public int TotalSteps => (int)Math.Max(1, (Tokens + BatchTokens - 1) / BatchTokens);

    public void Validate(int contextLength)
    {
        if (Data.Count == 0) throw new LayerChopException("no training data: give --data PATH (JSONL, text, .bin or .npy files)");
        if (Tokens <= 0) throw new LayerChopException($"--tokens must be positive, got {Tokens}");
        if (SeqLen <= 1) throw new LayerChopException($"--seq-len must be at least 2, got {SeqLen}");
        if (SeqLen > contextLength)
            throw new LayerChopException($"--seq-len {SeqLen} is longer than the model's context of {contextLength} (max_position_embeddings)");
        if (BatchTokens < SeqLen || BatchTokens % SeqLen != 0)
            throw new LayerChopException($"--batch-tokens {BatchTokens} must be a positive multiple of --seq-len {SeqLen}");
        if (MicroBatch < 0 || SequencesPerStep % MicroBatchSize != 0)
            throw new LayerChopException($"--micro-batch {MicroBatch} must divide the {SequencesPerStep} sequences of a step (--batch-tokens / --seq-len)");
        if (Lr <= 0) throw new LayerChopException($"--lr must be positive, got {Lr}");
        if (WarmupSteps < 0) throw new LayerChopException("--warmup-steps must not be negative");
        if (MinLrRatio is < 0 or > 1) throw new LayerChopException("--min-lr-ratio must be between 0 and 1");
        if (CheckpointEvery <= 0) throw new LayerChopException("--checkpoint-every must be positive");
        if (KeepCheckpoints <= 0) throw new LayerChopException("--keep-checkpoints must be at least 1");
        if (Precision is not ("fp32" or "bf16")) throw new LayerChopException($"--precision '{Precision}' is not known; use fp32 or bf16");
        if (Method == HealMethod.Distill && Teacher is null && ChopStrategy is null)
            throw new LayerChopException("distillation needs a teacher: give --teacher DIR (the unchopped model), or chop inside the run with --chop");
        if (DistillTemperature <= 0) throw new LayerChopException("--distill-temperature must be positive");
        if (OptimizerWarmupSteps < 0) throw new LayerChopException("--optimizer-warmup-steps must not be negative");
        if (OptimizerWarmupSteps > 0 && ChopStrategy is null)
            throw new LayerChopException("--optimizer-warmup-steps warms up the optimizer before chopping: give --chop STRATEGY (and --chop-remove K) too");
    }

    /// <summary>The fields whose change would make a resumed run compute something else.</summary>
    public string ResumeKey() => string.Join("|", SeqLen, BatchTokens, Lr, WarmupSteps, MinLrRatio, WeightDecay,
        DecayEmbeddings, Beta1, Beta2, GradClip, Seed, Tokens, Precision, Method, DistillWeight, DistillTemperature,
        DistillHiddenWeight, HeldoutPerMille, TextField, ChopStrategy, ChopRemove, OptimizerWarmupSteps);
}
