using System.Text.Json;
using System.Text.RegularExpressions;

namespace LayerChop.Client.Tests;

/// <summary>The first documents of the Brown Corpus (tests/.data/brown, fetched by set-up) as a JSONL corpus, tags stripped.</summary>
public static class BrownTestCorpus
{
    public static string WriteJsonl(int documents, string path)
    {
        var brown = Path.Combine(LayerChopProcess.RepoRoot, "tests", ".data", "brown");
        if (!File.Exists(Path.Combine(brown, "cats.txt")))
            throw new InvalidOperationException($"{brown} is missing: run tests/fetch-test-data.sh (deploy/setup.sh does)");
        File.WriteAllLines(path, Directory.GetFiles(brown)
            .Where(f => Regex.IsMatch(Path.GetFileName(f), "^c[a-r][0-9][0-9]$")).Order().Take(documents)
            .Select(f => JsonSerializer.Serialize(new { text = string.Join(' ', File.ReadAllText(f)
                .Split((char[])[' ', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries)
                .Select(t => t.LastIndexOf('/') is int slash and > 0 ? t[..slash] : t)) })));   // word/tag -> word
        return path;
    }
}
