using System.Text.Json;
using System.Text.Json.Serialization;
using LayerChop.Engine.Checkpoints;
using LayerChop.Engine.Data;
using LayerChop.Engine.Modeling;
using static TorchSharp.torch;

namespace LayerChop.Engine.Training;

/// <summary>Where a run stands: enough, with the weights and optimizer moments, to continue it bit for bit.</summary>
public sealed record TrainState
{
    public required long Step { get; init; }                 // healing steps done
    public long OptimizerStep { get; init; }                 // AdamW updates, including warm-up before a chop
    public IReadOnlyList<int>? KeptLayers { get; init; }     // set when the run chopped the model itself
    public required long Tokens { get; init; }
    public required DataCursor Cursor { get; init; }
    public IReadOnlyDictionary<string, string>? ResumeSettings { get; init; }   // what a resume must match, by name
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? OptionsKey { get; init; }                 // the same '|'-joined, in checkpoints written before names
    public required string DataFingerprint { get; init; }
    public required string ModelShape { get; init; }
    public required List<double> Losses { get; init; }       // one per step, for the loss curve and the resume check
    public List<long> ResumedFrom { get; init; } = [];        // steps this run continued from after a stop
    // There is no other randomness to restore: the model has no dropout and the data order is a pure
    // function of (seed, epoch), so the data cursor is the whole random state.
}

/// <summary>
/// A checkpoint folder: model.safetensors (the trained weights, float32 master weights where the model runs in bf16:
/// every weight, or with LoRA only the adapters, the frozen weights coming again from the model folder),
/// optimizer.safetensors (their AdamW moments) and state.json. It is written under a temporary name and renamed
/// into place, so a folder named step-NNNNNNNN is always complete, whenever the process dies.
/// </summary>
public static class TrainCheckpoint
{
    const string Prefix = "step-";

    public static string Folder(string runDir) => Path.Combine(runDir, "checkpoints");

    /// <param name="publish">moves the written checkpoint into place and prunes old ones (a sweep attempt's fence).</param>
    public static void Save(string runDir, CausalLM model, AdamW optimizer, TrainState state, int keep, IPublishGate? publish = null)
    {
        var root = Folder(runDir);
        Directory.CreateDirectory(root);
        var final = Path.Combine(root, $"{Prefix}{state.Step:D8}");
        var temp = Path.Combine(root, $".{Prefix}{state.Step:D8}.{Guid.NewGuid():N}.tmp");   // this writer's own
        Directory.CreateDirectory(temp);

        var weights = optimizer.Slots.Select(s => new TensorSource(s.Name, ScalarType.Float32, s.Master.shape, () => DetachedCopy(s.Master)));
        SafeTensorsWriter.WriteStreaming(Path.Combine(temp, "model.safetensors"), weights.ToList());
        var moments = optimizer.Slots.SelectMany(s => new[]
        {
            new TensorSource(s.Name + ".exp_avg", ScalarType.Float32, s.ExpAvg.shape, () => DetachedCopy(s.ExpAvg)),
            new TensorSource(s.Name + ".exp_avg_sq", ScalarType.Float32, s.ExpAvgSq.shape, () => DetachedCopy(s.ExpAvgSq)),
        });
        SafeTensorsWriter.WriteStreaming(Path.Combine(temp, "optimizer.safetensors"), moments.ToList(),
            new Dictionary<string, string> { ["adamw_step"] = optimizer.Step.ToString() });
        File.WriteAllText(Path.Combine(temp, "state.json"), JsonSerializer.Serialize(state, new JsonSerializerOptions { WriteIndented = true }));

        try
        {
            (publish ?? OpenGate.Instance).Publish(() =>
            {
                if (Directory.Exists(final)) Directory.Delete(final, true);
                Directory.Move(temp, final);
                foreach (var old in List(runDir).SkipLast(keep)) Directory.Delete(old, true);
            });
        }
        finally
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, true);   // not published
        }
    }

    /// <summary>Complete checkpoints, oldest first.</summary>
    public static IReadOnlyList<string> List(string runDir)
    {
        var root = Folder(runDir);
        if (!Directory.Exists(root)) return [];
        return Directory.GetDirectories(root, Prefix + "*")
            .Where(d => File.Exists(Path.Combine(d, "state.json")))
            .Order(StringComparer.Ordinal).ToList();
    }

    public static string? Newest(string runDir) => List(runDir).LastOrDefault();

    public static TrainState ReadState(string checkpoint)
    {
        var path = Path.Combine(checkpoint, "state.json");
        try
        {
            return JsonSerializer.Deserialize<TrainState>(File.ReadAllText(path))
                   ?? throw new LayerChopException($"{path}: empty checkpoint state");
        }
        catch (JsonException e) { throw new LayerChopException($"{path}: unreadable checkpoint state ({e.Message})"); }
    }

    /// <summary>Restores weights and moments; every tensor must exist with the same shape.</summary>
    public static void Restore(string checkpoint, AdamW optimizer, long step)
    {
        using var noGrad = no_grad();
        using var weights = SafeTensorsFile.Open(Path.Combine(checkpoint, "model.safetensors"));
        using var moments = SafeTensorsFile.Open(Path.Combine(checkpoint, "optimizer.safetensors"));
        foreach (var s in optimizer.Slots)
        {
            Copy(weights, s.Name, s.Master, checkpoint);
            Copy(moments, s.Name + ".exp_avg", s.ExpAvg, checkpoint);
            Copy(moments, s.Name + ".exp_avg_sq", s.ExpAvgSq, checkpoint);
            if (s.OwnsMaster) s.Parameter.copy_(s.Master);
        }
        optimizer.Step = step;
    }

    // The alias stays referenced until the copy is made: an unreferenced temporary can be finalized during the native call.
    static Tensor DetachedCopy(Tensor tensor)
    {
        using var alias = tensor.detach();
        return alias.clone();
    }

    static void Copy(SafeTensorsFile file, string name, Tensor into, string checkpoint)
    {
        if (!file.Contains(name))
            throw new LayerChopException($"{checkpoint}: checkpoint has no tensor '{name}'; it was written for a different model");
        using var stored = file.Read(name);
        if (!stored.shape.SequenceEqual(into.shape))
            throw new LayerChopException($"{checkpoint}: tensor '{name}' has shape [{string.Join(",", stored.shape)}] but the model needs [{string.Join(",", into.shape)}]; the checkpoint is from a different model shape");
        into.copy_(stored);
    }
}
