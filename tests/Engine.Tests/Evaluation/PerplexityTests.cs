using LayerChop.Engine.Evaluation;
using static TorchSharp.torch;

namespace LayerChop.Engine.Tests.Evaluation;

public class PerplexityTests
{
    [Theory]
    [InlineData(50, 16, 16)]
    [InlineData(50, 16, 5)]
    [InlineData(50, 16, 1)]
    [InlineData(10, 16, 8)]
    [InlineData(17, 16, 16)]
    [InlineData(18, 16, 16)]
    public void Windows_score_every_token_after_the_first_exactly_once_with_at_most_max_length_inputs(int n, int maxLength, int stride)
    {
        var sequence = Enumerable.Range(100, n).ToArray();
        var windows = Perplexity.Windows(sequence, maxLength, stride);
        var scored = windows.SelectMany(w => w.Continuation).ToList();
        Assert.Equal(sequence[1..], scored);
        foreach (var w in windows)
        {
            Assert.NotEmpty(w.Context);
            Assert.True(w.Context.Length + w.Continuation.Length - 1 <= maxLength);
            // Each window is a contiguous stretch of the sequence.
            var all = w.Context.Concat(w.Continuation).ToArray();
            int start = Array.IndexOf(sequence, all[0]);
            Assert.Equal(sequence[start..(start + all.Length)], all);
        }
        // After the first window, every scored token sees at least maxLength - stride tokens before it.
        foreach (var w in windows.Skip(1)) Assert.True(w.Context.Length >= maxLength + 1 - stride);
    }

    [Fact]
    public void Perplexity_is_exp_of_the_total_nll_over_predicted_tokens_with_bos_predicting_the_first()
    {
        using var model = TestModels.Random(TestModels.Llama());
        var tokenizer = new ByteTokenizer();
        var docs = new[] { "hello world", "a longer document, still short" };
        var result = Perplexity.Measure(new ModelScorer(model), tokenizer, docs);

        double nll = 0;
        long tokens = 0;
        using var noGrad = no_grad();
        foreach (var doc in docs)
        {
            var ids = tokenizer.Encode(doc).Prepend(256).Select(i => (long)i).ToArray();
            using var input = tensor(ids[..^1], ScalarType.Int64).unsqueeze(0);
            using var logp = nn.functional.log_softmax(model.Forward(input), -1);
            for (int t = 1; t < ids.Length; t++) nll -= logp[0, t - 1, ids[t]].item<float>();
            tokens += ids.Length - 1;
        }
        Assert.Equal(tokens, result.Tokens);
        Assert.Equal(2, result.Documents);
        Assert.True(Math.Abs(nll - result.NegativeLogLikelihood) < 1e-3);
        Assert.Equal(Math.Exp(nll / tokens), result.Perplexity, 3);
    }

    [Fact]
    public void Long_documents_are_scored_in_windows_and_a_smaller_stride_scores_the_same_tokens_with_more_context()
    {
        using var model = TestModels.Random(TestModels.Llama());
        var tokenizer = new ByteTokenizer();
        var doc = string.Concat(Enumerable.Repeat("the quick brown fox jumps over the lazy dog. ", 8));   // 360 bytes > 128
        var scorer = new ModelScorer(model, new ScorerOptions { MaxLength = 64 });
        var disjoint = Perplexity.Measure(scorer, tokenizer, [doc]);
        var strided = Perplexity.Measure(scorer, tokenizer, [doc], stride: 16);
        Assert.Equal(doc.Length, disjoint.Tokens);
        Assert.Equal(doc.Length, strided.Tokens);
        Assert.True(strided.Windows > disjoint.Windows);
        Assert.NotEqual(disjoint.NegativeLogLikelihood, strided.NegativeLogLikelihood);
        Assert.Throws<LayerChopException>(() => Perplexity.Measure(scorer, tokenizer, [doc], stride: 65));
    }

    [Fact]
    public void Text_documents_come_from_txt_files_whole_and_jsonl_lines_text_field()
    {
        var dir = TestModels.TempFolder();
        File.WriteAllText(Path.Combine(dir, "a.txt"), "first document\nwith two lines");
        File.WriteAllText(Path.Combine(dir, "b.jsonl"), "{\"text\": \"second\"}\n\n{\"text\": \"third\", \"meta\": 1}\n");
        Assert.Equal(["first document\nwith two lines", "second", "third"], TextDocuments.Read(dir));
        Assert.Equal(["second", "third"], TextDocuments.Read(Path.Combine(dir, "b.jsonl")));

        File.WriteAllText(Path.Combine(dir, "c.jsonl"), "{\"body\": \"x\"}\n");
        var e = Assert.Throws<LayerChopException>(() => TextDocuments.Read(Path.Combine(dir, "c.jsonl")));
        Assert.Contains("c.jsonl", e.Message);
        Assert.Contains("text", e.Message);
        File.WriteAllText(Path.Combine(dir, "empty.txt"), " \n");
        Assert.Contains("no documents", Assert.Throws<LayerChopException>(() => TextDocuments.Read(Path.Combine(dir, "empty.txt"))).Message);
        Assert.Throws<LayerChopException>(() => TextDocuments.Read(Path.Combine(dir, "missing.txt")));
    }
}

public class SharedContextBoundTests
{
    [Fact]
    public void Many_documents_whose_windows_share_the_bos_context_are_scored_as_separate_bounded_rows()
    {
        using var model = TestModels.Random(TestModels.Llama(layers: 2));
        var tokenizer = new LayerChop.Engine.Tests.Data.ByteTextEncoder();
        var docs = Enumerable.Range(0, 40).Select(i => string.Concat(Enumerable.Repeat($"doc {i} text ", 12))).ToList();
        var shared = new ModelScorer(model, new ScorerOptions { BatchSize = 16, SharedContext = true });
        var separate = new ModelScorer(model, new ScorerOptions { BatchSize = 16, SharedContext = false });
        var a = Perplexity.Measure(shared, tokenizer, docs);
        var b = Perplexity.Measure(separate, tokenizer, docs);
        Assert.Equal(b.Tokens, a.Tokens);
        Assert.Equal(b.NegativeLogLikelihood, a.NegativeLogLikelihood, 2);
    }
}
