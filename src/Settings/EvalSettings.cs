using System.ComponentModel.DataAnnotations;

namespace LayerChop.Settings;

/// <summary>What a model is evaluated on, and how (the meaning of each is that of the eval command's flag).
/// [Required]: a sweep spec's eval section must give it.</summary>
[GenerateSerializer, Alias("layerchop.eval-spec")]
public sealed record EvalSettings
{
    /// <summary>Task names as <c>layerchop eval --tasks</c> takes them; "paper" stands for the paper's suite.</summary>
    [Required, Id(0)] public IReadOnlyList<string> Tasks { get; init; } = [];

    /// <summary>The folder that holds the tasks' data.</summary>
    [Required, Id(1)] public string TaskDir { get; init; } = "";

    /// <summary>The first N documents of each task; all when null.</summary>
    [Range(1, 1_000_000_000), Id(2)] public int? Limit { get; init; }

    /// <summary>A held-out text file or folder for perplexity; none when null.</summary>
    [Id(3)] public string? Perplexity { get; init; }

    /// <summary>Rows per forward pass (a question with all its choices is one row).</summary>
    [Range(1, 1 << 16), Id(4)] public int BatchSize { get; init; } = 16;

    /// <summary>Whether task contexts begin with BOS; null: as the tokenizer adds it by default (auto).</summary>
    [Id(5)] public bool? AddBos { get; init; }

    /// <summary>Seed of the built-in tasks' questions (next_word, continuation).</summary>
    [Range(0L, long.MaxValue), Id(6)] public long Seed { get; init; }

    /// <summary>Sliding-window stride for held-out perplexity; the model's context (disjoint windows) when null.</summary>
    [Range(1, 1 << 24), Id(7)] public int? PerplexityStride { get; init; }

    public bool Equals(EvalSettings? other) =>
        other is not null && Tasks.SequenceEqual(other.Tasks) && TaskDir == other.TaskDir && Limit == other.Limit
        && Perplexity == other.Perplexity && BatchSize == other.BatchSize && AddBos == other.AddBos && Seed == other.Seed
        && PerplexityStride == other.PerplexityStride;

    public override int GetHashCode() =>
        HashCode.Combine(string.Join('\n', Tasks), TaskDir, Limit, Perplexity, BatchSize, AddBos, Seed, PerplexityStride);
}
