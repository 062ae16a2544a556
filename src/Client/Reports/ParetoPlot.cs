using System.Globalization;
using LayerChop.Grains.Sweeps;
using LayerChop.Interfaces;
using LayerChop.Worker;
using ScottPlot;

namespace LayerChop.Client.Reports;

/// <summary>
/// Every completed candidate as a numbered point with ±1 standard error of accuracy (and, against latency,
/// the 10th-90th percentile of its timed runs); the non-dominated ones highlighted and joined. Numbers follow
/// the candidates' order in the report's table, and a legend beside the plot spells each one out, so labels
/// never overlap; candidates at the same point share one label ("3, 7").
/// </summary>
public static class ParetoPlot
{
    static readonly Color Front = Colors.Crimson, Other = new(90, 90, 90);

    public static void Write(IReadOnlyList<CandidateSummary> results, IReadOnlyList<FrontPoint> front, FrontAxis axis, string pathWithoutExtension)
    {
        bool byParams = axis == FrontAxis.Params;
        var numbers = results.Select((c, i) => (c.Id, i + 1)).ToDictionary(p => p.Id, p => p.Item2);
        var done = results.Where(c => c.Status == CandidateStatus.Completed && c.Result is { } r && double.IsFinite(r.Average)).ToList();
        var unit = ParamsUnit(done.Select(c => c.Result!.Params));
        double X(CandidateResult r) => byParams ? r.Params / unit.Size : r.LatencyMsPerToken;
        double Xp(FrontPoint p) => byParams ? p.Params / unit.Size : p.LatencyMsPerToken;
        double Se(CandidateResult r) => double.IsFinite(r.AverageStderr) ? r.AverageStderr : 0;
        var onFront = front.Select(p => p.CandidateId).ToHashSet();

        var plot = new Plot();
        foreach (var group in done.GroupBy(c => onFront.Contains(c.Id)))
        {
            var members = group.ToList();
            var xs = members.Select(c => X(c.Result!)).ToArray();
            var ys = members.Select(c => c.Result!.Average).ToArray();
            var yErr = members.Select(c => Se(c.Result!)).ToArray();
            var xLow = members.Select(c => byParams || c.Result!.Latency is null ? 0 : X(c.Result!) - c.Result!.Latency.P10MsPerToken).ToArray();
            var xHigh = members.Select(c => byParams || c.Result!.Latency is null ? 0 : c.Result!.Latency.P90MsPerToken - X(c.Result!)).ToArray();
            var bars = plot.Add.ErrorBar(xs, ys, yErr);
            bars.XErrorNegative = xLow; bars.XErrorPositive = xHigh;
            bars.YErrorNegative = yErr; bars.YErrorPositive = yErr;
            bars.Color = (group.Key ? Front : Other).WithAlpha(0.8);
            bars.LineWidth = 1.5f;
            var dots = plot.Add.Scatter(xs, ys);
            dots.LineWidth = 0; dots.MarkerSize = group.Key ? 11 : 8;
            dots.Color = group.Key ? Front : Other;
        }
        if (front.Count > 1)
        {
            var ordered = front.OrderBy(Xp).ToList();
            var line = plot.Add.Scatter(ordered.Select(Xp).ToArray(), ordered.Select(p => p.Average).ToArray());
            line.LineWidth = 2; line.MarkerSize = 0; line.Color = Front.WithAlpha(0.6);
            line.ConnectStyle = ConnectStyle.StepHorizontal;
        }
        // One label per cluster of points closer than a label's size: the numbers of every candidate there.
        double spanX = done.Count == 0 ? 1 : Math.Max(done.Max(c => X(c.Result!)) - done.Min(c => X(c.Result!)), 1e-9);
        double spanY = done.Count == 0 ? 1 : Math.Max(done.Max(c => c.Result!.Average) - done.Min(c => c.Result!.Average), 1e-9);
        foreach (var cluster in Clusters(done, c => X(c.Result!) / spanX, c => c.Result!.Average / spanY, 0.035))
        {
            var members = cluster.OrderBy(c => numbers[c.Id]).ToList();
            var anchor = members.MaxBy(c => c.Result!.Average)!;
            var label = plot.Add.Text(string.Join(", ", members.Select(c => numbers[c.Id])), X(anchor.Result!), anchor.Result!.Average);
            label.LabelFontSize = 13;
            label.LabelBold = true;
            label.LabelFontName = Fonts.Sans;
            label.LabelFontColor = members.Any(c => onFront.Contains(c.Id)) ? Front : Other;
            label.OffsetX = 7; label.OffsetY = -20;
        }
        plot.Legend.ManualItems.Clear();
        if (front.Count > 0)
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = "Pareto front", MarkerShape = MarkerShape.FilledCircle, MarkerFillColor = Front, MarkerLineColor = Front, MarkerSize = 10 });
        if (done.Any(c => !onFront.Contains(c.Id)))
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = "dominated", MarkerShape = MarkerShape.FilledCircle, MarkerFillColor = Other, MarkerLineColor = Other, MarkerSize = 8 });
        foreach (var c in results)
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = Legend(numbers[c.Id], c), LabelFontColor = onFront.Contains(c.Id) ? Front : Colors.Black });
        plot.Legend.FontName = Fonts.Monospace;
        plot.Legend.FontSize = 12;
        plot.ShowLegend(Edge.Right);
        if (done.Count > 0)
        {
            double xMin = done.Min(c => byParams ? X(c.Result!) : c.Result!.Latency?.P10MsPerToken ?? X(c.Result!));
            double xMax = done.Max(c => byParams ? X(c.Result!) : c.Result!.Latency?.P90MsPerToken ?? X(c.Result!));
            double yMin = done.Min(c => c.Result!.Average - Se(c.Result!)), yMax = done.Max(c => c.Result!.Average + Se(c.Result!));
            double xPad = Math.Max((xMax - xMin) * 0.08, Math.Abs(xMax) * 0.03 + 1e-6);
            double yPad = Math.Max((yMax - yMin) * 0.1, 0.01);
            plot.Axes.SetLimits(xMin - xPad, xMax + xPad * 2, yMin - yPad, yMax + yPad * 2);
        }
        plot.Title(byParams ? "Size against accuracy" : "Latency against accuracy");
        plot.XLabel(byParams ? $"parameters ({unit.Name})" : "latency (ms per generated token; bars: p10-p90)");
        plot.YLabel("average accuracy (paper metric), ±1 SE");
        plot.SavePng(pathWithoutExtension + ".png", 1400, 700);
        plot.SaveSvg(pathWithoutExtension + ".svg", 1400, 700);
    }

    /// <summary>Groups points that lie within <paramref name="radius"/> of a group's first point (coordinates scaled to the axes' spans).</summary>
    static List<List<CandidateSummary>> Clusters(IEnumerable<CandidateSummary> points, Func<CandidateSummary, double> x, Func<CandidateSummary, double> y, double radius)
    {
        var clusters = new List<List<CandidateSummary>>();
        foreach (var p in points.OrderByDescending(y))
        {
            var home = clusters.FirstOrDefault(c => Math.Abs(x(c[0]) - x(p)) < radius * 3 && Math.Abs(y(c[0]) - y(p)) < radius);
            if (home is null) clusters.Add([p]); else home.Add(p);
        }
        return clusters;
    }

    /// <summary>
    /// The unit of the parameters axis, from the largest count it shows: thousands below a million, millions
    /// below a billion, billions from there, so that its ticks read as plain numbers (56 thousand, not 0.056 million).
    /// </summary>
    public static (double Size, string Name) ParamsUnit(IEnumerable<long> counts) => counts.DefaultIfEmpty(0).Max() switch
    {
        < 1_000_000 => (1e3, "thousands"),
        < 1_000_000_000 => (1e6, "millions"),
        _ => (1e9, "billions"),
    };

    /// <summary>A candidate's line in the legend: " 3  2 layers removed (input), healed 4096 tokens  0.278 ± 0.119".</summary>
    public static string Legend(int number, CandidateSummary c)
    {
        var inv = CultureInfo.InvariantCulture;
        string score = c.Result is { } r && double.IsFinite(r.Average)
            ? $"{r.Average.ToString("0.000", inv)} ± {(double.IsFinite(r.AverageStderr) ? r.AverageStderr.ToString("0.000", inv) : "?")}" : "(no result)";
        return $"{number,2}  {SweepReport.Describe(c.Config)}  {score}";
    }
}
