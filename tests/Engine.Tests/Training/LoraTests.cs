using LayerChop.Engine.Checkpoints;
using LayerChop.Engine.Modeling;
using LayerChop.Engine.Training;
using LayerChop.Settings;
using static TorchSharp.torch;

namespace LayerChop.Engine.Tests.Training;

public class LoraTests
{
    static readonly LoraSettings Small = new() { Rank = 4, Alpha = 8 };

    static TrainOptions Lora(string corpus, int steps, int checkpointEvery = 1000, LoraSettings? lora = null) =>
        TrainingSetup.Options(corpus, steps, checkpointEvery) with { Method = HealMethod.Lora, Lora = lora ?? Small };

    /// <summary>The model of <paramref name="folder"/> with the adapters of a run's checkpoint attached, as the run computed before merging.</summary>
    static CausalLM Adapted(string folder, TrainOptions options, string checkpoint)
    {
        var model = ModelFolder.Load(folder);
        using var optimizer = new AdamW(LoraAdapter.Attach(model, options.Lora, options.Seed), AdamW.DecayMatricesOnly);
        TrainCheckpoint.Restore(checkpoint, optimizer, TrainCheckpoint.ReadState(checkpoint).OptimizerStep);
        return model;
    }

    static Tensor Logits(CausalLM model)
    {
        using var ids = TestModels.Ids(2, 16, model.Config.VocabSize);
        using var noGrad = no_grad();
        return model.Forward(ids);
    }

    static bool Same(Tensor a, Tensor b)
    {
        using var equal = a.eq(b);
        using var all = equal.all();
        return a.shape.SequenceEqual(b.shape) && all.item<bool>();
    }

    [Fact]
    public void A_lora_checkpoint_holds_only_the_adapters_and_their_moments()
    {
        var corpus = TrainingSetup.BrownJsonl(20);
        var model = TrainingSetup.NewModel(layers: 3, seed: 21);
        var run = Path.Combine(TestModels.TempFolder(), "run");
        new Trainer(model, run, Lora(corpus, steps: 2, checkpointEvery: 2)).Run(resume: false);

        var expected = Enumerable.Range(0, 3)
            .SelectMany(layer => LoraSettings.LinearLayers.Select(l => $"model.layers.{layer}.{(l is "gate_proj" or "up_proj" or "down_proj" ? "mlp" : "self_attn")}.{l}"))
            .SelectMany(layer => new[] { $"{layer}.lora_A.weight", $"{layer}.lora_B.weight" })
            .Order(StringComparer.Ordinal).ToList();
        var checkpoint = TrainCheckpoint.Newest(run)!;
        using var weights = SafeTensorsFile.Open(Path.Combine(checkpoint, "model.safetensors"));
        using var moments = SafeTensorsFile.Open(Path.Combine(checkpoint, "optimizer.safetensors"));
        Assert.Equal(expected, weights.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
        Assert.Equal(expected.SelectMany(n => new[] { n + ".exp_avg", n + ".exp_avg_sq" }).Order(StringComparer.Ordinal),
            moments.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
        Assert.Equal([4L, 32L], weights.Info("model.layers.0.self_attn.q_proj.lora_A.weight").Shape);
        Assert.Equal([64L, 4L], weights.Info("model.layers.2.mlp.up_proj.lora_B.weight").Shape);
    }

    [Fact]
    public void Stopping_a_lora_run_halfway_and_resuming_gives_bit_identical_merged_weights()
    {
        var corpus = TrainingSetup.BrownJsonl(20);
        var model = TrainingSetup.NewModel(seed: 22);
        var options = Lora(corpus, steps: 8, checkpointEvery: 3);

        var straight = Path.Combine(TestModels.TempFolder(), "straight");
        Assert.True(new Trainer(model, straight, options).Run(resume: false).Completed);
        var interrupted = Path.Combine(TestModels.TempFolder(), "interrupted");
        using (var stop = new CancellationTokenSource())
            Assert.False(new Trainer(model, interrupted, options, new StopAt(4, stop)).Run(resume: false, stop.Token).Completed);
        Assert.True(new Trainer(model, interrupted, options).Run(resume: true).Completed);

        Assert.Equal(File.ReadAllBytes(Path.Combine(straight, "model.safetensors")), File.ReadAllBytes(Path.Combine(interrupted, "model.safetensors")));
        Assert.Equal(TrainingSetup.Losses(straight), TrainingSetup.Losses(interrupted));
    }

    [Fact]
    public void The_healed_folder_has_the_chopped_models_tensors_only_and_computes_what_the_adapted_model_computed()
    {
        var corpus = TrainingSetup.BrownJsonl(20);
        var model = TrainingSetup.NewModel(seed: 23);
        var options = Lora(corpus, steps: 4, checkpointEvery: 4);
        var run = Path.Combine(TestModels.TempFolder(), "run");
        new Trainer(model, run, options).Run(resume: false);

        using (var before = SafeTensorsCheckpoint.Open(model))
        using (var after = SafeTensorsCheckpoint.Open(run))
        {
            Assert.Equal(before.Names.Order(StringComparer.Ordinal), after.Names.Order(StringComparer.Ordinal));
            Assert.All(after.Names, n => Assert.Equal(before.Info(n).DType, after.Info(n).DType));
        }
        Assert.DoesNotContain(Directory.GetFiles(run), f => Path.GetFileName(f).Contains("adapter", StringComparison.Ordinal));

        using var healed = ModelFolder.Load(run);
        using var adapted = Adapted(model, options, TrainCheckpoint.Newest(run)!);
        using var unhealed = ModelFolder.Load(model);
        using var healedLogits = Logits(healed);
        using var adaptedLogits = Logits(adapted);
        using var baseLogits = Logits(unhealed);
        Assert.True(TestModels.MaxAbsDiff(healedLogits, adaptedLogits) < 1e-4, $"merged vs adapted: {TestModels.MaxAbsDiff(healedLogits, adaptedLogits)}");
        Assert.True(TestModels.MaxAbsDiff(healedLogits, baseLogits) > 1e-3, "the adapters trained");
        var record = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "train_result.json"))).RootElement;
        Assert.Equal("lora", record.GetProperty("heal_method").GetString());
        Assert.Equal(4, record.GetProperty("lora").GetProperty("rank").GetInt32());
        Assert.Equal(LoraSettings.LinearLayers, record.GetProperty("lora").GetProperty("targets").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void Fresh_adapters_change_no_logit_and_training_changes_the_base_weights_only_through_the_merge()
    {
        var corpus = TrainingSetup.BrownJsonl(20);
        var model = TrainingSetup.NewModel(seed: 24);
        using (var plain = ModelFolder.Load(model))
        using (var attached = ModelFolder.Load(model))
        {
            LoraAdapter.Attach(attached, Small, seed: 5);
            using var before = Logits(plain);
            using var after = Logits(attached);
            Assert.True(Same(before, after), "B = 0: the adapted model computes the base model bit for bit");
        }

        var options = Lora(corpus, steps: 3, checkpointEvery: 3, lora: Small with { Targets = ["q_proj", "v_proj"] });
        var run = Path.Combine(TestModels.TempFolder(), "run");
        new Trainer(model, run, options).Run(resume: false);
        using var healed = ModelFolder.Load(run);
        using var unhealed = ModelFolder.Load(model);
        using var merged = Adapted(model, options, TrainCheckpoint.Newest(run)!);
        LoraAdapter.Merge(merged);
        var healedWeights = healed.NamedWeights().ToDictionary(w => w.Name, w => w.Parameter);
        var baseWeights = unhealed.NamedWeights().ToDictionary(w => w.Name, w => w.Parameter);
        foreach (var (name, weight) in merged.NamedWeights())
        {
            Assert.True(Same(weight, healedWeights[name]), $"{name}: the healed weight is the base weight with the checkpoint's adapter merged");
            bool target = name.EndsWith("q_proj.weight", StringComparison.Ordinal) || name.EndsWith("v_proj.weight", StringComparison.Ordinal);
            Assert.True(target != Same(baseWeights[name], healedWeights[name]), $"{name}: {(target ? "a target must change" : "not a target, must stay as it was")}");
        }
    }

    [Fact]
    public void A_bf16_lora_run_keeps_float32_adapters_in_its_checkpoint_and_writes_the_models_bf16_tensors()
    {
        var corpus = TrainingSetup.BrownJsonl(20);
        var source = TrainingSetup.NewModel(layers: 2, seed: 25);
        var model = TestModels.TempFolder();
        using (var f32 = ModelFolder.Load(source))
            ModelFolder.Save(f32, model, ScalarType.BFloat16, tokenizerFrom: source);
        var options = Lora(corpus, steps: 2, checkpointEvery: 2);
        options = options with { Settings = options.Settings with { Precision = "bf16" } };
        var run = Path.Combine(TestModels.TempFolder(), "run");
        new Trainer(model, run, options).Run(resume: false);

        using (var weights = SafeTensorsFile.Open(Path.Combine(TrainCheckpoint.Newest(run)!, "model.safetensors")))
            Assert.All(weights.Tensors, t => Assert.Equal("F32", t.DType));
        using var healed = SafeTensorsCheckpoint.Open(run);
        Assert.All(healed.Names, n => Assert.Equal("BF16", healed.Info(n).DType));
    }

    [Fact]
    public void Resuming_a_lora_run_with_another_rank_is_refused_naming_the_setting()
    {
        var corpus = TrainingSetup.BrownJsonl(20);
        var model = TrainingSetup.NewModel(layers: 2, seed: 26);
        var run = Path.Combine(TestModels.TempFolder(), "run");
        using (var stop = new CancellationTokenSource())
            new Trainer(model, run, Lora(corpus, 4, 1), new StopAt(1, stop)).Run(false, stop.Token);
        var e = Assert.Throws<LayerChopException>(() => new Trainer(model, run, Lora(corpus, 4, 1, Small with { Rank = 8 })).Run(true));
        Assert.Contains("lora.rank 4", e.Message);
        Assert.Contains("lora.rank 8", e.Message);
    }

    [Fact]
    public void Lora_with_a_teacher_or_an_unknown_target_is_refused_in_one_line()
    {
        var corpus = TrainingSetup.BrownJsonl(20);
        var model = TrainingSetup.NewModel(layers: 2, seed: 27);
        var withTeacher = Assert.Throws<LayerChopException>(() =>
            new Trainer(model, TestModels.TempFolder(), Lora(corpus, 2) with { Teacher = model }).Run(false));
        Assert.Contains("--teacher", withTeacher.Message);
        var misspelt = Assert.Throws<LayerChopException>(() =>
            new Trainer(model, TestModels.TempFolder(), Lora(corpus, 2, lora: Small with { Targets = ["q_porj"] })).Run(false));
        Assert.Contains("did you mean q_proj?", misspelt.Message);
        Assert.DoesNotContain('\n', withTeacher.Message + misspelt.Message);
    }

    sealed class LearningRates : ITrainingObserver
    {
        public List<double> Seen { get; } = [];
        public void OnStep(StepReport report) => Seen.Add(report.Lr);
    }

    [Fact]
    public void A_lora_run_peaks_at_the_lora_learning_rate_when_the_spec_gives_one()
    {
        var corpus = TrainingSetup.BrownJsonl(20);
        var model = TrainingSetup.NewModel(layers: 2, seed: 28);
        var rates = new LearningRates();
        new Trainer(model, Path.Combine(TestModels.TempFolder(), "run"), Lora(corpus, 3, lora: Small with { Lr = 1e-4 }), rates).Run(false);
        Assert.Equal(1e-4, rates.Seen.Max(), 12);   // the train settings' lr is 3e-3
    }

    [Fact]
    public void A_lora_run_that_warms_the_optimizer_up_before_chopping_heals_the_chopped_shape_with_adapters_only()
    {
        var corpus = TrainingSetup.BrownJsonl(20);
        var model = TrainingSetup.NewModel(layers: 5, seed: 29);
        var options = Lora(corpus, steps: 2, checkpointEvery: 2);
        options = options with
        {
            Chop = new PlacementChop { Placement = "max-gap", Remove = 2 }, Settings = options.Settings with { OptimizerWarmupSteps = 2 },
        };
        var run = Path.Combine(TestModels.TempFolder(), "run");
        Assert.True(new Trainer(model, run, options).Run(false).Completed);

        Assert.Equal(3, ModelConfig.Load(run).NumLayers);
        using var weights = SafeTensorsFile.Open(Path.Combine(TrainCheckpoint.Newest(run)!, "model.safetensors"));
        Assert.Equal(3 * LoraSettings.LinearLayers.Count * 2, weights.Tensors.Count);
        Assert.All(weights.Tensors, t => Assert.Contains(".lora_", t.Name));
        using var healed = SafeTensorsCheckpoint.Open(run);
        Assert.DoesNotContain(healed.Names, n => n.Contains("lora", StringComparison.Ordinal));
    }
}
