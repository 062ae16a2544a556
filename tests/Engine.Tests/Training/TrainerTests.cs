using LayerChop.Engine.Chopping;
using LayerChop.Engine.Training;
using LayerChop.Settings;

namespace LayerChop.Engine.Tests.Training;

public class TrainerTests
{
    [Fact]
    public void Stopping_halfway_and_resuming_gives_bit_identical_weights_and_the_same_losses()
    {
        var corpus = TrainingSetup.BrownJsonl(20);
        var model = TrainingSetup.NewModel(seed: 2);
        var options = TrainingSetup.Options(corpus, steps: 8, checkpointEvery: 3);

        var straight = Path.Combine(TestModels.TempFolder(), "straight");
        Assert.True(new Trainer(model, straight, options).Run(resume: false).Completed);

        var interrupted = Path.Combine(TestModels.TempFolder(), "interrupted");
        using (var stop = new CancellationTokenSource())
        {
            var first = new Trainer(model, interrupted, options, new StopAt(4, stop)).Run(resume: false, stop.Token);
            Assert.False(first.Completed);
            Assert.Equal(4, first.Steps);
            Assert.False(File.Exists(Path.Combine(interrupted, "config.json")), "an unfinished run must not look like a model");
        }
        var second = new Trainer(model, interrupted, options).Run(resume: true);
        Assert.True(second.Completed);

        Assert.Equal(File.ReadAllBytes(Path.Combine(straight, "model.safetensors")),
                     File.ReadAllBytes(Path.Combine(interrupted, "model.safetensors")));
        Assert.Equal(TrainingSetup.Losses(straight), TrainingSetup.Losses(interrupted));
        Assert.Equal(8, TrainingSetup.Losses(straight).Length);
        var record = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(interrupted, "train_result.json"))).RootElement;
        Assert.Equal([4L], record.GetProperty("resumed_from").EnumerateArray().Select(e => e.GetInt64()));
    }

    [Fact]
    public void Training_on_the_brown_corpus_clearly_lowers_held_out_loss()
    {
        var corpus = TrainingSetup.BrownJsonl(40);
        var model = TrainingSetup.NewModel(seed: 3);
        double before = TrainingSetup.HeldoutLoss(model, corpus);
        var run = Path.Combine(TestModels.TempFolder(), "run");
        var result = new Trainer(model, run, TrainingSetup.Options(corpus, steps: 120)).Run(resume: false);
        double after = TrainingSetup.HeldoutLoss(run, corpus);
        Assert.Equal(after, result.ValLoss!.Value, 4);
        Assert.True(after < before - 1.0, $"held-out loss {before:0.000} -> {after:0.000}");
    }

    [Fact]
    public void A_chopped_model_healed_by_training_beats_the_same_model_unhealed()
    {
        var corpus = TrainingSetup.BrownJsonl(40);
        var fresh = TrainingSetup.NewModel(layers: 6, seed: 4);
        var basePath = Path.Combine(TestModels.TempFolder(), "base");
        new Trainer(fresh, basePath, TrainingSetup.Options(corpus, steps: 120)).Run(resume: false);
        var chopped = Path.Combine(TestModels.TempFolder(), "chopped");
        Chopper.Chop(basePath, ChopStrategy.Parse("middle", 3), chopped);
        var healed = Path.Combine(TestModels.TempFolder(), "healed");
        new Trainer(chopped, healed, TrainingSetup.Options(corpus, steps: 40, warmupSteps: 0, lr: 1e-3)).Run(resume: false);

        double unhealedLoss = TrainingSetup.HeldoutLoss(chopped, corpus);
        double healedLoss = TrainingSetup.HeldoutLoss(healed, corpus);
        double baseLoss = TrainingSetup.HeldoutLoss(basePath, corpus);
        Assert.True(healedLoss < unhealedLoss, $"healed {healedLoss:0.000} vs unhealed {unhealedLoss:0.000} (base {baseLoss:0.000})");
        Assert.True(File.Exists(Path.Combine(healed, "layerchop.json")), "the chop record travels with the healed model");
    }

    [Fact]
    public void Distillation_from_the_unchopped_teacher_runs_and_records_kl_in_the_loss()
    {
        var corpus = TrainingSetup.BrownJsonl(20);
        var teacher = TrainingSetup.NewModel(layers: 4, seed: 6);
        var chopped = Path.Combine(TestModels.TempFolder(), "chopped");
        Chopper.Chop(teacher, ChopStrategy.Parse("input", 1), chopped);
        var options = TrainingSetup.Options(corpus, steps: 3);
        var plain = new Trainer(chopped, Path.Combine(TestModels.TempFolder(), "plain"), options).Run(false);
        var distilled = new Trainer(chopped, Path.Combine(TestModels.TempFolder(), "distilled"),
            options with { Method = HealMethod.Distill, Teacher = teacher, Settings = options.Settings with { DistillHiddenWeight = 0.5 } }).Run(false);
        Assert.True(distilled.Completed);
        // Same data, same start: the first step's loss differs only by the (positive) distillation terms.
        Assert.True(TrainingSetup.Losses(distilled.OutputFolder)[0] > TrainingSetup.Losses(plain.OutputFolder)[0]);
    }

    [Fact]
    public void Resuming_with_a_model_of_another_shape_is_refused()
    {
        var corpus = TrainingSetup.BrownJsonl(20);
        var run = Path.Combine(TestModels.TempFolder(), "run");
        using (var stop = new CancellationTokenSource())
            new Trainer(TrainingSetup.NewModel(layers: 4), run, TrainingSetup.Options(corpus, 4, 1), new StopAt(2, stop)).Run(false, stop.Token);
        var other = TrainingSetup.NewModel(layers: 3);
        var e = Assert.Throws<LayerChopException>(() => new Trainer(other, run, TrainingSetup.Options(corpus, 4, 1)).Run(true));
        Assert.Contains("shape", e.Message);
    }
}

public class WarmupThenChopTests
{
    [Fact]
    public void Optimizer_warm_up_then_chop_trains_the_chopped_shape_and_resumes_bit_identically()
    {
        var corpus = TrainingSetup.BrownJsonl(20);
        var model = TrainingSetup.NewModel(layers: 5, seed: 8);
        var options = TrainingSetup.Options(corpus, steps: 6, checkpointEvery: 2);
        options = options with
        {
            Chop = new PlacementChop { Placement = "max-gap", Remove = 2 }, Settings = options.Settings with { OptimizerWarmupSteps = 3 },
        };
        var straight = Path.Combine(TestModels.TempFolder(), "straight");
        new Trainer(model, straight, options).Run(false);
        Assert.Equal(3, LayerChop.Engine.Modeling.ModelConfig.Load(straight).NumLayers);
        var record = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(straight, "layerchop.json"))).RootElement;
        Assert.Equal([0, 2, 4], record.GetProperty("kept").EnumerateArray().Select(e => e.GetInt32()));

        var interrupted = Path.Combine(TestModels.TempFolder(), "interrupted");
        using (var stop = new CancellationTokenSource())
            Assert.False(new Trainer(model, interrupted, options, new StopAt(3, stop)).Run(false, stop.Token).Completed);
        new Trainer(model, interrupted, options).Run(true);
        Assert.Equal(File.ReadAllBytes(Path.Combine(straight, "model.safetensors")), File.ReadAllBytes(Path.Combine(interrupted, "model.safetensors")));
        Assert.Equal(TrainingSetup.Losses(straight), TrainingSetup.Losses(interrupted));

        // The warm-up changes where healing starts from (filled moments), nothing else about the run.
        var cold = Path.Combine(TestModels.TempFolder(), "cold");
        new Trainer(model, cold, options with { Settings = options.Settings with { OptimizerWarmupSteps = 0 } }).Run(false);
        Assert.NotEqual(TrainingSetup.Losses(straight)[1], TrainingSetup.Losses(cold)[1]);
    }
}
