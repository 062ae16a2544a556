using LayerChop.Engine.Tokenization;

namespace LayerChop.Engine.Evaluation;

/// <summary>
/// A log-likelihood request as lm-evaluation-harness words it: the model is given <see cref="Context"/> and the
/// summed log-probability of <see cref="Continuation"/> is measured. For multiple-choice tasks the continuation
/// is the target delimiter (" ") followed by one choice.
/// </summary>
public readonly record struct TextRequest(string Context, string Continuation);

/// <summary>
/// A request in token ids: the log-probabilities of <see cref="Continuation"/> given <see cref="Context"/> are
/// summed. Both are non-empty.
/// </summary>
public sealed record TokenRequest(int[] Context, int[] Continuation);

/// <summary>What the model says about one request: the summed log-probability of the continuation, and
/// whether greedy decoding would have produced every continuation token (the argmax at each position).</summary>
public readonly record struct Loglikelihood(double LogProb, bool IsGreedy);

/// <summary>Turns text requests into token requests exactly as the harness does for a causal model.</summary>
public static class RequestEncoder
{
    /// <summary>
    /// The harness's rules: trailing whitespace of the context moves to the front of the continuation (so a word
    /// and its leading space stay one token); the continuation's tokens are those of encode(context +
    /// continuation) after the first len(encode(context)) tokens (not encode(continuation) on its own); an empty
    /// context becomes the prefix token (BOS, else EOS), and if the continuation itself starts with that token,
    /// that first token is the context instead. Text is encoded without special tokens.
    /// A context that is all whitespace is treated like an empty one after its whitespace moves.
    /// </summary>
    /// <exception cref="LayerChopException">the continuation encodes to no tokens of its own, or an empty
    /// context meets a tokenizer with neither BOS nor EOS.</exception>
    public static TokenRequest Encode(ITextEncoder tokenizer, TextRequest request)
    {
        string context = request.Context, continuation = request.Continuation;
        string trimmed = context.TrimEnd();
        if (trimmed.Length < context.Length)
        {
            continuation = context[trimmed.Length..] + continuation;
            context = trimmed;
        }
        int[] contextIds, continuationIds;
        if (context.Length == 0)
        {
            int prefix = tokenizer.BosId ?? tokenizer.EosId
                ?? throw new LayerChopException("a request has an empty context and the tokenizer has neither a BOS nor an EOS token to stand in for it");
            var ids = tokenizer.Encode(continuation, addSpecial: false);
            if (ids.Count > 0 && ids[0] == prefix)
            {
                contextIds = [prefix];
                continuationIds = ids.Skip(1).ToArray();
            }
            else
            {
                contextIds = [prefix];
                continuationIds = ids.ToArray();
            }
        }
        else
        {
            var whole = tokenizer.Encode(context + continuation, addSpecial: false);
            contextIds = tokenizer.Encode(context, addSpecial: false).ToArray();
            continuationIds = whole.Skip(contextIds.Length).ToArray();
        }
        if (continuationIds.Length == 0)
            throw new LayerChopException($"the continuation \"{Shorten(request.Continuation)}\" encodes to no tokens after its context \"{Shorten(request.Context)}\"");
        if (contextIds.Length == 0)
            throw new LayerChopException($"the context \"{Shorten(request.Context)}\" encodes to no tokens");
        return new TokenRequest(contextIds, continuationIds);
    }

    internal static string Shorten(string text, int max = 40)
    {
        var oneLine = text.ReplaceLineEndings(" ");
        return oneLine.Length <= max ? oneLine : "..." + oneLine[^max..];
    }
}
