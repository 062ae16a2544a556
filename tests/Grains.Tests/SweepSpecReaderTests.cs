using LayerChop.Settings;
using LayerChop.Specs;

namespace LayerChop.Grains.Tests;

public sealed class SweepSpecReaderTests : IDisposable
{
    readonly SpecFolder folder = new();

    public void Dispose() => folder.Dispose();

    [Fact]
    public void The_issue_example_reads_with_every_field_and_default()
    {
        var spec = folder.ReadYaml(SpecFolder.ExampleYaml);

        Assert.Equal("demo", spec.Name);
        Assert.Equal(folder.PathOf("models/base"), spec.BaseModel);
        Assert.Equal([folder.PathOf("corpus/train.jsonl")], spec.Data);
        Assert.Equal("text", spec.TextField);
        Assert.Equal(["paper"], spec.Eval.Tasks);
        Assert.Equal(folder.PathOf("tasks"), spec.Eval.TaskDir);
        Assert.Equal(500, spec.Eval.Limit);
        Assert.Null(spec.Eval.Perplexity);
        Assert.Equal([0, 4, 8, 12], spec.Grid.Remove);
        Assert.Equal(["input", "max-gap"], spec.Grid.Strategy);
        Assert.Equal([0L, 50_000_000L], spec.Grid.HealTokens);
        Assert.Equal(["pretrain"], spec.Grid.HealMethod);
        Assert.Equal([1L], spec.Grid.Seed);
        Assert.Equal(new TrainSettings
        {
            SeqLen = 2048, BatchTokens = 1048576, Lr = 3e-4, WarmupSteps = 100, CheckpointEvery = 200,
            MicroBatch = 0, MinLrRatio = 0.1, OptimizerWarmupSteps = 0,
        }, spec.Train);
        Assert.Equal(SweepDevice.Auto, spec.Device);
        Assert.Equal(3, spec.MaxAttempts);
        Assert.Equal(folder.PathOf("sweeps/demo"), spec.Output);
        Assert.Equal(new LatencySettings(), spec.Latency);
    }

    [Fact]
    public void The_same_spec_in_yaml_and_json_reads_equal()
    {
        Assert.Equal(folder.ReadYaml(SpecFolder.ExampleYaml), folder.ReadJson(SpecFolder.ExampleJson));
    }

    [Fact]
    public void A_spec_written_as_json_or_yaml_reads_back_equal()
    {
        var spec = folder.ReadYaml(SpecFolder.ExampleYaml) with
        {
            Eval = new EvalSettings { Tasks = ["paper", "continuation"], TaskDir = folder.PathOf("tasks"), Perplexity = folder.PathOf("heldout.txt") },
            Train = new TrainSettings { SeqLen = 128, BatchTokens = 1024, MicroBatch = 4, Lr = 1.5e-5, MinLrRatio = 0.05, OptimizerWarmupSteps = 7 },
            Device = SweepDevice.Cuda,
            Latency = new LatencySettings { PromptTokens = 64, NewTokens = 16 },
            TextField = "body \"quoted\" ü",
        };

        var json = SweepSpecWriter.ToJson(spec);
        var yaml = SweepSpecWriter.ToYaml(spec);

        Assert.Equal(spec, folder.ReadJson(json));
        Assert.Equal(spec, folder.ReadYaml(yaml));
        Assert.Equal(json, SweepSpecWriter.ToJson(folder.ReadYaml(yaml)));
    }

    [Fact]
    public void Every_settings_field_reads_from_its_snake_case_key_and_writes_back()
    {
        var spec = folder.ReadYaml(SpecFolder.ExampleYaml
            .Replace("eval: { tasks: [paper], task_dir: tasks, limit: 500 }",
                "eval: { tasks: [paper], task_dir: tasks, limit: 500, batch_size: 4, add_bos: false, seed: 9, perplexity_stride: 64 }")
            .Replace("checkpoint_every: 200 }",
                "checkpoint_every: 200, weight_decay: 0.05, decay_embeddings: true, beta2: 0.99, keep_checkpoints: 3, precision: bf16, distill_temperature: 2 }")
            + "retention: all\n");

        Assert.Equal(new EvalSettings
        {
            Tasks = ["paper"], TaskDir = folder.PathOf("tasks"), Limit = 500, BatchSize = 4, AddBos = false, Seed = 9, PerplexityStride = 64,
        }, spec.Eval);
        Assert.Equal(new TrainSettings
        {
            SeqLen = 2048, BatchTokens = 1048576, Lr = 3e-4, WarmupSteps = 100, CheckpointEvery = 200, WeightDecay = 0.05,
            DecayEmbeddings = true, Beta2 = 0.99, KeepCheckpoints = 3, Precision = "bf16", DistillTemperature = 2,
        }, spec.Train);
        Assert.Equal(Retention.All, spec.Retention);
        Assert.Equal(Retention.Final, folder.ReadYaml(SpecFolder.ExampleYaml).Retention);
        Assert.Equal(spec, folder.ReadYaml(SweepSpecWriter.ToYaml(spec)));
        Assert.Equal(spec, folder.ReadJson(SweepSpecWriter.ToJson(spec)));
        Assert.Contains("retention: \"all\"", SweepSpecWriter.ToYaml(spec));
    }

    [Fact]
    public void A_settings_field_in_the_wrong_section_or_of_the_wrong_type_is_named()
    {
        var error = Assert.Throws<SweepSpecException>(() => folder.ReadYaml(SpecFolder.ExampleYaml
            .Replace("max_attempts: 3", "max_attempts: 3\nweight_decay: 0.1\nretention: some")
            .Replace("lr: 3.0e-4", "lr: 3.0e-4, decay_embeddings: yes")));

        string Message(string field) => Assert.Single(error.Problems, p => p.Field == field).Message;
        Assert.Equal(3, error.Problems.Count);
        Assert.Contains("did you mean train.weight_decay?", Message("weight_decay"));
        Assert.Contains("expected true or false", Message("train.decay_embeddings"));
        Assert.Contains("retention 'some' is not one of final, all", Message("retention"));
    }

    [Fact]
    public void The_format_comes_from_the_extension_or_the_first_character()
    {
        Assert.Equal(SpecFormat.Json, SweepSpecReader.DetectFormat("a.json", "name: x"));
        Assert.Equal(SpecFormat.Yaml, SweepSpecReader.DetectFormat("a.yml", "{}"));
        Assert.Equal(SpecFormat.Yaml, SweepSpecReader.DetectFormat("a.yaml", "{}"));
        Assert.Equal(SpecFormat.Json, SweepSpecReader.DetectFormat("spec", "  \n{\"name\": 1}"));
        Assert.Equal(SpecFormat.Yaml, SweepSpecReader.DetectFormat("spec", "name: demo"));
    }

    [Fact]
    public void Load_takes_relative_paths_from_the_spec_files_folder()
    {
        folder.Write("specs/demo.sweep", SpecFolder.ExampleJson.Replace("\"models/base\"", "\"../models/base\"")
            .Replace("\"corpus/train.jsonl\"", "\"../corpus/train.jsonl\"").Replace("\"task_dir\": \"tasks\"", "\"task_dir\": \"../tasks\""));

        var spec = SweepSpecReader.Load(folder.PathOf("specs/demo.sweep"));

        Assert.Equal(folder.PathOf("models/base"), spec.BaseModel);
        Assert.Equal(folder.PathOf("specs/sweeps/demo"), spec.Output);
    }

    [Fact]
    public void A_single_value_stands_for_a_list_of_one_and_underscores_group_digits()
    {
        var spec = folder.ReadYaml(SpecFolder.ExampleYaml
            .Replace("seed: [1]", "seed: 7")
            .Replace("heal_tokens: [0, 50000000]", "heal_tokens: [0, 100_000_000, 5e7]"));

        Assert.Equal([7L], spec.Grid.Seed);
        Assert.Equal([0L, 100_000_000L, 50_000_000L], spec.Grid.HealTokens);
    }

    [Fact]
    public void Anchors_and_comments_work_as_yaml_says()
    {
        var spec = folder.ReadYaml(SpecFolder.ExampleYaml
            .Replace("max_attempts: 3", "max_attempts: &tries 5\nlatency: { prompt_tokens: *tries, new_tokens: 9 }  # short"));

        Assert.Equal(5, spec.MaxAttempts);
        Assert.Equal(new LatencySettings { PromptTokens = 5, NewTokens = 9 }, spec.Latency);
    }

    [Fact]
    public void Missing_files_is_fine_when_file_checks_are_off()
    {
        var spec = folder.ReadYaml(SpecFolder.ExampleYaml.Replace("models/base", "models/elsewhere"), checkFiles: false);
        Assert.Equal(folder.PathOf("models/elsewhere"), spec.BaseModel);
    }

    [Theory]
    [InlineData("demo-sweep.yaml", "demo", 3 * 3 * 2 * 1 * 1)]
    [InlineData("llama-3.2-1b-sweep.yaml", "llama-3.2-1b", 3 * 5 * 3 * 1 * 1)]
    public void The_examples_parse(string file, string name, int gridSize)
    {
        var path = Path.Combine(RepositoryRoot(), "examples", file);

        var spec = SweepSpecReader.Load(path, checkFiles: false);

        Assert.Equal(name, spec.Name);
        Assert.Equal(gridSize, spec.Grid.Remove.Count * spec.Grid.Strategy.Count * spec.Grid.HealTokens.Count
                               * spec.Grid.HealMethod.Count * spec.Grid.Seed.Count);
        Assert.NotEmpty(SweepGrid.Expand(spec));
        Assert.Equal(spec, SweepSpecReader.Parse(SweepSpecWriter.ToYaml(spec), SpecFormat.Yaml, "/", path, checkFiles: false));
    }

    [Fact]
    public void The_gpu_example_is_the_papers_setup()
    {
        var spec = SweepSpecReader.Load(Path.Combine(RepositoryRoot(), "examples", "llama-3.2-1b-sweep.yaml"), checkFiles: false);

        Assert.Equal(["paper"], spec.Eval.Tasks);
        Assert.Equal([0, 4, 8], spec.Grid.Remove);
        Assert.Equal(["input", "output", "middle", "max-gap", "block-influence"], spec.Grid.Strategy);
        Assert.Equal([0L, 100_000_000L, 500_000_000L], spec.Grid.HealTokens);
        Assert.Equal(2048, spec.Train.SeqLen);
        Assert.Equal(1048576, spec.Train.BatchTokens);
        Assert.Equal(3e-4, spec.Train.Lr);
        Assert.Equal(100, spec.Train.WarmupSteps);
        Assert.Equal(500, spec.Train.OptimizerWarmupSteps);
        Assert.Equal(SweepDevice.Cuda, spec.Device);
    }

    static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "LayerChop.sln")))
                return dir.FullName;
        throw new InvalidOperationException("LayerChop.sln not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void The_lora_section_reads_its_keys_defaults_the_rest_and_writes_back()
    {
        var spec = folder.ReadYaml(SpecFolder.ExampleYaml.Replace("heal_method: [pretrain]", "heal_method: [pretrain, lora]")
            + "lora: { rank: 8, targets: [q_proj, v_proj], lr: 1.0e-4 }\n");

        Assert.Equal(["pretrain", "lora"], spec.Grid.HealMethod);
        Assert.Equal(new LoraSettings { Rank = 8, Alpha = 32, Targets = ["q_proj", "v_proj"], Lr = 1e-4 }, spec.Lora);
        Assert.Equal(new LoraSettings(), folder.ReadYaml(SpecFolder.ExampleYaml).Lora);
        Assert.Null(folder.ReadYaml(SpecFolder.ExampleYaml).Lora.Lr);
        Assert.Equal(spec, folder.ReadYaml(SweepSpecWriter.ToYaml(spec)));
        Assert.Equal(spec, folder.ReadJson(SweepSpecWriter.ToJson(spec)));
    }
}
