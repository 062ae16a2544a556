using LayerChop.Engine.Checkpoints;
using LayerChop.Engine.Modeling;
using Xunit;

namespace LayerChop.Engine.Tests.Modeling;

public class ParamCountTests
{
    public static TheoryData<string> Shapes => new()
    {
        """{ "model_type": "llama", "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 4, "vocab_size": 300 }""",
        """{ "model_type": "llama", "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 1, "vocab_size": 300, "tie_word_embeddings": true }""",
        """{ "model_type": "llama", "hidden_size": 32, "intermediate_size": 40, "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 2, "head_dim": 8, "vocab_size": 290, "attention_bias": true, "mlp_bias": true }""",
        """{ "model_type": "qwen2", "hidden_size": 24, "intermediate_size": 40, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 270, "tie_word_embeddings": true }""",
        """{ "model_type": "mistral", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 300 }""",
        """{ "model_type": "qwen3", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "vocab_size": 300, "tie_word_embeddings": true }""",
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Parameter_counts_from_the_formula_the_module_and_the_stored_tensors_agree(string json)
    {
        var config = TestModels.FromJson(json);
        using var model = TestModels.Random(config);
        long counted = model.NamedWeights().Sum(p => p.Parameter.numel());
        Assert.Equal(config.TotalParams, counted);

        // Hand formula: embeddings + head + L * (attention + MLP + two norms) + final norm.
        long h = config.HiddenSize, q = config.NumHeads * config.HeadDim, kv = config.NumKvHeads * config.HeadDim;
        long perLayer = h * q + 2 * h * kv + q * h + 3 * h * config.IntermediateSize + 2 * h
                        + (config.QkvBias ? q + 2 * kv : 0) + (config.OutputBias ? h : 0)
                        + (config.MlpBias ? 2 * config.IntermediateSize + h : 0)
                        + (config.ModelType == "qwen3" ? 2 * config.HeadDim : 0);      // q_norm and k_norm, one weight per head dim
        long vocab = (long)config.VocabSize * h;
        Assert.Equal(vocab * (config.TieWordEmbeddings ? 1 : 2) + config.NumLayers * perLayer + h, counted);

        var folder = TestModels.TempFolder();
        ModelFolder.Save(model, folder, TorchSharp.torch.ScalarType.Float32, tokenizerFrom: null);
        var summary = ModelSummary.Read(folder);
        Assert.Equal(counted, summary.Params);
        Assert.Equal(config.NumLayers * perLayer + h, summary.NonEmbeddingParams);
        Assert.Equal(config.NumLayers, summary.Layers);

        // The folder loads back to the same weights under the same names (q_norm/k_norm included).
        using var loaded = ModelFolder.Load(folder, TorchSharp.torch.ScalarType.Float32);
        Assert.Equal(model.NamedWeights().Select(p => p.Name), loaded.NamedWeights().Select(p => p.Name));
        foreach (var ((_, a), (_, b)) in model.NamedWeights().Zip(loaded.NamedWeights()))
            Assert.True(a.eq(b).all().item<bool>());
    }
}
