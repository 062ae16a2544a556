namespace LayerChop.Engine.Evaluation;

/// <summary>
/// Where a task's rows live under the task directory D. The rule, in order:
/// <list type="number">
/// <item>a file D/&lt;task&gt;.jsonl or D/&lt;task&gt;.parquet holds the rows of the split the harness evaluates;</item>
/// <item>else a folder D/&lt;task&gt;/ (searched recursively, as a Hugging Face dataset download lays it out) holds
/// files named after that split: &lt;split&gt;.jsonl, &lt;split&gt;.parquet, or shards &lt;split&gt;-*.jsonl /
/// &lt;split&gt;-*.parquet (such as validation-00000-of-00001.parquet), read in name order. When several
/// sub-folders hold such files (a download of every configuration), the one named after the harness's
/// configuration is used (winogrande_xl, ARC-Easy, ARC-Challenge, main); otherwise it is an error.</item>
/// </list>
/// The splits are the harness's: piqa, hellaswag, winogrande and boolq use validation; arc_easy, arc_challenge,
/// openbookqa, sciq and lambada_openai use test.
/// </summary>
public static class TaskFiles
{
    public static IReadOnlyList<string> Locate(string taskDir, string task, string split, string? config = null)
    {
        if (!Directory.Exists(taskDir)) throw new LayerChopException($"task directory {taskDir} not found");
        var direct = DatasetFiles.Extensions.Select(e => Path.Combine(taskDir, task + e)).Where(File.Exists).ToList();
        if (direct.Count > 1)
            throw new LayerChopException($"both {string.Join(" and ", direct)} exist for task {task}; keep one");
        if (direct.Count == 1) return direct;

        string folder = Path.Combine(taskDir, task);
        var expected = $"{task}.jsonl, {task}.parquet or a folder {task}/ holding {split}.jsonl, {split}.parquet or shards {split}-*.parquet";
        if (!Directory.Exists(folder))
            throw new LayerChopException($"no data for task {task} in {taskDir}: expected {expected}");
        var files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Where(f => DatasetFiles.Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .Where(f =>
            {
                var name = Path.GetFileNameWithoutExtension(f);
                return name == split || name.StartsWith(split + "-", StringComparison.Ordinal);
            })
            .ToList();
        if (files.Count == 0)
            throw new LayerChopException($"no {split} split for task {task} in {folder}: expected {split}.jsonl, {split}.parquet or shards {split}-*.parquet (the harness evaluates {task} on {split})");
        var byFolder = files.GroupBy(f => Path.GetDirectoryName(f)!).ToList();
        if (byFolder.Count > 1)
        {
            var preferred = config is null ? null : byFolder.FirstOrDefault(g => Path.GetFileName(g.Key) == config);
            if (preferred is null)
                throw new LayerChopException($"task {task}: {split} files in several folders ({string.Join(", ", byFolder.Select(g => g.Key))}); keep one" +
                                             (config is null ? "" : $" or name it {config}"));
            files = preferred.ToList();
        }
        if (files.Select(f => Path.GetExtension(f).ToLowerInvariant()).Distinct().Count() > 1)
            throw new LayerChopException($"task {task}: both .jsonl and .parquet {split} files in {Path.GetDirectoryName(files[0])}; keep one format");
        return files.Order(StringComparer.Ordinal).ToList();
    }
}
