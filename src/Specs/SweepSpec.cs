using System.ComponentModel.DataAnnotations;
using LayerChop.Settings;

namespace LayerChop.Specs;

// The sweep spec as the user writes it (YAML or JSON, snake_case keys; see SweepSpecReader in Grains).
// Every contract carries explicit [Id]s and an [Alias] so that persisted grain state and calls between silos of
// different builds keep working when members are added or types are renamed: new members take new ids, and
// an id is never reused for something else. [Required] marks what a spec file must give (see SweepSpecFields);
// [Range] the values a number (or each item of a list of numbers) may take, checked when a spec is read.
// Defaults here are what a spec that leaves a field out gets; the train, eval and latency sections are the
// settings records (LayerChop.Settings), whose defaults are also those of `layerchop train` and `layerchop eval`.

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
    [Required, Id(0)] public string Name { get; init; } = "";

    /// <summary>The Hugging Face model folder every candidate starts from.</summary>
    [Required, Id(1)] public string BaseModel { get; init; } = "";

    /// <summary>Healing corpus files or folders.</summary>
    [Required, Id(2)] public IReadOnlyList<string> Data { get; init; } = [];

    /// <summary>The JSONL field that holds a document's text.</summary>
    [Id(3)] public string TextField { get; init; } = TextCorpus.DefaultField;

    [Required, Id(4)] public EvalSettings Eval { get; init; } = new();
    [Required, Id(5)] public GridSpec Grid { get; init; } = new();
    [Id(6)] public TrainSettings Train { get; init; } = new();
    [Id(7)] public SweepDevice Device { get; init; } = SweepDevice.Auto;

    /// <summary>How many times a candidate is started before it counts as failed.</summary>
    [Range(1, 100), Id(8)] public int MaxAttempts { get; init; } = 3;

    /// <summary>The sweep's folder (candidates' models, checkpoints, results); the reader puts it at sweeps/&lt;name&gt;
    /// next to the spec file when the spec does not say.</summary>
    [Id(9)] public string Output { get; init; } = "";

    [Id(10)] public LatencySettings Latency { get; init; } = new();

    /// <summary>What is kept of a candidate once it completes.</summary>
    [Id(11)] public Retention Retention { get; init; } = Retention.Final;

    /// <summary>The adapters of candidates healed with heal_method lora.</summary>
    [Id(12)] public LoraSettings Lora { get; init; } = new();

    public bool Equals(SweepSpec? other) =>
        other is not null
        && Name == other.Name && BaseModel == other.BaseModel && SequenceEquality.Equal(Data, other.Data)
        && TextField == other.TextField && Eval.Equals(other.Eval) && Grid.Equals(other.Grid) && Train.Equals(other.Train)
        && Device == other.Device && MaxAttempts == other.MaxAttempts && Output == other.Output && Latency.Equals(other.Latency)
        && Retention == other.Retention && Lora.Equals(other.Lora);

    public override int GetHashCode() =>
        HashCode.Combine(Name, BaseModel, SequenceEquality.Hash(Data), TextField, Eval, Grid, Train,
            HashCode.Combine(Device, MaxAttempts, Output, Latency, Retention, Lora));
}

/// <summary>The values to cross; every combination is one candidate (see SweepGrid in Grains).</summary>
[GenerateSerializer, Alias("layerchop.grid-spec")]
public sealed record GridSpec
{
    /// <summary>Layers to remove (K); 0 is the unchopped baseline.</summary>
    [Required, Range(0, 10_000), Id(0)] public IReadOnlyList<int> Remove { get; init; } = [];

    /// <summary>Which layers: input, output, middle, both, max-gap, layers:i,j,..., or a data-driven strategy.</summary>
    [Required, Id(1)] public IReadOnlyList<string> Strategy { get; init; } = [];

    /// <summary>The most healing tokens a candidate may ask for: 10T, beyond any pretraining run to date.</summary>
    public const long MaxHealTokens = 10_000_000_000_000;

    /// <summary>Healing tokens; 0 evaluates the chopped model as it is.</summary>
    [Required, Range(0L, MaxHealTokens), Id(2)] public IReadOnlyList<long> HealTokens { get; init; } = [];

    /// <summary>pretrain (continued pretraining), distill (from the unchopped model, the paper's baseline) or lora
    /// (low-rank adapters on the frozen chopped model; see <see cref="SweepSpec.Lora"/>).</summary>
    [Id(3)] public IReadOnlyList<string> HealMethod { get; init; } = [HealMethods.Name(HealMethods.Default)];

    [Range(0L, long.MaxValue), Id(4)] public IReadOnlyList<long> Seed { get; init; } = [CandidateSeed.Default];

    public bool Equals(GridSpec? other) =>
        other is not null && SequenceEquality.Equal(Remove, other.Remove) && SequenceEquality.Equal(Strategy, other.Strategy)
        && SequenceEquality.Equal(HealTokens, other.HealTokens) && SequenceEquality.Equal(HealMethod, other.HealMethod)
        && SequenceEquality.Equal(Seed, other.Seed);

    public override int GetHashCode() => HashCode.Combine(SequenceEquality.Hash(Remove), SequenceEquality.Hash(Strategy),
        SequenceEquality.Hash(HealTokens), SequenceEquality.Hash(HealMethod), SequenceEquality.Hash(Seed));
}
