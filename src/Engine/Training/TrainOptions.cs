using System.Globalization;
using LayerChop.Settings;

namespace LayerChop.Engine.Training;

/// <summary>Everything that decides what a healing run computes. Stored in every checkpoint; a resume must match.</summary>
public sealed record TrainOptions
{
    public required IReadOnlyList<string> Data { get; init; }
    public required long Tokens { get; init; }
    public string TextField { get; init; } = TextCorpus.DefaultField;
    /// <summary>The healing settings (sequence length, batch, learning rate schedule, optimizer, checkpoints...).</summary>
    public TrainSettings Settings { get; init; } = new();
    public long Seed { get; init; } = 1;
    public string Device { get; init; } = "cpu";
    public HealMethod Method { get; init; } = HealMethod.Pretrain;
    public string? Teacher { get; init; }
    /// <summary>Chop inside the run instead of before it: the model is the unchopped one, and these layers are
    /// removed after <see cref="TrainSettings.OptimizerWarmupSteps"/>.</summary>
    public ChopSettings? Chop { get; init; }
    /// <summary>The adapters of <see cref="HealMethod.Lora"/>; read by no other method.</summary>
    public LoraSettings Lora { get; init; } = new();

    /// <summary>The learning rate the schedule peaks at: LoRA's own when it has one, else the train settings'.</summary>
    public double PeakLr => Method == HealMethod.Lora ? Lora.Lr ?? Settings.Lr : Settings.Lr;

    /// <summary>The most bytes of float32 logits the loss holds at once: longer micro-batches compute the head and
    /// the loss in slices of tokens (see <see cref="Losses.HeadBackward"/>).</summary>
    public long LogitsSliceBytes { get; init; } = Losses.LogitsSliceBytes;

    /// <summary>Tokens per slice of the loss for a vocabulary of <paramref name="vocab"/>.</summary>
    public long LossChunkTokens(long vocab) => Losses.SliceTokens(vocab, LogitsSliceBytes);

    public int SequencesPerStep => Settings.SequencesPerStep;
    public int MicroBatchSize => Settings.MicroBatchSize;
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
        if (Method != HealMethod.Distill && Teacher is not null)
            throw new LayerChopException($"--teacher distils, which is heal method distill; heal method {HealMethods.Name(Method)} learns from the corpus alone: drop --teacher, or heal with distill");
        if (Method == HealMethod.Lora) ValidateLora();
        if (t.DistillTemperature <= 0) throw new LayerChopException("--distill-temperature must be positive");
        if (t.ActivationCheckpointing && Method == HealMethod.Distill && t.DistillHiddenWeight > 0)
            throw new LayerChopException("--activation-checkpointing does not combine with --distill-hidden-weight (hidden-state distillation needs every layer's output in one graph); drop one of them");
        if (t.OptimizerWarmupSteps < 0) throw new LayerChopException("--optimizer-warmup-steps must not be negative");
        if (t.OptimizerWarmupSteps > 0 && Chop is null)
            throw new LayerChopException("--optimizer-warmup-steps warms up the optimizer before chopping: give --chop STRATEGY (and --chop-remove K) too");
    }

    void ValidateLora()
    {
        if (Lora.Rank < 1) throw new LayerChopException($"--lora-rank must be at least 1, got {Lora.Rank}");
        if (!(Lora.Alpha > 0)) throw new LayerChopException($"--lora-alpha must be positive, got {Lora.Alpha}");
        if (Lora.Lr is { } lr && !(lr is > 0 and <= 1)) throw new LayerChopException($"--lora-lr must be above 0 and at most 1, got {lr}");
        if (Lora.Targets.Count == 0) throw new LayerChopException($"--lora-targets names no layer; give some of {string.Join(",", LoraSettings.LinearLayers)}");
        if (Lora.Targets.Select(LoraSettings.TargetProblem).OfType<string>().FirstOrDefault() is { } problem)
            throw new LayerChopException($"--lora-targets: {problem}");
        if (Lora.Targets.Distinct().Count() != Lora.Targets.Count)
            throw new LayerChopException($"--lora-targets names a layer twice: {string.Join(",", Lora.Targets)}");
    }

    /// <summary>The settings whose change would make a resumed run compute something else, by name (the sweep
    /// spec's), in the order that checkpoints stored them '|'-joined before they stored names (a chop as its
    /// strategy text and K, K empty for a layer list).</summary>
    IReadOnlyList<(string Name, object? Value)> ResumeFields()
    {
        var t = Settings;
        int? chopRemove = Chop switch { PlacementChop p => p.Remove, CriterionChop c => c.Remove, _ => null };
        return
        [
            ("seq_len", t.SeqLen), ("batch_tokens", t.BatchTokens), ("lr", t.Lr), ("warmup_steps", t.WarmupSteps),
            ("min_lr_ratio", t.MinLrRatio), ("weight_decay", t.WeightDecay), ("decay_embeddings", t.DecayEmbeddings),
            ("beta1", t.Beta1), ("beta2", t.Beta2), ("grad_clip", t.GradClip), ("seed", Seed), ("tokens", Tokens),
            ("precision", t.Precision), ("heal_method", Method), ("distill_weight", t.DistillWeight),
            ("distill_temperature", t.DistillTemperature), ("distill_hidden_weight", t.DistillHiddenWeight),
            ("heldout_per_mille", t.HeldoutPerMille), ("text_field", TextField), ("chop", Chop?.Strategy),
            ("chop_remove", chopRemove), ("optimizer_warmup_steps", t.OptimizerWarmupSteps),
            .. Method == HealMethod.Lora
                ? new (string, object?)[] { ("lora.rank", Lora.Rank), ("lora.alpha", Lora.Alpha), ("lora.targets", string.Join(",", Lora.Targets)), ("lora.lr", Lora.Lr) }
                : [],
        ];
    }

    /// <summary>What a checkpoint stores of this run's settings (<see cref="TrainState.ResumeSettings"/>).</summary>
    public IReadOnlyDictionary<string, string> ResumeSettings() =>
        ResumeFields().ToDictionary(f => f.Name, f => Format(f.Value));

    static string Format(object? value) => value switch
    {
        null => "",
        bool b => b ? "true" : "false",
        HealMethod m => HealMethods.Name(m),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>The settings in which this run differs from the one that wrote <paramref name="saved"/>, with both
    /// values; empty when it may resume. A checkpoint without names has them '|'-joined in <see cref="TrainState.OptionsKey"/>.</summary>
    public IReadOnlyList<SettingChange> ChangesSince(TrainState saved)
    {
        var fields = ResumeFields();
        if (saved.ResumeSettings is { } stored)
            return fields.Select(f => new SettingChange(f.Name, stored.GetValueOrDefault(f.Name, "(not recorded)"), Format(f.Value)))
                .Where(c => c.Stored != c.Now).ToList();
        // The old key was written with string.Join, so this run's values are compared in that form.
        var now = fields.Select(f => f.Value?.ToString() ?? "").ToList();
        var old = (saved.OptionsKey ?? "").Split('|');
        if (old.Length != now.Count)
            return string.Join("|", now) == saved.OptionsKey ? [] : [new SettingChange("settings", saved.OptionsKey ?? "(not recorded)", string.Join("|", now))];
        return fields.Select((f, i) => new SettingChange(f.Name, old[i], now[i])).Where(c => c.Stored != c.Now).ToList();
    }
}

/// <summary>A setting a resumed run would change: its value in the checkpoint and in this run.</summary>
public sealed record SettingChange(string Name, string Stored, string Now);
