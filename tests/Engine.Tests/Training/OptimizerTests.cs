using LayerChop.Engine.Modeling;
using LayerChop.Engine.Training;
using static TorchSharp.torch;

namespace LayerChop.Engine.Tests.Training;

public class OptimizerTests
{
    [Fact]
    public void Schedule_warms_up_linearly_then_decays_by_cosine_to_the_floor()
    {
        var s = new LrSchedule(Peak: 1.0, WarmupSteps: 4, TotalSteps: 14, FloorRatio: 0.1);
        Assert.Equal([0.25, 0.5, 0.75, 1.0], Enumerable.Range(0, 4).Select(i => s.At(i)));
        Assert.Equal(1.0, s.At(4), 12);
        Assert.Equal(0.55, s.At(9), 12);                       // halfway through the decay: (1 + 0.1) / 2
        Assert.Equal(0.1, s.At(14), 12);
        Assert.Equal(0.1, s.At(100), 12);                      // never below the floor
        for (int i = 4; i < 14; i++) Assert.True(s.At(i + 1) <= s.At(i));
    }

    [Fact]
    public void AdamW_matches_libtorchs_AdamW_step_for_step()
    {
        // The same tiny regression problem optimised by our AdamW and by libtorch's (through TorchSharp).
        var ours = TestModels.Random(TestModels.Llama(layers: 1, hidden: 16, heads: 2, kvHeads: 1, intermediate: 24, vocab: 280), seed: 4);
        var theirs = TestModels.Random(TestModels.Llama(layers: 1, hidden: 16, heads: 2, kvHeads: 1, intermediate: 24, vocab: 280), seed: 4);
        ours.train(); theirs.train();
        using var adam = new AdamW(ours.NamedWeights(), (_, _) => true, 0.9, 0.95, 1e-8, 0.1);
        var reference = optim.AdamW(theirs.parameters(), lr: 0.01, beta1: 0.9, beta2: 0.95, eps: 1e-8, weight_decay: 0.1);
        using var ids = TestModels.Ids(2, 9, 280);
        var inputs = ids.narrow(1, 0, 8);
        var targets = ids.narrow(1, 1, 8);
        for (int step = 0; step < 5; step++)
        {
            adam.ZeroGrad();
            Losses.NextTokenLoss(ours.Forward(inputs), targets).backward();
            adam.Update(0.01);
            reference.zero_grad();
            Losses.NextTokenLoss(theirs.Forward(inputs), targets).backward();
            reference.step();
        }
        var expected = theirs.NamedWeights().ToDictionary(p => p.Name, p => p.Parameter);
        foreach (var (name, p) in ours.NamedWeights())
            Assert.True(TestModels.MaxAbsDiff(p, expected[name]) < 1e-6, name);
    }

    [Fact]
    public void Bf16_parameters_are_updated_from_float32_master_weights()
    {
        using var model = TestModels.Random(TestModels.Llama(layers: 1), dtype: ScalarType.BFloat16);
        model.train();
        using var adam = new AdamW(model.NamedWeights(), AdamW.DecayMatricesOnly);
        Assert.All(adam.Slots, s => Assert.Equal(ScalarType.Float32, s.Master.dtype));
        Assert.All(adam.Slots, s => Assert.True(s.OwnsMaster));
        using var ids = TestModels.Ids(2, 9, 300);
        // A step far below bf16's resolution still moves the float32 master, so many small steps add up.
        var slot = adam.Slots.First(s => s.Name.EndsWith("q_proj.weight"));
        using var before = slot.Master.clone();
        adam.ZeroGrad();
        Losses.NextTokenLoss(model.Forward(ids.narrow(1, 0, 8)), ids.narrow(1, 1, 8)).backward();
        adam.Update(1e-6);
        Assert.True(TestModels.MaxAbsDiff(slot.Master, before) > 0);
        Assert.Equal(0.0, TestModels.MaxAbsDiff(slot.Parameter.to(ScalarType.Float32), slot.Master.to(ScalarType.BFloat16).to(ScalarType.Float32)));
    }

    [Fact]
    public void Weight_decay_skips_norms_biases_and_embeddings_by_default()
    {
        using var model = TestModels.Random(TestModels.FromJson("""
        { "model_type": "qwen2", "hidden_size": 16, "intermediate_size": 24, "num_hidden_layers": 1,
          "num_attention_heads": 2, "num_key_value_heads": 1, "vocab_size": 280 }
        """));
        using var adam = new AdamW(model.NamedWeights(), AdamW.DecayMatricesOnly);
        var decayed = adam.Slots.Where(s => s.Decay).Select(s => s.Name).ToHashSet();
        Assert.Contains("model.layers.0.self_attn.q_proj.weight", decayed);
        Assert.Contains("lm_head.weight", decayed);
        Assert.DoesNotContain("model.embed_tokens.weight", decayed);
        Assert.DoesNotContain("model.layers.0.self_attn.q_proj.bias", decayed);
        Assert.DoesNotContain("model.norm.weight", decayed);
    }
}
