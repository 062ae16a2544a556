using System.Diagnostics;
using LayerChop.Engine.Modeling;
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
    /// <param name="temperature">0 = greedy; otherwise sample from softmax(logits / temperature).</param>
    /// <param name="stopAt">token that ends generation (usually EOS); null never stops early.</param>
    public static GenerationResult Generate(CausalLM model, IReadOnlyList<int> prompt, int maxNewTokens,
        double temperature = 0, long seed = 0, int? stopAt = null, Action<int>? onToken = null)
    {
        if (prompt.Count == 0) throw new LayerChopException("the prompt is empty; give at least one token (most tokenizers add BOS)");
        if (prompt.Count + maxNewTokens > model.Config.MaxPositionEmbeddings)
            throw new LayerChopException($"prompt ({prompt.Count} tokens) plus {maxNewTokens} new tokens exceeds the model's context of {model.Config.MaxPositionEmbeddings}");
        using var noGrad = no_grad();
        using var cache = model.NewCache();
        var generator = temperature > 0 ? new Generator((ulong)seed, model.Device) : null;
        var tokens = new List<int>();
        var clock = Stopwatch.StartNew();
        TimeSpan prefill = TimeSpan.Zero;
        using (var scope = NewDisposeScope())
        {
            var input = tensor(prompt.Select(t => (long)t).ToArray(), ScalarType.Int64, model.Device).unsqueeze(0); // (1, T)
            for (int step = 0; step < maxNewTokens; step++)
            {
                using var stepScope = NewDisposeScope();
                var logits = model.Forward(input, cache);                         // (1, T, V)
                var last = logits[0, -1].to(ScalarType.Float32);                  // (V,)
                long next = temperature > 0
                    ? softmax(last / temperature, 0).multinomial(1, generator: generator).item<long>()
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
