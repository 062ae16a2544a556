using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace LayerChop.Engine.Tokenization;

/// <summary>
/// Byte-level BPE as described by a Hugging Face tokenizer.json (GPT-2, Llama-3, Qwen style).
/// The pipeline follows the Hugging Face `tokenizers` library: added tokens are split out first, then the
/// normalizer (Unicode forms only), then the pre-tokenizer regexes (Split / ByteLevel(use_regex)) cut each
/// segment into pieces, each piece's UTF-8 bytes become byte-level characters, and the BPE merges (ranked in
/// file order) run inside each piece. With model.ignore_merges (Llama-3), a piece that is itself a vocabulary
/// entry is emitted whole, as Hugging Face does. The merge loop itself is Microsoft.ML.Tokenizers' BpeTokenizer,
/// given one piece at a time.
/// </summary>
internal sealed class ByteLevelBpeModel
{
    /// <summary>GPT-2's pre-tokenizer regex, used by ByteLevel(use_regex: true).</summary>
    internal const string Gpt2Pattern =
        @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private readonly Dictionary<string, int> _vocab;
    private readonly string?[] _idToToken;
    private readonly Dictionary<string, int> _addedByContent;
    private readonly Dictionary<int, string> _addedById;
    private readonly Regex? _addedSplitter;
    private readonly IReadOnlyList<Splitter> _splitters;
    private readonly bool _ignoreMerges;
    private readonly IReadOnlyList<NormalizationForm> _normalization;
    private readonly BpeTokenizer _merger;

    private ByteLevelBpeModel(
        Dictionary<string, int> vocab,
        string?[] idToToken,
        Dictionary<string, int> addedByContent,
        Dictionary<int, string> addedById,
        Regex? addedSplitter,
        IReadOnlyList<Splitter> splitters,
        bool ignoreMerges,
        IReadOnlyList<NormalizationForm> normalization,
        BpeTokenizer merger,
        int? templateBosId)
    {
        _vocab = vocab;
        _idToToken = idToToken;
        _addedByContent = addedByContent;
        _addedById = addedById;
        _addedSplitter = addedSplitter;
        _splitters = splitters;
        _ignoreMerges = ignoreMerges;
        _normalization = normalization;
        _merger = merger;
        TemplateBosId = templateBosId;
    }

    /// <summary>Largest id + 1 over the model vocabulary and the added tokens.</summary>
    public int VocabSize => _idToToken.Length;

    /// <summary>The special token that the post_processor puts first in a single sequence, if any.</summary>
    public int? TemplateBosId { get; }

    public int? TokenToId(string token)
    {
        if (_addedByContent.TryGetValue(token, out int id) || _vocab.TryGetValue(token, out id))
        {
            return id;
        }
        return null;
    }

    public void Encode(string text, List<int> output)
    {
        if (_addedSplitter is null)
        {
            EncodeSegment(text, output);
            return;
        }
        int start = 0;
        foreach (Match m in _addedSplitter.Matches(text))
        {
            if (m.Index > start)
            {
                EncodeSegment(text[start..m.Index], output);
            }
            output.Add(_addedByContent[m.Groups["t"].Value]);
            start = m.Index + m.Length;
        }
        if (start < text.Length)
        {
            EncodeSegment(text[start..], output);
        }
    }

    public string Decode(IEnumerable<int> ids)
    {
        var bytes = new List<byte>();
        foreach (int id in ids)
        {
            if (_addedById.TryGetValue(id, out string? added))
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(added));
                continue;
            }
            string? token = (uint)id < (uint)_idToToken.Length ? _idToToken[id] : null;
            if (token is null)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token id {id} is not in the vocabulary (size {VocabSize}).");
            }
            ByteLevel.AppendBytes(token, bytes);
        }
        // Invalid UTF-8 (a sequence cut between tokens) becomes U+FFFD, as Hugging Face's decoder does.
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private void EncodeSegment(string segment, List<int> output)
    {
        foreach (NormalizationForm form in _normalization)
        {
            segment = segment.Normalize(form);
        }
        if (segment.Length == 0)
        {
            return;
        }
        if (_splitters.Count == 0)
        {
            EncodePiece(segment, output);
            return;
        }
        foreach (string piece in Split(segment, 0))
        {
            EncodePiece(piece, output);
        }
    }

    /// <summary>
    /// One regex step of the pre-tokenizer. Hugging Face's Split behaviors: Isolated keeps matches and the text
    /// between them as pieces; Removed drops the matches; with invert the matches are the content instead, so
    /// Removed + invert keeps only the matches (GPT-4o's tokenizer.json).
    /// </summary>
    /// <remarks>
    /// A ByteLevel pre-tokenizer step is a splitter too: its add_prefix_space puts a space before each piece that
    /// reaches it (not only before the text), and without use_regex it splits nothing (null regex).
    /// </remarks>
    internal sealed record Splitter(Regex? Regex, bool KeepMatches, bool KeepGaps, bool PrefixSpace = false);

    /// <summary>Applies the splitters from <paramref name="level"/> on.</summary>
    private IEnumerable<string> Split(string text, int level)
    {
        if (level == _splitters.Count)
        {
            yield return text;
            yield break;
        }
        Splitter splitter = _splitters[level];
        if (splitter.PrefixSpace && text.Length > 0 && text[0] != ' ')
        {
            text = " " + text;
        }
        if (splitter.Regex is null)
        {
            foreach (string piece in Split(text, level + 1))
            {
                yield return piece;
            }
            yield break;
        }
        int start = 0;
        foreach ((int index, int length) in CodePointMatches(splitter.Regex, text))
        {
            if (index > start && splitter.KeepGaps)
            {
                foreach (string piece in Split(text[start..index], level + 1))
                {
                    yield return piece;
                }
            }
            if (splitter.KeepMatches)
            {
                foreach (string piece in Split(text.Substring(index, length), level + 1))
                {
                    yield return piece;
                }
            }
            start = index + length;
        }
        if (start < text.Length && splitter.KeepGaps)
        {
            foreach (string piece in Split(text[start..], level + 1))
            {
                yield return piece;
            }
        }
    }

    /// <summary>
    /// Non-empty matches of <paramref name="regex"/> in <paramref name="text"/>, with each character outside the
    /// Basic Multilingual Plane seen as ONE character of its own Unicode category. .NET regexes work on UTF-16
    /// units, so an emoji is two surrogates (category Cs) to them, while Hugging Face (Rust) and transformers.js
    /// (the u flag) see one code point: "😀word" is one Llama-3 piece there ([^\r\n\p{L}\p{N}]?\p{L}+) but
    /// two in a plain .NET match. So each surrogate pair is replaced by a BMP stand-in of the same category
    /// before matching, and the match positions are mapped back.
    /// </summary>
    internal static IEnumerable<(int Index, int Length)> CodePointMatches(Regex regex, string text)
    {
        int firstPair = -1;
        for (int i = 0; i + 1 < text.Length; i++)
        {
            if (char.IsSurrogatePair(text[i], text[i + 1]))
            {
                firstPair = i;
                break;
            }
        }
        if (firstPair < 0)
        {
            for (Match m = regex.Match(text); m.Success; m = m.NextMatch())
            {
                if (m.Length > 0)
                {
                    yield return (m.Index, m.Length);
                }
            }
            yield break;
        }

        var standIn = new StringBuilder(text.Length);
        var original = new List<int>(text.Length + 1); // index in text of each stand-in char, then text.Length
        for (int i = 0; i < text.Length; i++)
        {
            original.Add(i);
            if (i + 1 < text.Length && char.IsSurrogatePair(text[i], text[i + 1]))
            {
                standIn.Append(StandInFor(CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(text[i], text[i + 1]))));
                i++;
            }
            else
            {
                standIn.Append(text[i]);
            }
        }
        original.Add(text.Length);
        string mapped = standIn.ToString();
        for (Match m = regex.Match(mapped); m.Success; m = m.NextMatch())
        {
            if (m.Length > 0)
            {
                int begin = original[m.Index];
                yield return (begin, original[m.Index + m.Length] - begin);
            }
        }
    }

    private static readonly char[] CategoryStandIns = BuildStandIns();

    private static char StandInFor(UnicodeCategory category) => CategoryStandIns[(int)category];

    /// <summary>For each Unicode category, the lowest BMP character from U+00A0 on in it (a private-use one if none).</summary>
    private static char[] BuildStandIns()
    {
        var table = new char[32];
        Array.Fill(table, '\uE000');
        for (int c = 0xFFFD; c >= 0xA0; c--)
        {
            if (char.IsSurrogate((char)c))
            {
                continue;
            }
            int cat = (int)CharUnicodeInfo.GetUnicodeCategory((char)c);
            table[cat] = (char)c;
        }
        return table;
    }

    private void EncodePiece(string piece, List<int> output)
    {
        if (_ignoreMerges && _vocab.TryGetValue(ByteLevel.Encode(piece), out int whole))
        {
            output.Add(whole);
            return;
        }
        output.AddRange(_merger.EncodeToIds(piece));
    }

    // ---------------------------------------------------------------- loading

    /// <summary>Thrown by <see cref="Load"/> when the file is a valid tokenizer.json of another kind (e.g. SentencePiece-style BPE).</summary>
    internal sealed class NotByteLevelException(string message) : Exception(message);

    /// <summary>Parses tokenizer.json. Throws <see cref="TokenizerLoadException"/> or <see cref="NotByteLevelException"/>.</summary>
    public static ByteLevelBpeModel Load(string path)
    {
        string name = Path.GetFileName(path);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new TokenizerLoadException($"{path}: not valid JSON ({FirstLine(e.Message)})", e);
        }
        catch (IOException e)
        {
            throw new TokenizerLoadException($"{path}: cannot be read ({FirstLine(e.Message)})", e);
        }
        using (doc)
        {
            try
            {
                return Parse(doc.RootElement, path);
            }
            catch (Exception e) when (e is InvalidOperationException or KeyNotFoundException or FormatException or ArgumentException)
            {
                throw new TokenizerLoadException($"{path}: malformed {name} ({FirstLine(e.Message)})", e);
            }
        }
    }

    private static ByteLevelBpeModel Parse(JsonElement root, string path)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw Bad(path, "the top level is not a JSON object");
        }
        if (!root.TryGetProperty("model", out JsonElement model) || model.ValueKind != JsonValueKind.Object)
        {
            throw Bad(path, "no \"model\" object");
        }
        string? modelType = model.TryGetProperty("type", out JsonElement typeEl) ? typeEl.GetString() : null;
        if (modelType is not null && modelType != "BPE")
        {
            throw new NotByteLevelException($"{path}: model.type is \"{modelType}\"; only byte-level \"BPE\" is supported");
        }
        if (!model.TryGetProperty("vocab", out JsonElement vocabEl) || vocabEl.ValueKind != JsonValueKind.Object)
        {
            throw Bad(path, "model.vocab is missing or not an object");
        }
        if (!model.TryGetProperty("merges", out JsonElement mergesEl) || mergesEl.ValueKind != JsonValueKind.Array)
        {
            throw Bad(path, "model.merges is missing or not an array");
        }

        bool byteFallback = GetBool(model, "byte_fallback", false);
        JsonElement preTokenizer = root.TryGetProperty("pre_tokenizer", out JsonElement pt) ? pt : default;
        JsonElement decoder = root.TryGetProperty("decoder", out JsonElement dec) ? dec : default;
        bool byteLevel = HasType(preTokenizer, "ByteLevel") || HasType(decoder, "ByteLevel");
        if (!byteLevel || byteFallback)
        {
            throw new NotByteLevelException(
                $"{path}: a BPE without a ByteLevel pre-tokenizer/decoder (SentencePiece-style, byte_fallback={byteFallback.ToString().ToLowerInvariant()}); only byte-level BPE is supported from tokenizer.json");
        }
        foreach (string field in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
        {
            if (model.TryGetProperty(field, out JsonElement f) && f.ValueKind == JsonValueKind.String && f.GetString()!.Length > 0)
            {
                throw Bad(path, $"model.{field} is set, which byte-level BPE does not use");
            }
        }

        var vocab = new Dictionary<string, int>(vocabEl.GetPropertyCount(), StringComparer.Ordinal);
        int maxId = -1;
        foreach (JsonProperty p in vocabEl.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out int id) || id < 0)
            {
                throw Bad(path, $"model.vocab entry {Quote(p.Name)} has no valid id");
            }
            vocab[p.Name] = id;
            maxId = Math.Max(maxId, id);
        }
        if (vocab.Count == 0)
        {
            throw Bad(path, "model.vocab is empty");
        }

        var merges = new List<string>(mergesEl.GetArrayLength());
        foreach (JsonElement m in mergesEl.EnumerateArray())
        {
            string left, right;
            if (m.ValueKind == JsonValueKind.String)
            {
                string s = m.GetString()!;
                int space = s.IndexOf(' ', 1);
                if (space < 0 || space == s.Length - 1 || s.IndexOf(' ', space + 1) >= 0)
                {
                    throw Bad(path, $"merge {Quote(s)} is not two tokens separated by one space");
                }
                left = s[..space];
                right = s[(space + 1)..];
            }
            else if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2
                     && m[0].ValueKind == JsonValueKind.String && m[1].ValueKind == JsonValueKind.String)
            {
                left = m[0].GetString()!;
                right = m[1].GetString()!;
                if (left.Length == 0 || right.Length == 0 || left.Contains(' ') || right.Contains(' '))
                {
                    throw Bad(path, $"merge [{Quote(left)}, {Quote(right)}] has an empty token or one with a space");
                }
            }
            else
            {
                throw Bad(path, $"merge {m.GetRawText()} is neither \"a b\" nor [\"a\", \"b\"]");
            }
            if (!vocab.ContainsKey(left) || !vocab.ContainsKey(right) || !vocab.ContainsKey(left + right))
            {
                throw Bad(path, $"merge {Quote(left + " " + right)} uses a token that is not in model.vocab");
            }
            merges.Add(left + " " + right);
        }

        var addedByContent = new Dictionary<string, int>(StringComparer.Ordinal);
        var addedById = new Dictionary<int, string>();
        var addedPatterns = new List<(string Content, string Pattern)>();
        if (root.TryGetProperty("added_tokens", out JsonElement addedEl) && addedEl.ValueKind != JsonValueKind.Null)
        {
            if (addedEl.ValueKind != JsonValueKind.Array)
            {
                throw Bad(path, "added_tokens is not an array");
            }
            foreach (JsonElement a in addedEl.EnumerateArray())
            {
                if (a.ValueKind != JsonValueKind.Object
                    || !a.TryGetProperty("id", out JsonElement idEl) || !idEl.TryGetInt32(out int id) || id < 0
                    || !a.TryGetProperty("content", out JsonElement contentEl) || contentEl.ValueKind != JsonValueKind.String
                    || contentEl.GetString()!.Length == 0)
                {
                    throw Bad(path, $"added_tokens entry {Shorten(a.GetRawText())} needs a non-negative \"id\" and a non-empty \"content\"");
                }
                string content = contentEl.GetString()!;
                addedByContent[content] = id;
                addedById[id] = content;
                maxId = Math.Max(maxId, id);
                string pattern = "(?<t>" + Regex.Escape(content) + ")";
                if (GetBool(a, "single_word", false))
                {
                    pattern = @"(?<![\p{L}\p{N}_])" + pattern + @"(?![\p{L}\p{N}_])";
                }
                if (GetBool(a, "lstrip", false))
                {
                    pattern = @"\s*" + pattern;
                }
                if (GetBool(a, "rstrip", false))
                {
                    pattern += @"\s*";
                }
                addedPatterns.Add((content, pattern));
            }
        }
        Regex? addedSplitter = null;
        if (addedPatterns.Count > 0)
        {
            // Longest content first, so that at any position the longest added token wins.
            var alternatives = addedPatterns
                .OrderByDescending(p => p.Content.Length)
                .ThenBy(p => p.Content, StringComparer.Ordinal)
                .Select(p => p.Pattern);
            addedSplitter = new Regex(string.Join("|", alternatives), RegexOptions.CultureInvariant);
        }

        var idToToken = new string?[maxId + 1];
        foreach ((string token, int id) in vocab)
        {
            idToToken[id] = token;
        }
        foreach ((int id, string content) in addedById)
        {
            idToToken[id] ??= content;
        }

        var splitters = new List<Splitter>();
        ParsePreTokenizer(preTokenizer, path, splitters);
        var normalization = new List<NormalizationForm>();
        ParseNormalizer(root.TryGetProperty("normalizer", out JsonElement norm) ? norm : default, path, normalization);

        BpeTokenizer merger;
        try
        {
            merger = BpeTokenizer.Create(new BpeOptions(vocab)
            {
                Merges = merges,
                ByteLevel = true,
                // One piece per call: the splitting happened already, so the whole input is one word.
                PreTokenizer = new RegexPreTokenizer(new Regex(@"[\s\S]+", RegexOptions.CultureInvariant), null),
            });
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            throw Bad(path, $"the BPE model cannot be built ({FirstLine(e.Message)})");
        }

        return new ByteLevelBpeModel(
            vocab, idToToken, addedByContent, addedById, addedSplitter, splitters,
            GetBool(model, "ignore_merges", false), normalization, merger,
            ParseTemplateBos(root.TryGetProperty("post_processor", out JsonElement post) ? post : default, addedByContent, vocab));
    }

    private static void ParsePreTokenizer(JsonElement pt, string path, List<Splitter> splitters)
    {
        if (pt.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            return;
        }
        string type = GetType(pt, path, "pre_tokenizer");
        switch (type)
        {
            case "Sequence":
                if (!pt.TryGetProperty("pretokenizers", out JsonElement items) || items.ValueKind != JsonValueKind.Array)
                {
                    throw Bad(path, "pre_tokenizer Sequence has no \"pretokenizers\" array");
                }
                foreach (JsonElement item in items.EnumerateArray())
                {
                    ParsePreTokenizer(item, path, splitters);
                }
                break;
            case "ByteLevel":
                bool prefixSpace = GetBool(pt, "add_prefix_space", false);
                Regex? gpt2 = GetBool(pt, "use_regex", true) ? CompileSplit(Gpt2Pattern, path) : null;
                if (prefixSpace || gpt2 is not null)
                {
                    splitters.Add(new Splitter(gpt2, true, true, prefixSpace));
                }
                break;
            case "Split":
                string behavior = pt.TryGetProperty("behavior", out JsonElement b) ? b.GetString() ?? "" : "Isolated";
                bool invert = GetBool(pt, "invert", false);
                (bool keepMatches, bool keepGaps) = behavior switch
                {
                    "Isolated" => (true, true),
                    "Removed" => (invert, !invert),
                    _ => throw Bad(path, $"pre_tokenizer Split behavior {Quote(behavior)} is not supported (only Isolated and Removed)"),
                };
                if (!pt.TryGetProperty("pattern", out JsonElement pattern) || pattern.ValueKind != JsonValueKind.Object)
                {
                    throw Bad(path, "pre_tokenizer Split has no \"pattern\" object");
                }
                Regex split;
                if (pattern.TryGetProperty("Regex", out JsonElement regex) && regex.ValueKind == JsonValueKind.String)
                {
                    split = CompileSplit(regex.GetString()!, path);
                }
                else if (pattern.TryGetProperty("String", out JsonElement literal) && literal.ValueKind == JsonValueKind.String)
                {
                    split = CompileSplit(Regex.Escape(literal.GetString()!), path);
                }
                else
                {
                    throw Bad(path, "pre_tokenizer Split pattern is neither {\"Regex\": ...} nor {\"String\": ...}");
                }
                splitters.Add(new Splitter(split, keepMatches, keepGaps));
                break;
            case "Digits":
                splitters.Add(new Splitter(CompileSplit(GetBool(pt, "individual_digits", false) ? @"\p{N}" : @"\p{N}+", path), true, true));
                break;
            default:
                throw Bad(path, $"pre_tokenizer type {Quote(type)} is not supported with byte-level BPE");
        }
    }

    private static void ParseNormalizer(JsonElement n, string path, List<NormalizationForm> forms)
    {
        if (n.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            return;
        }
        string type = GetType(n, path, "normalizer");
        switch (type)
        {
            case "Sequence":
                if (!n.TryGetProperty("normalizers", out JsonElement items) || items.ValueKind != JsonValueKind.Array)
                {
                    throw Bad(path, "normalizer Sequence has no \"normalizers\" array");
                }
                foreach (JsonElement item in items.EnumerateArray())
                {
                    ParseNormalizer(item, path, forms);
                }
                break;
            case "NFC": forms.Add(NormalizationForm.FormC); break;
            case "NFD": forms.Add(NormalizationForm.FormD); break;
            case "NFKC": forms.Add(NormalizationForm.FormKC); break;
            case "NFKD": forms.Add(NormalizationForm.FormKD); break;
            default:
                throw Bad(path, $"normalizer type {Quote(type)} is not supported with byte-level BPE");
        }
    }

    /// <summary>The special token a TemplateProcessing / Roberta / Bert post-processor puts before a single sequence.</summary>
    private static int? ParseTemplateBos(JsonElement post, Dictionary<string, int> added, Dictionary<string, int> vocab)
    {
        if (post.ValueKind != JsonValueKind.Object || !post.TryGetProperty("type", out JsonElement typeEl))
        {
            return null;
        }
        switch (typeEl.GetString())
        {
            case "Sequence":
                if (post.TryGetProperty("processors", out JsonElement items) && items.ValueKind == JsonValueKind.Array)
                {
                    foreach (JsonElement item in items.EnumerateArray())
                    {
                        if (ParseTemplateBos(item, added, vocab) is int id)
                        {
                            return id;
                        }
                    }
                }
                return null;
            case "TemplateProcessing":
                if (!post.TryGetProperty("single", out JsonElement single) || single.ValueKind != JsonValueKind.Array
                    || single.GetArrayLength() == 0 || single[0].ValueKind != JsonValueKind.Object
                    || !single[0].TryGetProperty("SpecialToken", out JsonElement st)
                    || !st.TryGetProperty("id", out JsonElement nameEl) || nameEl.ValueKind != JsonValueKind.String)
                {
                    return null;
                }
                string name = nameEl.GetString()!;
                if (post.TryGetProperty("special_tokens", out JsonElement specials) && specials.ValueKind == JsonValueKind.Object
                    && specials.TryGetProperty(name, out JsonElement spec) && spec.TryGetProperty("ids", out JsonElement ids)
                    && ids.ValueKind == JsonValueKind.Array && ids.GetArrayLength() > 0 && ids[0].TryGetInt32(out int fromIds))
                {
                    return fromIds;
                }
                return added.TryGetValue(name, out int a) ? a : vocab.TryGetValue(name, out int v) ? v : null;
            case "RobertaProcessing":
            case "BertProcessing":
                if (post.TryGetProperty("cls", out JsonElement cls) && cls.ValueKind == JsonValueKind.Array
                    && cls.GetArrayLength() == 2 && cls[1].TryGetInt32(out int clsId))
                {
                    return clsId;
                }
                return null;
            default:
                return null;
        }
    }

    private static Regex CompileSplit(string pattern, string path)
    {
        try
        {
            return new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.Compiled);
        }
        catch (ArgumentException e)
        {
            throw Bad(path, $"pre-tokenizer regex {Quote(Shorten(pattern))} is not supported by .NET ({FirstLine(e.Message)})");
        }
    }

    private static bool HasType(JsonElement e, string type)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            return false;
        }
        if (e.TryGetProperty("type", out JsonElement t) && t.ValueKind == JsonValueKind.String && t.GetString() == type)
        {
            return true;
        }
        foreach (string list in new[] { "pretokenizers", "decoders" })
        {
            if (e.TryGetProperty(list, out JsonElement items) && items.ValueKind == JsonValueKind.Array
                && items.EnumerateArray().Any(i => HasType(i, type)))
            {
                return true;
            }
        }
        return false;
    }

    private static string GetType(JsonElement e, string path, string what)
    {
        if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("type", out JsonElement t) || t.ValueKind != JsonValueKind.String)
        {
            throw Bad(path, $"{what} {Shorten(e.GetRawText())} has no \"type\"");
        }
        return t.GetString()!;
    }

    private static bool GetBool(JsonElement e, string name, bool fallback) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out JsonElement v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? v.GetBoolean()
            : fallback;

    private static TokenizerLoadException Bad(string path, string problem) => new($"{path}: {problem}");

    internal static string Quote(string s) => JsonSerializer.Serialize(s);

    internal static string Shorten(string s) => s.Length <= 80 ? s : s[..77] + "...";

    internal static string FirstLine(string s)
    {
        int nl = s.IndexOfAny(['\r', '\n']);
        return nl < 0 ? s : s[..nl];
    }
}
