namespace LayerChop.Engine.Chopping.Importance;

/// <summary>What a score list is indexed by: a layer, or the first layer of a contiguous block.</summary>
public enum ScoreIndex { Layer, BlockStart }

/// <summary>
/// The outcome of a data-driven criterion: the layers it removes and the evidence for them, kept so that a sweep
/// can store the scores with the candidate they produced.
/// </summary>
/// <param name="Criterion">The strategy name ("block-influence", "angular", "perplexity", "iterative").</param>
/// <param name="Removed">The removed layers, ascending.</param>
/// <param name="RemovalOrder">The removed layers in the order the criterion chose them (most removable first).</param>
/// <param name="Scores">One score per layer (per block start for angular); lower means more removable. Null where
/// the criterion did not measure that index because it could not be removed (the first and last layer without
/// allow-ends, for the perplexity criteria).</param>
/// <param name="ScoresBy">Whether <paramref name="Scores"/> is indexed by layer or by block start.</param>
/// <param name="ForwardPasses">Passes of the model over the whole calibration set that the criterion ran.</param>
/// <param name="WallTime">Time the selection took, model already loaded.</param>
public sealed record ImportanceResult(
    string Criterion,
    IReadOnlyList<int> Removed,
    IReadOnlyList<int> RemovalOrder,
    IReadOnlyList<double?> Scores,
    ScoreIndex ScoresBy,
    int ForwardPasses,
    TimeSpan WallTime);
