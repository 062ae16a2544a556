using LayerChop.Interfaces;

namespace LayerChop.Client.Rendering;

/// <summary>
/// Both Pareto fronts of a sweep for people, as `sweep front` and `sweep run` print them: the candidates not
/// dominated on parameters against average accuracy, then those not dominated on latency against it, each
/// with its size, latency and average ± standard error.
/// </summary>
public static class FrontTable
{
    public static void Write(SweepFront front, TextWriter output)
    {
        var console = Terminal.For(output);
        foreach (var (axis, points) in new[] { ("parameters", front.ByParams), ("latency", front.ByLatency) })
        {
            output.WriteLine($"Pareto front ({axis} against average accuracy): {(points.Count == 0 ? "no completed candidate yet" : $"{points.Count} not dominated")}");
            if (points.Count == 0) continue;
            var table = new TextTable("candidate", "params", "ms/token", "average ± SE").RightAligned("params", "ms/token", "average ± SE");
            foreach (var p in points)
                table.AddRow(p.CandidateId, Cli.Count(p.Params), Numbers.Format(p.LatencyMsPerToken, "0.00"),
                    $"{Numbers.Format(p.Average, "0.0000")} ± {Numbers.Format(p.AverageStderr, "0.0000")}");
            table.Write(console, indent: 2);
        }
    }
}
