using System.Text.Json;
using System.Text.Json.Nodes;
using LayerChop.Client.Rendering;
using LayerChop.Grains.Sweeps;
using LayerChop.Interfaces;
using LayerChop.Settings;
using LayerChop.Specs;
using LayerChop.Worker;
using Xunit;

namespace LayerChop.Client.Tests;

/// <summary>What `sweep front` prints, for people and with --json, on points constructed by hand.</summary>
public class FrontOutputTests
{
    /// <summary>A point of this size and latency whose tasks scored these (score, standard error) pairs.</summary>
    static FrontPoint Point(CandidateConfig config, long parameters, double latency, params (double Score, double Stderr)[] tasks) => FrontPoint.Of(config, new CandidateResult
    {
        Params = parameters, LatencyMsPerToken = latency, Average = tasks.Average(t => t.Score),
        Scores = tasks.Select((t, i) => (t, i)).ToDictionary(p => $"task{p.i}", p => p.t.Score),
        ScoreStderrs = tasks.Select((t, i) => (t, i)).ToDictionary(p => $"task{p.i}", p => p.t.Stderr),
    });

    static readonly FrontPoint Small = Point(CandidateConfig.Create(2, "input", 4096, "pretrain", 1), 56_000, 0.5, (0.5, 0.2), (0.25, 0.25));
    static readonly FrontPoint Fast = Point(CandidateConfig.Create(4, "output", 0, "pretrain", 1), 2_500_000, 0.25, (0.75, 0.125));

    [Fact]
    public void Front_json_gives_each_point_its_average_and_its_standard_error()
    {
        var json = JsonNode.Parse(JsonSerializer.Serialize(SweepJson.Front(new SweepFront { ByParams = [Small], ByLatency = [Fast] }), JsonFormat.Indented))!;

        Assert.Equal(0.375, json["by_params"]![0]!["average"]!.GetValue<double>());
        Assert.Equal(Math.Sqrt(0.2 * 0.2 + 0.25 * 0.25) / 2, json["by_params"]![0]!["average_stderr"]!.GetValue<double>(), 12);
        Assert.Equal(0.75, json["by_latency"]![0]!["average"]!.GetValue<double>());
        Assert.Equal(0.125, json["by_latency"]![0]!["average_stderr"]!.GetValue<double>(), 12);
    }

    [Fact]
    public void Sweep_front_prints_both_fronts_each_point_with_its_average_and_standard_error()
    {
        var output = new StringWriter();

        FrontTable.Write(new SweepFront { ByParams = [Small], ByLatency = [Fast] }, output);

        var lines = output.ToString().Split('\n');
        int byParams = Array.FindIndex(lines, l => l.StartsWith("Pareto front (parameters against average accuracy): 1 not dominated"));
        int byLatency = Array.FindIndex(lines, l => l.StartsWith("Pareto front (latency against average accuracy): 1 not dominated"));
        Assert.True(byParams >= 0 && byLatency > byParams, output.ToString());
        var paramsRows = lines[byParams..byLatency];
        var latencyRows = lines[byLatency..];
        Assert.Contains(paramsRows, l => l.Contains(Small.CandidateId) && l.Contains("56k") && l.Contains("0.50") && l.Contains("0.3750 ± 0.1601"));
        Assert.DoesNotContain(paramsRows, l => l.Contains(Fast.CandidateId));
        Assert.Contains(latencyRows, l => l.Contains(Fast.CandidateId) && l.Contains("2.5M") && l.Contains("0.25") && l.Contains("0.7500 ± 0.1250"));
        Assert.DoesNotContain(latencyRows, l => l.Contains(Small.CandidateId));
    }

    [Fact]
    public void An_empty_front_says_there_is_no_completed_candidate_yet()
    {
        var output = new StringWriter();

        FrontTable.Write(new SweepFront(), output);

        Assert.Equal(
            ["Pareto front (parameters against average accuracy): no completed candidate yet", "Pareto front (latency against average accuracy): no completed candidate yet"],
            output.ToString().TrimEnd().Split('\n').Select(l => l.TrimEnd('\r')));
    }
}
