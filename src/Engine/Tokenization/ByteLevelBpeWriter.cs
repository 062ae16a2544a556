using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace LayerChop.Engine.Tokenization;

/// <summary>
/// Trains a small byte-level BPE deterministically and writes it as a Hugging Face tokenizer.json +
/// tokenizer_config.json (GPT-2 layout: ByteLevel pre-tokenizer with GPT-2's regex, ByteLevel decoder,
/// TemplateProcessing that puts &lt;|begin_of_text|&gt; first).
/// </summary>
internal static class ByteLevelBpeWriter
{
    public const int MinVocabSize = 258;
    private const int BosId = 256;
    private const int EosId = 257;

    public static void Write(string folder, int vocabSize, string? trainingText)
    {
        List<(string Left, string Right)> merges = Train(trainingText, vocabSize - MinVocabSize);

        // Vocabulary: bytes 0..255 (id = byte value), the two specials, then each new merged token in order.
        var vocab = new List<string>(vocabSize);
        var known = new HashSet<string>(StringComparer.Ordinal);
        for (int b = 0; b < 256; b++)
        {
            string s = ByteLevel.Char((byte)b).ToString();
            vocab.Add(s);
            known.Add(s);
        }
        vocab.Add(TextTokenizer.BeginOfTextToken);
        vocab.Add(TextTokenizer.EndOfTextToken);
        known.Add(TextTokenizer.BeginOfTextToken);
        known.Add(TextTokenizer.EndOfTextToken);
        foreach ((string left, string right) in merges)
        {
            if (known.Add(left + right))
            {
                vocab.Add(left + right);
            }
        }

        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, "tokenizer.json"), TokenizerJson(vocab, merges));
        File.WriteAllBytes(Path.Combine(folder, "tokenizer_config.json"), TokenizerConfigJson());
    }

    /// <summary>
    /// Classic BPE training over GPT-2 pre-tokenized words: repeatedly merge the most frequent adjacent pair
    /// (ties: the pair of earlier-created symbols), until <paramref name="maxMerges"/> merges or no pair is left
    /// (like Hugging Face's BpeTrainer with its default min_frequency, pairs seen once still merge).
    /// Pair counts are kept incrementally; only the words that contain the merged pair are rescanned.
    /// </summary>
    internal static List<(string Left, string Right)> Train(string? text, int maxMerges)
    {
        var merges = new List<(string, string)>();
        if (string.IsNullOrEmpty(text) || maxMerges <= 0)
        {
            return merges;
        }

        var wordCounts = new Dictionary<string, long>(StringComparer.Ordinal);
        var splitter = new Regex(ByteLevelBpeModel.Gpt2Pattern, RegexOptions.CultureInvariant);
        for (Match m = splitter.Match(text); m.Success; m = m.NextMatch())
        {
            string piece = ByteLevel.Encode(m.ValueSpan);
            wordCounts[piece] = wordCounts.GetValueOrDefault(piece) + 1;
        }
        string[] uniqueWords = wordCounts.Keys.Order(StringComparer.Ordinal).ToArray();

        // Symbols: 0..255 are bytes (their byte-level character), later ones are merged strings.
        var symbols = new List<string>();
        var symbolIds = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int b = 0; b < 256; b++)
        {
            string s = ByteLevel.Char((byte)b).ToString();
            symbols.Add(s);
            symbolIds[s] = b;
        }
        var toByte = new Dictionary<char, int>();
        for (int b = 0; b < 256; b++)
        {
            toByte[ByteLevel.Char((byte)b)] = b;
        }

        var words = new List<int>[uniqueWords.Length];
        var freq = new long[uniqueWords.Length];
        var pairCounts = new Dictionary<(int, int), long>();
        var pairWords = new Dictionary<(int, int), HashSet<int>>();
        var touched = new HashSet<(int, int)>();
        for (int w = 0; w < uniqueWords.Length; w++)
        {
            words[w] = uniqueWords[w].Select(c => toByte[c]).ToList();
            freq[w] = wordCounts[uniqueWords[w]];
            AddPairs(w);
        }

        var heap = new PriorityQueue<(int, int), (long, int, int)>();
        foreach (((int a, int b), long count) in pairCounts)
        {
            heap.Enqueue((a, b), (-count, a, b));
        }

        while (merges.Count < maxMerges && heap.TryDequeue(out (int A, int B) pair, out (long NegCount, int, int) priority))
        {
            long current = pairCounts.GetValueOrDefault(pair);
            if (current != -priority.NegCount)
            {
                continue; // stale entry; the current count was queued when it changed
            }
            string merged = symbols[pair.A] + symbols[pair.B];
            if (!symbolIds.TryGetValue(merged, out int newSymbol))
            {
                newSymbol = symbols.Count;
                symbols.Add(merged);
                symbolIds[merged] = newSymbol;
            }
            merges.Add((symbols[pair.A], symbols[pair.B]));

            touched.Clear();
            int[] affected = pairWords[pair].Order().ToArray();
            foreach (int w in affected)
            {
                RemovePairs(w);
                List<int> s = words[w];
                var next = new List<int>(s.Count);
                for (int i = 0; i < s.Count; i++)
                {
                    if (i + 1 < s.Count && s[i] == pair.A && s[i + 1] == pair.B)
                    {
                        next.Add(newSymbol);
                        i++;
                    }
                    else
                    {
                        next.Add(s[i]);
                    }
                }
                words[w] = next;
                AddPairs(w);
            }
            foreach ((int, int) p in touched)
            {
                long count = pairCounts.GetValueOrDefault(p);
                if (count > 0)
                {
                    heap.Enqueue(p, (-count, p.Item1, p.Item2));
                }
            }
        }
        return merges;

        void AddPairs(int w)
        {
            List<int> s = words[w];
            for (int i = 0; i + 1 < s.Count; i++)
            {
                var p = (s[i], s[i + 1]);
                pairCounts[p] = pairCounts.GetValueOrDefault(p) + freq[w];
                if (!pairWords.TryGetValue(p, out HashSet<int>? set))
                {
                    pairWords[p] = set = new HashSet<int>();
                }
                set.Add(w);
                touched.Add(p);
            }
        }

        void RemovePairs(int w)
        {
            List<int> s = words[w];
            for (int i = 0; i + 1 < s.Count; i++)
            {
                var p = (s[i], s[i + 1]);
                long left = pairCounts[p] - freq[w];
                if (left == 0)
                {
                    pairCounts.Remove(p);
                }
                else
                {
                    pairCounts[p] = left;
                }
                pairWords[p].Remove(w);
                touched.Add(p);
            }
        }
    }

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Indented = true,
        // Write byte-level characters such as 'Ġ' as they are (valid JSON either way; easier to read).
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static byte[] TokenizerJson(List<string> vocab, List<(string Left, string Right)> merges)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("version", "1.0");
            w.WriteNull("truncation");
            w.WriteNull("padding");
            w.WriteStartArray("added_tokens");
            WriteAddedToken(w, BosId, TextTokenizer.BeginOfTextToken);
            WriteAddedToken(w, EosId, TextTokenizer.EndOfTextToken);
            w.WriteEndArray();
            w.WriteNull("normalizer");

            w.WriteStartObject("pre_tokenizer");
            w.WriteString("type", "ByteLevel");
            w.WriteBoolean("add_prefix_space", false);
            w.WriteBoolean("trim_offsets", true);
            w.WriteBoolean("use_regex", true);
            w.WriteEndObject();

            w.WriteStartObject("post_processor");
            w.WriteString("type", "TemplateProcessing");
            w.WriteStartArray("single");
            WriteTemplatePiece(w, special: true, TextTokenizer.BeginOfTextToken, 0);
            WriteTemplatePiece(w, special: false, "A", 0);
            w.WriteEndArray();
            w.WriteStartArray("pair");
            WriteTemplatePiece(w, special: true, TextTokenizer.BeginOfTextToken, 0);
            WriteTemplatePiece(w, special: false, "A", 0);
            WriteTemplatePiece(w, special: true, TextTokenizer.BeginOfTextToken, 1);
            WriteTemplatePiece(w, special: false, "B", 1);
            w.WriteEndArray();
            w.WriteStartObject("special_tokens");
            w.WriteStartObject(TextTokenizer.BeginOfTextToken);
            w.WriteString("id", TextTokenizer.BeginOfTextToken);
            w.WriteStartArray("ids");
            w.WriteNumberValue(BosId);
            w.WriteEndArray();
            w.WriteStartArray("tokens");
            w.WriteStringValue(TextTokenizer.BeginOfTextToken);
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();

            w.WriteStartObject("decoder");
            w.WriteString("type", "ByteLevel");
            w.WriteBoolean("add_prefix_space", true);
            w.WriteBoolean("trim_offsets", true);
            w.WriteBoolean("use_regex", true);
            w.WriteEndObject();

            w.WriteStartObject("model");
            w.WriteString("type", "BPE");
            w.WriteNull("dropout");
            w.WriteNull("unk_token");
            w.WriteNull("continuing_subword_prefix");
            w.WriteNull("end_of_word_suffix");
            w.WriteBoolean("fuse_unk", false);
            w.WriteBoolean("byte_fallback", false);
            w.WriteBoolean("ignore_merges", false);
            w.WriteStartObject("vocab");
            for (int id = 0; id < vocab.Count; id++)
            {
                w.WriteNumber(vocab[id], id);
            }
            w.WriteEndObject();
            // "a b" strings: the format every tokenizers version reads (byte-level tokens never hold a space).
            w.WriteStartArray("merges");
            foreach ((string left, string right) in merges)
            {
                w.WriteStringValue(left + " " + right);
            }
            w.WriteEndArray();
            w.WriteEndObject();

            w.WriteEndObject();
        }
        return stream.ToArray();
    }

    private static void WriteAddedToken(Utf8JsonWriter w, int id, string content)
    {
        w.WriteStartObject();
        w.WriteNumber("id", id);
        w.WriteString("content", content);
        w.WriteBoolean("single_word", false);
        w.WriteBoolean("lstrip", false);
        w.WriteBoolean("rstrip", false);
        w.WriteBoolean("normalized", false);
        w.WriteBoolean("special", true);
        w.WriteEndObject();
    }

    private static void WriteTemplatePiece(Utf8JsonWriter w, bool special, string id, int typeId)
    {
        w.WriteStartObject();
        w.WriteStartObject(special ? "SpecialToken" : "Sequence");
        w.WriteString("id", id);
        w.WriteNumber("type_id", typeId);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static byte[] TokenizerConfigJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("tokenizer_class", "PreTrainedTokenizerFast");
            w.WriteString("bos_token", TextTokenizer.BeginOfTextToken);
            w.WriteString("eos_token", TextTokenizer.EndOfTextToken);
            w.WriteBoolean("add_bos_token", true);
            w.WriteBoolean("add_eos_token", false);
            w.WriteBoolean("clean_up_tokenization_spaces", false);
            w.WriteNumber("model_max_length", 1_000_000);
            w.WriteStartObject("added_tokens_decoder");
            foreach ((int id, string content) in new[] { (BosId, TextTokenizer.BeginOfTextToken), (EosId, TextTokenizer.EndOfTextToken) })
            {
                w.WriteStartObject(id.ToString(System.Globalization.CultureInfo.InvariantCulture));
                w.WriteString("content", content);
                w.WriteBoolean("lstrip", false);
                w.WriteBoolean("normalized", false);
                w.WriteBoolean("rstrip", false);
                w.WriteBoolean("single_word", false);
                w.WriteBoolean("special", true);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return stream.ToArray();
    }
}
