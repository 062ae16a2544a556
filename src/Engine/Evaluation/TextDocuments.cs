using System.Text.Json;
using System.Text.Json.Nodes;

namespace LayerChop.Engine.Evaluation;

/// <summary>
/// Plain-text documents for perplexity and the continuation task. A .txt file is one document; a .jsonl file
/// holds one document per line in its "text" field; a folder means every .txt and .jsonl file under it, in
/// ordinal name order. Empty documents are skipped.
/// </summary>
public static class TextDocuments
{
    public static IReadOnlyList<string> Read(string path)
    {
        IEnumerable<string> files;
        if (Directory.Exists(path))
            files = Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories)
                .Where(f => Path.GetExtension(f).ToLowerInvariant() is ".txt" or ".jsonl")
                .Order(StringComparer.Ordinal);
        else if (File.Exists(path))
            files = [path];
        else
            throw new LayerChopException($"{path}: no such file or folder");

        var documents = new List<string>();
        foreach (var file in files)
        {
            switch (Path.GetExtension(file).ToLowerInvariant())
            {
                case ".txt":
                    var text = File.ReadAllText(file);
                    if (!string.IsNullOrWhiteSpace(text)) documents.Add(text);
                    break;
                case ".jsonl":
                    int number = 0;
                    foreach (var line in File.ReadLines(file))
                    {
                        number++;
                        if (string.IsNullOrWhiteSpace(line)) continue;
                        JsonNode? node;
                        try { node = JsonNode.Parse(line); }
                        catch (JsonException e) { throw new LayerChopException($"{file} row {number}: not valid JSON ({DatasetFiles.FirstLine(e.Message)})"); }
                        if (node is not JsonObject obj || !obj.TryGetPropertyValue("text", out var field) || field is null)
                            throw new LayerChopException($"{file} row {number}: missing field \"text\"");
                        if (field is not JsonValue v || !v.TryGetValue<string>(out var s))
                            throw new LayerChopException($"{file} row {number}: field \"text\" is not a string");
                        if (!string.IsNullOrWhiteSpace(s)) documents.Add(s);
                    }
                    break;
                default:
                    throw new LayerChopException($"{file}: not a text file (expected .txt or .jsonl)");
            }
        }
        if (documents.Count == 0) throw new LayerChopException($"{path}: no documents (expected .txt files or .jsonl lines with a \"text\" field)");
        return documents;
    }
}
