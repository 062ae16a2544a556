using System.ComponentModel.DataAnnotations;

namespace LayerChop.Settings;

// Each settings record is the one definition of its fields and their defaults: `layerchop train` reads its flag
// defaults from it, a sweep spec carries it (snake_case keys, one per property), and a worker's job carries it.
// The records travel in persisted sweep state: member ids are never reused, and new members take new ids.
// [Range] is the span of values the engine runs; a sweep spec is checked against it when it is read.

/// <summary>How a model is healed: everything of a healing run except its data, length, seed and device.</summary>
[GenerateSerializer, Alias("layerchop.train-spec")]
public sealed record TrainSettings
{
    /// <summary>Tokens per training sequence.</summary>
    [Range(2, 1 << 20), Id(0)] public int SeqLen { get; init; } = 256;

    /// <summary>Tokens per optimizer step, a multiple of <see cref="SeqLen"/>; reached by gradient accumulation.</summary>
    [Range(2, 1 << 30), Id(1)] public int BatchTokens { get; init; } = 2048;

    /// <summary>Sequences per forward pass; 0 lets the trainer choose (the largest divisor of a step's sequences up
    /// to 8). Smaller trades speed for memory.</summary>
    [Range(0, 1 << 16), Id(2)] public int MicroBatch { get; init; }

    /// <summary>Peak learning rate.</summary>
    [Range(0d, 1d, MinimumIsExclusive = true), Id(3)] public double Lr { get; init; } = 3e-4;

    /// <summary>Linear warm-up steps before the cosine decay.</summary>
    [Range(0, 1_000_000_000), Id(4)] public int WarmupSteps { get; init; } = 10;

    /// <summary>Floor of the cosine decay, as a fraction of the peak.</summary>
    [Range(0d, 1d), Id(5)] public double MinLrRatio { get; init; } = 0.1;

    /// <summary>Steps between checkpoints.</summary>
    [Range(1, 1_000_000_000), Id(6)] public int CheckpointEvery { get; init; } = 100;

    /// <summary>Steps on the unchopped model at learning rate 0 before chopping, so AdamW's moments start filled
    /// while the weights stay the original ones (the paper uses 500).</summary>
    [Range(0, 1_000_000_000), Id(7)] public int OptimizerWarmupSteps { get; init; }

    /// <summary>AdamW weight decay on matrices.</summary>
    [Range(0d, 10d), Id(8)] public double WeightDecay { get; init; } = 0.1;

    /// <summary>Also decay the token embedding.</summary>
    [Id(9)] public bool DecayEmbeddings { get; init; }

    [Range(0d, 1d, MaximumIsExclusive = true), Id(10)] public double Beta1 { get; init; } = 0.9;
    [Range(0d, 1d, MaximumIsExclusive = true), Id(11)] public double Beta2 { get; init; } = 0.95;

    /// <summary>Clip the global gradient norm to this (0: off).</summary>
    [Range(0d, 1e6), Id(12)] public double GradClip { get; init; } = 1.0;

    /// <summary>Checkpoints kept; older ones are deleted.</summary>
    [Range(1, 1000), Id(13)] public int KeepCheckpoints { get; init; } = 2;

    /// <summary>Documents held out for the validation loss, per thousand.</summary>
    [Range(0, 1000), Id(14)] public int HeldoutPerMille { get; init; } = 10;

    /// <summary>Held-out sequences for the final validation loss.</summary>
    [Range(0, 1_000_000), Id(15)] public int ValSequences { get; init; } = 64;

    /// <summary>fp32, or bf16 (bf16 compute with float32 master weights and optimizer state).</summary>
    [Id(16)] public string Precision { get; init; } = "fp32";

    /// <summary>Weight of KL(teacher || student) when distilling.</summary>
    [Range(0d, 1000d), Id(17)] public double DistillWeight { get; init; } = 1.0;

    /// <summary>Softmax temperature for distillation.</summary>
    [Range(0d, 100d, MinimumIsExclusive = true), Id(18)] public double DistillTemperature { get; init; } = 1.0;

    /// <summary>Weight of the hidden-state MSE at mapped layers when distilling (0: off).</summary>
    [Range(0d, 1000d), Id(19)] public double DistillHiddenWeight { get; init; }

    /// <summary>Recompute each decoder layer's forward pass in the backward pass instead of keeping its activations:
    /// the same losses and gradients for about a third more compute and a fraction of the activation memory.</summary>
    [Id(20)] public bool ActivationCheckpointing { get; init; }

    /// <summary>Sequences per optimizer step.</summary>
    public int SequencesPerStep => BatchTokens / SeqLen;

    /// <summary>Sequences per forward pass: <see cref="MicroBatch"/>, or when 0 the largest divisor of a step's
    /// sequences up to 8.</summary>
    public int MicroBatchSize => MicroBatch > 0 ? MicroBatch
        : Enumerable.Range(1, Math.Min(8, Math.Max(1, SequencesPerStep))).Last(d => SequencesPerStep % d == 0);
}
