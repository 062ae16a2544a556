using System.Diagnostics;
using System.Text.Json;
using Xunit;

namespace LayerChop.Client.Tests;

/// <summary>
/// bench/gpu/run.sh is the one command a GPU machine runs when one is lent; its --cpu run takes every step with
/// tiny shapes on this machine, so all of it but CUDA itself is proven before a device is spent.
/// </summary>
public class GpuRunScriptTests
{
    [Fact]
    public async Task The_device_script_runs_every_step_on_the_cpu_and_writes_its_summary()
    {
        var root = LayerChopProcess.RepoRoot;
        var folder = LayerChopProcess.TempFolder();
        string configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        var info = new ProcessStartInfo("bash", [Path.Combine(root, "bench", "gpu", "run.sh"), "--cpu"])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        info.Environment["OUT"] = Path.Combine(folder, "out");
        info.Environment["LAYERCHOP_GPU_WORK"] = Path.Combine(folder, "work");
        info.Environment["LAYERCHOP_CONFIGURATION"] = configuration;
        info.Environment["PATH"] = Path.GetDirectoryName(LayerChopProcess.DotnetHost) + ":" + Environment.GetEnvironmentVariable("PATH");
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        try { await process.WaitForExitAsync(limit.Token); }
        catch (OperationCanceledException) { process.Kill(true); throw new TimeoutException("bench/gpu/run.sh --cpu"); }
        Assert.True(process.ExitCode == 0, $"run.sh --cpu exited {process.ExitCode}:\n{await stdout}\n{await stderr}");

        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "out", "summary.json")));
        var steps = summary.RootElement.GetProperty("steps");
        foreach (var name in new[] { "a0-setup", "a1-bind", "a3-device", "b-parity", "c-train", "d-serve", "e-sweep" })
            Assert.True(steps.TryGetProperty(name, out var s) && s.GetProperty("status").GetString() is "ok" or "skipped",
                $"step {name}: {(steps.TryGetProperty(name, out var e) ? e.ToString() : "missing")}");
        Assert.True(steps.GetProperty("a1-bind").GetProperty("result").GetProperty("binds").GetBoolean());
        Assert.True(steps.GetProperty("c-train").GetProperty("result").GetProperty("layerchop_tokens_per_s").GetDouble() > 0);
        Assert.True(steps.GetProperty("d-serve").GetProperty("result").GetProperty("latency_ratio_chopped_to_unchopped").GetDouble() > 0);
        var candidates = steps.GetProperty("e-sweep").GetProperty("result").GetProperty("candidates").EnumerateArray().ToList();
        Assert.Equal(2, candidates.Count);
        Assert.All(candidates, c => Assert.Equal("completed", c.GetProperty("status").GetString()));
        // At most 8 files come back from a device run.
        Assert.InRange(Directory.GetFiles(Path.Combine(folder, "out")).Length, 1, 8);
    }
}
