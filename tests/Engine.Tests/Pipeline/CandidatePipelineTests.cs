using LayerChop.Engine.Pipeline;
using LayerChop.Engine.Tests.Training;
using LayerChop.Engine.Training;
using LayerChop.Settings;

namespace LayerChop.Engine.Tests.Pipeline;

public class CandidatePipelineTests
{
    static CandidateJob Job(string baseModel, string corpus, string taskDir, int remove, long healTokens) => new()
    {
        Id = $"r{remove}-h{healTokens}", BaseModel = baseModel, WorkDir = Path.Combine(TestModels.TempFolder(), "candidate"),
        Chop = remove == 0 ? null : new PlacementChop { Placement = "max-gap", Remove = remove }, HealTokens = healTokens, Data = [corpus],
        Train = new TrainSettings { SeqLen = 32, BatchTokens = 128, Lr = 3e-3, WarmupSteps = 1, CheckpointEvery = 2 },
        Eval = new EvalSettings { Tasks = ["continuation"], TaskDir = taskDir, Limit = 12, Perplexity = TrainingSetup.BrownJsonl(2) },
        Latency = new LatencySettings { PromptTokens = 8, NewTokens = 8 },
    };

    static string TaskDir(string corpus)
    {
        var dir = TestModels.TempFolder();
        File.Copy(corpus, Path.Combine(dir, "continuation.jsonl"));
        return dir;
    }

    static string Json(CandidateOutcome outcome) => System.Text.Json.JsonSerializer.Serialize(outcome);

    sealed class StopAtStep(long step, CancellationTokenSource stop) : ICandidateObserver
    {
        public List<string> Stages { get; } = [];
        public void OnStage(string stage) => Stages.Add(stage);
        public void OnStep(StepReport report) { if (report.Step == step) stop.Cancel(); }
    }

    [Fact]
    public void A_candidate_interrupted_while_healing_and_run_again_ends_with_the_uninterrupted_result()
    {
        var corpus = TrainingSetup.BrownJsonl(20);
        var baseModel = TrainingSetup.NewModel(layers: 5, seed: 12);
        var taskDir = TaskDir(corpus);

        var latencyBook = TestModels.TempFolder();
        var straight = CandidatePipeline.Run(Job(baseModel, corpus, taskDir, 2, 6 * 128) with { LatencyDir = latencyBook }, new StopAtStep(-1, new()))!;

        var job = Job(baseModel, corpus, taskDir, 2, 6 * 128) with { LatencyDir = latencyBook };
        using var stop = new CancellationTokenSource();
        var observer = new StopAtStep(3, stop);
        Assert.Null(CandidatePipeline.Run(job, observer, stop.Token));
        Assert.Equal(["chopping", "healing"], observer.Stages);
        var resumed = CandidatePipeline.Run(job, new StopAtStep(-1, new()))!;

        // Everything is equal, latency included: both runs read the one figure of their shape from the sweep's book.
        Assert.Equal(Json(straight), Json(resumed));
        Assert.Equal([1, 3], straight.Removed);
        Assert.Equal(6, straight.HealSteps);
        Assert.True(straight.Latency.MedianMsPerToken > 0);
        Assert.True(straight.Latency.Exclusive);
        // A finished candidate is not redone: its result is read back.
        Assert.Equal(Json(resumed), Json(CandidatePipeline.Run(job, new StopAtStep(-1, new()))!));
    }

    [Fact]
    public void The_baseline_candidate_neither_chops_nor_heals()
    {
        var corpus = TrainingSetup.BrownJsonl(20);
        var baseModel = TrainingSetup.NewModel(layers: 4, seed: 13);
        var observer = new StopAtStep(-1, new());
        var outcome = CandidatePipeline.Run(Job(baseModel, corpus, TaskDir(corpus), 0, 0), observer)!;
        Assert.Equal(["evaluating", "measuring"], observer.Stages);
        Assert.Empty(outcome.Removed);
        Assert.Equal(0, outcome.HealSteps);
        Assert.NotNull(outcome.Perplexity);
        Assert.True(outcome.TaskScores.ContainsKey("continuation"));
    }

    [Fact]
    public void A_data_driven_strategy_chops_the_layers_it_measured_and_keeps_its_scores_with_the_candidate()
    {
        var corpus = TrainingSetup.BrownJsonl(20);
        var baseModel = TrainingSetup.NewModel(layers: 5, seed: 14);
        var job = Job(baseModel, corpus, TaskDir(corpus), 2, 0) with
        {
            Chop = new CriterionChop { Criterion = "block-influence", Remove = 2 }, CalibrationSequences = 4, CalibrationLength = 32,
        };
        var outcome = CandidatePipeline.Run(job, new StopAtStep(-1, new()))!;
        Assert.Equal(2, outcome.Removed.Count);
        Assert.DoesNotContain(0, outcome.Removed);
        Assert.DoesNotContain(4, outcome.Removed);
        Assert.NotNull(outcome.ImportanceScores);
        Assert.Equal(5, outcome.ImportanceScores!.Count);
        // The two lowest-scored middle layers are the ones removed.
        var lowest = Enumerable.Range(1, 3).OrderBy(i => outcome.ImportanceScores[i]).Take(2).Order();
        Assert.Equal(lowest, outcome.Removed.Order());
    }
}
