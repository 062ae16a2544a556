using System.IO.Compression;
using System.Text;
using System.Text.Json;
using LayerChop.Settings;
using ZstdSharp;

namespace LayerChop.Engine.Data;

/// <summary>
/// Text documents of a corpus, one at a time. A JSONL line is one document (its text field; blank lines are skipped).
/// A <c>.txt</c> file is one document, unless it is longer than <see cref="TextDocumentChars"/> characters: then it
/// is cut into documents at the first blank line after every <see cref="TextDocumentChars"/> characters, so that
/// neither reading nor tokenizing ever needs a whole large file in memory, and a big text file still gives the
/// held-out split documents to choose from. Empty documents are skipped.
/// </summary>
public static class Documents
{
    /// <summary>A plain-text document is closed at the first blank line after this many characters.</summary>
    public const int TextDocumentChars = 1 << 20;

    /// <summary>Without any blank line, a plain-text document is closed at a line break (or anywhere) at this length.</summary>
    internal const int TextDocumentMaxChars = 4 * TextDocumentChars;

    /// <summary>
    /// The text documents of <paramref name="paths"/> (JSONL and .txt files; folders expanded as for
    /// <see cref="CorpusOptions.Paths"/>), for evaluation on raw text. Paths are checked at once; file contents as
    /// the documents are enumerated. Pre-tokenized files hold no text and are refused.
    /// </summary>
    public static IEnumerable<string> Read(IReadOnlyList<string> paths, string textField = TextCorpus.DefaultField)
    {
        ArgumentException.ThrowIfNullOrEmpty(textField);
        var files = CorpusFiles.Expand(paths, uint32Bin: false);
        foreach (var file in files)
            if (file.IsPreTokenized)
                throw new LayerChopException($"corpus file {file.Path} is pre-tokenized; this needs text (.jsonl, .jsonl.gz, .jsonl.zst, .txt)");
        return ReadAll(files, textField);
    }

    private static IEnumerable<string> ReadAll(IReadOnlyList<CorpusFile> files, string textField)
    {
        foreach (var file in files)
        {
            using var raw = CorpusFiles.OpenRead(file.Path);
            foreach (string text in ReadFile(file, raw, textField))
                yield return text;
        }
    }

    /// <summary>The documents of one text file, read from <paramref name="raw"/> (whose position tells the caller how far it got).</summary>
    internal static IEnumerable<string> ReadFile(CorpusFile file, FileStream raw, string textField) => file.Kind switch
    {
        CorpusFileKind.Jsonl or CorpusFileKind.JsonlGzip or CorpusFileKind.JsonlZstd => ReadJsonl(file, raw, textField),
        CorpusFileKind.Text => ReadText(file, raw),
        _ => throw new ArgumentException($"{file.Path} is not a text file", nameof(file)),
    };

    /// <summary>The decompressing stream over <paramref name="raw"/>, or null when the file is stored plain.</summary>
    private static Stream? Decompressor(CorpusFile file, FileStream raw) => file.Kind switch
    {
        CorpusFileKind.JsonlGzip => new GZipStream(raw, CompressionMode.Decompress, leaveOpen: true),
        CorpusFileKind.JsonlZstd => new DecompressionStream(raw, leaveOpen: true),
        _ => null,
    };

    private static IEnumerable<string> ReadJsonl(CorpusFile file, FileStream raw, string textField)
    {
        // The caller owns raw and reads its position for progress, so nothing here may close it.
        using var decompressor = Decompressor(file, raw);
        using var reader = new StreamReader(decompressor ?? raw, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16, leaveOpen: true);
        long lineNumber = 0;
        while (true)
        {
            string? line;
            try
            {
                line = reader.ReadLine();
            }
            catch (Exception e) when (IsReadFailure(e))
            {
                throw CorpusFiles.Unreadable(file.Path, e);
            }
            if (line is null)
                yield break;
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
                continue;
            string text = TextOfLine(file.Path, lineNumber, line, textField);
            if (text.Length > 0)
                yield return text;
        }
    }

    private static string TextOfLine(string path, long lineNumber, string line, string textField)
    {
        JsonDocument json;
        try
        {
            json = JsonDocument.Parse(line);
        }
        catch (JsonException e)
        {
            throw new LayerChopException($"{path}: line {lineNumber} is not valid JSON ({CorpusFiles.OneLine(e.Message)})");
        }
        using (json)
        {
            if (json.RootElement.ValueKind != JsonValueKind.Object)
                throw new LayerChopException($"{path}: line {lineNumber} is not a JSON object");
            if (!json.RootElement.TryGetProperty(textField, out var value) || value.ValueKind != JsonValueKind.String)
                throw new LayerChopException($"{path}: line {lineNumber} has no string field \"{textField}\"");
            return value.GetString()!;
        }
    }

    private static IEnumerable<string> ReadText(CorpusFile file, FileStream raw)
    {
        using var reader = new StreamReader(raw, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16, leaveOpen: true);
        var pending = new char[TextDocumentChars + (1 << 16)];
        int length = 0;
        int searchFrom = TextDocumentChars;
        while (true)
        {
            if (pending.Length - length < 1 << 16)
                Array.Resize(ref pending, pending.Length * 2);
            int read;
            try
            {
                read = reader.Read(pending, length, pending.Length - length);
            }
            catch (Exception e) when (IsReadFailure(e))
            {
                throw CorpusFiles.Unreadable(file.Path, e);
            }
            if (read == 0)
                break;
            length += read;
            while (length > TextDocumentChars)
            {
                int cut = DocumentEnd(pending.AsSpan(0, length), searchFrom);
                if (cut < 0)
                {
                    // Resume the blank-line search just before the unsearched text: a blank line may straddle the seam.
                    searchFrom = Math.Max(TextDocumentChars, length - 2);
                    break;
                }
                yield return new string(pending, 0, cut);
                Array.Copy(pending, cut, pending, 0, length - cut);
                length -= cut;
                searchFrom = TextDocumentChars;
            }
        }
        if (length > 0)
            yield return new string(pending, 0, length);
    }

    /// <summary>Where the document that fills <paramref name="text"/> ends, or -1 to read on.</summary>
    private static int DocumentEnd(ReadOnlySpan<char> text, int searchFrom)
    {
        int blank = BlankLineEnd(text, searchFrom);
        if (blank >= 0)
            return blank;
        if (text.Length < TextDocumentMaxChars)
            return -1;
        int lastBreak = text[TextDocumentChars..TextDocumentMaxChars].LastIndexOf('\n');
        int cut = lastBreak >= 0 ? TextDocumentChars + lastBreak + 1 : TextDocumentMaxChars;
        if (char.IsHighSurrogate(text[cut - 1]))
            cut--;
        return cut;
    }

    /// <summary>The index just after the first blank line ("\n\n" or "\n\r\n") that starts at or after <paramref name="from"/>.</summary>
    private static int BlankLineEnd(ReadOnlySpan<char> text, int from)
    {
        for (int i = text[from..].IndexOf('\n'); i >= 0;)
        {
            int at = from + i;
            if (at + 1 < text.Length && text[at + 1] == '\n')
                return at + 2;
            if (at + 2 < text.Length && text[at + 1] == '\r' && text[at + 2] == '\n')
                return at + 3;
            from = at + 1;
            i = text[from..].IndexOf('\n');
        }
        return -1;
    }

    private static bool IsReadFailure(Exception e) => e is IOException or InvalidDataException or ZstdException or UnauthorizedAccessException;
}
