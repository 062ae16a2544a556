using LayerChop.Engine.Chopping.Importance;
using LayerChop.Engine.Modeling;
using static TorchSharp.torch;

namespace LayerChop.Engine.Tests.Importance;

/// <summary>Models with known answers, and calibration sets for them.</summary>
public static class ImportanceModels
{
    /// <summary>
    /// A random model whose <paramref name="identities"/> layers add nothing to the residual stream: with o_proj
    /// and down_proj zero (and no biases) a layer computes x + 0 + 0, bit for bit its input.
    /// </summary>
    public static CausalLM WithIdentityLayers(ModelConfig config, IEnumerable<int> identities, long seed = 1)
    {
        var model = TestModels.Random(config, seed);
        using var noGrad = no_grad();
        foreach (int i in identities)
        {
            model.model.layers[i].self_attn.o_proj.weight.zero_();
            model.model.layers[i].mlp.down_proj.weight.zero_();
        }
        return model;
    }

    /// <summary>
    /// Sequences sampled from the model itself at temperature 1. On such data the model is, in expectation, the
    /// best predictor there is: any change q to its next-token distributions p costs KL(p || q) > 0 nats per token
    /// (Gibbs' inequality), so removing a layer that does anything raises the perplexity, and removing an identity
    /// layer leaves it exactly unchanged. That makes "least harmful" well defined on a random model.
    /// </summary>
    public static CalibrationSet SampledFrom(CausalLM model, int count, int length, long seed = 11)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var generator = new Generator((ulong)seed);
        var ids = randint(0, model.Config.VocabSize, [count, 1], generator: generator);
        for (int t = 1; t < length; t++)
        {
            var logits = model.Forward(ids)[.., -1, ..];
            var next = multinomial(nn.functional.softmax(logits, -1), 1, generator: generator);
            ids = cat([ids, next], 1);
        }
        var rows = new List<int[]>();
        for (int s = 0; s < count; s++) rows.Add(ids[s].data<long>().Select(v => (int)v).ToArray());
        return CalibrationSet.FromSequences(rows, "sampled from the model");
    }

    /// <summary>Uniformly random token sequences, the same for the same seed.</summary>
    public static CalibrationSet RandomTokens(ModelConfig config, int count, int length, long seed = 7)
    {
        using var ids = TestModels.Ids(count, length, config.VocabSize, seed);
        var rows = Enumerable.Range(0, count).Select(s => ids[s].data<long>().Select(v => (int)v).ToArray()).ToList();
        return CalibrationSet.FromSequences(rows, "random tokens");
    }
}
