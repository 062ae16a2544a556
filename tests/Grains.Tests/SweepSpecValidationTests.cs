using LayerChop.Engine;
using LayerChop.Engine.Modeling;
using LayerChop.Settings;
using LayerChop.Specs;

namespace LayerChop.Grains.Tests;

/// <summary>One test per kind of mistake: each is found, is the only problem reported, and names its field.</summary>
public sealed class SweepSpecValidationTests : IDisposable
{
    readonly SpecFolder folder = new();

    public void Dispose() => folder.Dispose();

    // The example with one edit must fail with exactly one problem, on this field, saying this.
    SpecProblem SingleProblem(string from, string to, string field, string saying)
    {
        var yaml = SpecFolder.ExampleYaml;
        Assert.Contains(from, yaml);
        var error = Assert.Throws<SweepSpecException>(() => folder.ReadYaml(yaml.Replace(from, to)));
        var problem = Assert.Single(error.Problems);
        Assert.Equal(field, problem.Field);
        Assert.Equal(field, error.Field);
        Assert.Contains(saying, problem.Message);
        Assert.StartsWith(field, problem.Message);
        Assert.IsAssignableFrom<LayerChopException>(error);
        Assert.DoesNotContain('\n', error.Message);
        Assert.StartsWith("spec.yaml: ", error.Message);
        return problem;
    }

    [Fact]
    public void Malformed_yaml_gives_its_line()
    {
        var error = Assert.Throws<SweepSpecException>(() =>
            folder.ReadYaml(SpecFolder.ExampleYaml.Replace("  strategy: [input, max-gap]", "  strategy: [input, max-gap")));
        var problem = Assert.Single(error.Problems);
        Assert.Contains("malformed YAML", problem.Message);
        Assert.InRange(problem.Line!.Value, 7, 8);
        Assert.Matches(@"^spec\.yaml: line \d+: malformed YAML: ", error.Message);
    }

    [Fact]
    public void A_tab_in_the_indentation_is_reported_at_its_own_line()
    {
        var error = Assert.Throws<SweepSpecException>(() => folder.ReadYaml(SpecFolder.ExampleYaml.Replace("  seed: [1]", "\tseed: [1]")));
        var problem = Assert.Single(error.Problems);
        Assert.Equal(10, problem.Line);
        Assert.Contains("a tab in the indentation", problem.Message);
    }

    [Fact]
    public void Malformed_json_gives_its_line()
    {
        var error = Assert.Throws<SweepSpecException>(() =>
            folder.ReadJson(SpecFolder.ExampleJson.Replace("\"seed\": [1]", "\"seed\": [1,,]")));
        var problem = Assert.Single(error.Problems);
        Assert.Contains("malformed JSON", problem.Message);
        Assert.Equal(11, problem.Line);
        Assert.DoesNotContain("LineNumber", error.Message);
    }

    [Fact]
    public void An_unknown_key_is_named_with_a_suggestion()
    {
        var problem = SingleProblem("  strategy:", "  stratgy:", "grid.stratgy", "grid.stratgy is not a known field; did you mean strategy?");
        Assert.Equal(7, problem.Line);
    }

    [Fact]
    public void A_key_from_another_section_is_pointed_there()
    {
        SingleProblem("max_attempts: 3", "max_attempts: 3\nseq_len: 512", "seq_len", "did you mean train.seq_len?");
    }

    [Fact]
    public void An_unknown_key_far_from_any_lists_the_known_ones()
    {
        SingleProblem("  seed: [1]", "  seed: [1]\n  colour: red", "grid.colour", "known fields of grid: remove, strategy, heal_tokens, heal_method, seed");
    }

    [Fact]
    public void A_repeated_key_is_refused()
    {
        SingleProblem("max_attempts: 3", "max_attempts: 3\nmax_attempts: 4", "max_attempts", "given twice");
    }

    [Fact]
    public void A_missing_required_field_is_named()
    {
        SingleProblem("name: demo\n", "", "name", "name is required");
    }

    [Fact]
    public void A_wrong_type_is_named()
    {
        SingleProblem("max_attempts: 3", "max_attempts: three", "max_attempts", "expected a whole number, got 'three'");
    }

    [Fact]
    public void A_wrong_type_in_a_list_names_the_item()
    {
        SingleProblem("remove: [0, 4, 8, 12]", "remove: [0, four, 8, 12]", "grid.remove[1]", "expected a whole number");
    }

    [Fact]
    public void A_section_that_is_not_a_mapping_is_named()
    {
        SingleProblem("train: { seq_len: 2048, batch_tokens: 1048576, lr: 3.0e-4, warmup_steps: 100, checkpoint_every: 200 }",
            "train: fast", "train", "expected a mapping");
    }

    [Fact]
    public void An_empty_grid_list_is_named()
    {
        SingleProblem("seed: [1]", "seed: []", "grid.seed", "grid.seed is empty");
    }

    [Fact]
    public void An_unknown_strategy_is_named_with_a_suggestion()
    {
        SingleProblem("[input, max-gap]", "[input, maxgap]", "grid.strategy[1]", "unknown strategy 'maxgap'; did you mean max-gap?");
    }

    [Fact]
    public void Every_strategy_form_is_accepted()
    {
        var spec = folder.ReadYaml(SpecFolder.ExampleYaml.Replace("[input, max-gap]",
            "[input, output, middle, both, max-gap, \"layers:1,2,5\", block-influence, angular, perplexity, iterative]"));
        Assert.Equal(10, spec.Grid.Strategy.Count);
    }

    [Fact]
    public void A_layer_list_outside_the_model_is_named()
    {
        SingleProblem("[input, max-gap]", "[input, \"layers:3,16\"]", "grid.strategy[1]", "layer 16 does not exist");
    }

    [Theory]
    [InlineData("\"layers:3,16\"", "layer 16 does not exist")]
    [InlineData("\"layers:0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\"", "cannot remove all 16 layers")]
    [InlineData("\"layers:2,5,2\"", "layer 2 is listed twice")]
    [InlineData("\"layers:-1,2\"", "'-1' is not a layer index")]
    public void A_layer_list_that_cannot_chop_the_base_model_is_refused_at_read(string strategy, string saying)
    {
        SingleProblem("[input, max-gap]", $"[input, {strategy}]", "grid.strategy[1]", saying);
    }

    [Fact]
    public void Removing_more_than_the_model_allows_is_named()
    {
        SingleProblem("remove: [0, 4, 8, 12]", "remove: [0, 4, 8, 15]", "grid.remove[3]", "remove must be at most 14");
    }

    [Fact]
    public void A_negative_remove_is_named()
    {
        SingleProblem("remove: [0, 4, 8, 12]", "remove: [0, -4, 8, 12]", "grid.remove[1]", "cannot remove -4 layers");
    }

    [Fact]
    public void A_repeated_grid_value_is_named()
    {
        SingleProblem("remove: [0, 4, 8, 12]", "remove: [0, 4, 8, 4]", "grid.remove[3]", "listed twice");
    }

    [Fact]
    public void A_missing_base_model_folder_is_named()
    {
        SingleProblem("base_model: models/base", "base_model: models/gone", "base_model", "no such folder");
    }

    [Fact]
    public void A_base_model_without_config_json_is_named()
    {
        Directory.CreateDirectory(folder.PathOf("models/empty"));
        SingleProblem("base_model: models/base", "base_model: models/empty", "base_model", "no config.json");
    }

    [Theory]
    [InlineData("tokenizer.json", "has no usable tokenizer")]
    [InlineData("model.safetensors", "model.safetensors")]
    public void A_base_model_folder_that_cannot_be_loaded_is_refused_before_any_work_starts(string missing, string saying)
    {
        File.Delete(folder.PathOf($"models/base/{missing}"));
        SingleProblem("base_model: models/base", "base_model: models/base", "base_model", saying);
    }

    [Theory]
    [InlineData("heal_tokens: [0, 50000000]", "heal_tokens: [0, 1.0e15]", "grid.heal_tokens[1]", "must be at least 0 and at most 10000000000000, got 1000000000000000")]
    [InlineData("lr: 3.0e-4", "lr: 5", "train.lr", "must be above 0 and at most 1, got 5")]
    [InlineData("max_attempts: 3", "max_attempts: 1000", "max_attempts", "must be at least 1 and at most 100, got 1000")]
    [InlineData("seed: [1]", "seed: [1, -4]", "grid.seed[1]", "must be at least 0, got -4")]
    [InlineData("limit: 500", "limit: 500, batch_size: 100000", "eval.batch_size", "must be at least 1 and at most 65536, got 100000")]
    [InlineData("max_attempts: 3", "max_attempts: 3\nlatency: { new_tokens: 2000000000 }", "latency.new_tokens", "at most 1048576")]
    public void A_spec_number_past_what_the_engine_runs_is_refused_when_the_spec_is_read(string from, string to, string field, string saying)
    {
        SingleProblem(from, to, field, saying);
    }

    [Fact]
    public void An_output_folder_that_holds_another_sweep_is_refused()
    {
        Assert.Null(SweepOutput.Claim(folder.PathOf("out-shared"), "other"));
        SingleProblem("max_attempts: 3", "max_attempts: 3\noutput: out-shared", "output", "holds sweep 'other'");
        Assert.Contains("holds sweep 'other'", SweepOutput.Claim(folder.PathOf("out-shared"), "demo"));
        Assert.Null(SweepOutput.Claim(folder.PathOf("out-shared"), "other"));   // its own sweep may come back
    }

    [Fact]
    public void A_missing_data_file_is_named()
    {
        SingleProblem("data: [corpus/train.jsonl]", "data: [corpus/train.jsonl, corpus/gone.jsonl]", "data[1]", "no such file or folder");
    }

    [Fact]
    public void A_missing_heldout_file_is_named()
    {
        SingleProblem("limit: 500 }", "limit: 500, perplexity: gone.txt }", "eval.perplexity", "no such file or folder");
    }

    [Fact]
    public void An_unknown_eval_task_is_named_with_a_suggestion()
    {
        SingleProblem("tasks: [paper]", "tasks: [paper, piqaa]", "eval.tasks[1]", "unknown task 'piqaa'; did you mean piqa?");
    }

    [Fact]
    public void A_task_without_data_is_named()
    {
        SingleProblem("tasks: [paper]", "tasks: [paper, boolq]", "eval.tasks[1]", "no data for task boolq");
    }

    [Fact]
    public void A_missing_task_folder_is_named()
    {
        SingleProblem("task_dir: tasks", "task_dir: gone", "eval.task_dir", "no such folder");
    }

    [Fact]
    public void An_unknown_heal_method_is_named()
    {
        SingleProblem("heal_method: [pretrain]", "heal_method: [pretrain, distil]", "grid.heal_method[1]", "heal_method 'distil' is not one of pretrain, distill, lora; did you mean distill?");
    }

    [Fact]
    public void A_sequence_longer_than_the_models_context_is_named()
    {
        SingleProblem("seq_len: 2048, batch_tokens: 1048576", "seq_len: 8192, batch_tokens: 1048576", "train.seq_len", "longer than the base model's context of 4096");
    }

    [Fact]
    public void Batch_tokens_not_a_multiple_of_seq_len_is_named()
    {
        SingleProblem("batch_tokens: 1048576", "batch_tokens: 1000000", "train.batch_tokens", "must be a positive multiple of train.seq_len 2048");
    }

    [Fact]
    public void Max_attempts_below_one_is_named()
    {
        SingleProblem("max_attempts: 3", "max_attempts: 0", "max_attempts", "max_attempts must be at least 1");
    }

    [Fact]
    public void An_unknown_device_is_named()
    {
        SingleProblem("device: auto", "device: gpu", "device", "device 'gpu' is not one of auto, cpu, cuda");
    }

    [Fact]
    public void A_name_unfit_for_keys_and_folders_is_named()
    {
        SingleProblem("name: demo", "name: my/demo", "name", "may hold only letters");
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        var error = Assert.Throws<SweepSpecException>(() => folder.ReadYaml(SpecFolder.ExampleYaml
            .Replace("  strategy:", "  stratgy:")
            .Replace("max_attempts: 3", "max_attempts: 0")
            .Replace("tasks: [paper]", "tasks: [nope]")
            .Replace("data: [corpus/train.jsonl]", "data: [corpus/gone.jsonl]")));

        Assert.Equal(new[] { "data[0]", "eval.tasks[0]", "grid.stratgy", "max_attempts" }, error.Problems.Select(p => p.Field).Order());
        Assert.Contains(" | ", error.Message);
    }

    [Fact]
    public void A_spec_built_in_code_is_checked_the_same_way()
    {
        var spec = folder.ReadYaml(SpecFolder.ExampleYaml) with { MaxAttempts = 0, Train = new TrainSettings { SeqLen = 1 } };

        var error = Assert.Throws<SweepSpecException>(() => SweepSpecValidator.Validate(spec));

        Assert.Equal(["max_attempts", "train.seq_len"], error.Problems.Select(p => p.Field).Order().ToArray());
        Assert.All(error.Problems, p => Assert.Null(p.Line));
        SweepSpecValidator.Validate(folder.ReadYaml(SpecFolder.ExampleYaml));
    }

    [Fact]
    public void An_empty_spec_is_refused()
    {
        var error = Assert.Throws<SweepSpecException>(() => folder.ReadYaml("# nothing here\n"));
        Assert.Contains("empty", error.Message);
        Assert.Throws<SweepSpecException>(() => folder.ReadJson("  "));
        var notAMapping = Assert.Throws<SweepSpecException>(() => folder.ReadYaml("- a list\n"));
        Assert.Contains("a spec is a mapping of fields", Assert.Single(notAMapping.Problems).Message);
    }

    [Fact]
    public void Warnings_name_held_out_text_that_is_healing_data_a_warmup_longer_than_a_healing_run_and_placements_that_remove_the_same_layers()
    {
        ModelConfig.CreateLlama(layers: 4, hidden: 8, heads: 2, kvHeads: 1, intermediate: 16, vocab: 258, maxPositions: 64).Save(folder.PathOf("models/small"));
        var spec = folder.ReadYaml(SpecFolder.ExampleYaml);
        var clean = spec with { Train = spec.Train with { WarmupSteps = 10 } };
        Assert.Empty(SweepSpecValidator.Warnings(clean));

        var warnings = SweepSpecValidator.Warnings(clean with
        {
            BaseModel = folder.PathOf("models/small"),
            Grid = spec.Grid with { Remove = [0, 2], Strategy = ["input", "max-gap", "output"] },
            Eval = spec.Eval with { Perplexity = spec.Data[0] },
            Train = spec.Train with { WarmupSteps = 100 },
        });

        Assert.Equal(3, warnings.Count);
        Assert.Contains(warnings, w => w.StartsWith("eval.perplexity") && w.Contains("not measured on held-out text"));
        Assert.Contains(warnings, w => w.StartsWith("train.warmup_steps 100") && w.Contains("47 steps"));
        Assert.Contains(warnings, w => w.StartsWith("grid.strategy: input and max-gap and output remove the same layers (1,2) of this 4-layer base model at remove 2"));
    }

    [Fact]
    public void A_lora_target_that_is_not_a_linear_layer_is_named_with_the_closest_one()
    {
        var problem = SingleProblem("max_attempts: 3", "max_attempts: 3\nlora: { targets: [q_proj, up_porj] }", "lora.targets[1]", "'up_porj' is not a linear layer");
        Assert.Contains("did you mean up_proj?", problem.Message);
    }

    [Fact]
    public void A_lora_rank_out_of_range_is_named()
    {
        SingleProblem("max_attempts: 3", "max_attempts: 3\nlora: { rank: 0 }", "lora.rank", "lora.rank must be at least 1");
    }
}
