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

/// <summary>
/// Whether contexts begin with BOS. <see cref="Auto"/> follows the tokenizer's own add-BOS default, as
/// lm-evaluation-harness does from v0.4.9.2 on (its add_bos_token=None); <see cref="False"/> never adds it, the
/// harness's default from v0.4.0 to v0.4.9.1; <see cref="True"/> always does (add_bos_token=True).
/// </summary>
public enum AddBos { Auto, True, False }

/// <summary>Turns text requests into token requests exactly as the harness does for a causal model.</summary>
public static class RequestEncoder
{
    /// <summary>The --add-bos values, by the names the command line and the docs use.</summary>
    public static AddBos ParseAddBos(string value) => value.Trim().ToLowerInvariant() switch
    {
        "auto" => AddBos.Auto,
        "true" => AddBos.True,
        "false" => AddBos.False,
        _ => throw new LayerChopException($"--add-bos must be auto, true or false, not \"{value}\""),
    };

    /// <exception cref="LayerChopException"><see cref="AddBos.True"/> with a tokenizer that has no BOS token.</exception>
    public static void CheckAddBos(ITextEncoder tokenizer, AddBos addBos)
    {
        if (addBos == AddBos.True && tokenizer.BosId is null)
            throw new LayerChopException("--add-bos true needs a BOS token, and the model's tokenizer has none; use auto or false");
    }

    /// <summary>
    /// The harness's rules: trailing whitespace of the context moves to the front of the continuation (so a word
    /// and its leading space stay one token); the continuation's tokens are those of encode(context +
    /// continuation) after the first len(encode(context)) tokens (not encode(continuation) on its own); an empty
    /// context becomes the prefix token (BOS, else EOS), and if the continuation itself starts with that token,
    /// that first token is the context instead. Text is encoded without special tokens.
    /// A context that is all whitespace is treated like an empty one after its whitespace moves.
    /// Non-empty contexts (and the context + continuation they are cut from) begin with BOS as
    /// <paramref name="addBos"/> says, never twice (the harness skips it when the text already starts with BOS).
    /// </summary>
    /// <exception cref="LayerChopException">the continuation encodes to no tokens of its own, or an empty
    /// context meets a tokenizer with neither BOS nor EOS.</exception>
    public static TokenRequest Encode(ITextEncoder tokenizer, TextRequest request, AddBos addBos = AddBos.Auto)
    {
        bool withBos = addBos switch { AddBos.True => true, AddBos.False => false, _ => tokenizer.AddBos };
        IReadOnlyList<int> EncodeText(string text)
        {
            var ids = tokenizer.Encode(text, addSpecial: false);
            if (!withBos || tokenizer.BosId is not int bos || (ids.Count > 0 && ids[0] == bos)) return ids;
            return [bos, .. ids];
        }

        string context = request.Context, continuation = request.Continuation;
        string trimmed = PythonText.RStrip(context);
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
            var whole = EncodeText(context + continuation);
            contextIds = EncodeText(context).ToArray();
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
