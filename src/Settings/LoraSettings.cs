using System.ComponentModel.DataAnnotations;

namespace LayerChop.Settings;

/// <summary>
/// Low-rank adapters for <see cref="HealMethod.Lora"/>: each targeted linear layer W (out, in) of every decoder layer
/// computes x W^T + (alpha / rank) x A^T B^T with A (rank, in) and B (out, rank); W stays frozen, A and B train.
/// </summary>
[GenerateSerializer, Alias("layerchop.lora-spec")]
public sealed record LoraSettings
{
    /// <summary>The linear layers of a decoder layer, by their Hugging Face module names: all of them are targets by default.</summary>
    public static IReadOnlyList<string> LinearLayers { get; } = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

    /// <summary>Rank of each adapter.</summary>
    [Range(1, 1 << 16), Id(0)] public int Rank { get; init; } = 16;

    /// <summary>Scale numerator: the adapter's output is multiplied by alpha / rank.</summary>
    [Range(0d, 1e6, MinimumIsExclusive = true), Id(1)] public double Alpha { get; init; } = 32;

    /// <summary>Which of <see cref="LinearLayers"/> get adapters.</summary>
    [Id(2)] public IReadOnlyList<string> Targets { get; init; } = LinearLayers;

    /// <summary>Peak learning rate of the adapters; null: the train section's <see cref="TrainSettings.Lr"/>.</summary>
    [Range(0d, 1d, MinimumIsExclusive = true), Id(3)] public double? Lr { get; init; }

    public double Scale => Alpha / Rank;

    /// <summary>Why <paramref name="target"/> cannot be a target, in words with the closest name; null when it can.</summary>
    public static string? TargetProblem(string target) => LinearLayers.Contains(target) ? null
        : $"'{target}' is not a linear layer of a decoder layer ({string.Join(", ", LinearLayers)})"
          + (Suggestions.Closest(target, LinearLayers) is { } close ? $"; did you mean {close}?" : "");

    public bool Equals(LoraSettings? other) =>
        other is not null && Rank == other.Rank && Alpha.Equals(other.Alpha) && Lr.Equals(other.Lr)
        && Targets.Count == other.Targets.Count && Targets.SequenceEqual(other.Targets);

    public override int GetHashCode() => HashCode.Combine(Rank, Alpha, Lr, string.Join(",", Targets));
}
