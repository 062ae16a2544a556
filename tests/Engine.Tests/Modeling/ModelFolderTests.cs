using LayerChop.Engine.Checkpoints;
using LayerChop.Engine.Modeling;
using Xunit;
using static TorchSharp.torch;

namespace LayerChop.Engine.Tests.Modeling;

public class ModelFolderTests
{
    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Float16)]
    public void Save_then_load_is_bit_exact_for_every_dtype(ScalarType dtype)
    {
        var config = TestModels.Llama(layers: 2);
        using var model = TestModels.Random(config, seed: 11, dtype: dtype);
        var folder = TestModels.TempFolder();
        ModelFolder.Save(model, folder, dtype, tokenizerFrom: null);
        using var loaded = ModelFolder.Load(folder, dtype);
        var originals = model.NamedWeights().ToDictionary(p => p.Name, p => p.Parameter);
        foreach (var (name, p) in loaded.NamedWeights())
        {
            Assert.Equal(dtype, p.dtype);
            Assert.Equal(originals[name].bytes.ToArray(), p.bytes.ToArray());
        }
        Assert.Equal(DTypes.TorchName(dtype), ModelConfig.Load(folder).TorchDtype);
    }

    [Fact]
    public void A_sharded_checkpoint_loads_the_same_as_a_single_file_one()
    {
        var config = TestModels.Llama(layers: 3);
        using var model = TestModels.Random(config, seed: 5);
        var single = TestModels.TempFolder();
        var sharded = TestModels.TempFolder();
        ModelFolder.Save(model, single, ScalarType.Float32, tokenizerFrom: null);
        ModelFolder.Save(model, sharded, ScalarType.Float32, tokenizerFrom: null, maxShardBytes: 40_000);
        Assert.True(File.Exists(Path.Combine(sharded, "model.safetensors.index.json")));
        Assert.True(Directory.GetFiles(sharded, "model-*-of-*.safetensors").Length > 2);
        Assert.False(File.Exists(Path.Combine(sharded, "model.safetensors")));

        using var a = ModelFolder.Load(single);
        using var b = ModelFolder.Load(sharded);
        using var ids = TestModels.Ids(1, 8, config.VocabSize);
        using var noGrad = no_grad();
        using var la = a.Forward(ids);
        using var lb = b.Forward(ids);
        Assert.Equal(0.0, TestModels.MaxAbsDiff(la, lb));
    }

    [Fact]
    public void Written_tensor_names_are_those_of_transformers_LlamaForCausalLM()
    {
        using var model = TestModels.Random(TestModels.Llama(layers: 1));
        var names = model.NamedWeights().Select(p => p.Name).ToHashSet();
        string[] expected =
        [
            "model.embed_tokens.weight", "model.norm.weight", "lm_head.weight",
            "model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.k_proj.weight",
            "model.layers.0.self_attn.v_proj.weight", "model.layers.0.self_attn.o_proj.weight",
            "model.layers.0.mlp.gate_proj.weight", "model.layers.0.mlp.up_proj.weight", "model.layers.0.mlp.down_proj.weight",
            "model.layers.0.input_layernorm.weight", "model.layers.0.post_attention_layernorm.weight",
        ];
        Assert.Equal(expected.Order(), names.Order());
    }

    [Fact]
    public void Weights_from_another_shape_are_refused_naming_the_tensor()
    {
        using var model = TestModels.Random(TestModels.Llama(layers: 2, hidden: 32));
        var folder = TestModels.TempFolder();
        ModelFolder.Save(model, folder, ScalarType.Float32, tokenizerFrom: null);
        TestModels.Llama(layers: 2, hidden: 64).Save(folder);   // config.json of a wider model
        var e = Assert.Throws<LayerChopException>(() => ModelFolder.Load(folder).Dispose());
        Assert.Contains("model.embed_tokens.weight", e.Message);
        Assert.Contains("shape", e.Message);
    }
}
