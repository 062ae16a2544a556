using System.Diagnostics;
using LayerChop.Engine.Modeling;

namespace LayerChop.Engine.Chopping.Importance;

/// <summary>
/// A strategy that chooses which K layers to remove by measuring the model on a calibration set. Its removal set
/// depends on the model and the data, so it cannot answer <see cref="ChopStrategy.LayersToRemove"/>; call
/// <see cref="Select(CausalLM, CalibrationSet)"/> and chop the layers it returns. The first and last layer stay
/// unless <see cref="AllowEnds"/>. Ties go to the lower index, so a fixed model and set always give one answer.
/// </summary>
public abstract record DataDrivenStrategy(int Remove, bool AllowEnds) : ChopStrategy
{
    public static IReadOnlyList<string> CriterionNames => Settings.ChopSettings.Criteria;

    public static DataDrivenStrategy Create(string name, int remove, bool allowEnds = false) => name switch
    {
        "block-influence" => new BlockInfluence(remove, allowEnds),
        "angular" => new AngularDistance(remove, allowEnds),
        "perplexity" => new OneShotPerplexity(remove, allowEnds),
        "iterative" => new IterativePerplexity(remove, allowEnds),
        _ => throw new LayerChopException($"unknown criterion '{name}'; use one of {string.Join(", ", CriterionNames)}"),
    };

    public override IReadOnlyList<int> LayersToRemove(int layers) =>
        throw new LayerChopException($"strategy '{Name}' chooses layers by measuring the model: it needs a calibration set (--calib PATH)");

    /// <summary>Removes <see cref="Remove"/> layers.</summary>
    public ImportanceResult Select(CausalLM model, CalibrationSet calib) => Select(model, calib, Remove);

    /// <summary>Chooses <paramref name="k"/> layers to remove from <paramref name="model"/>, measured on <paramref name="calib"/>.</summary>
    public ImportanceResult Select(CausalLM model, CalibrationSet calib, int k)
    {
        CheckRemovable(model.NumLayers, k);
        CalibrationMeasures.CheckFits(model, calib);
        var clock = Stopwatch.StartNew();
        var (order, scores, passes) = Choose(model, calib, k);
        return new ImportanceResult(Name, order.Order().ToList(), order, scores, ScoresBy, passes, clock.Elapsed);
    }

    /// <summary>Throws a one-line LayerChopException unless <paramref name="k"/> layers of <paramref name="layers"/> may be removed.</summary>
    public void CheckRemovable(int layers, int k)
    {
        int most = AllowEnds ? layers - 1 : layers - 2;
        if (k >= 1 && k <= most) return;
        if (most < 1)
            throw new LayerChopException($"a model of {layers} layers cannot be chopped: the first and last layer are always kept");
        throw new LayerChopException(AllowEnds
            ? $"cannot remove {k} of {layers} layers: at least one must stay, so K must be between 1 and {most}"
            : $"cannot remove {k} of {layers} layers: the first and last layer are always kept, so K must be between 1 and {most} (--allow-ends lets them go)");
    }

    protected virtual ScoreIndex ScoresBy => ScoreIndex.Layer;

    /// <summary>The removal in choice order, the scores, and the number of passes over the calibration set.</summary>
    protected abstract (IReadOnlyList<int> Order, IReadOnlyList<double?> Scores, int Passes) Choose(CausalLM model, CalibrationSet calib, int k);

    /// <summary>The layers that may be removed, ascending.</summary>
    protected IReadOnlyList<int> Candidates(int layers) =>
        AllowEnds ? Enumerable.Range(0, layers).ToList() : Enumerable.Range(1, layers - 2).ToList();

    /// <summary>The <paramref name="k"/> candidates with the lowest scores, lowest first (ties: lower index).</summary>
    protected static IReadOnlyList<int> Lowest(IEnumerable<int> candidates, IReadOnlyList<double> scores, int k) =>
        candidates.OrderBy(i => scores[i]).ThenBy(i => i).Take(k).ToList();
}

/// <summary>ShortGPT's block influence: a layer whose output points where its input did changes little.</summary>
public sealed record BlockInfluence(int Remove, bool AllowEnds = false) : DataDrivenStrategy(Remove, AllowEnds)
{
    public override string Name => "block-influence";

    protected override (IReadOnlyList<int> Order, IReadOnlyList<double?> Scores, int Passes) Choose(CausalLM model, CalibrationSet calib, int k)
    {
        var scores = CalibrationMeasures.HiddenStates(model, calib, blockSize: 1).BlockInfluence;
        return (Lowest(Candidates(model.NumLayers), scores, k), scores.Select(s => (double?)s).ToList(), 1);
    }
}

/// <summary>
/// Gromov et al.'s angular distance: the contiguous block of K layers whose input and output (on the last token)
/// are closest in angle is removed as a whole. Scores are per block start l (the block l..l+K-1).
/// </summary>
public sealed record AngularDistance(int Remove, bool AllowEnds = false) : DataDrivenStrategy(Remove, AllowEnds)
{
    public override string Name => "angular";

    protected override ScoreIndex ScoresBy => ScoreIndex.BlockStart;

    protected override (IReadOnlyList<int> Order, IReadOnlyList<double?> Scores, int Passes) Choose(CausalLM model, CalibrationSet calib, int k)
    {
        int layers = model.NumLayers;
        var distances = CalibrationMeasures.HiddenStates(model, calib, blockSize: k).Angular;
        // Every block is scored (one pass gives them all); only blocks inside the candidates may be chosen.
        int first = AllowEnds ? 0 : 1, last = AllowEnds ? layers - k : layers - 1 - k;
        int best = Enumerable.Range(first, last - first + 1).OrderBy(l => distances[l]).ThenBy(l => l).First();
        return (Enumerable.Range(best, k).ToList(), distances.Select(d => (double?)d).ToList(), 1);
    }
}

/// <summary>
/// Shortened LLaMA's one-shot perplexity criterion: each candidate layer is removed alone and the calibration
/// perplexity measured; the K whose removal leaves the lowest perplexity go. Scores are those perplexities.
/// </summary>
public sealed record OneShotPerplexity(int Remove, bool AllowEnds = false) : DataDrivenStrategy(Remove, AllowEnds)
{
    public override string Name => "perplexity";

    protected override (IReadOnlyList<int> Order, IReadOnlyList<double?> Scores, int Passes) Choose(CausalLM model, CalibrationSet calib, int k)
    {
        var candidates = Candidates(model.NumLayers);
        var scores = new double?[model.NumLayers];
        var measured = new double[model.NumLayers];
        foreach (int layer in candidates)
            scores[layer] = measured[layer] = CalibrationMeasures.Perplexity(model, calib, new HashSet<int> { layer });
        return (Lowest(candidates, measured, k), scores, candidates.Count);
    }
}

/// <summary>
/// SLEB: K rounds, each removing the one layer whose removal, on top of those already removed, leaves the lowest
/// calibration perplexity. Unlike the one-shot criterion it re-measures after every removal, so it sees how layers
/// interact. A layer's score is the perplexity measured for removing it in the last round it was a candidate in:
/// the round that removed it, or the final round for a layer that stays.
/// </summary>
public sealed record IterativePerplexity(int Remove, bool AllowEnds = false) : DataDrivenStrategy(Remove, AllowEnds)
{
    public override string Name => "iterative";

    protected override (IReadOnlyList<int> Order, IReadOnlyList<double?> Scores, int Passes) Choose(CausalLM model, CalibrationSet calib, int k)
    {
        var remaining = Candidates(model.NumLayers).ToList();
        var removed = new List<int>();
        var scores = new double?[model.NumLayers];
        int passes = 0;
        for (int round = 0; round < k; round++)
        {
            int best = -1;
            foreach (int layer in remaining)
            {
                var skip = removed.Append(layer).ToHashSet();
                double perplexity = CalibrationMeasures.Perplexity(model, calib, skip);
                passes++;
                scores[layer] = perplexity;
                if (best < 0 || perplexity < scores[best]) best = layer;   // ascending order: ties keep the lower index
            }
            removed.Add(best);
            remaining.Remove(best);
        }
        return (removed, scores, passes);
    }
}
