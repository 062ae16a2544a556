using System.Diagnostics;
using System.Text.Json;
using Xunit;

namespace LayerChop.Client.Tests;

/// <summary>The README's main job, reduced (a smaller model, fewer steps) so it runs in CI.</summary>
public class DemoTests
{
    static string BrownJsonl(int documents) =>
        BrownTestCorpus.WriteJsonl(documents, Path.Combine(LayerChopProcess.TempFolder(), "brown.jsonl"));

    static readonly string[] Reduced =
    [
        "--base-tokens", "24576", "--heal-tokens", "4096", "--eval-limit", "16", "--layers", "6", "--hidden", "64", "--vocab", "320",
    ];

    [Fact]
    public void The_demo_trains_a_base_model_sweeps_and_writes_a_report_and_a_second_run_reuses_everything()
    {
        var work = Path.Combine(LayerChopProcess.TempFolder(), "demo");
        var corpus = BrownJsonl(40);
        var first = LayerChopProcess.Run(["demo", "--out", work, "--corpus", corpus, .. Reduced]);
        var csvBefore = "";
        Assert.True(first.ExitCode == 0, first.Stderr);
        var report = Path.Combine(work, "sweeps", "demo", "report");
        foreach (var file in new[] { "report.md", "results.csv", "results.json", "pareto-params.png", "pareto-params.svg", "pareto-latency.png", "pareto-latency.svg" })
            Assert.True(new FileInfo(Path.Combine(report, file)).Length > 100, file);

        var results = JsonDocument.Parse(File.ReadAllText(Path.Combine(report, "results.json"))).RootElement.EnumerateArray().ToList();
        Assert.Equal(14, results.Count);                                   // 1 baseline x 2 heal settings + 2 depths x 3 placements x 2
        Assert.All(results, r => Assert.Equal("completed", r.GetProperty("status").GetString()));
        Assert.Contains(results, r => r.GetProperty("id").GetString() == "r0-none-h4096-pretrain-s1");   // the fair control
        Assert.Contains(results, r => r.GetProperty("on_front").GetBoolean());
        var markdown = File.ReadAllText(Path.Combine(report, "report.md"));
        Assert.Contains("pareto-params.png", markdown);
        Assert.Contains("## What the numbers show", markdown);
        Assert.Contains("against unhealed: accuracy", markdown);
        Assert.Contains("The paper found removing near the input best", markdown);
        // Two candidates of one architecture (unhealed and healed) share one latency figure.
        var byShape = results.GroupBy(r => r.GetProperty("latency").GetProperty("shape").GetString());
        Assert.All(byShape, g => Assert.Single(g.Select(r => r.GetProperty("latency_ms_per_token").GetDouble()).Distinct()));
        Assert.Equal(3, byShape.Count());                                  // 6, 4 and 3 layers
        csvBefore = File.ReadAllText(Path.Combine(report, "results.csv"));

        var second = LayerChopProcess.Run(["demo", "--out", work, "--corpus", corpus, .. Reduced]);
        Assert.True(second.ExitCode == 0, second.Stderr);
        Assert.Contains("corpus: cached", second.Stderr);
        Assert.Contains("base model: cached", second.Stderr);
        // Finished candidates are not redone: the second report holds the same computed results
        // (latency is measured again only for candidates that run again, so none changes).
        Assert.Equal(csvBefore, File.ReadAllText(Path.Combine(report, "results.csv")));
    }

    [Fact]
    public void Without_npm_and_without_a_corpus_the_demo_says_what_to_do_in_one_line()
    {
        var dotnetDir = Path.GetDirectoryName(LayerChopProcess.DotnetHost) is { Length: > 0 } d ? d : "/usr/share/dotnet";
        var r = LayerChopProcess.Run(new Dictionary<string, string>
        {
            ["PATH"] = dotnetDir,                                              // dotnet, but no npm
            ["XDG_CACHE_HOME"] = LayerChopProcess.TempFolder(),                // no cached corpus
        }, "demo", "--out", Path.Combine(LayerChopProcess.TempFolder(), "demo"));
        // Progress lines come first (a long command says what it is doing); the error is one line, the last.
        Assert.Equal(2, r.ExitCode);
        var errors = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("error: ")).ToList();
        Assert.Single(errors);
        Assert.Equal(errors[0], r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);
        Assert.Contains("npm is not installed", errors[0]);
        Assert.Contains("--corpus", errors[0]);
        Assert.DoesNotContain("   at ", r.Stderr);
    }
}
