using System.Text.Json;

namespace LayerChop.Engine.Tokenization;

/// <summary>
/// The tokenizer of a Hugging Face model folder: byte-level BPE from tokenizer.json (GPT-2, Llama-3, Qwen) or
/// SentencePiece from tokenizer.model (Llama-2, Mistral), with the BOS/EOS conventions of the folder's configs.
/// Thread-safe for concurrent Encode/Decode.
/// </summary>
public sealed class TextTokenizer : ITextEncoder
{
    public const string BeginOfTextToken = "<|begin_of_text|>";
    public const string EndOfTextToken = "<|end_of_text|>";

    private readonly ByteLevelBpeModel? _bpe;
    private readonly SentencePieceBpeModel? _sentencePiece;

    private TextTokenizer(ByteLevelBpeModel? bpe, SentencePieceBpeModel? sentencePiece, int vocabSize, int? bosId, int? eosId, bool addBos)
    {
        _bpe = bpe;
        _sentencePiece = sentencePiece;
        VocabSize = vocabSize;
        BosId = bosId;
        EosId = eosId;
        AddBos = addBos && bosId is not null;
    }

    /// <summary>Beginning-of-sequence token id, when the folder defines one.</summary>
    public int? BosId { get; }

    /// <summary>End-of-sequence token id, when the folder defines one.</summary>
    public int? EosId { get; }

    /// <summary>Whether <see cref="Encode"/> with addSpecial prepends <see cref="BosId"/>.</summary>
    public bool AddBos { get; }

    /// <summary>Number of token ids (largest id + 1, added tokens included).</summary>
    public int VocabSize { get; }

    /// <summary>"tokenizer.json" or "tokenizer.model": the file this tokenizer was loaded from.</summary>
    public string Kind => _bpe is not null ? "tokenizer.json" : "tokenizer.model";

    /// <summary>
    /// Token ids of <paramref name="text"/>. Added/special tokens written literally in the text (such as
    /// "&lt;|begin_of_text|&gt;") become their ids for tokenizer.json, as in Hugging Face. With
    /// <paramref name="addSpecial"/>, BOS is prepended when <see cref="AddBos"/>.
    /// </summary>
    public IReadOnlyList<int> Encode(string text, bool addSpecial = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 2);
        if (addSpecial && AddBos)
        {
            ids.Add(BosId!.Value);
        }
        if (_bpe is not null)
        {
            _bpe.Encode(text, ids);
        }
        else
        {
            _sentencePiece!.Encode(text, ids);
        }
        return ids;
    }

    /// <summary>
    /// Text of <paramref name="ids"/>. Special tokens are written out as their text (not skipped). Byte
    /// sequences that are not valid UTF-8 (a character cut between tokens) decode to U+FFFD.
    /// </summary>
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return _bpe is not null ? _bpe.Decode(ids) : _sentencePiece!.Decode(ids);
    }

    /// <summary>
    /// Loads the tokenizer of a Hugging Face model folder: tokenizer.json (byte-level BPE) or else
    /// tokenizer.model (SentencePiece). A tokenizer.json of another kind (SentencePiece-style BPE, as Llama-2 and
    /// Mistral ship beside their tokenizer.model) gives way to tokenizer.model when that file is present.
    /// BOS/EOS come from tokenizer_config.json (bos_token / eos_token, add_bos_token), then
    /// generation_config.json and config.json (bos_token_id / eos_token_id), then the tokenizer itself.
    /// Without add_bos_token, BOS is added for SentencePiece and, for tokenizer.json, when the post_processor
    /// template starts with a special token (Llama-3.1's TemplateProcessing adds &lt;|begin_of_text|&gt;).
    /// </summary>
    /// <exception cref="TokenizerLoadException">No tokenizer file, or a malformed or unsupported one.</exception>
    public static TextTokenizer Load(string modelFolder)
    {
        ArgumentNullException.ThrowIfNull(modelFolder);
        if (!Directory.Exists(modelFolder))
        {
            throw new TokenizerLoadException($"{modelFolder}: model folder not found");
        }
        string jsonPath = Path.Combine(modelFolder, "tokenizer.json");
        string spPath = Path.Combine(modelFolder, "tokenizer.model");
        var config = ReadConfig(Path.Combine(modelFolder, "tokenizer_config.json"));

        if (File.Exists(jsonPath))
        {
            try
            {
                return FromBpe(ByteLevelBpeModel.Load(jsonPath), modelFolder, config);
            }
            catch (ByteLevelBpeModel.NotByteLevelException e)
            {
                if (!File.Exists(spPath))
                {
                    throw new TokenizerLoadException(e.Message + ", and there is no tokenizer.model beside it", e);
                }
            }
        }
        if (File.Exists(spPath))
        {
            return FromSentencePiece(spPath, modelFolder, config);
        }
        throw new TokenizerLoadException($"{modelFolder}: no tokenizer.json or tokenizer.model in the folder");
    }

    /// <summary>
    /// Writes a small self-contained byte-level BPE tokenizer (tokenizer.json + tokenizer_config.json) into
    /// <paramref name="folder"/>: ids 0..255 are the 256 bytes (id = byte value, GPT-2 byte-to-unicode strings),
    /// 256 is &lt;|begin_of_text|&gt; (BOS, added by the post_processor), 257 is &lt;|end_of_text|&gt; (EOS), then up
    /// to <paramref name="vocabSize"/> - 258 merges learned deterministically from <paramref name="trainingText"/>.
    /// The files load with <see cref="Load"/> and with Hugging Face tokenizers/transformers.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="vocabSize"/> is below 258.</exception>
    public static void WriteByteLevel(string folder, int vocabSize, string? trainingText = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (vocabSize < ByteLevelBpeWriter.MinVocabSize)
        {
            throw new ArgumentException(
                $"vocabSize must be at least {ByteLevelBpeWriter.MinVocabSize} (256 bytes + 2 special tokens), got {vocabSize}.",
                nameof(vocabSize));
        }
        ByteLevelBpeWriter.Write(folder, vocabSize, trainingText);
    }

    // ---------------------------------------------------------------- loading helpers

    private sealed record TokenizerConfig(string? BosToken, string? EosToken, bool? AddBosToken);

    private static TextTokenizer FromBpe(ByteLevelBpeModel bpe, string folder, TokenizerConfig config)
    {
        int? bos = ResolveId(config.BosToken, bpe.TokenToId, folder, "bos") ?? bpe.TemplateBosId;
        int? eos = ResolveId(config.EosToken, bpe.TokenToId, folder, "eos");
        bool addBos = config.AddBosToken ?? (bpe.TemplateBosId is not null && bpe.TemplateBosId == bos);
        return new TextTokenizer(bpe, null, bpe.VocabSize, bos, eos, addBos);
    }

    private static TextTokenizer FromSentencePiece(string path, string folder, TokenizerConfig config)
    {
        SentencePieceBpeModel sp = SentencePieceBpeModel.Load(path);
        int? bos = ResolveId(config.BosToken, sp.PieceToId, folder, "bos") ?? NonNegative(sp.BosId);
        int? eos = ResolveId(config.EosToken, sp.PieceToId, folder, "eos") ?? NonNegative(sp.EosId);
        return new TextTokenizer(null, sp, sp.VocabSize, bos, eos, config.AddBosToken ?? true);
    }

    private static int? NonNegative(int id) => id >= 0 ? id : null;

    /// <summary>The id of the configured token string, else bos_token_id/eos_token_id from generation_config.json, then config.json.</summary>
    private static int? ResolveId(string? token, Func<string, int?> lookup, string folder, string which)
    {
        if (token is not null && lookup(token) is int id)
        {
            return id;
        }
        foreach (string file in new[] { "generation_config.json", "config.json" })
        {
            if (ReadIdFromJson(Path.Combine(folder, file), which + "_token_id") is int fromFile)
            {
                return fromFile;
            }
        }
        return null;
    }

    private static int? ReadIdFromJson(string path, string property)
    {
        if (!File.Exists(path))
        {
            return null;
        }
        using JsonDocument doc = ParseJsonFile(path);
        if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty(property, out JsonElement v))
        {
            return null;
        }
        // eos_token_id may be a list (Llama-3.1: [128001, 128008, 128009]): the first is the main one.
        if (v.ValueKind == JsonValueKind.Array && v.GetArrayLength() > 0)
        {
            v = v[0];
        }
        return v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int id) && id >= 0 ? id : null;
    }

    private static TokenizerConfig ReadConfig(string path)
    {
        if (!File.Exists(path))
        {
            return new TokenizerConfig(null, null, null);
        }
        using JsonDocument doc = ParseJsonFile(path);
        JsonElement root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new TokenizerLoadException($"{path}: the top level is not a JSON object");
        }
        bool? addBos = root.TryGetProperty("add_bos_token", out JsonElement a) && a.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? a.GetBoolean()
            : null;
        return new TokenizerConfig(TokenString(root, "bos_token"), TokenString(root, "eos_token"), addBos);
    }

    /// <summary>"bos_token": "&lt;s&gt;" or "bos_token": {"content": "&lt;s&gt;", ...} (AddedToken form).</summary>
    private static string? TokenString(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out JsonElement v))
        {
            return null;
        }
        if (v.ValueKind == JsonValueKind.String)
        {
            return v.GetString();
        }
        if (v.ValueKind == JsonValueKind.Object && v.TryGetProperty("content", out JsonElement c) && c.ValueKind == JsonValueKind.String)
        {
            return c.GetString();
        }
        return null;
    }

    private static JsonDocument ParseJsonFile(string path)
    {
        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new TokenizerLoadException($"{path}: not valid JSON ({ByteLevelBpeModel.FirstLine(e.Message)})", e);
        }
        catch (IOException e)
        {
            throw new TokenizerLoadException($"{path}: cannot be read ({ByteLevelBpeModel.FirstLine(e.Message)})", e);
        }
    }
}
