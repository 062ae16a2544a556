using LayerChop.Grains.Sweeps;
using LayerChop.Interfaces;
using ScottPlot;

namespace LayerChop.Client.Reports;

/// <summary>Every completed candidate as a point, the non-dominated ones highlighted and joined, each labelled by its configuration.</summary>
public static class ParetoPlot
{
    public static void Write(IReadOnlyList<CandidateState> results, IReadOnlyList<FrontPoint> front, FrontAxis axis, string pathWithoutExtension)
    {
        bool byParams = axis == FrontAxis.Params;
        var done = results.Where(c => c.Status == CandidateStatus.Completed && c.Result is { } r && double.IsFinite(r.Average)).ToList();
        double X(CandidateResult r) => byParams ? r.Params / 1e6 : r.LatencyMsPerToken;
        double Xp(FrontPoint p) => byParams ? p.Params / 1e6 : p.LatencyMsPerToken;

        var plot = new Plot();
        var onFront = front.Select(p => p.CandidateId).ToHashSet();
        var others = done.Where(c => !onFront.Contains(c.Id)).ToList();
        if (others.Count > 0)
        {
            var dots = plot.Add.Scatter(others.Select(c => X(c.Result!)).ToArray(), others.Select(c => c.Result!.Average).ToArray());
            dots.LineWidth = 0; dots.MarkerSize = 9; dots.Color = Colors.Gray; dots.LegendText = "dominated";
        }
        if (front.Count > 0)
        {
            var ordered = front.OrderBy(Xp).ToList();
            var line = plot.Add.Scatter(ordered.Select(Xp).ToArray(), ordered.Select(p => p.Average).ToArray());
            line.LineWidth = 2; line.MarkerSize = 11; line.Color = Colors.Crimson; line.LegendText = "Pareto front";
            line.ConnectStyle = ConnectStyle.StepHorizontal;
        }
        // Candidates at the same point get their labels stacked, not printed over one another.
        foreach (var group in done.GroupBy(c => (Math.Round(X(c.Result!), 4), Math.Round(c.Result!.Average, 4))))
        {
            int row = 0;
            foreach (var c in group.OrderBy(c => c.Id, StringComparer.Ordinal))
            {
                var label = plot.Add.Text(Short(c.Config), X(c.Result!), c.Result!.Average);
                label.LabelFontSize = 12;
                label.LabelFontColor = onFront.Contains(c.Id) ? Colors.Crimson : Colors.DimGray;
                label.OffsetX = 8; label.OffsetY = -8 + 15 * row++;
            }
        }
        if (done.Count > 0)
        {
            double xMin = done.Min(c => X(c.Result!)), xMax = done.Max(c => X(c.Result!));
            double yMin = done.Min(c => c.Result!.Average), yMax = done.Max(c => c.Result!.Average);
            double xPad = Math.Max((xMax - xMin) * 0.08, Math.Abs(xMax) * 0.05 + 1e-6);
            double yPad = Math.Max((yMax - yMin) * 0.15, 0.02);
            // Room on the right for the labels of the largest candidates, and below for stacked labels.
            plot.Axes.SetLimits(xMin - xPad, xMax + xPad + (xMax - xMin + xPad) * 0.35, yMin - yPad * 2, yMax + yPad);
        }
        plot.Title(byParams ? "Size against accuracy" : "Latency against accuracy");
        plot.XLabel(byParams ? "parameters (millions)" : "latency (ms per generated token)");
        plot.YLabel("average accuracy (paper metric)");
        plot.ShowLegend(Alignment.LowerRight);
        plot.SavePng(pathWithoutExtension + ".png", 1000, 650);
        plot.SaveSvg(pathWithoutExtension + ".svg", 1000, 650);
    }

    /// <summary>A short label: "-2 input, healed 200K" or "full, healed 200K".</summary>
    static string Short(CandidateConfig c)
    {
        string chop = c.Remove == 0 ? "full" : $"-{c.Remove} {c.Strategy}";
        string heal = c.HealTokens == 0 ? "unhealed" : $"healed {CandidateConfig.FormatTokens(c.HealTokens)}{(c.HealMethod == "distill" ? " (distill)" : "")}";
        return $"{chop}, {heal}";
    }
}
