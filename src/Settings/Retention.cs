namespace LayerChop.Settings;

/// <summary>What a sweep keeps of a candidate once it completes.</summary>
[GenerateSerializer, Alias("layerchop.retention")]
public enum Retention
{
    /// <summary>Its final model and results; its training checkpoints and optimizer state go.</summary>
    Final = 0,

    /// <summary>Everything it wrote.</summary>
    All = 1,
}
