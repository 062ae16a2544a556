using LayerChop.Settings;

namespace LayerChop.Engine.Training;

public enum HealMethod { Pretrain, Distill }

/// <summary>Everything that decides what a healing run computes. Stored in every checkpoint; a resume must match.</summary>
public sealed record TrainOptions
{
    public required IReadOnlyList<string> Data { get; init; }
    public required long Tokens { get; init; }
    public string TextField { get; init; } = "text";
    /// <summary>The healing settings (sequence length, batch, learning rate schedule, optimizer, checkpoints...).</summary>
    public TrainSettings Settings { get; init; } = new();
    public long Seed { get; init; } = 1;
    public string Device { get; init; } = "cpu";
    public HealMethod Method { get; init; } = HealMethod.Pretrain;
    public string? Teacher { get; init; }
    /// <summary>Chop inside the run instead of before it: the model is the unchopped one, and these layers are
    /// removed after <see cref="TrainSettings.OptimizerWarmupSteps"/>.</summary>
    public ChopSettings? Chop { get; init; }

    public int SequencesPerStep => Settings.SequencesPerStep;
    public int MicroBatchSize => Settings.MicroBatch > 0 ? Settings.MicroBatch
        : Enumerable.Range(1, Math.Min(8, Math.Max(1, SequencesPerStep))).Last(d => SequencesPerStep % d == 0);
    public int AccumulationSteps => SequencesPerStep / MicroBatchSize;
    public int TotalSteps => (int)Math.Max(1, (Tokens + Settings.BatchTokens - 1) / Settings.BatchTokens);

    public void Validate(int contextLength)
    {
        var t = Settings;
        if (Data.Count == 0) throw new LayerChopException("no training data: give --data PATH (JSONL, text, .bin or .npy files)");
        if (Tokens <= 0) throw new LayerChopException($"--tokens must be positive, got {Tokens}");
        if (t.SeqLen <= 1) throw new LayerChopException($"--seq-len must be at least 2, got {t.SeqLen}");
        if (t.SeqLen > contextLength)
            throw new LayerChopException($"--seq-len {t.SeqLen} is longer than the model's context of {contextLength} (max_position_embeddings)");
        if (t.BatchTokens < t.SeqLen || t.BatchTokens % t.SeqLen != 0)
            throw new LayerChopException($"--batch-tokens {t.BatchTokens} must be a positive multiple of --seq-len {t.SeqLen}");
        if (t.MicroBatch < 0 || SequencesPerStep % MicroBatchSize != 0)
            throw new LayerChopException($"--micro-batch {t.MicroBatch} must divide the {SequencesPerStep} sequences of a step (--batch-tokens / --seq-len)");
        if (t.Lr <= 0) throw new LayerChopException($"--lr must be positive, got {t.Lr}");
        if (t.WarmupSteps < 0) throw new LayerChopException("--warmup-steps must not be negative");
        if (t.MinLrRatio is < 0 or > 1) throw new LayerChopException("--min-lr-ratio must be between 0 and 1");
        if (t.CheckpointEvery <= 0) throw new LayerChopException("--checkpoint-every must be positive");
        if (t.KeepCheckpoints <= 0) throw new LayerChopException("--keep-checkpoints must be at least 1");
        if (t.Precision is not ("fp32" or "bf16")) throw new LayerChopException($"--precision '{t.Precision}' is not known; use fp32 or bf16");
        if (Method == HealMethod.Distill && Teacher is null && Chop is null)
            throw new LayerChopException("distillation needs a teacher: give --teacher DIR (the unchopped model), or chop inside the run with --chop");
        if (t.DistillTemperature <= 0) throw new LayerChopException("--distill-temperature must be positive");
        if (t.OptimizerWarmupSteps < 0) throw new LayerChopException("--optimizer-warmup-steps must not be negative");
        if (t.OptimizerWarmupSteps > 0 && Chop is null)
            throw new LayerChopException("--optimizer-warmup-steps warms up the optimizer before chopping: give --chop STRATEGY (and --chop-remove K) too");
    }

    /// <summary>The fields whose change would make a resumed run compute something else. Its form is that of the
    /// checkpoints already written (a chop as its strategy text and K, K empty for a layer list).</summary>
    public string ResumeKey()
    {
        var t = Settings;
        int? chopRemove = Chop switch { PlacementChop p => p.Remove, CriterionChop c => c.Remove, _ => null };
        return string.Join("|", t.SeqLen, t.BatchTokens, t.Lr, t.WarmupSteps, t.MinLrRatio, t.WeightDecay,
            t.DecayEmbeddings, t.Beta1, t.Beta2, t.GradClip, Seed, Tokens, t.Precision, Method, t.DistillWeight, t.DistillTemperature,
            t.DistillHiddenWeight, t.HeldoutPerMille, TextField, Chop?.Strategy, chopRemove, t.OptimizerWarmupSteps);
    }
}
