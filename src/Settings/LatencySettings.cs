namespace LayerChop.Settings;

/// <summary>How latency is measured: time per generated token after a prompt of this length.</summary>
[GenerateSerializer, Alias("layerchop.latency-spec")]
public sealed record LatencySettings
{
    [Id(0)] public int PromptTokens { get; init; } = 128;
    [Id(1)] public int NewTokens { get; init; } = 32;
}
