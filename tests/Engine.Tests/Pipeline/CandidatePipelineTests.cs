using LayerChop.Engine.Tests.Training;
using LayerChop.Engine.Training;
using LayerChop.Settings;
using LayerChop.Worker;

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
        public List<WorkerStage> Stages { get; } = [];
        public void OnStage(WorkerStage stage) => Stages.Add(stage);
        public int Steps { get; private set; }
        public void OnStep(StepReport report) { Steps++; if (report.Step == step) stop.Cancel(); }
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
        Assert.Equal([WorkerStage.Chopping, WorkerStage.Healing], observer.Stages);
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
        Assert.Equal([WorkerStage.Evaluating, WorkerStage.Measuring], observer.Stages);
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

    [Fact]
    public void A_folder_that_holds_another_sweeps_candidate_is_refused_and_left_as_it_was()
    {
        var corpus = TrainingSetup.BrownJsonl(20);
        var baseModel = TrainingSetup.NewModel(layers: 4, seed: 15);
        var job = Job(baseModel, corpus, TaskDir(corpus), 0, 0) with { Sweep = "shX" };
        CandidatePipeline.Run(job, new StopAtStep(-1, new()));
        var before = Directory.EnumerateFiles(job.WorkDir, "*", SearchOption.AllDirectories).Order().Select(File.ReadAllBytes).ToList();

        var error = Assert.Throws<LayerChopException>(() => CandidatePipeline.Run(job with { Sweep = "shY" }, new StopAtStep(-1, new())));

        Assert.Contains("holds sweep 'shX''s candidate, not sweep 'shY''s", error.Message);
        Assert.Equal(before, Directory.EnumerateFiles(job.WorkDir, "*", SearchOption.AllDirectories).Order().Select(File.ReadAllBytes).ToList());
    }

    [Fact]
    public void A_chopped_model_made_before_the_tokenizer_was_copied_into_the_base_model_is_made_again_on_the_next_run()
    {
        var corpus = TrainingSetup.BrownJsonl(20);
        var baseModel = TrainingSetup.NewModel(layers: 4, seed: 16);
        var taskDir = TaskDir(corpus);
        var latencyBook = TestModels.TempFolder();
        var fresh = CandidatePipeline.Run(Job(baseModel, corpus, taskDir, 2, 0) with { Sweep = "s", LatencyDir = latencyBook }, new StopAtStep(-1, new()))!;

        var job = Job(baseModel, corpus, taskDir, 2, 0) with { Sweep = "s", LatencyDir = latencyBook };
        var aside = TestModels.TempFolder();
        File.Move(Path.Combine(baseModel, "tokenizer.json"), Path.Combine(aside, "tokenizer.json"));
        Assert.ThrowsAny<Exception>(() => CandidatePipeline.Run(job, new StopAtStep(-1, new())));
        Assert.True(File.Exists(Path.Combine(job.WorkDir, "chopped", "config.json")));      // chopped, without a tokenizer

        File.Move(Path.Combine(aside, "tokenizer.json"), Path.Combine(baseModel, "tokenizer.json"));
        var messages = new MessageLog();
        var retried = CandidatePipeline.Run(job, messages)!;

        Assert.Equal(Json(fresh), Json(retried));
        Assert.Contains(messages.Lines, m => m.Contains("base model files added: tokenizer.json") && m.Contains("starting the candidate afresh"));
    }

    [Fact]
    public void Changed_evaluation_files_redo_the_evaluation_and_keep_the_healed_model()
    {
        var corpus = TrainingSetup.BrownJsonl(20);
        var baseModel = TrainingSetup.NewModel(layers: 4, seed: 17);
        var taskDir = TaskDir(corpus);
        var job = Job(baseModel, corpus, taskDir, 2, 2 * 128) with { Sweep = "s", Retention = Retention.All };
        CandidatePipeline.Run(job, new StopAtStep(-1, new()));
        var healed = File.ReadAllBytes(Path.Combine(job.WorkDir, "healed", "model.safetensors"));
        var evaluated = File.ReadAllText(Path.Combine(job.WorkDir, "eval.json"));

        File.WriteAllLines(Path.Combine(taskDir, "continuation.jsonl"), File.ReadLines(corpus).Skip(3));
        var observer = new StopAtStep(-1, new());
        CandidatePipeline.Run(job, observer);

        Assert.Equal(healed, File.ReadAllBytes(Path.Combine(job.WorkDir, "healed", "model.safetensors")));
        Assert.Equal(0, observer.Steps);                                          // healing found its model there
        Assert.NotEqual(evaluated, File.ReadAllText(Path.Combine(job.WorkDir, "eval.json")));
    }

    [Fact]
    public void A_changed_healing_corpus_heals_again_and_a_candidate_that_reads_no_corpus_keeps_its_work()
    {
        var corpus = Path.Combine(TestModels.TempFolder(), "corpus.jsonl");
        File.Copy(TrainingSetup.BrownJsonl(20), corpus);
        var baseModel = TrainingSetup.NewModel(layers: 4, seed: 18);
        var taskDir = TaskDir(corpus);
        var healed = Job(baseModel, corpus, taskDir, 2, 2 * 128) with { Sweep = "s" };
        var unhealed = Job(baseModel, corpus, taskDir, 2, 0) with { Sweep = "s" };
        CandidatePipeline.Run(healed, new StopAtStep(-1, new()));
        CandidatePipeline.Run(unhealed, new StopAtStep(-1, new()));

        File.AppendAllLines(corpus, ["""{"text": "One more document for the healing corpus."}"""]);
        var healedAgain = new MessageLog();
        CandidatePipeline.Run(healed, healedAgain);
        var unhealedAgain = new MessageLog();
        CandidatePipeline.Run(unhealed, unhealedAgain);

        Assert.Contains(healedAgain.Lines, m => m.Contains("healing corpus files changed: corpus.jsonl") && m.Contains("starting the candidate afresh"));
        Assert.Empty(unhealedAgain.Lines);
    }

    sealed class MessageLog : ICandidateObserver
    {
        public List<string> Lines { get; } = [];
        public void OnMessage(string message) => Lines.Add(message);
    }
}
