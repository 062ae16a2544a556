using System.Text.Json.Nodes;
using LayerChop.Engine.Training;

namespace LayerChop.Engine.Tests.Training;

public class ResumeCheckTests
{
    /// <summary>A run of <paramref name="options"/> stopped after two steps, with its checkpoint.</summary>
    static string StoppedRun(string model, TrainOptions options)
    {
        var run = Path.Combine(TestModels.TempFolder(), "run");
        using var stop = new CancellationTokenSource();
        Assert.False(new Trainer(model, run, options, new StopAt(2, stop)).Run(resume: false, stop.Token).Completed);
        return run;
    }

    [Fact]
    public void Resuming_with_a_changed_setting_names_it_with_both_values()
    {
        var corpus = TrainingSetup.BrownJsonl(20);
        var model = TrainingSetup.NewModel();
        var options = TrainingSetup.Options(corpus, steps: 4, lr: 3e-3);
        var run = StoppedRun(model, options);

        var changed = options with { Settings = options.Settings with { Lr = 1e-3 }, Seed = 6 };
        var e = Assert.Throws<LayerChopException>(() => new Trainer(model, run, changed).Run(resume: true));
        Assert.Contains($"the checkpoint in {run} was trained with lr 0.003, seed 5; this run says lr 0.001, seed 6;", e.Message);
        Assert.DoesNotContain("seq_len", e.Message);
    }

    [Fact]
    public void A_checkpoint_with_the_old_joined_settings_key_resumes_and_names_a_changed_setting()
    {
        var corpus = TrainingSetup.BrownJsonl(20);
        var model = TrainingSetup.NewModel();
        var options = TrainingSetup.Options(corpus, steps: 4, checkpointEvery: 3, lr: 3e-3);
        var run = StoppedRun(model, options);
        // What checkpoints stored before settings were stored by name.
        var t = options.Settings;
        string oldKey = string.Join("|", t.SeqLen, t.BatchTokens, t.Lr, t.WarmupSteps, t.MinLrRatio, t.WeightDecay,
            t.DecayEmbeddings, t.Beta1, t.Beta2, t.GradClip, options.Seed, options.Tokens, t.Precision, options.Method, t.DistillWeight,
            t.DistillTemperature, t.DistillHiddenWeight, t.HeldoutPerMille, options.TextField, null, null, t.OptimizerWarmupSteps);
        var stateFile = Path.Combine(TrainCheckpoint.Newest(run)!, "state.json");
        var state = JsonNode.Parse(File.ReadAllText(stateFile))!.AsObject();
        Assert.True(state.Remove("ResumeSettings"));
        state["OptionsKey"] = oldKey;
        File.WriteAllText(stateFile, state.ToJsonString());

        var changed = options with { Settings = options.Settings with { Lr = 1e-3 } };
        var e = Assert.Throws<LayerChopException>(() => new Trainer(model, run, changed).Run(resume: true));
        Assert.Contains("was trained with lr 0.003; this run says lr 0.001;", e.Message);

        Assert.True(new Trainer(model, run, options).Run(resume: true).Completed);
        var rewritten = TrainCheckpoint.ReadState(TrainCheckpoint.Newest(run)!);   // step 3, written after the resume
        Assert.Null(rewritten.OptionsKey);
        Assert.Equal("0.003", rewritten.ResumeSettings!["lr"]);
    }

    [Fact]
    public void Resuming_a_run_folder_without_a_checkpoint_is_refused()
    {
        var corpus = TrainingSetup.BrownJsonl(20);
        var run = Path.Combine(TestModels.TempFolder(), "run");
        var e = Assert.Throws<LayerChopException>(() =>
            new Trainer(TrainingSetup.NewModel(), run, TrainingSetup.Options(corpus, steps: 2)).Run(resume: true));
        Assert.Contains("no checkpoint to resume from; drop --resume", e.Message);
        Assert.False(Directory.Exists(run));
    }
}
