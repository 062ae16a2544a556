using System.Diagnostics;
using System.Text.Json;
using Xunit;

namespace LayerChop.Client.Tests;

/// <summary>The fault harness loads both cores for minutes: it runs alone, after the other tests.</summary>
[CollectionDefinition(nameof(FaultHarnessCollection), DisableParallelization = true)]
public sealed class FaultHarnessCollection;

[Collection(nameof(FaultHarnessCollection))]
public class FaultHarnessTests
{
    /// <summary>
    /// The reduced form of deploy/faults.sh: three silo hosts in network namespaces, one PostgreSQL, a fault-free
    /// sweep, then the same sweep hit by a kill -9 of a host, a database restart, a host cut off from everything and
    /// a host cut off from the other hosts only (seeded order). The harness itself checks each run; this test
    /// requires that every check held and that every fault was injected.
    /// </summary>
    [Fact]
    public async Task A_sweep_on_three_hosts_survives_a_killed_host_a_database_restart_and_two_kinds_of_partition_exactly_once_without_overlap_with_fault_free_results()
    {
        var output = LayerChopProcess.TempFolder();
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(LayerChopProcess.RepoRoot, "deploy", "faults.sh"), "--reduced", "--seed", "11", "--probe-timeout", "2", "--json", "--out", output })
            info.ArgumentList.Add(a);
        using var harness = Process.Start(info)!;
        var stdout = harness.StandardOutput.ReadToEndAsync();
        var stderr = harness.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(15));
        try { await harness.WaitForExitAsync(limit.Token); }
        catch (OperationCanceledException)
        {
            harness.Kill(entireProcessTree: false);                 // SIGKILL: the next run removes what it left
            Assert.Fail("the fault harness ran past 15 minutes:\n" + Tail(await stderr));
        }
        var log = await stderr;
        var report = JsonDocument.Parse(await stdout).RootElement;
        Assert.True(harness.ExitCode == 0 && report.GetProperty("passed").GetBoolean(), "checks failed:\n" + Tail(log));

        var mixed = report.GetProperty("scenarios").EnumerateArray().Single();
        Assert.Equal("mixed", mixed.GetProperty("name").GetString());
        Assert.Equal(["kill", "partition", "partition-silos", "postgres"],
            mixed.GetProperty("faults").EnumerateArray().Select(f => f.GetProperty("kind").GetString()).Order());
        var checks = mixed.GetProperty("checks").EnumerateArray().Select(c => c.GetProperty("name").GetString()!).ToList();
        foreach (var name in new[]
                 {
                     "the sweep completes", "every candidate completes exactly once", "no candidate ran two workers at once (workers' own records)",
                     "no (host, slot) held two attempts at once (history)", "results equal the fault-free run (sizes, scores, perplexity)",
                     "work on hosts that were not hit went on uninterrupted", "healing resumed from checkpoints",
                 })
            Assert.Contains(name, checks);
        Assert.NotEmpty(mixed.GetProperty("detection_s").EnumerateArray());
        Assert.DoesNotContain(Directory.GetFiles("/var/run/netns"), f => Path.GetFileName(f).StartsWith("lcf", StringComparison.Ordinal));   // the harness removed its hosts
    }

    static string Tail(string text) => string.Join('\n', text.Split('\n').TakeLast(40));
}
