using LayerChop.Engine.Modeling;
using Xunit;
using static TorchSharp.torch;

namespace LayerChop.Engine.Tests.Modeling;

public class DecodingTests
{
    [Theory]
    [InlineData(2, 2)]   // grouped-query attention
    [InlineData(4, 4)]   // multi-head attention
    [InlineData(4, 1)]   // multi-query attention
    public void Cached_decoding_one_token_at_a_time_equals_the_full_forward_pass(int heads, int kvHeads)
    {
        using var model = TestModels.Random(TestModels.Llama(heads: heads, kvHeads: kvHeads));
        using var ids = TestModels.Ids(2, 12, 300);
        using var noGrad = no_grad();
        using var full = model.Forward(ids);                                  // (2, 12, V)
        using var cache = model.NewCache();
        for (int t = 0; t < 12; t++)
        {
            using var step = model.Forward(ids.narrow(1, t, 1), cache);       // (2, 1, V)
            Assert.True(TestModels.MaxAbsDiff(step, full.narrow(1, t, 1)) < 1e-5, $"position {t} differs");
        }
        Assert.Equal(12, cache.Length);
    }

    [Fact]
    public void Generation_never_produces_an_id_beyond_the_given_vocabulary()
    {
        // Unlimited, this model's greedy continuation uses ids above 100; limited to 100 ids it must not.
        using var model = TestModels.Random(TestModels.Llama());
        var unlimited = LayerChop.Engine.Inference.Generation.Generate(model, [1, 2, 3], 10);
        Assert.Contains(unlimited.Tokens, t => t >= 100);
        var limited = LayerChop.Engine.Inference.Generation.Generate(model, [1, 2, 3], 10, vocabulary: 100);
        Assert.Equal(10, limited.Tokens.Count);
        Assert.All(limited.Tokens, t => Assert.InRange(t, 0, 99));
    }

    [Fact]
    public void Cached_prefill_in_chunks_equals_the_full_forward_pass()
    {
        using var model = TestModels.Random(TestModels.Llama());
        using var ids = TestModels.Ids(1, 20, 300);
        using var noGrad = no_grad();
        using var full = model.Forward(ids);
        using var cache = model.NewCache();
        using var first = model.Forward(ids.narrow(1, 0, 7), cache);          // prompt
        using var second = model.Forward(ids.narrow(1, 7, 9), cache);         // a chunk continuing it: needs the offset causal mask
        using var third = model.Forward(ids.narrow(1, 16, 4), cache);
        using var joined = cat([first, second, third], 1);
        Assert.True(TestModels.MaxAbsDiff(joined, full) < 1e-5);
    }

    [Fact]
    public void A_token_never_sees_the_future()
    {
        using var model = TestModels.Random(TestModels.Llama());
        using var ids = TestModels.Ids(1, 10, 300);
        using var changed = ids.clone();
        changed[0, 9] = tensor(5L);
        using var noGrad = no_grad();
        using var a = model.Forward(ids);
        using var b = model.Forward(changed);
        Assert.Equal(0.0, TestModels.MaxAbsDiff(a.narrow(1, 0, 9), b.narrow(1, 0, 9)));
        Assert.True(TestModels.MaxAbsDiff(a.narrow(1, 9, 1), b.narrow(1, 9, 1)) > 0);
    }

    [Fact]
    public void Sequences_longer_than_the_context_are_refused_with_a_clear_error()
    {
        using var model = TestModels.Random(TestModels.Llama());
        using var ids = TestModels.Ids(1, 129, 300);
        var e = Assert.Throws<LayerChopException>(() => model.Forward(ids).Dispose());
        Assert.Contains("context of 128", e.Message);
    }
}

public class LayerOutputTests
{
    [Fact]
    public void Layer_outputs_are_the_residual_stream_after_each_layer_and_skipped_layers_are_identities()
    {
        using var model = TestModels.Random(TestModels.Llama(layers: 4));
        using var ids = TestModels.Ids(1, 6, 300);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var outputs = new Dictionary<int, Tensor>();
        model.Forward(ids, skipLayers: new HashSet<int> { 2 }, layerOutputs: outputs);
        Assert.Equal([-1, 0, 1, 3], outputs.Keys.Order());
        var full = new Dictionary<int, Tensor>();
        model.Forward(ids, layerOutputs: full);
        Assert.Equal(0.0, TestModels.MaxAbsDiff(outputs[1], full[1]));
        Assert.True(TestModels.MaxAbsDiff(outputs[3], full[3]) > 0);
        Assert.Equal([6L, 32L], full[-1].shape.Skip(1));
    }
}
