using System.Text.Json;
using LayerChop.Settings;
using LayerChop.Specs;
using LayerChop.Worker;

namespace LayerChop.Grains.Tests;

public sealed class JobBuilderTests : IDisposable
{
    readonly SpecFolder folder = new();

    public void Dispose() => folder.Dispose();

    // What the worker reads: the job as its file carries it.
    static CandidateJob ThroughJobFile(CandidateJob job) =>
        JsonSerializer.Deserialize<CandidateJob>(JsonSerializer.Serialize(job, CandidateJob.FileFormat), CandidateJob.FileFormat)!;

    [Fact]
    public void An_explicit_layer_list_reaches_the_worker_as_that_list_without_a_count()
    {
        var spec = folder.ReadYaml(SpecFolder.ExampleYaml.Replace("[input, max-gap]", "[\"layers:5,1\"]"));
        var config = CandidateConfig.Create(4, "layers:5,1", 0, "pretrain", 1);

        var job = ThroughJobFile(JobBuilder.Build(spec, config, gpu: false));

        var chop = Assert.IsType<LayerListChop>(job.Chop);
        Assert.Equal([1, 5], chop.Layers);
        Assert.Equal("layers:1,5", chop.Strategy);
    }

    [Theory]
    [InlineData("max-gap", typeof(PlacementChop))]
    [InlineData("angular", typeof(CriterionChop))]
    public void A_named_strategy_reaches_the_worker_with_its_count(string strategy, Type kind)
    {
        var spec = folder.ReadYaml(SpecFolder.ExampleYaml);

        var job = ThroughJobFile(JobBuilder.Build(spec, CandidateConfig.Create(4, strategy, 0, "pretrain", 1), gpu: false));

        Assert.IsType(kind, job.Chop);
        Assert.Equal(Parsed(strategy, 4), job.Chop);
    }

    static ChopSettings Parsed(string strategy, int remove) =>
        ChopSettings.TryParse(strategy, remove, out var chop, out var error) ? chop : throw new InvalidOperationException(error);

    [Fact]
    public void The_baseline_has_no_chop_and_every_job_carries_the_specs_settings()
    {
        var spec = folder.ReadYaml(SpecFolder.ExampleYaml + "retention: all\n") with
        {
            Latency = new LatencySettings { PromptTokens = 8, NewTokens = 4 },
        };

        var job = ThroughJobFile(JobBuilder.Build(spec, CandidateConfig.Create(0, "input", 0, "pretrain", 1), gpu: false));

        Assert.Null(job.Chop);
        Assert.Equal(spec.Train, job.Train);
        Assert.Equal(spec.Eval, job.Eval);
        Assert.Equal(spec.Latency, job.Latency);
        Assert.Equal(Retention.All, job.Retention);
    }

    [Fact]
    public void A_lora_candidate_reaches_the_worker_with_its_method_and_the_specs_lora_section()
    {
        var spec = folder.ReadYaml(SpecFolder.ExampleYaml.Replace("heal_method: [pretrain]", "heal_method: [lora]")
            + "lora: { rank: 4, alpha: 8, targets: [q_proj, v_proj], lr: 2.0e-4 }\n");

        var job = ThroughJobFile(JobBuilder.Build(spec, CandidateConfig.Create(4, "input", 50_000_000, "lora", 1), gpu: false));

        Assert.Equal(HealMethod.Lora, job.HealMethod);
        Assert.Equal(spec.Lora, job.Lora);
        Assert.Equal(new LoraSettings { Rank = 4, Alpha = 8, Targets = ["q_proj", "v_proj"], Lr = 2e-4 }, job.Lora);
    }
}
