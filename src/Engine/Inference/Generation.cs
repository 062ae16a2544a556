using System.Diagnostics;
using LayerChop.Engine.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace LayerChop.Engine.Inference;

public sealed record GenerationResult(IReadOnlyList<int> Tokens, TimeSpan Prefill, TimeSpan Decode)
{
    /// <summary>Mean wall time per generated token after the prompt (the decode phase).</summary>
    public double MsPerToken => Tokens.Count <= 1 ? double.NaN : Decode.TotalMilliseconds / (Tokens.Count - 1);
}

/// <summary>Autoregressive decoding with the key/value cache: one forward pass over the prompt, then one token at a time.</summary>
public static class Generation
{
    /// <summary>Refuses settings that generation cannot honour (checked before any work).</summary>
    /// <exception cref="LayerChopException">maxNewTokens below 1, or a negative or non-finite temperature.</exception>
    public static void CheckSettings(int maxNewTokens, double temperature)
    {
        if (maxNewTokens < 1) throw new LayerChopException($"--max-new-tokens must be at least 1, not {maxNewTokens}");
        if (!(temperature >= 0) || double.IsInfinity(temperature))
            throw new LayerChopException($"--temperature must be 0 (greedy) or a positive number, not {temperature}");
    }

    /// <param name="temperature">0 = greedy; otherwise sample from softmax(logits / temperature).</param>
    /// <param name="stopAt">token that ends generation (usually EOS); null never stops early.</param>
    /// <param name="vocabulary">ids from this one up are never produced: embedding rows the tokenizer has no token
    /// for (a model's vocab_size is often padded beyond its tokenizer, as Qwen's is); null allows every row.</param>
    public static GenerationResult Generate(CausalLM model, IReadOnlyList<int> prompt, int maxNewTokens,
        double temperature = 0, long seed = 0, int? stopAt = null, Action<int>? onToken = null, int? vocabulary = null)
    {
        CheckSettings(maxNewTokens, temperature);
        if (prompt.Count == 0) throw new LayerChopException("the prompt is empty; give at least one token (most tokenizers add BOS)");
        if (prompt.Count + maxNewTokens > model.Config.MaxPositionEmbeddings)
            throw new LayerChopException($"prompt ({prompt.Count} tokens) plus {maxNewTokens} new tokens exceeds the model's context of {model.Config.MaxPositionEmbeddings}");
        using var noGrad = no_grad();
        using var cache = model.NewCache();
        var generator = temperature > 0 ? new Generator((ulong)seed, model.Device) : null;
        var tokens = new List<int>();
        var clock = Stopwatch.StartNew();
        TimeSpan prefill = TimeSpan.Zero;
        using var temperatureScalar = temperature.ToScalar();
        using (var scope = NewDisposeScope())
        {
            var input = tensor(prompt.Select(t => (long)t).ToArray(), ScalarType.Int64, model.Device).unsqueeze(0); // (1, T)
            for (int step = 0; step < maxNewTokens; step++)
            {
                using var stepScope = NewDisposeScope();
                var logits = model.Forward(input, cache);                         // (1, T, V)
                var last = logits[0, -1].to(ScalarType.Float32);                  // (V,)
                if (vocabulary < last.shape[0]) last = last.narrow(0, 0, vocabulary.Value);
                long next = temperature > 0
                    ? softmax(last / temperatureScalar, 0).multinomial(1, generator: generator).item<long>()
                    : last.argmax().item<long>();
                if (step == 0) prefill = clock.Elapsed;
                tokens.Add((int)next);
                onToken?.Invoke((int)next);
                if (stopAt == next) break;
                input = tensor(new[] { next }, ScalarType.Int64, model.Device).unsqueeze(0).MoveToOuterDisposeScope();
            }
        }
        return new GenerationResult(tokens, prefill, clock.Elapsed - prefill);
    }
}
