using LayerChop.Engine.Inference;
using LayerChop.Engine.Modeling;

namespace LayerChop.Engine.Pipeline;

/// <summary>
/// Time per generated token for a fixed prompt and generation length on the model's device: the decode
/// phase of key/value-cached greedy generation, median of several runs after a warm-up run.
/// </summary>
public static class LatencyMeter
{
    public static double MsPerToken(CausalLM model, int promptTokens, int newTokens, int runs = 3)
    {
        if (promptTokens < 1 || newTokens < 2) throw new LayerChopException("latency needs at least 1 prompt token and 2 new tokens");
        int total = Math.Min(promptTokens + newTokens, model.Config.MaxPositionEmbeddings);
        promptTokens = Math.Max(1, Math.Min(promptTokens, total - 2));
        newTokens = total - promptTokens;
        // The same prompt for every candidate of a vocabulary: ids spread over the vocabulary, no tokenizer needed.
        var prompt = Enumerable.Range(0, promptTokens).Select(i => (int)((i * 7919L + 13) % model.Config.VocabSize)).ToList();
        Generation.Generate(model, prompt, newTokens);                            // warm-up
        var samples = Enumerable.Range(0, runs).Select(_ => Generation.Generate(model, prompt, newTokens).MsPerToken).Order().ToList();
        return samples[samples.Count / 2];
    }
}
