using LayerChop.Engine.Data;
using LayerChop.Settings;

namespace LayerChop.Engine.Evaluation;

/// <summary>
/// Plain-text documents for perplexity and the continuation task, read exactly as the trainer reads a corpus
/// (<see cref="Documents"/>): .txt files, JSONL (.jsonl, .jsonl.gz, .jsonl.zst) with a "text" field, or folders of them.
/// </summary>
public static class TextDocuments
{
    public static IReadOnlyList<string> Read(string path, string textField = TextCorpus.DefaultField)
    {
        var documents = Documents.Read([path], textField).Where(d => !string.IsNullOrWhiteSpace(d)).ToList();
        if (documents.Count == 0) throw new LayerChopException($"{path}: no documents (expected .txt files or JSONL lines with a \"{textField}\" field)");
        return documents;
    }
}
