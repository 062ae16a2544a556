namespace LayerChop.Grains.Tests.Renamed;

/// <summary>
/// CandidateResult as a later build might have it: renamed and moved, one member dropped (Importance, id 8) and
/// one added (Comment, id 20). Its alias is the original's, which is all that stored bytes name. Only the
/// version-tolerance test loads it, in a serializer without the original contracts, since two types may not
/// share an alias in one process.
/// </summary>
[GenerateSerializer, Alias("layerchop.candidate-result")]
public sealed record RenamedCandidateResult
{
    [Id(0)] public long Params { get; init; }
    [Id(1)] public long NonEmbeddingParams { get; init; }
    [Id(2)] public long BytesOnDisk { get; init; }
    [Id(3)] public double LatencyMsPerToken { get; init; }
    [Id(4)] public IReadOnlyDictionary<string, double> Scores { get; init; } = new Dictionary<string, double>();
    [Id(5)] public double Average { get; init; }
    [Id(6)] public double? Perplexity { get; init; }
    [Id(7)] public double? HeldoutLoss { get; init; }
    [Id(20)] public string? Comment { get; init; }
}

/// <summary>
/// The sweep spec's train section as builds before the settings records stored it: eight members under the
/// alias the settings record keeps. Loaded, like the type above, only without the settings assembly.
/// </summary>
[GenerateSerializer, Alias("layerchop.train-spec")]
public sealed record StoredTrainSpec
{
    [Id(0)] public int SeqLen { get; init; } = 256;
    [Id(1)] public int BatchTokens { get; init; } = 2048;
    [Id(2)] public int MicroBatch { get; init; }
    [Id(3)] public double Lr { get; init; } = 3e-4;
    [Id(4)] public int WarmupSteps { get; init; } = 10;
    [Id(5)] public double MinLrRatio { get; init; } = 0.1;
    [Id(6)] public int CheckpointEvery { get; init; } = 100;
    [Id(7)] public int OptimizerWarmupSteps { get; init; }
}
