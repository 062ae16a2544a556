using System.Text.Json;
using System.Text.Json.Nodes;
using LayerChop.Grains.Sweeps;
using LayerChop.Interfaces;
using LayerChop.Settings;
using LayerChop.Specs;
using LayerChop.Worker;
using Xunit;

namespace LayerChop.Client.Tests;

/// <summary>What an export's lineage.json says, on a candidate's outcome constructed by hand.</summary>
public class LineageTests
{
    static readonly CandidateOutcome Outcome = new()
    {
        Id = "r2-input-h4096-pretrain-s1", Removed = [1, 2], Params = 56_000, NonEmbeddingParams = 40_000, BytesOnDisk = 224_000,
        Latency = new LatencyFigure
        {
            MedianMsPerToken = 0.5, P10MsPerToken = 0.4, P90MsPerToken = 0.7, Runs = 15, PromptTokens = 4, NewTokens = 4,
            Shape = "L6", Device = "cpu: test", Exclusive = true,
        },
        TaskScores = new Dictionary<string, double> { ["piqa"] = 0.5, ["arc_easy"] = 0.25 },
        TaskStderrs = new Dictionary<string, double?> { ["piqa"] = 0.2, ["arc_easy"] = 0.25 },
        TaskCounts = new Dictionary<string, int> { ["piqa"] = 6, ["arc_easy"] = 4 },
        Average = 0.375, Perplexity = 120.5, HealFinalLoss = 3.1, HealValLoss = 3.3, HealSteps = 32,
    };

    static readonly CandidateConfig Config = CandidateConfig.Create(2, "input", 4096, "pretrain", 1);

    static readonly TrainSettings Healing = new()
    {
        SeqLen = 64, BatchTokens = 512, MicroBatch = 2, Lr = 1e-3, WarmupSteps = 3, MinLrRatio = 0.2, OptimizerWarmupSteps = 5,
        WeightDecay = 0.05, DecayEmbeddings = true, Precision = "bf16", DistillHiddenWeight = 0.1,
    };

    static readonly Lineage Healed = new("demo", Config.Id, Config.Strategy, Config.HealTokens, Config.HealMethod, Config.Seed,
        ["/corpus/a.jsonl", "/corpus/b"], "content", Healing);

    static JsonNode LineageJson(CandidateOutcome outcome) => JsonNode.Parse(CandidateArtifacts.LineageJson("/models/base", Healed, outcome))!;

    [Fact]
    public void A_lineage_names_its_size_and_scores_as_results_json_does_with_the_same_values()
    {
        var lineage = LineageJson(Outcome);
        var candidate = JsonNode.Parse(JsonSerializer.Serialize(SweepJson.Candidate(
            new CandidateSummary { Config = Config, Status = CandidateStatus.Completed, Result = CandidateResults.From(Outcome) }, onFront: true), JsonFormat.Indented))!;

        foreach (var field in new[] { "params", "non_embedding_params", "scores", "score_stderrs", "score_counts", "average", "average_stderr", "perplexity" })
            Assert.True(JsonNode.DeepEquals(candidate[field], lineage[field]), $"{field}: results.json {candidate[field]?.ToJsonString()}, lineage {lineage[field]?.ToJsonString()}");
    }

    [Fact]
    public void A_lineage_writes_an_undefined_task_standard_error_and_so_the_averages_as_not_a_number()
    {
        var lineage = LineageJson(Outcome with { TaskStderrs = new Dictionary<string, double?> { ["piqa"] = 0.2, ["arc_easy"] = null } });

        Assert.Equal("NaN", lineage["score_stderrs"]!["arc_easy"]!.GetValue<string>());
        Assert.Equal("NaN", lineage["average_stderr"]!.GetValue<string>());
    }

    [Fact]
    public void A_lineage_says_when_it_was_exported_in_utc_and_which_base_model_and_candidate_it_came_from()
    {
        var lineage = LineageJson(Outcome);

        Assert.Null(lineage["exported_at"]);
        Assert.InRange(lineage["exported_utc"]!.GetValue<DateTime>().ToUniversalTime(), DateTime.UtcNow.AddMinutes(-5), DateTime.UtcNow);
        Assert.Equal(Path.GetFullPath("/models/base"), lineage["base_model"]!.GetValue<string>());
        Assert.Equal(Config.Id, lineage["candidate"]!.GetValue<string>());
        Assert.Equal([1, 2], lineage["removed"]!.AsArray().Select(n => n!.GetValue<int>()));
    }

    [Fact]
    public void A_lineages_corpus_text_field_and_training_settings_read_back_into_a_sweep_spec_as_the_model_was_healed()
    {
        var lineage = LineageJson(Outcome);
        var spec = new SweepSpec
        {
            Name = "again", BaseModel = "/models/base", Data = ["/elsewhere.jsonl"], Output = "/sweeps/again",
            Eval = new EvalSettings { Tasks = ["piqa"], TaskDir = "/tasks" },
            Grid = new GridSpec { Remove = [2], Strategy = ["input"], HealTokens = [4096] },
        };
        var written = JsonNode.Parse(SweepSpecWriter.ToJson(spec))!.AsObject();
        Assert.Equal(written["train"]!.AsObject().Select(p => p.Key), lineage["train"]!.AsObject().Select(p => p.Key));   // a spec's names, in its order
        foreach (var field in new[] { "data", "text_field", "train" })
            written[field] = lineage[field]!.DeepClone();

        var read = SweepSpecReader.Parse(written.ToJsonString(), SpecFormat.Json, "/", checkFiles: false);

        Assert.Equal(Healing, read.Train);
        Assert.Equal(Healed.Data.Select(Path.GetFullPath), read.Data);
        Assert.Equal("content", read.TextField);
    }
}
