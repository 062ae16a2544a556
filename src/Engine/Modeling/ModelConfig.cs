using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LayerChop.Engine.Modeling;

/// <summary>How rotary position frequencies are rescaled for long contexts.</summary>
public enum RopeScalingKind { None, Linear, Llama3 }

/// <summary>
/// One decoder-only Llama-family model (Llama 1/2/3, Mistral, Qwen2, Qwen3), described by the fields of a
/// Hugging Face config.json. Family differences are fields here, not subclasses. The original JSON is kept
/// so a written folder carries every field LayerChop does not interpret; a field that would change what the
/// model computes and that LayerChop does not implement is refused (<see cref="UnsupportedFields"/>).
/// </summary>
public sealed record ModelConfig
{
    public required string ModelType { get; init; }          // "llama", "mistral", "qwen2", "qwen3"
    public required int HiddenSize { get; init; }
    public required int IntermediateSize { get; init; }
    public required int NumLayers { get; init; }
    public required int NumHeads { get; init; }
    public required int NumKvHeads { get; init; }
    public required int HeadDim { get; init; }
    public required int VocabSize { get; init; }
    public int MaxPositionEmbeddings { get; init; } = 2048;
    public double RmsNormEps { get; init; } = 1e-6;
    public double RopeTheta { get; init; } = 10000.0;
    public RopeScalingKind RopeScaling { get; init; } = RopeScalingKind.None;
    public double RopeFactor { get; init; } = 1.0;
    public double RopeLowFreqFactor { get; init; } = 1.0;
    public double RopeHighFreqFactor { get; init; } = 4.0;
    public int RopeOriginalMaxPositions { get; init; } = 8192;
    public bool TieWordEmbeddings { get; init; }
    public bool QkvBias { get; init; }                       // Qwen2: q/k/v projections carry a bias
    public bool OutputBias { get; init; }                    // Llama attention_bias=true: o_proj too
    public bool MlpBias { get; init; }
    public bool QkNorm { get; init; }                        // Qwen3: RMSNorm over each head of q and k before rotary
    /// <summary>
    /// Per layer, the sliding attention window (a query at position i sees keys j with i - window &lt; j &lt;= i),
    /// or null for full causal attention; empty when every layer attends fully.
    /// </summary>
    public IReadOnlyList<int?> AttentionWindows { get; init; } = [];
    public int? BosTokenId { get; init; }
    public int? EosTokenId { get; init; }
    public string TorchDtype { get; init; } = "float32";
    /// <summary>The config.json this was read from (or built as); unknown fields are written back unchanged.</summary>
    public JsonObject Raw { get; init; } = new();

    public static readonly IReadOnlyList<string> SupportedTypes = ["llama", "mistral", "qwen2", "qwen3"];

    /// <summary>The sliding window of a layer, or null when it attends to every earlier position.</summary>
    public int? AttentionWindow(int layer) => layer < AttentionWindows.Count ? AttentionWindows[layer] : null;

    /// <summary>
    /// Config fields that change what the model computes and that LayerChop does not implement, with the one value
    /// LayerChop computes as (null: only absent or null). A config that sets one to anything else is refused with one
    /// line naming the field, rather than run as a different model.
    /// </summary>
    public static readonly IReadOnlyList<(string Field, JsonNode? Implemented)> UnsupportedFields =
    [
        ("partial_rotary_factor", 1.0),
        ("attention_dropout", 0.0),
        ("attn_logit_softcapping", null),
        ("final_logit_softcapping", null),
        ("attention_chunk_size", null),
        ("no_rope_layers", null),
    ];

    public static ModelConfig Load(string folder)
    {
        var path = Path.Combine(folder, "config.json");
        if (!Directory.Exists(folder))
            throw new LayerChopException($"{folder}: no such model folder; give the path of a Hugging Face model folder");
        if (!File.Exists(path))
            throw new LayerChopException($"{folder}: no config.json; a model folder needs config.json and its safetensors weights");
        JsonNode? node;
        try { node = JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new LayerChopException($"{path}: malformed JSON ({e.Message})"); }
        if (node is not JsonObject obj)
            throw new LayerChopException($"{path}: expected a JSON object at the top level");
        return FromJson(obj, path);
    }

    public static ModelConfig FromJson(JsonObject obj, string source)
    {
        string type = Str(obj, "model_type", source) ?? throw Missing(source, "model_type");
        if (!SupportedTypes.Contains(type))
            throw new LayerChopException($"{source}: model_type '{type}' is not supported; supported: {string.Join(", ", SupportedTypes)}");
        string act = Str(obj, "hidden_act", source) ?? "silu";
        if (act != "silu")
            throw new LayerChopException($"{source}: hidden_act '{act}' is not supported; Llama-family models use silu");

        int hidden = Int(obj, "hidden_size", source) ?? throw Missing(source, "hidden_size");
        int heads = Int(obj, "num_attention_heads", source) ?? throw Missing(source, "num_attention_heads");
        int kvHeads = Int(obj, "num_key_value_heads", source) ?? heads;
        int layers = Int(obj, "num_hidden_layers", source) ?? throw Missing(source, "num_hidden_layers");
        int inter = Int(obj, "intermediate_size", source) ?? throw Missing(source, "intermediate_size");
        int vocab = Int(obj, "vocab_size", source) ?? throw Missing(source, "vocab_size");
        Positive(source, "hidden_size", hidden); Positive(source, "num_attention_heads", heads);
        Positive(source, "num_key_value_heads", kvHeads); Positive(source, "num_hidden_layers", layers);
        Positive(source, "intermediate_size", inter); Positive(source, "vocab_size", vocab);
        if (heads % kvHeads != 0)
            throw new LayerChopException($"{source}: num_attention_heads ({heads}) must be a multiple of num_key_value_heads ({kvHeads})");
        CheckUnsupported(obj, source);
        // Qwen3's config class defaults head_dim to 128; the others derive it from the hidden size.
        int headDim = Int(obj, "head_dim", source) ?? (type == "qwen3" ? 128 : 0);
        if (headDim == 0)
        {
            if (hidden % heads != 0)
                throw new LayerChopException($"{source}: hidden_size ({hidden}) is not divisible by num_attention_heads ({heads}) and no head_dim is given");
            headDim = hidden / heads;
        }
        if (headDim % 2 != 0)
            throw new LayerChopException($"{source}: head_dim ({headDim}) must be even for rotary embeddings");

        // Rope: the classic form (rope_theta + rope_scaling) or the newer rope_parameters object.
        double theta = Num(obj, "rope_theta", source) ?? 10000.0;
        JsonObject? scaling = obj["rope_scaling"] as JsonObject;
        if (obj["rope_parameters"] is JsonObject ropeParams)
        {
            theta = Num(ropeParams, "rope_theta", source) ?? theta;
            scaling = ropeParams;
        }
        var kind = RopeScalingKind.None;
        double factor = 1, low = 1, high = 4; int original = 8192;
        if (scaling is not null)
        {
            string ropeType = Str(scaling, "rope_type", source) ?? Str(scaling, "type", source) ?? "default";
            switch (ropeType)
            {
                case "default": break;
                case "linear":
                    kind = RopeScalingKind.Linear;
                    factor = Num(scaling, "factor", source) ?? throw Missing(source, "rope_scaling.factor");
                    break;
                case "llama3":
                    kind = RopeScalingKind.Llama3;
                    factor = Num(scaling, "factor", source) ?? throw Missing(source, "rope_scaling.factor");
                    low = Num(scaling, "low_freq_factor", source) ?? throw Missing(source, "rope_scaling.low_freq_factor");
                    high = Num(scaling, "high_freq_factor", source) ?? throw Missing(source, "rope_scaling.high_freq_factor");
                    original = Int(scaling, "original_max_position_embeddings", source) ?? throw Missing(source, "rope_scaling.original_max_position_embeddings");
                    if (high <= low)
                        throw new LayerChopException($"{source}: rope_scaling.high_freq_factor must exceed low_freq_factor");
                    break;
                default:
                    throw new LayerChopException($"{source}: rope scaling type '{ropeType}' is not supported; supported: default, linear, llama3");
            }
            CheckUnsupported(scaling, source, obj["rope_parameters"] is JsonObject ? "rope_parameters." : "rope_scaling.", RotaryFields);
        }

        bool attentionBias = Bool(obj, "attention_bias", source) ?? false;
        return new ModelConfig
        {
            ModelType = type,
            HiddenSize = hidden,
            IntermediateSize = inter,
            NumLayers = layers,
            NumHeads = heads,
            NumKvHeads = kvHeads,
            HeadDim = headDim,
            VocabSize = vocab,
            MaxPositionEmbeddings = Int(obj, "max_position_embeddings", source) ?? 2048,
            RmsNormEps = Num(obj, "rms_norm_eps", source) ?? 1e-6,
            RopeTheta = theta,
            RopeScaling = kind,
            RopeFactor = factor,
            RopeLowFreqFactor = low,
            RopeHighFreqFactor = high,
            RopeOriginalMaxPositions = original,
            TieWordEmbeddings = Bool(obj, "tie_word_embeddings", source) ?? false,
            QkvBias = type == "qwen2" || attentionBias,
            OutputBias = type != "qwen2" && attentionBias,
            MlpBias = Bool(obj, "mlp_bias", source) ?? false,
            QkNorm = type == "qwen3",
            AttentionWindows = Windows(obj, type, layers, source),
            BosTokenId = TokenId(obj, "bos_token_id", source),
            EosTokenId = TokenId(obj, "eos_token_id", source),
            TorchDtype = Str(obj, "torch_dtype", source) ?? Str(obj, "dtype", source) ?? "float32",
            Raw = (JsonObject)obj.DeepClone(),
        };
    }

    // Inside rope_scaling / rope_parameters only the rotary fields apply.
    static readonly IReadOnlyList<(string Field, JsonNode? Implemented)> RotaryFields = [UnsupportedFields[0]];

    static void CheckUnsupported(JsonObject obj, string source, string prefix = "", IReadOnlyList<(string Field, JsonNode? Implemented)>? fields = null)
    {
        foreach (var (field, implemented) in fields ?? UnsupportedFields)
        {
            var value = Field(obj, field);
            bool same = value is null                                 // absent or null: the family's default, implemented
                || implemented is not null && (value.GetValueKind() == JsonValueKind.Number && implemented.GetValueKind() == JsonValueKind.Number
                    ? Num(obj, field, source) == implemented.GetValue<double>()
                    : JsonNode.DeepEquals(value, implemented));
            if (!same)
                throw new LayerChopException($"{source}: {prefix}{field} {value?.ToJsonString() ?? "null"} is not supported; LayerChop computes the model as {prefix}{field} = {implemented?.ToJsonString() ?? "null (absent)"}");
        }
    }

    /// <summary>
    /// Which layers use sliding-window attention, as transformers decides: Mistral slides every layer unless
    /// sliding_window is null (its config class defaults the window to 4096, and it ignores layer_types); Qwen2 and
    /// Qwen3 slide only with use_sliding_window (window 4096 by default too), on the layers from max_window_layers
    /// (default 28) on, unless an explicit layer_types list ("full_attention" / "sliding_attention") says.
    /// </summary>
    static IReadOnlyList<int?> Windows(JsonObject obj, string type, int layers, string source)
    {
        if (type == "llama") return [];
        int? window = obj.ContainsKey("sliding_window") ? Int(obj, "sliding_window", source) : 4096;
        if (type is "qwen2" or "qwen3" && Bool(obj, "use_sliding_window", source) != true) window = null;
        if (window is <= 0) throw new LayerChopException($"{source}: 'sliding_window' must be positive, got {window}");
        bool[] sliding;
        if (type == "mistral")
            sliding = Enumerable.Repeat(window is not null, layers).ToArray();
        else if (Field(obj, "layer_types") is JsonArray types)
        {
            if (types.Count != layers)
                throw new LayerChopException($"{source}: layer_types has {types.Count} entries for {layers} layers (num_hidden_layers)");
            sliding = types.Select(t => t?.GetValueKind() == JsonValueKind.String ? t.GetValue<string>() : t?.ToJsonString()).Select(t => t switch
            {
                "full_attention" => false,
                "sliding_attention" => true,
                _ => throw new LayerChopException($"{source}: layer_types entry \"{t}\" is not supported; supported: full_attention, sliding_attention"),
            }).ToArray();
        }
        else
        {
            int fullLayers = Int(obj, "max_window_layers", source) ?? 28;
            sliding = Enumerable.Range(0, layers).Select(i => window is not null && i >= fullLayers).ToArray();
        }
        if (window is null && sliding.Any(s => s))
            throw new LayerChopException($"{source}: layer_types has sliding_attention layers but sliding_window is null or use_sliding_window is not true");
        return sliding.Any(s => s) ? sliding.Select(s => s ? window : null).ToArray() : [];
    }

    /// <summary>A fresh Llama config.json for a model of the given shape (what <c>model init</c> writes).</summary>
    public static ModelConfig CreateLlama(int layers, int hidden, int heads, int kvHeads, int intermediate, int vocab,
        int maxPositions = 2048, bool tieEmbeddings = false, string dtype = "float32", int? bos = null, int? eos = null)
    {
        var raw = new JsonObject
        {
            ["architectures"] = new JsonArray("LlamaForCausalLM"),
            ["model_type"] = "llama",
            ["hidden_size"] = hidden,
            ["intermediate_size"] = intermediate,
            ["num_hidden_layers"] = layers,
            ["num_attention_heads"] = heads,
            ["num_key_value_heads"] = kvHeads,
            ["head_dim"] = hidden / Math.Max(heads, 1),
            ["vocab_size"] = vocab,
            ["max_position_embeddings"] = maxPositions,
            ["rms_norm_eps"] = 1e-5,
            ["rope_theta"] = 10000.0,
            ["hidden_act"] = "silu",
            ["attention_bias"] = false,
            ["mlp_bias"] = false,
            ["tie_word_embeddings"] = tieEmbeddings,
            ["initializer_range"] = 0.02,
            ["torch_dtype"] = dtype,
            ["bos_token_id"] = bos,
            ["eos_token_id"] = eos,
            ["use_cache"] = true,
        };
        return FromJson(raw, "model init");
    }

    /// <summary>
    /// The config of this model with only the given layers kept (indices into the current layers, in order):
    /// num_hidden_layers updated and every per-layer list (a top-level array with one entry per layer, such as
    /// layer_types) trimmed to the kept layers.
    /// </summary>
    public ModelConfig WithLayersKept(IReadOnlyList<int> kept)
    {
        var raw = (JsonObject)Raw.DeepClone();
        foreach (var (key, value) in Raw)
        {
            if (value is JsonArray array && array.Count == NumLayers)
                raw[key] = new JsonArray(kept.Select(i => array[i]?.DeepClone()).ToArray());
        }
        raw["num_hidden_layers"] = kept.Count;
        // The first max_window_layers layers attend fully: count the kept ones among them.
        if (raw["max_window_layers"] is JsonValue mwl && mwl.TryGetValue(out int maxWindowLayers))
            raw["max_window_layers"] = kept.Count(i => i < maxWindowLayers);
        var windows = AttentionWindows.Count == 0 ? AttentionWindows : kept.Select(i => AttentionWindows[i]).ToArray();
        return this with { NumLayers = kept.Count, Raw = raw, AttentionWindows = windows };
    }

    public ModelConfig WithDtype(string dtype)
    {
        var raw = (JsonObject)Raw.DeepClone();
        if (raw.ContainsKey("dtype")) raw["dtype"] = dtype;
        else raw["torch_dtype"] = dtype;
        return this with { TorchDtype = dtype, Raw = raw };
    }

    public void Save(string folder)
    {
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, "config.json");
        var temp = path + ".tmp";
        File.WriteAllText(temp, Raw.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        File.Move(temp, path, overwrite: true);
    }

    // Parameter counts, from the shape alone (the tensors are counted separately, and tests compare the two).
    public long EmbeddingParams => (long)VocabSize * HiddenSize;
    public long LmHeadParams => TieWordEmbeddings ? 0 : (long)VocabSize * HiddenSize;
    public long ParamsPerLayer
    {
        get
        {
            long q = (long)NumHeads * HeadDim, kv = (long)NumKvHeads * HeadDim, h = HiddenSize, i = IntermediateSize;
            long attention = h * q + 2 * h * kv + q * h + (QkvBias ? q + 2 * kv : 0) + (OutputBias ? h : 0)
                             + (QkNorm ? 2L * HeadDim : 0);
            long mlp = 3 * h * i + (MlpBias ? 2 * i + h : 0);
            return attention + mlp + 2 * h;                   // + two RMSNorm weights
        }
    }
    public long TotalParams => EmbeddingParams + LmHeadParams + NumLayers * ParamsPerLayer + HiddenSize;
    /// <summary>Everything but the token embedding and the (untied) output projection.</summary>
    public long NonEmbeddingParams => TotalParams - EmbeddingParams - LmHeadParams;

    static LayerChopException Missing(string source, string field) =>
        new($"{source}: missing required field '{field}'");

    static void Positive(string source, string field, int value)
    {
        if (value <= 0) throw new LayerChopException($"{source}: '{field}' must be positive, got {value}");
    }

    static JsonNode? Field(JsonObject obj, string key) => obj.TryGetPropertyValue(key, out var v) ? v : null;

    static string? Str(JsonObject obj, string key, string source) => Field(obj, key) switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out string? s) => s,
        var other => throw new LayerChopException($"{source}: '{key}' should be a string, got {other.ToJsonString()}"),
    };

    static double? Num(JsonObject obj, string key, string source) => Field(obj, key) switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => double.Parse(v.ToJsonString(), CultureInfo.InvariantCulture),
        var other => throw new LayerChopException($"{source}: '{key}' should be a number, got {other.ToJsonString()}"),
    };

    static int? Int(JsonObject obj, string key, string source)
    {
        double? d = Num(obj, key, source);
        if (d is null) return null;
        if (d != Math.Floor(d.Value) || d > int.MaxValue || d < int.MinValue)
            throw new LayerChopException($"{source}: '{key}' should be an integer, got {d.Value.ToString(CultureInfo.InvariantCulture)}");
        return (int)d.Value;
    }

    static bool? Bool(JsonObject obj, string key, string source) => Field(obj, key) switch
    {
        null => null,
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
        var other => throw new LayerChopException($"{source}: '{key}' should be true or false, got {other.ToJsonString()}"),
    };

    // bos/eos ids may be a single id or (Llama 3 instruct) a list; the first is the one LayerChop uses.
    static int? TokenId(JsonObject obj, string key, string source) => Field(obj, key) switch
    {
        null => null,
        JsonArray { Count: > 0 } a when a[0] is JsonValue first && first.GetValueKind() == JsonValueKind.Number => int.Parse(first.ToJsonString(), CultureInfo.InvariantCulture),
        JsonArray => null,
        _ => Int(obj, key, source),
    };
}
