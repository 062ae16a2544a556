using LayerChop.Engine.Checkpoints;
using LayerChop.Engine.Chopping;
using LayerChop.Engine.Modeling;
using Xunit;
using static TorchSharp.torch;

namespace LayerChop.Engine.Tests.Chopping;

public class ChopperTests
{
    [Theory]
    [InlineData("input", 2)]
    [InlineData("output", 3)]
    [InlineData("middle", 2)]
    [InlineData("both", 3)]
    [InlineData("max-gap", 2)]
    [InlineData("layers:0,3", null)]
    public void A_chopped_model_computes_what_the_original_computes_with_those_layers_skipped(string strategy, int? k)
    {
        var config = TestModels.Llama(layers: 6);
        using var original = TestModels.Random(config, seed: 3);
        var source = TestModels.TempFolder();
        ModelFolder.Save(original, source, ScalarType.Float32, tokenizerFrom: null);
        var target = Path.Combine(TestModels.TempFolder(), "chopped");

        var result = Chopper.Chop(source, ChopStrategy.Parse(strategy, k), target);

        using var chopped = ModelFolder.Load(target);
        Assert.Equal(6 - result.Removed.Count, chopped.NumLayers);
        using var ids = TestModels.Ids(2, 16, config.VocabSize);
        using var noGrad = no_grad();
        using var expected = original.Forward(ids, skipLayers: result.Removed.ToHashSet());
        using var actual = chopped.Forward(ids);
        Assert.True(TestModels.MaxAbsDiff(expected, actual) <= 1e-6);
        using var unchopped = original.Forward(ids);
        Assert.True(TestModels.MaxAbsDiff(unchopped, actual) > 1e-3, "removing layers should change the output");
        Assert.Equal(config.WithLayersKept(result.Kept).TotalParams, result.ParamsAfter);
        Assert.Equal(config.TotalParams, result.ParamsBefore);
    }

    [Fact]
    public void A_chopped_qwen3_with_mixed_window_layers_computes_what_the_original_computes_with_those_layers_skipped()
    {
        // Layers 0-2 attend fully, 3-5 through a window of 4 (max_window_layers 3); removing 1 and 4 must leave each
        // kept layer its own kind of attention, with q/k norms carried along.
        var config = TestModels.FromJson("""
            { "model_type": "qwen3", "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 6, "num_attention_heads": 4,
              "num_key_value_heads": 2, "head_dim": 16, "vocab_size": 300, "max_position_embeddings": 128,
              "use_sliding_window": true, "sliding_window": 4, "max_window_layers": 3 }
            """);
        using var original = TestModels.Random(config, seed: 5);
        var source = TestModels.TempFolder();
        ModelFolder.Save(original, source, ScalarType.Float32, tokenizerFrom: null);
        var target = Path.Combine(TestModels.TempFolder(), "chopped");
        var result = Chopper.Chop(source, ChopStrategy.Parse("layers:1,4", null), target);

        using var chopped = ModelFolder.Load(target);
        Assert.Equal([null, null, 4, 4], chopped.Config.AttentionWindows);
        using var ids = TestModels.Ids(2, 16, config.VocabSize);
        using var noGrad = no_grad();
        using var expected = original.Forward(ids, skipLayers: result.Removed.ToHashSet());
        using var actual = chopped.Forward(ids);
        Assert.True(TestModels.MaxAbsDiff(expected, actual) <= 1e-6);
    }

    [Fact]
    public void Kept_layers_are_renumbered_in_order_with_bit_identical_bytes()
    {
        var config = TestModels.Llama(layers: 5);
        using var model = TestModels.Random(config, dtype: ScalarType.BFloat16);
        var source = TestModels.TempFolder();
        ModelFolder.Save(model, source, ScalarType.BFloat16, tokenizerFrom: null);
        var target = Path.Combine(TestModels.TempFolder(), "chopped");
        var result = Chopper.Chop(source, ChopStrategy.Parse("layers:1,3", null), target);
        Assert.Equal([0, 2, 4], result.Kept);

        using var before = SafeTensorsCheckpoint.Open(source);
        using var after = SafeTensorsCheckpoint.Open(target);
        Assert.Equal(before.Names.Count(n => !n.StartsWith("model.layers.1.") && !n.StartsWith("model.layers.3.")), after.Names.Count);
        foreach (var (oldIndex, newIndex) in new[] { (0, 0), (2, 1), (4, 2) })
            foreach (var suffix in new[] { "self_attn.q_proj.weight", "mlp.down_proj.weight", "input_layernorm.weight" })
            {
                using var a = before.Read($"model.layers.{oldIndex}.{suffix}");
                using var b = after.Read($"model.layers.{newIndex}.{suffix}");
                Assert.Equal(ScalarType.BFloat16, b.dtype);
                Assert.Equal(a.bytes.ToArray(), b.bytes.ToArray());
            }
        var chopped = ModelConfig.Load(target);
        Assert.Equal(3, chopped.NumLayers);
        Assert.Equal("bfloat16", chopped.TorchDtype);
        Assert.True(File.Exists(Path.Combine(target, "layerchop.json")));
    }

    [Fact]
    public void A_chop_never_writes_into_a_non_empty_folder()
    {
        var config = TestModels.Llama(layers: 4);
        using var model = TestModels.Random(config);
        var source = TestModels.TempFolder();
        ModelFolder.Save(model, source, ScalarType.Float32, tokenizerFrom: null);
        var target = TestModels.TempFolder();
        File.WriteAllText(Path.Combine(target, "keep.txt"), "mine");
        var e = Assert.Throws<LayerChopException>(() => Chopper.Chop(source, ChopStrategy.Parse("input", 1), target));
        Assert.Contains("not empty", e.Message);
        Assert.Throws<LayerChopException>(() => Chopper.Chop(source, ChopStrategy.Parse("input", 3), Path.Combine(target, "x")));
        Assert.False(Directory.Exists(Path.Combine(target, "x")));
    }
}
