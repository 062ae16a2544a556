using System.Text.Json;
using LayerChop.Engine.Checkpoints;
using LayerChop.Engine.Chopping.Importance;
using LayerChop.Engine.Modeling;
using static TorchSharp.torch;

namespace LayerChop.Engine.Chopping;

public sealed record ChopResult(IReadOnlyList<int> Removed, IReadOnlyList<int> Kept, long ParamsBefore, long ParamsAfter);

/// <summary>
/// Removes whole decoder layers from a model folder, tensor by tensor: kept layers are renumbered
/// 0..L-K-1 in order and their bytes copied unchanged (no dtype round trip), so a chopped model is
/// bit-identical to the original with those layers skipped.
/// </summary>
public static partial class Chopper
{
    /// <summary>The chop record in a model folder: where it came from and which layers were removed.</summary>
    public const string RecordFile = "layerchop.json";

    /// <param name="importance">the data-driven criterion's scores, when one chose the layers.</param>
    public static void WriteRecord(string folder, string source, string strategy, IReadOnlyList<int> removed, IReadOnlyList<int> kept,
        object? importance = null)
    {
        var record = new Dictionary<string, object?>
        {
            ["chopped_from"] = Path.GetFullPath(source),
            ["strategy"] = strategy,
            ["removed"] = removed,
            ["kept"] = kept,
        };
        if (importance is not null) record["importance"] = importance;
        File.WriteAllText(Path.Combine(folder, RecordFile), JsonSerializer.Serialize(record, LayerChop.Settings.JsonFormat.Indented) + "\n");
    }

    public static ChopResult Plan(ModelConfig config, ChopStrategy strategy)
    {
        var removed = strategy.LayersToRemove(config.NumLayers);
        var kept = Enumerable.Range(0, config.NumLayers).Except(removed).ToList();
        var after = config.WithLayersKept(kept);
        return new ChopResult(removed, kept, config.TotalParams, after.TotalParams);
    }

    /// <summary>Removes exactly <paramref name="removed"/> (any order; the first and last layer may be among them).</summary>
    public static ChopResult Chop(string source, IReadOnlyList<int> removed, string destination) =>
        Chop(source, new ExplicitLayers(removed), destination);

    /// <summary>
    /// Removes the layers a data-driven criterion chose; layerchop.json records the criterion and its scores
    /// beside the removed layers, so the choice can be checked later without re-measuring.
    /// </summary>
    public static ChopResult Chop(string source, ImportanceResult selection, string destination) =>
        Chop(source, new ExplicitLayers(selection.Removed), destination, selection.Criterion, new Dictionary<string, object?>
        {
            ["scores_by"] = selection.ScoresBy == ScoreIndex.Layer ? "layer" : "block_start",
            ["scores"] = selection.Scores,
            ["removal_order"] = selection.RemovalOrder,
            ["forward_passes"] = selection.ForwardPasses,
            ["seconds"] = Math.Round(selection.WallTime.TotalSeconds, 3),
        });

    /// <summary>
    /// Throws a one-line LayerChopException when <paramref name="destination"/> cannot receive a chop of
    /// <paramref name="source"/>; callers that measure before chopping check first so a long measurement is not wasted.
    /// </summary>
    public static void CheckDestination(string source, string destination)
    {
        if (Path.GetFullPath(source).TrimEnd('/') == Path.GetFullPath(destination).TrimEnd('/'))
            throw new LayerChopException($"--out {destination} is the source folder; write the chopped model to a new folder");
        UserFolder.RefuseTaken(destination, "--out");
    }

    public static ChopResult Chop(string source, ChopStrategy strategy, string destination) =>
        Chop(source, strategy, destination, strategy.Name, importance: null);

    static ChopResult Chop(string source, ChopStrategy strategy, string destination, string strategyName,
        IReadOnlyDictionary<string, object?>? importance)
    {
        var config = ModelConfig.Load(source);
        var plan = Plan(config, strategy);
        CheckDestination(source, destination);

        var newIndex = new Dictionary<int, int>();
        for (int i = 0; i < plan.Kept.Count; i++) newIndex[plan.Kept[i]] = i;

        // Everything is written into a sibling folder first and renamed at the end: an interrupted chop
        // never leaves a folder that looks complete.
        long before = 0, after = 0;
        ModelFolder.WriteAside(destination, partial =>
        {
            using (var checkpoint = SafeTensorsCheckpoint.Open(source))
            {
                var sources = new List<TensorSource>();
                foreach (var name in checkpoint.Names)
                {
                    var info = checkpoint.Info(name);
                    long count = info.Shape.Aggregate(1L, (a, b) => a * b);
                    before += count;
                    string outName = name;
                    if (LayerTensorName.TryParse(name, out int layer, out string rest))
                    {
                        if (layer >= config.NumLayers)
                            throw new LayerChopException($"{source}: tensor '{name}' names layer {layer} but config.json says num_hidden_layers = {config.NumLayers}");
                        if (!newIndex.TryGetValue(layer, out int renumbered)) continue;
                        outName = LayerTensorName.Format(renumbered, rest);
                    }
                    after += count;
                    sources.Add(new TensorSource(outName, SafeTensorsDTypes.ToScalarType(info.DType), info.Shape, () => checkpoint.Read(name)));
                }
                SafeTensorsCheckpoint.WriteStreaming(partial, sources, metadata: new Dictionary<string, string> { ["format"] = "pt" });
            }
            config.WithLayersKept(plan.Kept).Save(partial);
            ModelFolder.CopyTokenizerFiles(source, partial);
            WriteRecord(partial, source, strategyName, plan.Removed, plan.Kept, importance);
        });
        return plan with { ParamsBefore = before, ParamsAfter = after };
    }
}
