using LayerChop.Engine.Evaluation;
using LayerChop.Engine.Modeling;
using static TorchSharp.torch;

namespace LayerChop.Engine.Tests.Evaluation;

public class ScorerTests
{
    /// <summary>Multiple-choice-like requests: questions with 2-4 choices sharing a context, and a few lone requests.</summary>
    internal static List<TokenRequest> Questions(int questions, long seed, int vocab = 300, int maxContext = 40, int maxContinuation = 12)
    {
        var random = new Random((int)seed);
        int[] Tokens(int n) => Enumerable.Range(0, n).Select(_ => random.Next(vocab)).ToArray();
        var requests = new List<TokenRequest>();
        for (int q = 0; q < questions; q++)
        {
            var context = Tokens(random.Next(1, maxContext + 1));
            int choices = q % 5 == 4 ? 1 : random.Next(2, 5);
            for (int c = 0; c < choices; c++) requests.Add(new TokenRequest(context, Tokens(random.Next(1, maxContinuation + 1))));
        }
        return requests;
    }

    /// <summary>The harness's computation, written directly: one forward pass over (context + continuation)[-(L+1):][:-1].</summary>
    static Loglikelihood Reference(CausalLM model, TokenRequest r, int maxLength)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var all = r.Context.Concat(r.Continuation).ToArray();
        var kept = all[Math.Max(0, all.Length - (maxLength + 1))..];
        var input = tensor(kept[..^1].Select(t => (long)t).ToArray(), ScalarType.Int64).unsqueeze(0);
        var logp = nn.functional.log_softmax(model.Forward(input).to(ScalarType.Float32), -1)[0];
        int inputLength = kept.Length - 1, n = r.Continuation.Length;
        double sum = 0;
        bool greedy = true;
        for (int j = 0; j < n; j++)
        {
            var row = logp[inputLength - n + j];
            sum += row[r.Continuation[j]].item<float>();
            greedy &= row.argmax().item<long>() == r.Continuation[j];
        }
        return new Loglikelihood(sum, greedy);
    }

    static void AssertClose(IReadOnlyList<Loglikelihood> expected, IReadOnlyList<Loglikelihood> actual, double tolerance = 1e-4)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
            Assert.True(Math.Abs(expected[i].LogProb - actual[i].LogProb) < tolerance,
                $"request {i}: {expected[i].LogProb} vs {actual[i].LogProb}");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Scores_equal_the_harness_computation_done_directly_per_request(bool shared)
    {
        using var model = TestModels.Random(TestModels.Llama());
        var requests = Questions(8, seed: 3);
        var scores = new ModelScorer(model, new ScorerOptions { SharedContext = shared, BatchSize = 4 }).Score(requests);
        var expected = requests.Select(r => Reference(model, r, 128)).ToList();
        AssertClose(expected, scores);
        Assert.Equal(expected.Select(e => e.IsGreedy), scores.Select(s => s.IsGreedy));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Scores_do_not_depend_on_the_batch_size(bool shared)
    {
        using var model = TestModels.Random(TestModels.Llama());
        var requests = Questions(40, seed: 5);
        var one = new ModelScorer(model, new ScorerOptions { BatchSize = 1, SharedContext = shared }).Score(requests);
        var sixteen = new ModelScorer(model, new ScorerOptions { BatchSize = 16, SharedContext = shared }).Score(requests);
        AssertClose(one, sixteen);
        Assert.Equal(one.Select(s => s.IsGreedy), sixteen.Select(s => s.IsGreedy));
    }

    [Fact]
    public void Shared_context_scoring_equals_separate_per_choice_scoring_and_computes_each_context_once()
    {
        using var model = TestModels.Random(TestModels.Llama(kvHeads: 4));
        var requests = Questions(30, seed: 9);
        var sharedScorer = new ModelScorer(model, new ScorerOptions { BatchSize = 1, SharedContext = true });
        var separateScorer = new ModelScorer(model, new ScorerOptions { BatchSize = 1, SharedContext = false });
        var shared = sharedScorer.Score(requests);
        var separate = separateScorer.Score(requests);
        AssertClose(separate, shared);

        // With batch size 1 nothing is padded: the shared scorer feeds each distinct context once plus every
        // continuation but its last token; the separate one feeds the context again for every choice.
        long once = requests.GroupBy(r => string.Join(",", r.Context)).Sum(g => g.First().Context.Length + g.Sum(r => r.Continuation.Length - 1));
        long perChoice = requests.Sum(r => r.Context.Length + r.Continuation.Length - 1);
        Assert.Equal(once, sharedScorer.TokensProcessed);
        Assert.Equal(perChoice, separateScorer.TokensProcessed);
        Assert.Equal(requests.Select(r => string.Join(",", r.Context)).Distinct().Count(), sharedScorer.ForwardPasses);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Requests_longer_than_the_context_are_truncated_from_the_left_keeping_the_last_max_length_plus_one_tokens(bool shared)
    {
        using var model = TestModels.Random(TestModels.Llama());
        var random = new Random(11);
        var context = Enumerable.Range(0, 30).Select(_ => random.Next(300)).ToArray();
        var requests = new List<TokenRequest>
        {
            new(context, [5, 6, 7, 8]),          // 34 tokens > 17: truncated
            new(context, [9]),                   // 31 tokens: truncated differently (shares the untruncated context)
            new(context[..10], [1, 2, 3]),       // 13 tokens: fits
        };
        var scorer = new ModelScorer(model, new ScorerOptions { MaxLength = 16, SharedContext = shared });
        var scores = scorer.Score(requests);
        // Keeping the last 17 tokens means the context's last 13 (resp. 16) tokens.
        var equivalent = new[]
        {
            new TokenRequest(context[^13..], [5, 6, 7, 8]),
            new TokenRequest(context[^16..], [9]),
            requests[2],
        };
        var expected = new ModelScorer(model, new ScorerOptions { SharedContext = false }).Score(equivalent);
        AssertClose(expected, scores);
        AssertClose(requests.Select(r => Reference(model, r, 16)).ToList(), scores);

        // Longer than the model's own context (128): truncated, not refused.
        var longRequest = new TokenRequest(Enumerable.Range(0, 200).Select(i => i % 300).ToArray(), [1, 2]);
        var longScore = new ModelScorer(model).Score([longRequest])[0];
        Assert.True(Math.Abs(Reference(model, longRequest, 128).LogProb - longScore.LogProb) < 1e-4);
    }

    [Fact]
    public void A_continuation_longer_than_the_context_window_is_refused_with_a_clear_error()
    {
        using var model = TestModels.Random(TestModels.Llama());
        var scorer = new ModelScorer(model, new ScorerOptions { MaxLength = 8 });
        var e = Assert.Throws<LayerChopException>(() => scorer.Score([new TokenRequest([1], Enumerable.Range(0, 9).ToArray())]));
        Assert.Contains("continuation of 9 tokens", e.Message);
    }

    [Fact]
    public void A_continuation_made_of_the_models_own_argmax_tokens_is_greedy()
    {
        using var model = TestModels.Random(TestModels.Llama());
        var context = new[] { 3, 14, 15, 92 };
        var greedyTokens = LayerChop.Engine.Inference.Generation.Generate(model, context, 5).Tokens.ToArray();
        var changed = greedyTokens.ToArray();
        changed[2] = (changed[2] + 1) % 300;
        var scores = new ModelScorer(model).Score([new(context, greedyTokens), new(context, changed)]);
        Assert.True(scores[0].IsGreedy);
        Assert.False(scores[1].IsGreedy);
        Assert.True(scores[0].LogProb > scores[1].LogProb);
    }

    [Fact]
    public void Skipped_layers_score_as_the_model_without_them()
    {
        using var model = TestModels.Random(TestModels.Llama());
        var requests = Questions(6, seed: 13);
        var skipped = new ModelScorer(model, new ScorerOptions { SkipLayers = new HashSet<int> { 1, 2 } }).Score(requests);
        var full = new ModelScorer(model).Score(requests);
        Assert.Contains(Enumerable.Range(0, requests.Count), i => Math.Abs(skipped[i].LogProb - full[i].LogProb) > 1e-3);
        var separate = new ModelScorer(model, new ScorerOptions { SkipLayers = new HashSet<int> { 1, 2 }, SharedContext = false }).Score(requests);
        AssertClose(separate, skipped);
    }
}

public class PackedForwardTests
{
    [Fact]
    public void Hidden_with_explicit_positions_and_a_causal_mask_equals_the_plain_forward_pass()
    {
        using var model = TestModels.Random(TestModels.Llama());
        using var ids = TestModels.Ids(2, 12, 300);
        using var noGrad = no_grad();
        using var plain = model.Hidden(ids);
        using var positions = arange(12L).unsqueeze(0).expand(2, 12).contiguous();
        using var mask = ones(12, 12, ScalarType.Bool).tril().unsqueeze(0).expand(2, 12, 12).contiguous();
        using var packed = model.Hidden(ids, positions, mask);
        Assert.True(TestModels.MaxAbsDiff(plain, packed) < 1e-5);
    }

    [Fact]
    public void Two_continuations_packed_after_one_context_equal_each_continuation_run_alone()
    {
        using var model = TestModels.Random(TestModels.Llama());
        using var noGrad = no_grad();
        long[] context = [5, 6, 7], first = [8, 9], second = [10, 11, 12];
        // Row: context, first, second; first and second both sit at positions 3.. and see only the context and themselves.
        using var ids = tensor(context.Concat(first).Concat(second).ToArray()).unsqueeze(0);
        using var positions = tensor(new long[] { 0, 1, 2, 3, 4, 3, 4, 5 }).unsqueeze(0);
        var allowed = new bool[8, 8];
        for (int q = 0; q < 8; q++)
            for (int k = 0; k <= q; k++)
                allowed[q, k] = k < 3 || (q < 5 ? k >= 3 && k < 5 : k >= 5);
        using var mask = tensor(allowed.Cast<bool>().ToArray(), [1, 8, 8]);
        using var packed = model.Hidden(ids, positions, mask);
        using var alone1 = model.Hidden(tensor(context.Concat(first).ToArray()).unsqueeze(0));
        using var alone2 = model.Hidden(tensor(context.Concat(second).ToArray()).unsqueeze(0));
        Assert.True(TestModels.MaxAbsDiff(packed.narrow(1, 0, 5), alone1) < 1e-5);
        Assert.True(TestModels.MaxAbsDiff(packed.narrow(1, 5, 3), alone2.narrow(1, 3, 3)) < 1e-5);
    }
}
