using System.ComponentModel.DataAnnotations;

namespace LayerChop.Settings;

/// <summary>How latency is measured: time per generated token after a prompt of this length.</summary>
[GenerateSerializer, Alias("layerchop.latency-spec")]
public sealed record LatencySettings
{
    [Range(1, 1 << 20), Id(0)] public int PromptTokens { get; init; } = 128;
    [Range(1, 1 << 20), Id(1)] public int NewTokens { get; init; } = 32;
}
