using System.Diagnostics;
using LayerChop.Engine.Modeling;

namespace LayerChop.Engine.Chopping.Importance;

/// <summary>Every per-layer score of one layer, side by side.</summary>
/// <param name="BlockInfluence">1 - cosine(input, output) over all tokens (block-influence's score).</param>
/// <param name="AngularK1">arccos(cosine(input, output)) / pi on the last token (angular's score for K = 1).</param>
/// <param name="PerplexityWithout">Calibration perplexity with this layer removed (perplexity's score).</param>
public sealed record LayerScores(int Layer, double BlockInfluence, double AngularK1, double PerplexityWithout);

/// <summary>A model's layers scored by every criterion on one calibration set.</summary>
public sealed record LayerImportanceReport(double Perplexity, IReadOnlyList<LayerScores> Layers, int ForwardPasses, TimeSpan WallTime);

public static class LayerImportance
{
    /// <summary>
    /// Scores every layer, the first and last included, by each per-layer criterion: one hidden-state pass, one
    /// pass for the full model's perplexity, and one per layer. The iterative criterion has no per-layer score (it
    /// is a sequence of choices, each depending on the previous ones), so it is not part of the report.
    /// </summary>
    public static LayerImportanceReport Measure(CausalLM model, CalibrationSet calib)
    {
        CalibrationMeasures.CheckFits(model, calib);
        var clock = Stopwatch.StartNew();
        var hidden = CalibrationMeasures.HiddenStates(model, calib, blockSize: 1);
        double full = CalibrationMeasures.Perplexity(model, calib);
        var layers = Enumerable.Range(0, model.NumLayers)
            .Select(i => new LayerScores(i, hidden.BlockInfluence[i], hidden.Angular[i],
                CalibrationMeasures.Perplexity(model, calib, new HashSet<int> { i })))
            .ToList();
        return new LayerImportanceReport(full, layers, 2 + model.NumLayers, clock.Elapsed);
    }
}
