namespace LayerChop.Interfaces;

// The sweep spec as the user writes it (YAML or JSON, snake_case keys; see SweepSpecReader in Grains).
// Every contract carries explicit [Id]s and an [Alias] so that persisted grain state and calls between silos of
// different builds keep working when members are added or types are renamed: new members take new ids, and
// an id is never reused for something else.
// Defaults here are what a spec that leaves a field out gets; the train defaults are those of `layerchop train`.

/// <summary>Where candidates run. Auto picks CUDA on silos that have GPUs and the CPU elsewhere.</summary>
[GenerateSerializer, Alias("layerchop.sweep-device")]
public enum SweepDevice
{
    Auto = 0,
    Cpu = 1,
    Cuda = 2,
}

/// <summary>One sweep: a base model, a healing corpus, an evaluation and the grid of candidates to try.</summary>
[GenerateSerializer, Alias("layerchop.sweep-spec")]
public sealed record SweepSpec
{
    /// <summary>The sweep's name: the coordinator grain's key and the default output folder's name.</summary>
    [Id(0)] public string Name { get; init; } = "";

    /// <summary>The Hugging Face model folder every candidate starts from.</summary>
    [Id(1)] public string BaseModel { get; init; } = "";

    /// <summary>Healing corpus files or folders.</summary>
    [Id(2)] public IReadOnlyList<string> Data { get; init; } = [];

    /// <summary>The JSONL field that holds a document's text.</summary>
    [Id(3)] public string TextField { get; init; } = "text";

    [Id(4)] public EvalSpec Eval { get; init; } = new();
    [Id(5)] public GridSpec Grid { get; init; } = new();
    [Id(6)] public TrainSpec Train { get; init; } = new();
    [Id(7)] public SweepDevice Device { get; init; } = SweepDevice.Auto;

    /// <summary>How many times a candidate is started before it counts as failed.</summary>
    [Id(8)] public int MaxAttempts { get; init; } = 3;

    /// <summary>The sweep's folder (candidates' models, checkpoints, results); the reader puts it at sweeps/&lt;name&gt;
    /// next to the spec file when the spec does not say.</summary>
    [Id(9)] public string Output { get; init; } = "";

    [Id(10)] public LatencySpec Latency { get; init; } = new();

    public bool Equals(SweepSpec? other) =>
        other is not null
        && Name == other.Name && BaseModel == other.BaseModel && SequenceEquality.Equal(Data, other.Data)
        && TextField == other.TextField && Eval.Equals(other.Eval) && Grid.Equals(other.Grid) && Train.Equals(other.Train)
        && Device == other.Device && MaxAttempts == other.MaxAttempts && Output == other.Output && Latency.Equals(other.Latency);

    public override int GetHashCode() =>
        HashCode.Combine(Name, BaseModel, SequenceEquality.Hash(Data), TextField, Eval, Grid, Train,
            HashCode.Combine(Device, MaxAttempts, Output, Latency));
}

/// <summary>What every candidate is measured on.</summary>
[GenerateSerializer, Alias("layerchop.eval-spec")]
public sealed record EvalSpec
{
    /// <summary>Task names as <c>layerchop eval --tasks</c> takes them; "paper" stands for the paper's suite.</summary>
    [Id(0)] public IReadOnlyList<string> Tasks { get; init; } = [];

    /// <summary>The folder that holds the tasks' data.</summary>
    [Id(1)] public string TaskDir { get; init; } = "";

    /// <summary>The first N documents of each task; all when null.</summary>
    [Id(2)] public int? Limit { get; init; }

    /// <summary>A held-out text file for perplexity; none when null.</summary>
    [Id(3)] public string? Perplexity { get; init; }

    public bool Equals(EvalSpec? other) =>
        other is not null && SequenceEquality.Equal(Tasks, other.Tasks) && TaskDir == other.TaskDir
        && Limit == other.Limit && Perplexity == other.Perplexity;

    public override int GetHashCode() => HashCode.Combine(SequenceEquality.Hash(Tasks), TaskDir, Limit, Perplexity);
}

/// <summary>The values to cross; every combination is one candidate (see SweepGrid in Grains).</summary>
[GenerateSerializer, Alias("layerchop.grid-spec")]
public sealed record GridSpec
{
    /// <summary>Layers to remove (K); 0 is the unchopped baseline.</summary>
    [Id(0)] public IReadOnlyList<int> Remove { get; init; } = [];

    /// <summary>Which layers: input, output, middle, both, max-gap, layers:i,j,..., or a data-driven strategy.</summary>
    [Id(1)] public IReadOnlyList<string> Strategy { get; init; } = [];

    /// <summary>Healing tokens; 0 evaluates the chopped model as it is.</summary>
    [Id(2)] public IReadOnlyList<long> HealTokens { get; init; } = [];

    /// <summary>pretrain (continued pretraining) or distill (from the unchopped model, the paper's baseline).</summary>
    [Id(3)] public IReadOnlyList<string> HealMethod { get; init; } = ["pretrain"];

    [Id(4)] public IReadOnlyList<long> Seed { get; init; } = [1];

    public bool Equals(GridSpec? other) =>
        other is not null && SequenceEquality.Equal(Remove, other.Remove) && SequenceEquality.Equal(Strategy, other.Strategy)
        && SequenceEquality.Equal(HealTokens, other.HealTokens) && SequenceEquality.Equal(HealMethod, other.HealMethod)
        && SequenceEquality.Equal(Seed, other.Seed);

    public override int GetHashCode() => HashCode.Combine(SequenceEquality.Hash(Remove), SequenceEquality.Hash(Strategy),
        SequenceEquality.Hash(HealTokens), SequenceEquality.Hash(HealMethod), SequenceEquality.Hash(Seed));
}

/// <summary>Healing settings shared by every candidate (the meaning of each is that of the train command's flag).</summary>
[GenerateSerializer, Alias("layerchop.train-spec")]
public sealed record TrainSpec
{
    [Id(0)] public int SeqLen { get; init; } = 256;

    /// <summary>Tokens per optimizer step, a multiple of <see cref="SeqLen"/>.</summary>
    [Id(1)] public int BatchTokens { get; init; } = 2048;

    /// <summary>Sequences per forward pass; 0 lets the trainer choose.</summary>
    [Id(2)] public int MicroBatch { get; init; }

    [Id(3)] public double Lr { get; init; } = 3e-4;
    [Id(4)] public int WarmupSteps { get; init; } = 10;
    [Id(5)] public double MinLrRatio { get; init; } = 0.1;
    [Id(6)] public int CheckpointEvery { get; init; } = 100;

    /// <summary>Steps on the unchopped model at learning rate 0 before chopping (the paper uses 500).</summary>
    [Id(7)] public int OptimizerWarmupSteps { get; init; }
}

/// <summary>How latency is measured: time per generated token after a prompt of this length.</summary>
[GenerateSerializer, Alias("layerchop.latency-spec")]
public sealed record LatencySpec
{
    [Id(0)] public int PromptTokens { get; init; } = 128;
    [Id(1)] public int NewTokens { get; init; } = 32;
}
