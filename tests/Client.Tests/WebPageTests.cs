using System.Diagnostics;
using LayerChop.Interfaces;
using LayerChop.Worker;
using Xunit;

namespace LayerChop.Client.Tests;

/// <summary>
/// The live sweep page of a real embedded silo in headless Chromium (tests/web/page-check.mjs, with Debian's
/// chromium and npm playwright-core from tests/web/setup.sh). Its screenshots, to look at after a change to the
/// page, are tests/web/screenshots/sweep-page.png and sweep-page-latency.png (git-ignored).
/// </summary>
public class WebPageTests(TrainingInputs inputs) : IClassFixture<TrainingInputs>
{
    static readonly string WebTests = Path.Combine(LayerChopProcess.RepoRoot, "tests", "web");

    [Fact]
    public async Task The_sweep_page_shows_the_candidates_and_front_of_the_api_updates_without_reload_and_draws_a_selected_loss_curve()
    {
        Assert.True(File.Exists("/usr/bin/chromium") && Directory.Exists(Path.Combine(WebTests, "node_modules", "playwright-core")),
            "the browser test needs chromium and playwright-core: run deploy/setup.sh (or tests/web/setup.sh)");
        var silo = await WebSilo.Start(inputs, "page");
        var (web, grains, sweep, slot) = (silo.Web, silo.Grains, silo.Sweep, silo.Slot);
        try
        {
            // Two candidates done: a larger, more accurate one and a smaller, less accurate one (both on the front).
            await Complete(grains, (await sweep.TakeNext(slot))!, 1, 6, paramsCount: 1_200_000, average: 0.62, latency: 2.4);
            await Complete(grains, (await sweep.TakeNext(slot))!, 1, 6, paramsCount: 900_000, average: 0.48, latency: 1.7);
            // One halfway through healing while the page is open, completed once the page has checked what it shows.
            var late = (await sweep.TakeNext(slot))!;
            var lateCandidate = grains.GetGrain<ICandidateGrain>(late.Lease.Key);
            await Heal(lateCandidate, 1, 3, 6, scale: 1.3);
            // And one left healing, for a progress bar.
            await Heal(grains.GetGrain<ICandidateGrain>((await sweep.TakeNext(slot))!.Lease.Key), 1, 2, 6, scale: 1.5);

            var screenshot = Path.Combine(WebTests, "screenshots", "sweep-page.png");
            Directory.CreateDirectory(Path.GetDirectoryName(screenshot)!);
            File.Delete(screenshot);
            var start = new ProcessStartInfo("node") { WorkingDirectory = WebTests, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[] { "page-check.mjs", web.Url, "page", late.Config.Id, screenshot }) start.ArgumentList.Add(arg);
            using var node = Process.Start(start)!;
            var stderr = node.StandardError.ReadToEndAsync();
            var output = new List<string>();
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            try
            {
                while (await node.StandardOutput.ReadLineAsync(deadline.Token) is { } line)
                {
                    output.Add(line);
                    if (line != "ready") continue;
                    await Heal(lateCandidate, 4, 6, 6, scale: 1.3);
                    await lateCandidate.Report(new StageEvent { Attempt = 1, Stage = WorkerStage.Evaluating });
                    await lateCandidate.End(1, Succeeded(paramsCount: 1_250_000, average: 0.55, latency: 2.6));   // behind the front
                }
                await node.WaitForExitAsync(deadline.Token);
            }
            finally
            {
                if (!node.HasExited) node.Kill(entireProcessTree: true);   // and its browser
            }
            Assert.True(node.ExitCode == 0, $"page-check.mjs exited {node.ExitCode}:\n{string.Join("\n", output)}\n{await stderr}");
            Assert.Contains("ready", output);
            Assert.True(new FileInfo(screenshot).Length > 10_000, $"no screenshot at {screenshot}");
        }
        finally
        {
            await silo.Stop();
        }
    }

    /// <summary>Reports healing steps with a falling loss; candidates differ by scale, so their curves stay apart.</summary>
    static async Task Heal(ICandidateGrain candidate, int from, int to, int total, double scale)
    {
        if (from == 1) await candidate.Report(new StageEvent { Attempt = 1, Stage = WorkerStage.Healing });
        for (int step = from; step <= to; step++)
            await candidate.Report(new HealProgressEvent { Attempt = 1, Step = step, TotalSteps = total, Loss = scale * (2 + 2.2 / Math.Sqrt(step)), TokensPerS = 900 });
    }

    static async Task Complete(IGrainFactory grains, WorkOrder order, int attempt, int steps, long paramsCount, double average, double latency)
    {
        var candidate = grains.GetGrain<ICandidateGrain>(order.Lease.Key);
        await Heal(candidate, 1, steps, steps, scale: average + 0.5);
        await candidate.Report(new StageEvent { Attempt = attempt, Stage = WorkerStage.Evaluating });
        await candidate.End(attempt, Succeeded(paramsCount, average, latency));
    }

    static AttemptEnd Succeeded(long paramsCount, double average, double latency) => new()
    {
        Outcome = AttemptOutcome.Succeeded,
        Result = new CandidateResult
        {
            Params = paramsCount, Average = average, Perplexity = 40 / average, LatencyMsPerToken = latency,
            Latency = new LatencyConditions { P10MsPerToken = latency * 0.9, P90MsPerToken = latency * 1.15, Runs = 5, Device = "test" },
            Scores = new Dictionary<string, double> { ["continuation"] = average },
            ScoreStderrs = new Dictionary<string, double> { ["continuation"] = 0.04 },
            ScoreCounts = new Dictionary<string, int> { ["continuation"] = 4 },
        },
    };
}
