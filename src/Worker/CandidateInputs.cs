using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using LayerChop.Engine;
using LayerChop.Engine.Checkpoints;
using LayerChop.Engine.Data;
using LayerChop.Settings;

namespace LayerChop.Worker;

/// <summary>
/// Everything that decides a candidate's result, recorded in its folder (<see cref="FileName"/>) before any work
/// is done there: the sweep it belongs to, the base model's files, the healing corpus's files, the evaluation's
/// files and every setting of the job. A worker reuses what a folder holds only when the record matches its job:
/// <list type="bullet">
/// <item>another sweep's record: the folder is refused (a sweep never takes another sweep's work as its own);</item>
/// <item>changed model, corpus, chop or healing: every stage is done again (a chopped model made before the
/// tokenizer was copied into the base model is not reused);</item>
/// <item>changed evaluation only: the chopped and healed models stay, the evaluation is done again.</item>
/// </list>
/// A file is known by its path, length and last write time: copying a changed file in is a change, even with
/// the same length. A folder's work from before such records existed cannot be vouched for and is done again.
/// </summary>
public sealed record CandidateInputs
{
    public const string FileName = "inputs.json";

    public required string Sweep { get; init; }
    public required string Candidate { get; init; }
    /// <summary>The base model's files that loading reads (config, weights, tokenizer): relative path -> identity.</summary>
    public required SortedDictionary<string, string> BaseModel { get; init; }
    /// <summary>The corpus files the candidate reads (all of the healing data when it heals, the calibration text
    /// when a measured strategy chops it): path -> identity.</summary>
    public required SortedDictionary<string, string> Data { get; init; }
    /// <summary>What the chop and the healing were told: strategy, tokens, method, seed, text field, train settings,
    /// calibration, and a LoRA candidate's adapters (the key only for such a candidate).</summary>
    public required JsonObject Making { get; init; }
    /// <summary>The evaluation's settings and files (task data, held-out text).</summary>
    public required JsonObject Evaluation { get; init; }

    static JsonSerializerOptions Json => JsonFormat.Indented;

    /// <summary>The record of <paramref name="job"/>'s inputs as they are on disk now.</summary>
    public static CandidateInputs Of(CandidateJob job)
    {
        // The corpus counts where the candidate reads it: healing reads all of it, a measured chop its calibration text.
        bool heals = job.HealTokens > 0, calibrates = job.Chop is CriterionChop;
        var calibration = calibrates ? job.Calibration ?? job.Data.FirstOrDefault() : null;
        var read = (heals ? job.Data : []).Append(calibration).OfType<string>().Distinct().ToList();
        var data = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (read.Count > 0)
            foreach (var file in CorpusSources.Of(read)) data[file.Path] = Identity(file.Bytes, file.ModifiedUtc);
        var making = new JsonObject
        {
            ["chop"] = job.Chop is null ? null : JsonSerializer.SerializeToNode(job.Chop, Json),
            ["heal_tokens"] = job.HealTokens,
            ["heal_method"] = job.HealTokens > 0 ? HealMethods.Name(job.HealMethod) : null,
            ["seed"] = job.Seed,
            ["text_field"] = job.TextField,
            ["train"] = heals ? JsonSerializer.SerializeToNode(job.Train, Json) : null,
            ["calibration"] = calibrates ? new JsonObject
            {
                ["path"] = calibration, ["sequences"] = job.CalibrationSequences, ["length"] = job.CalibrationLength,
            } : null,
        };
        if (heals && job.HealMethod == HealMethod.Lora) making["lora"] = JsonSerializer.SerializeToNode(job.Lora, Json);
        var evalFiles = new JsonObject();
        foreach (var path in new[] { job.Eval.TaskDir, job.Eval.Perplexity }.Where(p => !string.IsNullOrEmpty(p)).Distinct())
            foreach (var (name, identity) in Files(path!)) evalFiles[name] = identity;
        return new CandidateInputs
        {
            Sweep = job.Sweep, Candidate = job.Id, BaseModel = ModelFiles(job.BaseModel), Data = data, Making = making,
            Evaluation = new JsonObject { ["settings"] = JsonSerializer.SerializeToNode(job.Eval, Json), ["files"] = evalFiles },
        };
    }

    /// <summary>The folder's record; null when it has none.</summary>
    public static CandidateInputs? Read(string workDir)
    {
        var path = Path.Combine(workDir, FileName);
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<CandidateInputs>(File.ReadAllText(path), Json); }
        catch (JsonException e) { throw new LayerChopException($"{path} is not a candidate's input record ({e.Message.Split('\n')[0]}); delete the candidate folder to start it afresh"); }
    }

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>What must be done again when a folder recorded <paramref name="recorded"/> and the job now finds these inputs.</summary>
    public Redo Compare(CandidateInputs? recorded)
    {
        if (recorded is null) return Redo.Everything;
        if (recorded.Sweep != Sweep) return Redo.Refuse;
        if (!Same(recorded.BaseModel, BaseModel) || !Same(recorded.Data, Data) || !JsonNode.DeepEquals(recorded.Making, Making) || recorded.Candidate != Candidate)
            return Redo.Everything;
        return JsonNode.DeepEquals(recorded.Evaluation, Evaluation) ? Redo.Nothing : Redo.Evaluation;
    }

    /// <summary>In words, what differs from <paramref name="recorded"/> (for the worker's message).</summary>
    public string Describe(CandidateInputs? recorded)
    {
        if (recorded is null) return "the folder's work has no record of the inputs it was made from";
        var changes = new List<string>();
        if (recorded.Sweep != Sweep) changes.Add($"it holds sweep '{recorded.Sweep}''s candidate, not sweep '{Sweep}''s");
        if (recorded.Candidate != Candidate) changes.Add($"it was made for candidate {recorded.Candidate}");
        if (Changed(recorded.BaseModel, BaseModel) is { } model) changes.Add($"base model files {model}");
        if (Changed(recorded.Data, Data) is { } data) changes.Add($"healing corpus files {data}");
        if (!JsonNode.DeepEquals(recorded.Making, Making)) changes.Add("chop or healing settings changed");
        if (!JsonNode.DeepEquals(recorded.Evaluation, Evaluation)) changes.Add("evaluation settings or files changed");
        return string.Join("; ", changes);
    }

    static bool Same(SortedDictionary<string, string> a, SortedDictionary<string, string> b) => a.Count == b.Count && a.All(p => b.TryGetValue(p.Key, out var v) && v == p.Value);

    static string? Changed(SortedDictionary<string, string> before, SortedDictionary<string, string> now)
    {
        var added = now.Keys.Where(k => !before.ContainsKey(k)).ToList();
        var removed = before.Keys.Where(k => !now.ContainsKey(k)).ToList();
        var changed = now.Keys.Where(k => before.TryGetValue(k, out var v) && v != now[k]).ToList();
        var parts = new List<string>();
        if (added.Count > 0) parts.Add("added: " + Some(added));
        if (removed.Count > 0) parts.Add("removed: " + Some(removed));
        if (changed.Count > 0) parts.Add("changed: " + Some(changed));
        return parts.Count == 0 ? null : string.Join(", ", parts);
    }

    static string Some(List<string> names) => string.Join(" ", names.Take(3).Select(Path.GetFileName)) + (names.Count > 3 ? $" and {names.Count - 3} more" : "");

    /// <summary>The files of a model folder that loading reads, by name.</summary>
    static SortedDictionary<string, string> ModelFiles(string folder)
    {
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (!Directory.Exists(folder)) return files;
        foreach (var file in Directory.EnumerateFiles(folder))
        {
            var name = Path.GetFileName(file);
            if (name == "config.json" || name.EndsWith(".safetensors", StringComparison.Ordinal) || name == SafeTensorsCheckpoint.IndexFileName
                || ModelFolder.TokenizerFiles.Contains(name))
                files[name] = Identity(file);
        }
        return files;
    }

    /// <summary>A file, or every file under a folder, by full path.</summary>
    static IEnumerable<(string, string)> Files(string path)
    {
        var full = Path.GetFullPath(path);
        if (File.Exists(full)) return [(full, Identity(full))];
        if (!Directory.Exists(full)) return [(full, "missing")];
        return Directory.EnumerateFiles(full, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Select(f => (f, Identity(f)));
    }

    static string Identity(string file)
    {
        var info = new FileInfo(file);
        return Identity(info.Length, info.LastWriteTimeUtc);
    }

    static string Identity(long bytes, DateTime writtenUtc) =>
        string.Create(CultureInfo.InvariantCulture, $"{bytes} bytes, written {writtenUtc:O}");
}

/// <summary>What a candidate's folder must do again before its work can be reused (see <see cref="CandidateInputs"/>).</summary>
public enum Redo
{
    Nothing,
    /// <summary>The evaluation only: the chopped and healed models were made from the same inputs.</summary>
    Evaluation,
    /// <summary>Every stage: the work was made from other inputs, or from inputs nobody recorded.</summary>
    Everything,
    /// <summary>The folder belongs to another sweep: nothing of it may be used or changed.</summary>
    Refuse,
}
