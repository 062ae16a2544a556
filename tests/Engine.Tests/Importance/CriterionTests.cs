using LayerChop.Engine.Chopping;
using LayerChop.Engine.Chopping.Importance;
using LayerChop.Engine.Modeling;
using static TorchSharp.torch;

namespace LayerChop.Engine.Tests.Importance;

public class CriterionTests
{
    static readonly ModelConfig SixLayers = TestModels.Llama(layers: 6);

    [Theory]
    [InlineData("block-influence", new[] { 2, 3 })]
    [InlineData("angular", new[] { 2, 3 })]
    [InlineData("perplexity", new[] { 2, 3 })]
    [InlineData("iterative", new[] { 2, 3 })]
    [InlineData("block-influence", new[] { 1, 4 })]
    [InlineData("perplexity", new[] { 1, 4 })]
    [InlineData("iterative", new[] { 1, 4 })]
    [InlineData("angular", new[] { 3 })]
    [InlineData("iterative", new[] { 2 })]
    public void Every_criterion_removes_exactly_the_layers_that_are_identities(string criterion, int[] identities)
    {
        using var model = ImportanceModels.WithIdentityLayers(SixLayers, identities);
        var calib = ImportanceModels.SampledFrom(model, count: 16, length: 32);
        var strategy = (DataDrivenStrategy)ChopStrategy.Parse(criterion, identities.Length);

        var result = strategy.Select(model, calib);

        Assert.Equal(identities, result.Removed);
        Assert.Equal(criterion, result.Criterion);
        Assert.Equal(identities.Length, result.RemovalOrder.Count);
        if (criterion == "angular")
        {
            Assert.Equal(ScoreIndex.BlockStart, result.ScoresBy);
            Assert.Equal(6 - identities.Length + 1, result.Scores.Count);
            Assert.Equal(0.0, result.Scores[identities[0]]!.Value, 6);
        }
        else
        {
            Assert.Equal(ScoreIndex.Layer, result.ScoresBy);
            Assert.Equal(6, result.Scores.Count);
        }
    }

    [Fact]
    public void The_identity_layers_score_as_removable_as_possible()
    {
        using var model = ImportanceModels.WithIdentityLayers(SixLayers, [2, 3]);
        var calib = ImportanceModels.SampledFrom(model, count: 8, length: 32);
        var hidden = CalibrationMeasures.HiddenStates(model, calib, blockSize: 2);
        Assert.Equal(0.0, hidden.BlockInfluence[2], 9);
        Assert.Equal(0.0, hidden.BlockInfluence[3], 9);
        Assert.Equal(0.0, hidden.Angular[2], 6);
        Assert.All(new[] { 0, 1, 4, 5 }, i => Assert.True(hidden.BlockInfluence[i] > 0.05, $"layer {i}: {hidden.BlockInfluence[i]}"));

        double baseline = CalibrationMeasures.Perplexity(model, calib);
        Assert.Equal(baseline, CalibrationMeasures.Perplexity(model, calib, new HashSet<int> { 2, 3 }));   // bit for bit
        Assert.True(CalibrationMeasures.Perplexity(model, calib, new HashSet<int> { 1 }) > baseline);
    }

    [Fact]
    public void Scores_are_deterministic_for_a_fixed_calibration_set()
    {
        foreach (var criterion in DataDrivenStrategy.CriterionNames)
        {
            var runs = new List<ImportanceResult>();
            for (int run = 0; run < 2; run++)
            {
                // A fresh model and a freshly built set each time: same seeds, so the same inputs.
                using var model = TestModels.Random(SixLayers, seed: 5);
                var calib = ImportanceModels.RandomTokens(SixLayers, count: 6, length: 24, seed: 3);
                runs.Add(DataDrivenStrategy.Create(criterion, 2).Select(model, calib));
            }
            Assert.Equal(runs[0].Scores, runs[1].Scores);
            Assert.Equal(runs[0].Removed, runs[1].Removed);
            Assert.Equal(runs[0].RemovalOrder, runs[1].RemovalOrder);
            Assert.Equal(runs[0].ForwardPasses, runs[1].ForwardPasses);
        }
    }

    [Fact]
    public void Each_criterion_reports_its_cost_in_passes_over_the_calibration_set()
    {
        using var model = TestModels.Random(SixLayers, seed: 5);
        var calib = ImportanceModels.RandomTokens(SixLayers, count: 4, length: 16);
        // 6 layers, 4 candidates (1..4): one hidden-state pass; one pass per candidate; 4 + 3 passes for K = 2.
        Assert.Equal(1, new BlockInfluence(2).Select(model, calib).ForwardPasses);
        Assert.Equal(1, new AngularDistance(2).Select(model, calib).ForwardPasses);
        Assert.Equal(4, new OneShotPerplexity(2).Select(model, calib).ForwardPasses);
        Assert.Equal(7, new IterativePerplexity(2).Select(model, calib).ForwardPasses);
        Assert.Equal(6, new OneShotPerplexity(2, AllowEnds: true).Select(model, calib).ForwardPasses);
    }

    [Fact]
    public void The_first_and_last_layer_stay_unless_ends_are_allowed()
    {
        // Layers 0 and 5 are the identities here: the default keeps them and picks among 1..4 instead.
        using var model = ImportanceModels.WithIdentityLayers(SixLayers, [0, 5]);
        var calib = ImportanceModels.SampledFrom(model, count: 8, length: 24);
        foreach (var criterion in new[] { "block-influence", "perplexity", "iterative" })
        {
            var kept = DataDrivenStrategy.Create(criterion, 2).Select(model, calib);
            Assert.DoesNotContain(0, kept.Removed);
            Assert.DoesNotContain(5, kept.Removed);
            var free = DataDrivenStrategy.Create(criterion, 2, allowEnds: true).Select(model, calib);
            Assert.Equal([0, 5], free.Removed);
        }
        // Perplexity criteria do not measure what they may not remove.
        var scores = new OneShotPerplexity(1).Select(model, calib).Scores;
        Assert.Null(scores[0]);
        Assert.Null(scores[5]);
        Assert.NotNull(scores[1]);
        var angular = new AngularDistance(1).Select(model, calib);
        Assert.NotEqual(0, angular.Removed[0]);
        Assert.NotEqual(5, angular.Removed[0]);
        Assert.Equal([0], new AngularDistance(1, AllowEnds: true).Select(model, calib).Removed);
    }

    /// <summary>
    /// A model built so that layers interact in a known way. Every layer adds one constant vector to the residual
    /// stream (attention and MLP weights zero, so the MLP outputs exactly its down_proj bias), all along one
    /// direction u that the embeddings and lm_head never use: layer i adds beta_i * u with
    ///     beta = [-3, +2, +3, -4, +6, -4]   (sum 0: the full model has no u component).
    /// Removing a set S leaves sigma = -sum(beta_S) * u in the stream. u only reaches the logits through the final
    /// RMSNorm, which divides by sqrt(|e|^2 + sigma^2): a larger |sigma| flattens every prediction. The calibration
    /// targets are the full model's own argmax tokens, so flatter is strictly worse: perplexity rises with |sigma|
    /// and depends on nothing else.
    /// One-shot perplexity ranks single removals by |beta|: layer 1 (2), layer 2 (3), layer 3 (4), layer 4 (6),
    /// and for K = 2 removes {1, 2}: |sigma| = 5. Iterative removes layer 1 first, then re-measures with it gone:
    /// {1,2} gives 5, {1,3} gives |2 - 4| = 2, {1,4} gives 8, so it removes layer 3, which partly cancels layer 1,
    /// and ends with a better pair than the one-shot ranking. (All betas are small integers, so every sum is exact.)
    /// </summary>
    [Fact]
    public void Iterative_re_measures_after_each_removal_and_finds_layers_that_cancel()
    {
        double[] beta = [-3, 2, 3, -4, 6, -4];
        var config = TestModels.Llama(layers: 6, hidden: 32) with { MlpBias = true };
        using var model = new CausalLM(config, ScalarType.Float32, CPU);
        model.InitializeRandom(seed: 4, std: 1.0);
        model.eval();
        int u = config.HiddenSize - 1;
        using (no_grad())
        {
            model.model.embed_tokens.weight[.., u].zero_();
            model.lm_head!.weight[.., u].zero_();
            for (int i = 0; i < 6; i++)
            {
                var layer = model.model.layers[i];
                layer.self_attn.o_proj.weight.zero_();
                foreach (var dense in new[] { layer.mlp.gate_proj, layer.mlp.up_proj, layer.mlp.down_proj })
                {
                    dense.weight.zero_();
                    dense.bias!.zero_();
                }
                layer.mlp.down_proj.bias![u] = tensor((float)beta[i]);
            }
        }
        var calib = GreedyChains(model, count: 8, length: 16);

        var oneShot = new OneShotPerplexity(2).Select(model, calib);
        var iterative = new IterativePerplexity(2).Select(model, calib);

        Assert.Equal([1, 2], oneShot.Removed);
        Assert.Equal([1, 3], iterative.RemovalOrder);
        // The premise, measured: the ranking is by |beta|, and the pair iterative found really is better.
        var single = Enumerable.Range(1, 4).Select(i => oneShot.Scores[i]!.Value).ToList();
        Assert.Equal(single.Order(), single);
        double oneShotPair = CalibrationMeasures.Perplexity(model, calib, new HashSet<int> { 1, 2 });
        double iterativePair = CalibrationMeasures.Perplexity(model, calib, new HashSet<int> { 1, 3 });
        Assert.True(iterativePair < oneShotPair, $"{iterativePair} vs {oneShotPair}");
        // {1,3} leaves |sigma| = 2, exactly as removing layer 1 alone does.
        Assert.Equal(oneShot.Scores[1], iterativePair);
    }

    // Each token's successor is the model's argmax for it: with no attention, the model sees only the current
    // token, so this is the sequence it predicts best.
    static CalibrationSet GreedyChains(CausalLM model, int count, int length)
    {
        using var noGrad = no_grad();
        using var all = arange(model.Config.VocabSize, ScalarType.Int64).reshape(-1, 1);
        using var logits = model.Forward(all);
        var next = logits[.., 0, ..].argmax(-1).data<long>().ToArray();
        var rows = new List<int[]>();
        for (int s = 0; s < count; s++)
        {
            var row = new int[length];
            row[0] = 17 * s + 5;
            for (int t = 1; t < length; t++) row[t] = (int)next[row[t - 1]];
            rows.Add(row);
        }
        return CalibrationSet.FromSequences(rows);
    }
}
