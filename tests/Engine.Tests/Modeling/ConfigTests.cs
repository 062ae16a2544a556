using LayerChop.Engine.Modeling;
using Xunit;

namespace LayerChop.Engine.Tests.Modeling;

public class ConfigTests
{
    const string Llama32 = """
    { "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64, "intermediate_size": 96,
      "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "vocab_size": 300,
      "max_position_embeddings": 131072, "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "hidden_act": "silu",
      "rope_scaling": { "factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                        "original_max_position_embeddings": 8192, "rope_type": "llama3" },
      "tie_word_embeddings": true, "bos_token_id": 128000, "eos_token_id": [128001, 128008], "torch_dtype": "bfloat16" }
    """;

    [Fact]
    public void Llama3_rope_scaling_matches_the_published_formula_per_frequency()
    {
        var c = TestModels.FromJson(Llama32);
        Assert.Equal(RopeScalingKind.Llama3, c.RopeScaling);
        using var inv = Rotary.InverseFrequencies(c);
        var got = inv.data<float>().ToArray();
        for (int i = 0; i < got.Length; i++)
        {
            // Independent scalar version of Llama 3.1's frequency rescaling, in double precision.
            double f = 1.0 / Math.Pow(500000.0, 2.0 * i / 16);
            double wavelen = 2 * Math.PI / f;
            double expected;
            if (wavelen < 8192 / 4.0) expected = f;
            else if (wavelen > 8192 / 1.0) expected = f / 32;
            else
            {
                double smooth = (8192 / wavelen - 1.0) / (4.0 - 1.0);
                expected = (1 - smooth) * f / 32 + smooth * f;
            }
            Assert.True(Math.Abs(got[i] - expected) <= 1e-6 * expected + 1e-12, $"frequency {i}: {got[i]} vs {expected}");
        }
        Assert.Equal(128000, c.BosTokenId);
        Assert.Equal(128001, c.EosTokenId);
        Assert.True(c.TieWordEmbeddings);
    }

    [Fact]
    public void The_rope_parameters_form_is_read_like_rope_theta_plus_rope_scaling()
    {
        var classic = TestModels.FromJson(Llama32);
        var modern = TestModels.FromJson(Llama32
            .Replace("\"rope_theta\": 500000.0,", "")
            .Replace("\"rope_scaling\"", "\"rope_parameters\"")
            .Replace("\"rope_type\": \"llama3\"", "\"rope_type\": \"llama3\", \"rope_theta\": 500000.0"));
        Assert.Equal(500000.0, modern.RopeTheta);
        using var a = Rotary.InverseFrequencies(classic);
        using var b = Rotary.InverseFrequencies(modern);
        Assert.Equal(a.data<float>().ToArray(), b.data<float>().ToArray());
    }

    [Fact]
    public void Qwen2_has_qkv_biases_and_mistral_has_none()
    {
        var qwen = TestModels.FromJson("""
        { "model_type": "qwen2", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 3,
          "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 300, "rope_theta": 1000000.0,
          "tie_word_embeddings": true, "use_sliding_window": false, "max_window_layers": 3,
          "layer_types": ["full_attention", "full_attention", "full_attention"] }
        """);
        Assert.True(qwen.QkvBias);
        Assert.False(qwen.OutputBias);
        var mistral = TestModels.FromJson("""
        { "model_type": "mistral", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
          "num_attention_heads": 4, "num_key_value_heads": 1, "vocab_size": 300, "sliding_window": 4096 }
        """);
        Assert.False(mistral.QkvBias);
        Assert.Equal(8, mistral.HeadDim);

        var chopped = qwen.WithLayersKept([0, 2]);
        Assert.Equal(2, chopped.Raw["num_hidden_layers"]!.GetValue<int>());
        Assert.Equal(2, chopped.Raw["layer_types"]!.AsArray().Count);
        Assert.Equal(2, chopped.Raw["max_window_layers"]!.GetValue<int>());
    }

    const string Shape = """ "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 40 """;

    static ModelConfig Config(string type, string extra) => TestModels.FromJson($$"""{ "model_type": "{{type}}", {{Shape}} {{extra}} }""");

    [Fact]
    public void Sliding_windows_follow_transformers_per_family()
    {
        // Mistral: every layer unless sliding_window is null (absent: MistralConfig's 4096), whatever layer_types says;
        // Llama: never.
        Assert.Equal([5, 5, 5, 5], Config("mistral", """, "sliding_window": 5""").AttentionWindows);
        Assert.Equal([4096, 4096, 4096, 4096], Config("mistral", "").AttentionWindows);
        Assert.Empty(Config("mistral", """, "sliding_window": null""").AttentionWindows);
        Assert.Equal([5, 5, 5, 5], Config("mistral", """, "sliding_window": 5, "layer_types": ["full_attention", "full_attention", "full_attention", "full_attention"]""").AttentionWindows);
        Assert.Empty(Config("llama", """, "sliding_window": 5""").AttentionWindows);
        // Qwen2/Qwen3: only with use_sliding_window, on the layers from max_window_layers on.
        Assert.Empty(Config("qwen2", """, "sliding_window": 5, "max_window_layers": 1""").AttentionWindows);
        Assert.Equal([null, 5, 5, 5], Config("qwen2", """, "use_sliding_window": true, "sliding_window": 5, "max_window_layers": 1""").AttentionWindows);
        Assert.Equal([null, null, 4096, 4096], Config("qwen2", """, "use_sliding_window": true, "max_window_layers": 2""").AttentionWindows);
        Assert.Empty(Config("qwen3", """, "use_sliding_window": true, "sliding_window": 5""").AttentionWindows); // max_window_layers defaults to 28
        // An explicit layer_types list wins.
        Assert.Equal([5, null, 5, null], Config("qwen3", """, "use_sliding_window": true, "sliding_window": 5, "max_window_layers": 0, "layer_types": ["sliding_attention", "full_attention", "sliding_attention", "full_attention"]""").AttentionWindows);
    }

    [Fact]
    public void Chopping_keeps_each_kept_layer_its_window_and_recounts_max_window_layers()
    {
        // Layers 0, 1 full and 2, 3 sliding; keeping 0, 2, 3 leaves one full layer first.
        var qwen = Config("qwen2", """, "use_sliding_window": true, "sliding_window": 5, "max_window_layers": 2""");
        var chopped = qwen.WithLayersKept([0, 2, 3]);
        Assert.Equal([null, 5, 5], chopped.AttentionWindows);
        Assert.Equal(1, chopped.Raw["max_window_layers"]!.GetValue<int>());
        var reread = ModelConfig.FromJson(chopped.Raw, "chopped config");
        Assert.Equal(chopped.AttentionWindows, reread.AttentionWindows);
    }

    [Fact]
    public void Qwen3_has_per_head_qk_norms_no_qkv_bias_and_head_dim_from_the_config()
    {
        var qwen3 = Config("qwen3", """, "head_dim": 8""");
        Assert.True(qwen3.QkNorm);
        Assert.False(qwen3.QkvBias);
        Assert.False(qwen3.OutputBias);
        Assert.Equal(8, qwen3.HeadDim);                         // not hidden / heads = 4
        Assert.Equal(128, Config("qwen3", "").HeadDim);          // Qwen3Config's default
        Assert.True(Config("qwen3", """, "attention_bias": true""").OutputBias);
        // Per layer: q 16x32, k and v 16x16 each, o 32x16, MLP 3x16x32, two norms of 16, q/k norms of 8 each.
        Assert.Equal(16 * 32 + 2 * 16 * 16 + 32 * 16 + 3 * 16 * 32 + 2 * 16 + 2 * 8, qwen3.ParamsPerLayer);
        Assert.False(Config("qwen2", "").QkNorm);
    }

    [Theory]
    [InlineData("llama", """, "partial_rotary_factor": 0.5""", "partial_rotary_factor 0.5 is not supported")]
    [InlineData("llama", """, "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 0.25}""", "rope_parameters.partial_rotary_factor 0.25 is not supported")]
    [InlineData("mistral", """, "attention_dropout": 0.1""", "attention_dropout 0.1 is not supported")]
    [InlineData("llama", """, "attention_chunk_size": 8192""", "attention_chunk_size 8192 is not supported")]
    [InlineData("qwen3", """, "layer_types": ["full_attention", "chunked_attention", "full_attention", "full_attention"]""", "layer_types entry \"chunked_attention\" is not supported")]
    [InlineData("qwen2", """, "layer_types": ["full_attention", "sliding_attention", "full_attention", "full_attention"]""", "sliding_attention layers but sliding_window is null or use_sliding_window is not true")]
    [InlineData("mistral", """, "sliding_window": 0""", "'sliding_window' must be positive")]
    public void Config_fields_that_LayerChop_does_not_implement_are_refused_with_the_field_named(string type, string extra, string expected)
    {
        var e = Assert.Throws<LayerChopException>(() => Config(type, extra));
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Implemented_values_of_those_fields_are_accepted()
    {
        var c = Config("llama", """, "partial_rotary_factor": 1.0, "attention_dropout": 0.0, "attn_logit_softcapping": null""");
        Assert.Equal(4, c.HeadDim);
    }

    [Theory]
    [InlineData("""{ "model_type": "gpt2", "hidden_size": 8 }""", "model_type 'gpt2' is not supported")]
    [InlineData("""{ "model_type": "llama", "hidden_size": 8 }""", "missing required field 'num_attention_heads'")]
    [InlineData("""{ "model_type": "llama", "hidden_size": "big", "num_attention_heads": 2 }""", "'hidden_size' should be a number")]
    [InlineData("""{ "model_type": "llama", "hidden_size": 8, "num_attention_heads": 3, "num_hidden_layers": 2, "intermediate_size": 8, "vocab_size": 9 }""", "not divisible")]
    [InlineData("""{ "model_type": "llama", "hidden_size": 8, "num_attention_heads": 2, "num_key_value_heads": 3, "num_hidden_layers": 2, "intermediate_size": 8, "vocab_size": 9 }""", "multiple of num_key_value_heads")]
    [InlineData("""{ "model_type": "llama", "hidden_size": 8, "num_attention_heads": 2, "num_hidden_layers": 2, "intermediate_size": 8, "vocab_size": 9, "rope_scaling": {"rope_type": "yarn", "factor": 2} }""", "'yarn' is not supported")]
    public void Malformed_configs_are_rejected_with_the_field_named(string json, string expected)
    {
        var e = Assert.Throws<LayerChopException>(() => TestModels.FromJson(json));
        Assert.Contains(expected, e.Message);
    }
}
