using System.Text.Json.Nodes;
using LayerChop.Engine.Modeling;
using static TorchSharp.torch;

namespace LayerChop.Engine.Tests.Modeling;

/// <summary>
/// Tiny Mistral, Qwen2 and Qwen3 models against log-likelihoods computed by an independent PyTorch implementation
/// of transformers' rules (tests/reference/make_model_reference.py, fixture model-reference.json): sliding windows
/// (key index &gt; query index - window), Qwen2's max_window_layers, Qwen3's layer_types, q/k norms and head_dim.
/// </summary>
public class ReferenceModelTests
{
    static readonly JsonObject Reference = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Modeling", "model-reference.json")))!;
    static readonly long[] Tokens = Reference["tokens"]!.AsArray().Select(t => (long)t!.GetValue<int>()).ToArray();

    public static TheoryData<string> Cases() => new(Reference["cases"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()));

    static JsonObject Case(string name) => (JsonObject)Reference["cases"]!.AsArray().First(c => c!["name"]!.GetValue<string>() == name)!;

    /// <summary>Every tensor filled from its name, by the generator's formula.</summary>
    static CausalLM Model(JsonObject config)
    {
        var model = new CausalLM(ModelConfig.FromJson((JsonObject)config.DeepClone(), "reference config"), ScalarType.Float32, CPU);
        using var noGrad = no_grad();
        foreach (var (name, p) in model.NamedWeights())
        {
            double offset = name.Select((ch, k) => (k + 1) * (long)ch).Sum() % 1000 / 100.0;
            var values = new float[p.numel()];
            for (int i = 0; i < values.Length; i++)
            {
                double wave = Math.Sin(0.37 * (i + 1) + offset);
                values[i] = (float)(name.EndsWith("norm.weight") ? 1 + 0.1 * wave : name.EndsWith(".bias") ? 0.05 * wave : 0.3 * wave);
            }
            p.copy_(tensor(values).reshape(p.shape));
        }
        model.eval();
        return model;
    }

    static double[] Expected(string name) => Case(name)["log_probs"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();

    static double[] LogProbs(Tensor logits)                    // logits (1, T, V) -> log p(token t+1 | ..t)
    {
        using var lp = logits[0].to(ScalarType.Float64).log_softmax(-1);
        return Enumerable.Range(0, Tokens.Length - 1).Select(t => lp[t, Tokens[t + 1]].item<double>()).ToArray();
    }

    static void AssertClose(double[] expected, double[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) < 2e-5, $"{what}: token {i + 1}: {actual[i]} vs reference {expected[i]}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Log_likelihoods_match_the_independent_reference_over_a_whole_sequence(string name)
    {
        using var model = Model((JsonObject)Case(name)["config"]!);
        using var ids = tensor(Tokens).unsqueeze(0);
        using var logits = model.Forward(ids);
        AssertClose(Expected(name), LogProbs(logits), name);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Cached_decoding_one_token_at_a_time_sees_the_same_window_as_the_whole_sequence(string name)
    {
        using var model = Model((JsonObject)Case(name)["config"]!);
        using var cache = model.NewCache();
        // A 3-token prefill, then one token per step: the window must slide across cached positions.
        var steps = new List<Tensor> { model.Forward(tensor(Tokens[..3]).unsqueeze(0), cache) };
        for (int t = 3; t < Tokens.Length; t++) steps.Add(model.Forward(tensor(new[] { Tokens[t] }).unsqueeze(0), cache));
        using var logits = cat(steps, 1);
        AssertClose(Expected(name), LogProbs(logits), name + " (cached)");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Explicit_positions_and_masks_apply_the_window_by_position_not_by_row_index(string name)
    {
        // Row layout: 5 padding tokens first (each attending only to itself), then the sequence; the window must
        // count the sequence's positions, not where its tokens sit in the row.
        using var model = Model((JsonObject)Case(name)["config"]!);
        int pad = 5, n = Tokens.Length, width = pad + n;
        var ids = new long[width];
        var positions = new long[width];
        var mask = new bool[width * width];
        for (int r = 0; r < width; r++)
        {
            ids[r] = r < pad ? 0 : Tokens[r - pad];
            positions[r] = r < pad ? 0 : r - pad;
            for (int s = 0; s < width; s++)
                mask[r * width + s] = r < pad ? s == r : s >= pad && s <= r;
        }
        using var hidden = model.Hidden(tensor(ids).unsqueeze(0), tensor(positions).unsqueeze(0), tensor(mask).reshape(1, width, width));
        using var logits = model.Project(hidden.narrow(1, pad, n));
        AssertClose(Expected(name), LogProbs(logits), name + " (explicit positions)");
    }

    [Fact]
    public void The_window_changes_the_result_so_these_tests_can_fail()
    {
        // The reference itself says how much ignoring the window would change perplexity.
        var mistral = Case("mistral_window_5");
        Assert.True(Math.Abs(mistral["perplexity"]!.GetValue<double>() - mistral["perplexity_if_windows_were_ignored"]!.GetValue<double>()) > 1);
        var config = (JsonObject)mistral["config"]!.DeepClone();
        config["sliding_window"] = null;
        using var full = Model(config);
        using var logits = full.Forward(tensor(Tokens).unsqueeze(0));
        double perplexity = Math.Exp(-LogProbs(logits).Average());
        Assert.Equal(mistral["perplexity_if_windows_were_ignored"]!.GetValue<double>(), perplexity, 3);
    }
}
