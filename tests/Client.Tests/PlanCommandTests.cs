using System.Text.Json;
using Xunit;

namespace LayerChop.Client.Tests;

public class PlanCommandTests
{
    /// <summary>A spec whose base model folder holds only config.json: the plan needs no weights.</summary>
    static string Spec(string work, string grid, string train = "{ seq_len: 32, batch_tokens: 128 }")
    {
        var model = Path.Combine(work, "model");
        Directory.CreateDirectory(model);
        File.WriteAllText(Path.Combine(model, "config.json"), """
            { "model_type": "llama", "hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 16,
              "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256, "max_position_embeddings": 4096,
              "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "tie_word_embeddings": true, "torch_dtype": "bfloat16" }
            """);
        var spec = Path.Combine(work, "spec.yaml");
        File.WriteAllText(spec, $"""
            name: planned
            base_model: model
            data: [corpus.jsonl]
            eval: {"{"} tasks: [arc_easy], task_dir: tasks {"}"}
            grid: {grid}
            train: {train}
            """);
        return spec;
    }

    [Fact]
    public void Plan_json_gives_every_candidate_its_stages_and_peak_from_config_json_alone()
    {
        var work = LayerChopProcess.TempFolder();
        var spec = Spec(work, "{ remove: [0, 8], strategy: [input], heal_tokens: [1000000], heal_method: [pretrain, lora] }");
        var r = LayerChopProcess.Run("plan", spec, "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var plans = JsonDocument.Parse(r.Stdout).RootElement.EnumerateArray().ToList();
        Assert.Equal(["r0-none-h1M-pretrain-s1", "r0-none-h1M-lora-s1", "r8-input-h1M-pretrain-s1", "r8-input-h1M-lora-s1"],
            plans.Select(p => p.GetProperty("id").GetString()).Order().Reverse().OrderBy(id => id![1]).ToList());
        foreach (var plan in plans)
        {
            var stages = plan.GetProperty("stages").EnumerateObject().ToDictionary(s => s.Name, s => s.Value.GetInt64());
            Assert.Equal(stages.Values.Max(), plan.GetProperty("peak_bytes").GetInt64());
            Assert.Contains("heal", stages.Keys);
            Assert.Equal(plan.GetProperty("id").GetString()!.StartsWith("r8", StringComparison.Ordinal), stages.ContainsKey("chop"));
        }
        long Peak(string id) => plans.Single(p => p.GetProperty("id").GetString() == id).GetProperty("peak_bytes").GetInt64();
        Assert.True(Peak("r8-input-h1M-pretrain-s1") < Peak("r0-none-h1M-pretrain-s1"));
        Assert.True(Peak("r0-none-h1M-lora-s1") < Peak("r0-none-h1M-pretrain-s1"));
    }

    [Fact]
    public void Plan_with_a_slot_size_names_what_does_not_fit_and_the_settings_that_would_make_it_fit()
    {
        var work = LayerChopProcess.TempFolder();
        var spec = Spec(work, "{ remove: [0], strategy: [input], heal_tokens: [1000000] }", "{ seq_len: 2048, batch_tokens: 16384, micro_batch: 8 }");
        var r = LayerChopProcess.Run("plan", spec, "--gpu-memory", "20");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var advice = r.Stdout.Split('\n').Single(l => l.StartsWith("candidate r0-none-h1M-pretrain-s1 needs", StringComparison.Ordinal));
        Assert.Contains("more than the largest slot holds (20.0 GiB)", advice);
        Assert.Contains("train.activation_checkpointing: true", advice);
        Assert.Contains("heal_method: lora", advice);

        var json = JsonDocument.Parse(LayerChopProcess.Run("plan", spec, "--gpu-memory", "20", "--json").Stdout).RootElement[0];
        Assert.False(json.GetProperty("fits").GetBoolean());
        Assert.Equal(advice, json.GetProperty("advice").GetString());

        var bad = LayerChopProcess.Run("plan", spec, "--gpu-memory", "-3");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--gpu-memory -3 is not a memory size", bad.Stderr);
        File.Delete(Path.Combine(work, "model", "config.json"));
        var missing = LayerChopProcess.Run("plan", spec);
        Assert.Equal(2, missing.ExitCode);
        Assert.Single(missing.Stderr.Trim().Split('\n'));
    }
}
