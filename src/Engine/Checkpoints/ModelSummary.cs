using LayerChop.Engine.Modeling;

namespace LayerChop.Engine.Checkpoints;

/// <summary>
/// What <c>model inspect</c> reports: the shape from config.json, the layers and sizes counted from the stored
/// tensors. <see cref="Layers"/> counts the distinct model.layers.N of the weights; <see cref="ConfigLayers"/> is
/// config.json's num_hidden_layers, which a loadable folder agrees with.
/// </summary>
public sealed record ModelSummary(
    string Arch, int Layers, int ConfigLayers, int Hidden, int Heads, int KvHeads, int Vocab,
    long Params, long NonEmbeddingParams, string DType, long BytesOnDisk)
{
    public static ModelSummary Read(string folder)
    {
        var config = ModelConfig.Load(folder);
        using var checkpoint = SafeTensorsCheckpoint.Open(folder);
        long total = 0, embedding = 0;
        var bytesByDtype = new Dictionary<string, long>();
        var layers = new HashSet<int>();
        foreach (var name in checkpoint.Names)
        {
            if (LayerTensorName.TryParse(name, out int layer, out _)) layers.Add(layer);
            var info = checkpoint.Info(name);
            long count = info.Shape.Aggregate(1L, (a, b) => a * b);
            total += count;
            if (name is "model.embed_tokens.weight" or "lm_head.weight") embedding += count;
            bytesByDtype[info.DType] = bytesByDtype.GetValueOrDefault(info.DType) + info.End - info.Begin;
        }
        string dtype = bytesByDtype.Count == 0 ? "none"
            : bytesByDtype.MaxBy(kv => kv.Value).Key switch { "F32" => "float32", "BF16" => "bfloat16", "F16" => "float16", var other => other };
        long bytes = Directory.EnumerateFiles(folder, "*.safetensors").Sum(f => new FileInfo(f).Length);
        return new ModelSummary(config.ModelType, layers.Count, config.NumLayers, config.HiddenSize, config.NumHeads,
            config.NumKvHeads, config.VocabSize, total, total - embedding, dtype, bytes);
    }
}
