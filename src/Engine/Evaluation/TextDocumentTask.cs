using LayerChop.Settings;
namespace LayerChop.Engine.Evaluation;

/// <summary>
/// A built-in task made from plain documents rather than a labelled dataset: its questions are cut from held-out
/// text by a seeded rule, so any corpus gives one. Documents are read from D/NAME in any text form a corpus takes
/// (NAME.txt, NAME.jsonl, NAME.jsonl.gz, NAME.jsonl.zst, the text in <see cref="TextField"/>) or from a folder
/// D/NAME/ of such files (see <see cref="TextDocuments"/>).
/// </summary>
public abstract class TextDocumentTask : EvalTask
{
    /// <summary>The field of a JSONL line that holds a document's text.</summary>
    public string TextField { get; init; } = TextCorpus.DefaultField;

    static readonly string[] Forms = [".txt", ".jsonl", ".jsonl.gz", ".jsonl.zst", ""];

    public override IReadOnlyList<TaskDoc> Load(string taskDir, int? limit = null)
    {
        if (limit is < 1) throw new LayerChopException($"limit must be at least 1, not {limit}");
        var source = Locate(taskDir);
        return Build(TextDocuments.Read(source, TextField), limit, source);
    }

    public override void CheckData(string taskDir) => Locate(taskDir);

    /// <summary>Questions from documents: the first <paramref name="limit"/> of the task's seeded order.</summary>
    /// <exception cref="LayerChopException">too few or too short documents to make the task's questions.</exception>
    public abstract IReadOnlyList<TaskDoc> Build(IReadOnlyList<string> documents, int? limit, string origin);

    /// <summary>The one file or folder that holds the task's documents.</summary>
    public string Locate(string taskDir)
    {
        if (!Directory.Exists(taskDir)) throw new LayerChopException($"task directory {taskDir} not found");
        var found = Forms.Select(form => Path.Combine(taskDir, Name + form))
            .Where(p => File.Exists(p) || Directory.Exists(p)).ToList();
        if (found.Count == 0)
            throw new LayerChopException($"no data for task {Name} in {taskDir}: expected {string.Join(", ", Forms.Where(f => f.Length > 0).Select(f => Name + f))} (field \"{TextField}\") or a folder {Name}/ of such files");
        if (found.Count > 1)
            throw new LayerChopException($"task {Name}: both {string.Join(" and ", found)} exist; keep one");
        return found[0];
    }
}

/// <summary>A small deterministic generator (splitmix64), the same everywhere, unlike System.Random's contract.</summary>
sealed class SplitMix64(ulong seed)
{
    ulong state = seed;

    public int Next(int exclusiveMax)
    {
        state += 0x9E3779B97F4A7C15UL;
        ulong z = state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (int)(z % (ulong)exclusiveMax);
    }

    /// <summary>Fisher-Yates, in place.</summary>
    public void Shuffle<T>(IList<T> items)
    {
        for (int i = items.Count - 1; i > 0; i--)
        {
            int j = Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
