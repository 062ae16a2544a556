using LayerChop.Engine.Tokenization;

namespace LayerChop.Engine.Evaluation;

/// <summary>Token-weighted perplexity of held-out text: exp(total negative log-likelihood / predicted tokens).</summary>
public sealed record PerplexityResult(double Perplexity, double NegativeLogLikelihood, long Tokens, int Documents, int Windows)
{
    /// <summary>Mean negative log-likelihood per predicted token (nats).</summary>
    public double MeanNll => Tokens == 0 ? double.NaN : NegativeLogLikelihood / Tokens;
}

public static class Perplexity
{
    /// <summary>
    /// Perplexity of documents. Each document is encoded without special tokens and prefixed with BOS (else EOS)
    /// when the tokenizer has one, as the harness does for rolling log-likelihoods, so its first token is predicted
    /// too; without either, the first token only serves as context.
    /// </summary>
    /// <param name="stride">
    /// Long documents are scored in windows of up to scorer.MaxLength input tokens. With the default stride
    /// (MaxLength) windows are disjoint: fastest, but the first tokens of each window see little context. A
    /// smaller stride starts a window every <paramref name="stride"/> tokens and scores only the tokens the previous
    /// window did not, so each token is scored exactly once with at least MaxLength - stride tokens of context
    /// (after the first window); cost grows as MaxLength / stride.
    /// </param>
    public static PerplexityResult Measure(ILoglikelihoodScorer scorer, ITextEncoder tokenizer, IEnumerable<string> documents,
        int? stride = null, Action<int, int>? progress = null)
    {
        int maxLength = scorer.MaxLength, step = stride ?? maxLength;
        if (step < 1 || step > maxLength) throw new LayerChopException($"stride must be between 1 and the model's context of {maxLength}, not {step}");
        int? prefix = tokenizer.BosId ?? tokenizer.EosId;
        var requests = new List<TokenRequest>();
        int docs = 0;
        foreach (var document in documents)
        {
            docs++;
            var ids = tokenizer.Encode(document, addSpecial: false);
            var sequence = prefix is int p ? ids.Prepend(p).ToArray() : ids.ToArray();
            requests.AddRange(Windows(sequence, maxLength, step));
        }
        int done = 0;
        var scores = scorer.Score(requests, n => { done += n; progress?.Invoke(done, requests.Count); });
        double nll = -scores.Sum(s => s.LogProb);
        long tokens = requests.Sum(r => (long)r.Continuation.Length);
        return new PerplexityResult(tokens == 0 ? double.NaN : Math.Exp(nll / tokens), nll, tokens, docs, requests.Count);
    }

    /// <summary>
    /// Requests that score every token of <paramref name="sequence"/> after the first exactly once: window w covers
    /// tokens [w * stride, w * stride + maxLength] (maxLength inputs predicting the next token each); its context is
    /// what the previous window already scored, its continuation the rest.
    /// </summary>
    public static IReadOnlyList<TokenRequest> Windows(IReadOnlyList<int> sequence, int maxLength, int stride)
    {
        if (stride < 1 || stride > maxLength) throw new LayerChopException($"stride must be between 1 and {maxLength}, not {stride}");
        var windows = new List<TokenRequest>();
        int n = sequence.Count, scored = 1;
        for (int begin = 0; scored < n; begin += stride)
        {
            int end = Math.Min(begin + maxLength + 1, n);
            if (end <= scored) continue;
            var context = Slice(sequence, begin, scored - begin);
            var continuation = Slice(sequence, scored, end - scored);
            windows.Add(new TokenRequest(context, continuation));
            scored = end;
        }
        return windows;
    }

    static int[] Slice(IReadOnlyList<int> list, int start, int count)
    {
        var result = new int[count];
        for (int i = 0; i < count; i++) result[i] = list[start + i];
        return result;
    }
}
