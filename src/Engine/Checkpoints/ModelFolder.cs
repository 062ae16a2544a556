using LayerChop.Engine.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace LayerChop.Engine.Checkpoints;

/// <summary>
/// A Hugging Face model folder: config.json, safetensors weights (single file or sharded), tokenizer files.
/// Loading streams one tensor at a time into an allocated model, so peak memory is the model plus the
/// largest tensor, never two copies of the weights.
/// </summary>
public static class ModelFolder
{
    /// <summary>Files copied along with the weights so a written folder is usable end to end.</summary>
    public static readonly IReadOnlyList<string> TokenizerFiles =
    [
        "tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json",
        "added_tokens.json", "vocab.json", "merges.txt", "generation_config.json", "chat_template.jinja",
    ];

    /// <summary>
    /// Checks, reading no weights, that the folder loads: config.json, a checkpoint whose stored layers agree with
    /// it, and a tokenizer. Throws one line saying what is missing or wrong.
    /// </summary>
    public static void CheckLoadable(string folder)
    {
        ModelSummary summary;
        try { summary = ModelSummary.Read(folder); }
        catch (CheckpointFormatException e) { throw new LayerChopException(e.Message); }
        if (summary.Layers != summary.ConfigLayers)
            throw new LayerChopException($"{folder}: the weights hold {summary.Layers} layers but config.json says num_hidden_layers {summary.ConfigLayers}");
        try { Tokenization.TextTokenizer.Load(folder); }
        catch (Tokenization.TokenizerLoadException e) { throw new LayerChopException($"{folder} has no usable tokenizer: {e.Message}"); }
    }

    /// <summary>Loads a model folder; weights are converted to <paramref name="dtype"/> (default: float32).</summary>
    /// <param name="keptLayers">when given, only these layers are loaded, renumbered 0.. in order: the model as
    /// <c>layerchop chop</c> would have written it.</param>
    public static CausalLM Load(string folder, ScalarType dtype = ScalarType.Float32, Device? device = null,
        IReadOnlyList<int>? keptLayers = null)
    {
        var config = ModelConfig.Load(folder);
        if (keptLayers is not null) config = config.WithLayersKept(keptLayers);
        using var checkpoint = SafeTensorsCheckpoint.Open(folder);
        var model = new CausalLM(config, dtype, device ?? CPU);
        try
        {
            LoadWeights(model, checkpoint, folder, keptLayers);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        model.eval();
        return model;
    }

    static void LoadWeights(CausalLM model, SafeTensorsCheckpoint checkpoint, string folder, IReadOnlyList<int>? keptLayers)
    {
        var expected = model.NamedWeights().ToDictionary(p => StoredName(p.Name, keptLayers), p => p.Parameter);
        foreach (var name in checkpoint.Names)
        {
            if (expected.ContainsKey(name)) continue;
            if (keptLayers is not null && name.StartsWith("model.layers.", StringComparison.Ordinal)) continue;
            // Older checkpoints store rotary tables, and tied models sometimes store lm_head anyway.
            if (name.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal)) continue;
            if (name == "lm_head.weight" && model.Config.TieWordEmbeddings) continue;
            throw new LayerChopException($"{folder}: tensor '{name}' does not belong to a {model.Config.ModelType} model of this config; is config.json from another model?");
        }
        using var noGrad = no_grad();
        foreach (var (name, parameter) in expected)
        {
            if (!checkpoint.Names.Contains(name))
                throw new LayerChopException($"{folder}: tensor '{name}' is missing from the checkpoint; the weights do not match config.json");
            var info = checkpoint.Info(name);
            if (!info.Shape.SequenceEqual(parameter.shape))
                throw new LayerChopException($"{folder}: tensor '{name}' has shape [{string.Join(",", info.Shape)}] but config.json implies [{string.Join(",", parameter.shape)}]");
            using var stored = checkpoint.Read(name);
            parameter.copy_(stored);
        }
    }

    /// <summary>The checkpoint name of a parameter of a model that keeps only <paramref name="keptLayers"/>.</summary>
    public static string StoredName(string name, IReadOnlyList<int>? keptLayers)
    {
        return keptLayers is not null && LayerTensorName.TryParse(name, out int layer, out string rest)
            ? LayerTensorName.Format(keptLayers[layer], rest) : name;
    }

    /// <summary>Writes the model's weights (in <paramref name="dtype"/>), its config and the tokenizer files of <paramref name="tokenizerFrom"/>.</summary>
    public static void Save(CausalLM model, string folder, ScalarType dtype, string? tokenizerFrom,
        long maxShardBytes = 5_000_000_000)
    {
        Directory.CreateDirectory(folder);
        // Each weight is converted to the stored dtype only when its turn comes: one extra tensor at a time. The
        // detached alias stays referenced until converted (a temporary can be finalized during the native call).
        var sources = model.NamedWeights()
            .Select(p => new TensorSource(p.Name, dtype, p.Parameter.shape, () =>
            {
                using var alias = p.Parameter.detach();
                return alias.to(dtype);
            }))
            .ToList();
        SafeTensorsCheckpoint.WriteStreaming(folder, sources, maxShardBytes, new Dictionary<string, string> { ["format"] = "pt" });
        if (tokenizerFrom is not null) CopyTokenizerFiles(tokenizerFrom, folder);
        model.Config.WithDtype(DTypes.TorchName(dtype)).Save(folder);
    }

    /// <summary>
    /// Writes a folder under a sibling name (.NAME.partial) and renames it to <paramref name="destination"/> once
    /// <paramref name="write"/> returns, so an interrupted write never leaves a folder named like the destination;
    /// a partial folder left by a crash is replaced. The destination must not exist, or be empty.
    /// </summary>
    public static void WriteAside(string destination, Action<string> write)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(destination));
        var partial = Path.Combine(Path.GetDirectoryName(full)!, "." + Path.GetFileName(full) + ".partial");
        if (Directory.Exists(partial)) Directory.Delete(partial, recursive: true);
        Directory.CreateDirectory(partial);
        try
        {
            write(partial);
            if (Directory.Exists(full)) Directory.Delete(full);
            Directory.Move(partial, full);
        }
        catch
        {
            try { Directory.Delete(partial, recursive: true); }
            catch (IOException) { }   // the next write replaces it
            throw;
        }
    }

    public static void CopyTokenizerFiles(string from, string to)
    {
        if (Path.GetFullPath(from) == Path.GetFullPath(to)) return;
        foreach (var file in TokenizerFiles)
        {
            var source = Path.Combine(from, file);
            if (File.Exists(source)) File.Copy(source, Path.Combine(to, file), overwrite: true);
        }
    }
}
