using System.Text.Json;
using LayerChop.Engine.Checkpoints;
using LayerChop.Engine.Chopping;
using LayerChop.Engine.Tests.Training;
using LayerChop.Engine.Tokenization;
using LayerChop.Engine.Training;
using LayerChop.Settings;
using LayerChop.Worker;
using static TorchSharp.torch;

namespace LayerChop.Engine.Tests.Pipeline;

/// <summary>Two finished candidates of one base model, run once; each test works on its own copy of their folders.</summary>
public sealed class FinishedCandidates
{
    public string BaseModel { get; } = TrainingSetup.NewModel(layers: 5, seed: 21);
    /// <summary>2 of 5 layers removed by max-gap, healed for 4 steps with a checkpoint every 2.</summary>
    public CandidateJob Healed { get; }
    /// <summary>Nothing removed, nothing healed: the base model itself.</summary>
    public CandidateJob Baseline { get; }

    public FinishedCandidates()
    {
        var corpus = TrainingSetup.BrownJsonl(20);
        var taskDir = TestModels.TempFolder();
        File.Copy(corpus, Path.Combine(taskDir, "continuation.jsonl"));
        var latencyBook = TestModels.TempFolder();
        CandidateJob Job(string id, int remove, long healTokens) => new()
        {
            Id = id, BaseModel = BaseModel, WorkDir = Path.Combine(TestModels.TempFolder(), id),
            Chop = remove > 0 ? new PlacementChop { Placement = "max-gap", Remove = remove } : null, HealTokens = healTokens, Seed = 3, Data = [corpus],
            Train = new TrainSettings { SeqLen = 32, BatchTokens = 128, Lr = 3e-3, WarmupSteps = 1, CheckpointEvery = 2 },
            Eval = new EvalSettings { Tasks = ["continuation"], TaskDir = taskDir, Limit = 12 },
            Latency = new LatencySettings { PromptTokens = 4, NewTokens = 4 }, LatencyDir = latencyBook,
            Retention = Retention.All,                 // the tests prune by hand
        };
        Healed = Job("r2-h512", 2, 4 * 128);
        Baseline = Job("r0-h0", 0, 0);
        foreach (var job in new[] { Healed, Baseline })
            if (CandidatePipeline.Run(job, new Quiet()) is null) throw new InvalidOperationException($"{job.Id} did not finish");
    }

    /// <summary>A copy of the candidate's folder that a test may change.</summary>
    public static string CopyOf(CandidateJob job)
    {
        var copy = Path.Combine(TestModels.TempFolder(), job.Id);
        foreach (var file in Directory.EnumerateFiles(job.WorkDir, "*", SearchOption.AllDirectories))
        {
            var into = Path.Combine(copy, Path.GetRelativePath(job.WorkDir, file));
            Directory.CreateDirectory(Path.GetDirectoryName(into)!);
            File.Copy(file, into);
        }
        return copy;
    }

    sealed class Quiet : ICandidateObserver;
}

public class CandidateArtifactsTests(FinishedCandidates candidates) : IClassFixture<FinishedCandidates>
{
    const string Prompt = "The jury said it did find";

    static Tensor Logits(string modelFolder)
    {
        using var model = ModelFolder.Load(modelFolder);
        var ids = TextTokenizer.Load(modelFolder).Encode(Prompt).Select(i => (long)i).ToArray();
        using var noGrad = no_grad();
        return model.Forward(tensor(ids).unsqueeze(0)).detach().clone();   // (1, T, V)
    }

    static string Healed(string workDir) => Path.Combine(workDir, CandidateArtifacts.HealedFolder);
    static string Chopped(string workDir) => Path.Combine(workDir, CandidateArtifacts.ChoppedFolder);

    /// <summary>Every file under the folder with its size, to tell whether anything changed.</summary>
    static string Listing(string folder) => string.Join("\n", Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
        .Order(StringComparer.Ordinal).Select(f => $"{Path.GetRelativePath(folder, f)} {new FileInfo(f).Length}"));

    [Fact]
    public void The_final_model_is_the_healed_model_else_the_chopped_model_else_the_base_model()
    {
        var workDir = FinishedCandidates.CopyOf(candidates.Healed);
        Assert.Equal(Healed(workDir), CandidateArtifacts.FinalModel(workDir, candidates.BaseModel));
        // Healing that has not finished has no config.json in healed/ yet.
        File.Delete(Path.Combine(Healed(workDir), "config.json"));
        Assert.Equal(Chopped(workDir), CandidateArtifacts.FinalModel(workDir, candidates.BaseModel));
        Assert.Equal(candidates.BaseModel, CandidateArtifacts.FinalModel(candidates.Baseline.WorkDir, candidates.BaseModel));
    }

    [Fact]
    public void Pruning_deletes_checkpoints_and_the_chopped_model_and_keeps_a_loadable_final_model()
    {
        var workDir = FinishedCandidates.CopyOf(candidates.Healed);
        Assert.Equal(2, TrainCheckpoint.List(Healed(workDir)).Count);
        using var before = Logits(Healed(workDir));
        long bytesBefore = Directory.EnumerateFiles(workDir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);

        var freed = CandidateArtifacts.Prune(workDir);

        Assert.False(Directory.Exists(TrainCheckpoint.Folder(Healed(workDir))));
        Assert.False(Directory.Exists(Chopped(workDir)));
        long bytesAfter = Directory.EnumerateFiles(workDir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Assert.Equal(bytesBefore - bytesAfter, freed.Bytes);
        // 2 checkpoints of 3 files, and the chopped model's config, weights, tokenizer and chop record.
        Assert.True(freed.Files >= 6 + 4, $"freed {freed.Files} files");
        foreach (var kept in new[] { "eval.json", "result.json", "healed/train_result.json", $"healed/{Chopper.RecordFile}" })
            Assert.True(File.Exists(Path.Combine(workDir, kept)), $"{kept} was deleted");
        Assert.Equal(Healed(workDir), CandidateArtifacts.FinalModel(workDir, candidates.BaseModel));
        using var after = Logits(Healed(workDir));
        Assert.Equal(0, TestModels.MaxAbsDiff(before, after));
    }

    [Fact]
    public void Pruning_a_second_time_frees_nothing_and_changes_nothing()
    {
        var workDir = FinishedCandidates.CopyOf(candidates.Healed);
        CandidateArtifacts.Prune(workDir);
        var listing = Listing(workDir);
        Assert.Equal(new Freed(0, 0), CandidateArtifacts.Prune(workDir));
        Assert.Equal(listing, Listing(workDir));
    }

    [Fact]
    public void A_prune_interrupted_midway_is_finished_by_the_next_one()
    {
        var workDir = FinishedCandidates.CopyOf(candidates.Healed);
        using var before = Logits(Healed(workDir));
        // The earlier prune moved the checkpoints aside and died while deleting them; the pipeline's own
        // temporary files of a crash lie about too.
        var trash = Directory.CreateDirectory(Path.Combine(workDir, CandidateArtifacts.Trash)).FullName;
        Directory.Move(TrainCheckpoint.Folder(Healed(workDir)), Path.Combine(trash, "healed+checkpoints"));
        File.Delete(Directory.GetFiles(Path.Combine(trash, "healed+checkpoints"), "*", SearchOption.AllDirectories)[0]);
        File.WriteAllText(Path.Combine(workDir, "eval.json.tmp"), "{");
        Directory.CreateDirectory(Path.Combine(Healed(workDir), ".final.tmp"));

        var freed = CandidateArtifacts.Prune(workDir);

        Assert.True(freed.Files >= 5 + 1 + 4, $"freed {freed.Files} files");
        Assert.Equal(["eval.json", "healed", CandidateInputs.FileName, "result.json"], Directory.GetFileSystemEntries(workDir).Select(Path.GetFileName).Order());
        Assert.DoesNotContain(Directory.GetFileSystemEntries(Healed(workDir)), e => Directory.Exists(e));
        using var after = Logits(CandidateArtifacts.FinalModel(workDir, candidates.BaseModel));
        Assert.Equal(0, TestModels.MaxAbsDiff(before, after));
    }

    [Fact]
    public void Pruning_a_candidate_without_a_result_is_refused_and_deletes_nothing()
    {
        var workDir = FinishedCandidates.CopyOf(candidates.Healed);
        File.Delete(Path.Combine(workDir, CandidatePipeline.ResultFile));
        var listing = Listing(workDir);
        var refusal = Assert.Throws<LayerChopException>(() => CandidateArtifacts.Prune(workDir));
        Assert.Contains("result.json", refusal.Message);
        Assert.Equal(listing, Listing(workDir));
    }

    [Fact]
    public void An_exported_candidate_loads_with_the_final_models_logits_and_a_lineage_naming_its_removed_layers()
    {
        var workDir = FinishedCandidates.CopyOf(candidates.Healed);
        var outDir = Path.Combine(TestModels.TempFolder(), "exported");
        CandidateArtifacts.Export(workDir, candidates.BaseModel, outDir, Lineage.Of("artifacts", candidates.Healed));

        using var final = Logits(Healed(workDir));
        using var exported = Logits(outDir);
        Assert.Equal(0, TestModels.MaxAbsDiff(final, exported));
        Assert.Equal(TextTokenizer.Load(Healed(workDir)).Encode(Prompt), TextTokenizer.Load(outDir).Encode(Prompt));
        Assert.False(Directory.Exists(TrainCheckpoint.Folder(outDir)));
        Assert.False(File.Exists(Path.Combine(outDir, "train_result.json")));
        Assert.Empty(Directory.GetDirectories(Path.GetDirectoryName(outDir)!, ".*"));

        var lineage = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, CandidateArtifacts.LineageFile))).RootElement;
        var outcome = CandidatePipeline.ReadResult(workDir)!;
        Assert.Equal([1, 3], lineage.GetProperty("removed").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(outcome.Removed, lineage.GetProperty("removed").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(Path.GetFullPath(candidates.BaseModel), lineage.GetProperty("base_model").GetString());
        Assert.Equal("artifacts", lineage.GetProperty("sweep").GetString());
        Assert.Equal("r2-h512", lineage.GetProperty("candidate").GetString());
        Assert.Equal("max-gap", lineage.GetProperty("strategy").GetString());
        Assert.Equal(512, lineage.GetProperty("heal_tokens").GetInt64());
        Assert.Equal("pretrain", lineage.GetProperty("heal_method").GetString());
        Assert.Equal(3, lineage.GetProperty("seed").GetInt64());
        Assert.Equal(4, lineage.GetProperty("heal_steps").GetInt64());
        Assert.Equal(outcome.TaskScores["continuation"], lineage.GetProperty("scores").GetProperty("continuation").GetDouble());
        Assert.Equal(outcome.TaskStderrs["continuation"], lineage.GetProperty("score_stderrs").GetProperty("continuation").GetDouble());
        Assert.Equal(12, lineage.GetProperty("score_counts").GetProperty("continuation").GetInt32());
        Assert.Equal(candidates.Healed.Data.Select(Path.GetFullPath), lineage.GetProperty("data").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(32, lineage.GetProperty("train").GetProperty("seq_len").GetInt32());
        Assert.True(lineage.GetProperty("exported_utc").GetDateTime() > DateTime.UtcNow.AddMinutes(-5));
    }

    [Fact]
    public void A_pruned_baseline_candidate_exports_the_base_model_with_no_removed_layers()
    {
        var workDir = FinishedCandidates.CopyOf(candidates.Baseline);
        Assert.Equal(new Freed(0, 0), CandidateArtifacts.Prune(workDir));
        var outDir = Path.Combine(TestModels.TempFolder(), "exported");
        CandidateArtifacts.Export(workDir, candidates.BaseModel, outDir, Lineage.Of("artifacts", candidates.Baseline));

        using var baseLogits = Logits(candidates.BaseModel);
        using var exported = Logits(outDir);
        Assert.Equal(0, TestModels.MaxAbsDiff(baseLogits, exported));
        var lineage = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, CandidateArtifacts.LineageFile))).RootElement;
        Assert.Empty(lineage.GetProperty("removed").EnumerateArray());
        Assert.Equal(0, lineage.GetProperty("heal_steps").GetInt64());
    }

    [Fact]
    public void Exporting_into_a_folder_that_is_not_empty_is_refused_and_leaves_it_as_it_was()
    {
        var outDir = TestModels.TempFolder();
        File.WriteAllText(Path.Combine(outDir, "notes.txt"), "mine");
        var refusal = Assert.Throws<LayerChopException>(() =>
            CandidateArtifacts.Export(candidates.Healed.WorkDir, candidates.BaseModel, outDir, Lineage.Of("artifacts", candidates.Healed)));
        Assert.DoesNotContain('\n', refusal.Message);
        Assert.Contains("not empty", refusal.Message);
        Assert.Equal(["notes.txt"], Directory.GetFileSystemEntries(outDir).Select(Path.GetFileName));
    }

    [Fact]
    public void An_export_after_a_crashed_one_holds_only_the_model_and_its_lineage()
    {
        var parent = TestModels.TempFolder();
        var outDir = Path.Combine(parent, "exported");
        // A crashed export left its partial folder, and an empty output folder stands in the way.
        var partial = Directory.CreateDirectory(Path.Combine(parent, ".exported.partial")).FullName;
        File.WriteAllText(Path.Combine(partial, "optimizer.safetensors"), "half");
        Directory.CreateDirectory(outDir);

        CandidateArtifacts.Export(candidates.Healed.WorkDir, candidates.BaseModel, outDir, Lineage.Of("artifacts", candidates.Healed));

        Assert.Equal(["exported"], Directory.GetFileSystemEntries(parent).Select(Path.GetFileName));
        // The healed model's files, the training record traded for the lineage.
        var expected = Directory.GetFiles(Healed(candidates.Healed.WorkDir)).Select(Path.GetFileName)
            .Where(f => f != "train_result.json").Append(CandidateArtifacts.LineageFile).Order(StringComparer.Ordinal);
        Assert.Equal(expected, Directory.GetFileSystemEntries(outDir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }
}
