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
        // Its own time on an idle machine is in bench/RESULTS.md; the limit leaves room for a loaded test machine.
        var first = LayerChopProcess.Run(new Dictionary<string, string>(), TimeSpan.FromMinutes(5), ["demo", "--out", work, "--corpus", corpus, .. Reduced]);
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
    public void A_crash_of_the_base_model_training_is_reported_in_one_line_and_training_resumes_from_its_checkpoint()
    {
        var work = Path.Combine(LayerChopProcess.TempFolder(), "demo");
        var info = new ProcessStartInfo(LayerChopProcess.DotnetHost) { RedirectStandardOutput = true, RedirectStandardError = true };
        string[] args = [LayerChopProcess.Dll, "demo", "--out", work, "--corpus", BrownJsonl(40), .. Reduced[2..], "--base-tokens", "204800"];
        foreach (var a in args) info.ArgumentList.Add(a);
        using var demo = Process.Start(info)!;
        var stderr = new System.Text.StringBuilder();
        demo.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        demo.BeginErrorReadLine();
        demo.BeginOutputReadLine();
        try
        {
            // Once the base model's training (a child process) has written its first checkpoint, kill it as a crash would.
            // 50 steps, a checkpoint every 5; a complete one is a folder named step-NNNNNNNN.
            var checkpoints = Path.Combine(work, "models", "base", "checkpoints");
            bool Written() => Directory.Exists(checkpoints) && Directory.GetDirectories(checkpoints).Any(d => System.Text.RegularExpressions.Regex.IsMatch(Path.GetFileName(d), @"^step-\d+$"));
            var clock = Stopwatch.StartNew();
            while (!Written() && clock.Elapsed < TimeSpan.FromSeconds(90)) Thread.Sleep(50);
            Assert.True(Written(), "no checkpoint within 90 s:\n" + stderr);
            var child = Children(demo.Id).Single();
            Process.GetProcessById(child).Kill();                               // SIGKILL, as the out-of-memory killer would

            while (!stderr.ToString().Contains("== 3/4 sweep") && !demo.HasExited && clock.Elapsed < TimeSpan.FromSeconds(150)) Thread.Sleep(100);
            var text = stderr.ToString();
            Assert.Matches(@"base model: training killed by signal 9 \(SIGKILL, e.g. out of memory\); resuming from step-\d+ \(attempt 2 of 3\)", text);
            Assert.Contains("== 3/4 sweep", text);                              // the base model finished after the crash
            Assert.True(File.Exists(Path.Combine(work, "models", "base", "train_result.json")));
        }
        finally
        {
            if (!demo.HasExited) demo.Kill(entireProcessTree: true);
        }
    }

    static IReadOnlyList<int> Children(int parent) =>
        Directory.GetDirectories("/proc").Select(d => int.TryParse(Path.GetFileName(d), out int pid) ? pid : -1).Where(pid => pid > 0)
            .Where(pid =>
            {
                try { return File.ReadAllText($"/proc/{pid}/stat").Split(") ")[1].Split(' ')[1] == parent.ToString(); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
            }).ToList();

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
