using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using LayerChop.Engine;
using LayerChop.Engine.Checkpoints;
using LayerChop.Engine.Chopping;
using LayerChop.Engine.Training;
using LayerChop.Settings;
using LayerChop.Specs;

namespace LayerChop.Worker;

/// <summary>
/// What the caller of an export knows about a candidate: its sweep, the configuration it ran, and what it was
/// healed on and how (the sweep's healing corpus, the documents' text field, the training settings and, for a
/// candidate healed by LoRA, its adapters). lineage.json writes each member under its snake_case name.
/// </summary>
public sealed record Lineage(string Sweep, string Candidate, string Strategy, long HealTokens, string HealMethod, long Seed,
    IReadOnlyList<string> Data, string TextField, TrainSettings Train,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] LoraSettings? Lora = null)
{
    public static Lineage Of(string sweep, CandidateJob job)
    {
        var method = job.HealTokens > 0 ? HealMethods.Name(job.HealMethod) : CandidateConfig.None;
        return new(sweep, job.Id, job.Chop?.Strategy ?? CandidateConfig.None, job.HealTokens, method, job.Seed, job.Data, job.TextField, job.Train,
            HealMethods.Is(method, Settings.HealMethod.Lora) ? job.Lora : null);
    }

    /// <summary>A sweep's candidate as its spec and configuration describe it.</summary>
    public static Lineage Of(SweepSpec spec, CandidateConfig c) =>
        new(spec.Name, c.Id, c.Strategy, c.HealTokens, c.HealMethod, c.Seed, spec.Data, spec.TextField, spec.Train,
            HealMethods.Is(c.HealMethod, Settings.HealMethod.Lora) ? spec.Lora : null);
}

/// <summary>What a prune deleted.</summary>
public sealed record Freed(long Files, long Bytes);

/// <summary>
/// A finished candidate's folder (see <see cref="CandidatePipeline"/>): which model it ended with, pruning
/// what was kept only to resume, and exporting its model as a standalone Hugging Face folder.
/// </summary>
public static class CandidateArtifacts
{
    public const string ChoppedFolder = "chopped";
    public const string HealedFolder = "healed";
    public const string LineageFile = "lineage.json";
    /// <summary>A data-driven strategy's measured selection of layers.</summary>
    public const string SelectionFile = "selection.json";
    public const string EvalFile = "eval.json";
    /// <summary>Where a prune moves what it deletes; a prune that was interrupted leaves it for the next one.</summary>
    internal const string Trash = ".prune.tmp";

    /// <summary>
    /// The folder of the candidate's final model: healed/ when healing completed there, else chopped/, else the
    /// base model (a baseline, or a candidate that chops while healing and has not finished). Both folders gain
    /// config.json last, so a folder with it holds a complete model.
    /// </summary>
    public static string FinalModel(string workDir, string baseModel)
    {
        foreach (var folder in new[] { HealedFolder, ChoppedFolder })
        {
            var path = Path.Combine(workDir, folder);
            if (IsCompleteModel(path)) return path;
        }
        return baseModel;
    }

    /// <summary>
    /// Deletes what a finished candidate kept only to resume: every temporary file or folder (<c>*.tmp</c>,
    /// <c>*.partial</c>) of the candidate's folder and, once healed/ holds the complete healed model, healed/'s
    /// own temporary entries, its checkpoints (weights and optimizer moments) and the chopped model it healed
    /// from. The final model with its chop record and train_result.json stays, as do the attempts' job files, selection.json,
    /// eval.json, result.json and anything else. Each doomed entry is first renamed into one trash folder, then
    /// the trash is deleted: an interrupted prune never leaves a half-deleted model under its own name, and the
    /// next prune finishes its work (and counts it in what it freed).
    /// </summary>
    public static Freed Prune(string workDir)
    {
        if (!File.Exists(Path.Combine(workDir, CandidatePipeline.ResultFile)))
            throw new LayerChopException($"{workDir} has no {CandidatePipeline.ResultFile} yet; prune a candidate only once it has finished, its checkpoints are what resumes it");
        var healed = Path.Combine(workDir, HealedFolder);
        var doomed = TemporaryEntries(workDir).Where(e => Path.GetFileName(e) != Trash).ToList();
        // Until healed/ holds a complete model, its checkpoints and the chopped model are all there is of it.
        if (IsCompleteModel(healed))
            doomed.AddRange(TemporaryEntries(healed)
                .Concat(new[] { TrainCheckpoint.Folder(healed), Path.Combine(workDir, ChoppedFolder) }.Where(Directory.Exists)));

        return Discard(workDir, doomed);
    }

    /// <summary>
    /// The entries of a candidate's folder that stages made, which <see cref="CandidateInputs"/> may call out of
    /// date: the evaluation and the result only, or every stage's work (with its unfinished temporary entries).
    /// </summary>
    public static IReadOnlyList<string> Products(string workDir, bool evaluationOnly)
    {
        string[] names = evaluationOnly ? [EvalFile, CandidatePipeline.ResultFile]
            : [SelectionFile, ChoppedFolder, HealedFolder, EvalFile, CandidatePipeline.ResultFile];
        var entries = names.Select(n => Path.Combine(workDir, n)).Where(e => File.Exists(e) || Directory.Exists(e));
        if (!evaluationOnly)
            entries = entries.Concat(TemporaryEntries(workDir))
                .Concat(Directory.EnumerateDirectories(workDir, ".chopped.*"));
        return entries.Where(e => Path.GetFileName(e) != Trash).Distinct().ToList();
    }

    /// <summary>Deletes <paramref name="doomed"/> (entries of <paramref name="workDir"/>), each first renamed into one trash folder.</summary>
    public static Freed Discard(string workDir, IReadOnlyList<string> doomed)
    {
        var trash = Path.Combine(workDir, Trash);
        Directory.CreateDirectory(trash);
        foreach (var entry in doomed)
        {
            // Named by its place in the candidate's folder, so entries of the same name do not collide.
            var into = Path.Combine(trash, Path.GetRelativePath(workDir, entry).Replace(Path.DirectorySeparatorChar, '+'));
            if (Directory.Exists(into)) Directory.Delete(into, recursive: true);
            if (Directory.Exists(entry)) Directory.Move(entry, into);
            else File.Move(entry, into, overwrite: true);
        }
        var sizes = Directory.EnumerateFiles(trash, "*", SearchOption.AllDirectories).Select(f => new FileInfo(f).Length).ToList();
        Directory.Delete(trash, recursive: true);
        return new Freed(sizes.Count, sizes.Sum());
    }

    /// <summary>
    /// Writes the candidate's final model to <paramref name="outDir"/> as a self-contained Hugging Face model folder:
    /// config.json, the weights (model.safetensors, or the index and its shards), the tokenizer and generation
    /// files, the chop record, and lineage.json (where it came from, how it was made, what it scored). The folder
    /// is assembled beside <paramref name="outDir"/> and renamed into place, so it exists only when complete.
    /// </summary>
    public static void Export(string workDir, string baseModel, string outDir, Lineage lineage)
    {
        var outcome = CandidatePipeline.ReadResult(workDir)
            ?? throw new LayerChopException($"{workDir} has no {CandidatePipeline.ResultFile} yet; export a candidate once it has finished");
        var model = FinalModel(workDir, baseModel);
        Chopper.CheckDestination(model, outDir);

        var full = Path.GetFullPath(outDir).TrimEnd(Path.DirectorySeparatorChar);
        var partial = Path.Combine(Path.GetDirectoryName(full)!, "." + Path.GetFileName(full) + ".partial");
        if (Directory.Exists(partial)) Directory.Delete(partial, recursive: true);
        Directory.CreateDirectory(partial);
        foreach (var file in ModelFiles(model))
            File.Copy(Path.Combine(model, file), Path.Combine(partial, file));
        File.WriteAllText(Path.Combine(partial, LineageFile), LineageJson(baseModel, lineage, outcome));
        // A copy that lacks config.json or a weight file fails here, before it takes the name.
        ModelSummary.Read(partial);

        if (Directory.Exists(full)) Directory.Delete(full);   // empty, checked above
        Directory.Move(partial, full);
    }

    static bool IsCompleteModel(string folder) => File.Exists(Path.Combine(folder, "config.json"));

    static IEnumerable<string> TemporaryEntries(string folder) => !Directory.Exists(folder) ? []
        : Directory.EnumerateFileSystemEntries(folder).Where(e => e.EndsWith(".tmp", StringComparison.Ordinal) || e.EndsWith(".partial", StringComparison.Ordinal));

    /// <summary>The files of a model folder that a model needs: weights as the loader reads them, config, tokenizer, chop record.</summary>
    static IEnumerable<string> ModelFiles(string model)
    {
        var weights = File.Exists(Path.Combine(model, SafeTensorsCheckpoint.SingleFileName))
            ? [SafeTensorsCheckpoint.SingleFileName]
            : Directory.EnumerateFiles(model, "model*.safetensors").Select(f => Path.GetFileName(f)).Append(SafeTensorsCheckpoint.IndexFileName);
        return weights.Concat(["config.json", Chopper.RecordFile, .. ModelFolder.TokenizerFiles])
            .Distinct().Where(f => File.Exists(Path.Combine(model, f)));
    }

    /// <summary>A record's own fields, without what it derives from them (a sweep spec refuses those).</summary>
    static readonly JsonSerializerOptions OwnFields = new(JsonFormat.Indented) { IgnoreReadOnlyProperties = true };

    /// <summary>
    /// lineage.json: where the model came from (base model, then the <see cref="Lineage"/>: sweep, candidate,
    /// configuration, and data, text_field and train as a sweep spec writes them), which layers it lost, how
    /// healing went, and what it scored, under the names of the sweep's results.json (params, scores,
    /// score_stderrs, score_counts, average, average_stderr, perplexity).
    /// </summary>
    public static string LineageJson(string baseModel, Lineage lineage, CandidateOutcome outcome)
    {
        var stderrs = outcome.TaskScores.Keys.ToDictionary(t => t, t => outcome.TaskStderrs.GetValueOrDefault(t) ?? double.NaN);
        var measured = new
        {
            removed = outcome.Removed,
            heal_steps = outcome.HealSteps,
            heal_final_loss = outcome.HealFinalLoss,
            heal_val_loss = outcome.HealValLoss,
            @params = outcome.Params,
            non_embedding_params = outcome.NonEmbeddingParams,
            scores = outcome.TaskScores,
            score_stderrs = stderrs,
            score_counts = outcome.TaskCounts,
            average = outcome.Average,
            average_stderr = StandardErrors.OfMean(stderrs.Values),
            perplexity = outcome.Perplexity,
            exported_utc = DateTime.UtcNow,
        };
        var known = JsonSerializer.SerializeToNode(lineage with { Data = [.. lineage.Data.Select(Path.GetFullPath)] }, OwnFields)!.AsObject();
        var json = new JsonObject { ["base_model"] = Path.GetFullPath(baseModel) };
        foreach (var (key, value) in known.Concat(JsonSerializer.SerializeToNode(measured, JsonFormat.Indented)!.AsObject()))
            json[key] = value?.DeepClone();
        return json.ToJsonString(JsonFormat.Indented) + "\n";
    }
}
