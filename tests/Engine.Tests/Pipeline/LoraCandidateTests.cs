using System.Text.Json;
using LayerChop.Engine.Checkpoints;
using LayerChop.Engine.Tests.Training;
using LayerChop.Settings;
using LayerChop.Worker;

namespace LayerChop.Engine.Tests.Pipeline;

public class LoraCandidateTests
{
    static CandidateJob Job(string baseModel, string corpus, HealMethod method, LoraSettings lora)
    {
        var taskDir = TestModels.TempFolder();
        File.Copy(corpus, Path.Combine(taskDir, "continuation.jsonl"));
        return new()
        {
            Id = $"r1-input-h512-{HealMethods.Name(method)}-s1", BaseModel = baseModel, WorkDir = Path.Combine(TestModels.TempFolder(), "candidate"),
            Chop = new PlacementChop { Placement = "input", Remove = 1 }, HealTokens = 4 * 128, HealMethod = method, Data = [corpus],
            Train = new TrainSettings { SeqLen = 32, BatchTokens = 128, Lr = 3e-3, WarmupSteps = 1, CheckpointEvery = 2 },
            Lora = lora,
            Eval = new EvalSettings { Tasks = ["continuation"], TaskDir = taskDir, Limit = 4 },
            Latency = new LatencySettings { PromptTokens = 4, NewTokens = 4 },
        };
    }

    sealed class Quiet : ICandidateObserver;

    [Fact]
    public void A_lora_candidate_heals_with_the_sweeps_adapters_and_exports_a_plain_model_folder_with_them_in_its_lineage()
    {
        var corpus = TrainingSetup.BrownJsonl(20);
        var job = Job(TrainingSetup.NewModel(layers: 3, seed: 31), corpus, HealMethod.Lora, new LoraSettings { Rank = 2, Alpha = 4, Targets = ["v_proj", "down_proj"] });
        var outcome = CandidatePipeline.Run(job, new Quiet())!;
        Assert.Equal(4, outcome.HealSteps);

        var healed = Path.Combine(job.WorkDir, CandidateArtifacts.HealedFolder);
        var record = JsonDocument.Parse(File.ReadAllText(Path.Combine(healed, "train_result.json"))).RootElement.GetProperty("lora");
        Assert.Equal(2, record.GetProperty("rank").GetInt32());
        Assert.Equal(["v_proj", "down_proj"], record.GetProperty("targets").EnumerateArray().Select(e => e.GetString()));

        var exported = Path.Combine(TestModels.TempFolder(), "exported");
        CandidateArtifacts.Export(job.WorkDir, job.BaseModel, exported, Lineage.Of("lora-sweep", job));
        using (var weights = SafeTensorsCheckpoint.Open(exported))
            Assert.DoesNotContain(weights.Names, n => n.Contains("lora", StringComparison.Ordinal));
        using (ModelFolder.Load(exported)) { }
        var lineage = JsonDocument.Parse(File.ReadAllText(Path.Combine(exported, CandidateArtifacts.LineageFile))).RootElement;
        Assert.Equal("lora", lineage.GetProperty("heal_method").GetString());
        Assert.Equal(2, lineage.GetProperty("lora").GetProperty("rank").GetInt32());
    }

    [Fact]
    public void Another_lora_section_is_another_input_for_a_lora_candidate_and_none_for_a_pretrain_candidate()
    {
        var corpus = TrainingSetup.BrownJsonl(20);
        var model = TrainingSetup.NewModel(layers: 3, seed: 32);
        LoraSettings before = new(), after = new() { Rank = 8 };

        var lora = Job(model, corpus, HealMethod.Lora, before);
        Assert.Equal(Redo.Everything, CandidateInputs.Of(lora with { Lora = after }).Compare(CandidateInputs.Of(lora)));
        Assert.Equal(Redo.Nothing, CandidateInputs.Of(lora).Compare(CandidateInputs.Of(lora)));

        var pretrain = Job(model, corpus, HealMethod.Pretrain, before);
        Assert.Equal(Redo.Nothing, CandidateInputs.Of(pretrain with { Lora = after }).Compare(CandidateInputs.Of(pretrain)));
        Assert.False(CandidateInputs.Of(pretrain).Making.ContainsKey("lora"), "a pretrain candidate's record is as it was before LoRA existed");
    }
}
