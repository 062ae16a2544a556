using System.Text.Json.Nodes;
using LayerChop.Engine.Modeling;
using static TorchSharp.torch;

namespace LayerChop.Engine.Tests;

/// <summary>Tiny models and temporary folders for tests.</summary>
public static class TestModels
{
    public static ModelConfig Llama(int layers = 4, int hidden = 32, int heads = 4, int kvHeads = 2, int intermediate = 48,
        int vocab = 300, bool tie = false) =>
        ModelConfig.CreateLlama(layers, hidden, heads, kvHeads, intermediate, vocab, maxPositions: 128, tieEmbeddings: tie);

    /// <summary>A config.json as the given family writes it, parsed.</summary>
    public static ModelConfig FromJson(string json) => ModelConfig.FromJson((JsonObject)JsonNode.Parse(json)!, "test config");

    public static CausalLM Random(ModelConfig config, long seed = 1, ScalarType dtype = ScalarType.Float32)
    {
        var model = new CausalLM(config, dtype, CPU);
        model.InitializeRandom(seed, std: 0.1);   // larger than the default so layers visibly matter
        model.eval();
        return model;
    }

    public static Tensor Ids(int batch, int length, int vocab, long seed = 7)
    {
        var g = new Generator((ulong)seed);
        return randint(0, vocab, [batch, length], generator: g);
    }

    public static string TempFolder()
    {
        var path = Path.Combine(Path.GetTempPath(), "layerchop-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    public static double MaxAbsDiff(Tensor a, Tensor b) => (a - b).abs().max().item<float>();
}
