using LayerChop.Engine.Checkpoints;
using LayerChop.Engine.Chopping;
using LayerChop.Engine.Training;
using LayerChop.Settings;
using TorchSharp;
using static TorchSharp.torch;

namespace LayerChop.Engine.Tests.Training;

/// <summary>Activation checkpointing and the loss in slices change what a run holds in memory, not what it computes.</summary>
public class MemorySavingTests
{
    static TrainOptions Checkpointing(TrainOptions o) => o with { Settings = o.Settings with { ActivationCheckpointing = true } };

    /// <summary>The largest difference between two runs' weights, relative to the largest weight of each tensor.</summary>
    static double WorstRelativeDifference(string runA, string runB)
    {
        using var a = SafeTensorsFile.Open(Path.Combine(runA, "model.safetensors"));
        using var b = SafeTensorsFile.Open(Path.Combine(runB, "model.safetensors"));
        Assert.Equal(a.Tensors.Select(t => t.Name).Order(), b.Tensors.Select(t => t.Name).Order());
        double worst = 0;
        foreach (var name in a.Tensors.Select(t => t.Name))
        {
            using var x = a.Read(name).to(ScalarType.Float64);
            using var y = b.Read(name).to(ScalarType.Float64);
            double scale = x.abs().max().item<double>();
            double diff = (x - y).abs().max().item<double>();
            worst = Math.Max(worst, scale == 0 ? diff : diff / scale);
        }
        return worst;
    }

    [Fact]
    public void Activation_checkpointing_gives_the_same_losses_and_weights_over_20_steps_to_float_rounding()
    {
        var corpus = TrainingSetup.BrownJsonl(20);
        var model = TrainingSetup.NewModel(seed: 3);
        var options = TrainingSetup.Options(corpus, steps: 20);
        var kept = new Trainer(model, Path.Combine(TestModels.TempFolder(), "kept"), options).Run(false);
        var recomputed = new Trainer(model, Path.Combine(TestModels.TempFolder(), "recomputed"), Checkpointing(options)).Run(false);

        var (lossesKept, lossesRecomputed) = (TrainingSetup.Losses(kept.OutputFolder), TrainingSetup.Losses(recomputed.OutputFolder));
        Assert.Equal(20, lossesRecomputed.Length);
        for (int i = 0; i < 20; i++) Assert.Equal(lossesKept[i], lossesRecomputed[i], 1e-6 * Math.Abs(lossesKept[i]));
        double worst = WorstRelativeDifference(kept.OutputFolder, recomputed.OutputFolder);
        Assert.True(worst <= 1e-6, $"weights differ by {worst:E2} of their tensor's largest weight");
        Assert.NotEqual(lossesKept[0], lossesKept[^1]);                                   // the runs did train
    }

    [Fact]
    public void A_checkpointed_run_stopped_halfway_resumes_to_bit_identical_weights()
    {
        var corpus = TrainingSetup.BrownJsonl(20);
        var model = TrainingSetup.NewModel(seed: 4);
        var options = Checkpointing(TrainingSetup.Options(corpus, steps: 6, checkpointEvery: 2));
        var straight = new Trainer(model, Path.Combine(TestModels.TempFolder(), "straight"), options).Run(false);
        var interrupted = Path.Combine(TestModels.TempFolder(), "interrupted");
        using (var stop = new CancellationTokenSource())
            Assert.False(new Trainer(model, interrupted, options, new StopAt(3, stop)).Run(false, stop.Token).Completed);
        Assert.True(new Trainer(model, interrupted, options).Run(resume: true).Completed);
        Assert.Equal(File.ReadAllBytes(Path.Combine(straight.OutputFolder, "model.safetensors")),
                     File.ReadAllBytes(Path.Combine(interrupted, "model.safetensors")));
        Assert.Equal(TrainingSetup.Losses(straight.OutputFolder), TrainingSetup.Losses(interrupted));
    }

    [Fact]
    public void The_loss_computed_in_slices_of_tokens_trains_as_the_whole_loss_does_with_and_without_checkpointing()
    {
        var corpus = TrainingSetup.BrownJsonl(20);
        var model = TrainingSetup.NewModel(seed: 5);
        var options = TrainingSetup.Options(corpus, steps: 6);
        // 4 sequences of 32 tokens a micro-batch, in slices of 20 tokens: the last slice is shorter.
        var sliced = options with { LogitsSliceBytes = 20L * 384 * sizeof(float) };
        Assert.Equal(20, sliced.LossChunkTokens(384));
        var whole = new Trainer(model, Path.Combine(TestModels.TempFolder(), "whole"), options).Run(false);
        foreach (var variant in new[] { sliced, Checkpointing(sliced) })
        {
            var run = new Trainer(model, Path.Combine(TestModels.TempFolder(), "sliced"), variant).Run(false);
            var (expected, actual) = (TrainingSetup.Losses(whole.OutputFolder), TrainingSetup.Losses(run.OutputFolder));
            for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-5 * Math.Abs(expected[i]));
            double worst = WorstRelativeDifference(whole.OutputFolder, run.OutputFolder);
            Assert.True(worst <= 1e-5, $"weights differ by {worst:E2} of their tensor's largest weight");
        }
    }

    [Fact]
    public void Distillation_with_checkpointing_gives_the_same_losses_as_without()
    {
        var corpus = TrainingSetup.BrownJsonl(20);
        var teacher = TrainingSetup.NewModel(layers: 4, seed: 6);
        var chopped = Path.Combine(TestModels.TempFolder(), "chopped");
        Chopper.Chop(teacher, ChopStrategy.Parse("input", 1), chopped);
        var options = TrainingSetup.Options(corpus, steps: 4) with { Method = HealMethod.Distill, Teacher = teacher };
        var kept = new Trainer(chopped, Path.Combine(TestModels.TempFolder(), "kept"), options).Run(false);
        var recomputed = new Trainer(chopped, Path.Combine(TestModels.TempFolder(), "recomputed"), Checkpointing(options)).Run(false);
        var (a, b) = (TrainingSetup.Losses(kept.OutputFolder), TrainingSetup.Losses(recomputed.OutputFolder));
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i], 1e-6 * Math.Abs(a[i]));
        Assert.True(WorstRelativeDifference(kept.OutputFolder, recomputed.OutputFolder) <= 1e-6);
    }

    [Fact]
    public void Checkpointing_with_hidden_state_distillation_is_refused_in_one_line_naming_both()
    {
        var corpus = TrainingSetup.BrownJsonl(20);
        var teacher = TrainingSetup.NewModel(layers: 4, seed: 6);
        var options = Checkpointing(TrainingSetup.Options(corpus, steps: 2)) is var o
            ? o with { Method = HealMethod.Distill, Teacher = teacher, Settings = o.Settings with { DistillHiddenWeight = 0.5 } } : null!;
        var error = Assert.Throws<LayerChopException>(() => new Trainer(teacher, Path.Combine(TestModels.TempFolder(), "r"), options).Run(false));
        Assert.Contains("--activation-checkpointing", error.Message);
        Assert.Contains("--distill-hidden-weight", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Recomputing_backward_gives_every_parameter_the_gradient_of_the_plain_backward_pass()
    {
        var folder = TrainingSetup.NewModel(layers: 3, seed: 8);
        using var model = ModelFolder.Load(folder);
        model.train();
        using var ids = randint(0, 384, [2, 17], generator: new TorchSharp.torch.Generator(7));
        using var targets = randint(0, 384, [2, 17], generator: new TorchSharp.torch.Generator(8));

        Losses.NextTokenLoss(model.Forward(ids), targets).backward();
        var plain = model.NamedWeights().ToDictionary(p => p.Name, p => p.Parameter.grad!.clone());
        foreach (var (_, p) in model.NamedWeights()) p.grad!.zero_();

        using Scalar one = 1.ToScalar(), weight = 1.0.ToScalar();
        double loss = model.RecomputingBackward(ids, hidden => Losses.HeadBackward(model, hidden, targets, null, null, 1.0, weight, long.MaxValue, one));
        Assert.True(loss > 0);
        foreach (var (name, p) in model.NamedWeights())
        {
            double scale = plain[name].abs().max().item<float>();
            Assert.True(scale > 0, $"{name} got no gradient in the plain pass");
            double diff = (p.grad! - plain[name]).abs().max().item<float>();
            Assert.True(diff <= 1e-5 * scale, $"{name}: gradients differ by {diff:E2} (largest {scale:E2})");
        }
    }

    [Fact]
    public void Lora_healing_with_checkpointing_trains_the_adapters_as_without_it()
    {
        var corpus = TrainingSetup.BrownJsonl(20);
        var model = TrainingSetup.NewModel(seed: 9);
        var options = TrainingSetup.Options(corpus, steps: 6) with { Method = HealMethod.Lora, Lora = new LoraSettings { Rank = 4 } };
        var kept = new Trainer(model, Path.Combine(TestModels.TempFolder(), "kept"), options).Run(false);
        var recomputed = new Trainer(model, Path.Combine(TestModels.TempFolder(), "recomputed"), Checkpointing(options)).Run(false);
        var (a, b) = (TrainingSetup.Losses(kept.OutputFolder), TrainingSetup.Losses(recomputed.OutputFolder));
        Assert.NotEqual(a[0], a[^1]);                                                       // the adapters did train
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i], 1e-6 * Math.Abs(a[i]));
        Assert.True(WorstRelativeDifference(kept.OutputFolder, recomputed.OutputFolder) <= 1e-6);
    }
}
