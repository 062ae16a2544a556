using System.Diagnostics;
using Xunit;

namespace LayerChop.Client.Tests;

public class ModelInitTests
{
    static string[] InitArgs(string output) =>
        ["model", "init", "--layers", "2", "--hidden", "32", "--heads", "4", "--intermediate", "64", "--vocab", "300", "--out", output];

    /// <summary>Runs layerchop under a file size limit of <paramref name="kilobytes"/>: the kernel kills it
    /// (SIGXFSZ) at the first write past the limit, as a crash on a full disk would end it.</summary>
    static RunResult RunWithFileSizeLimit(int kilobytes, string[] args)
    {
        var info = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["-c", $"ulimit -f {kilobytes} && exec \"$0\" \"$@\"", LayerChopProcess.DotnetHost, LayerChopProcess.Dll, .. args])
            info.ArgumentList.Add(a);
        // The runtime's double-mapped code memory is a file too; without this it could not start under the limit.
        info.Environment["DOTNET_EnableWriteXorExecute"] = "0";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(120))) { process.Kill(true); throw new TimeoutException("layerchop " + string.Join(' ', args)); }
        return new RunResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    [Fact]
    public void An_init_killed_mid_write_leaves_nothing_named_like_the_output_and_a_rerun_succeeds()
    {
        var parent = LayerChopProcess.TempFolder();
        var output = Path.Combine(parent, "model");
        // The tokenizer files fit under the limit; the weights (about 160 KB) do not.
        var killed = RunWithFileSizeLimit(32, InitArgs(output));
        Assert.True(killed.ExitCode == 128 + 25, $"expected death by SIGXFSZ, got exit code {killed.ExitCode}: {killed.Stderr}");
        Assert.Contains("note: the tokenizer has", killed.Stderr);
        Assert.False(Directory.Exists(output));

        var r = LayerChopProcess.Run(InitArgs(output));
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(0, LayerChopProcess.Run("model", "inspect", output).ExitCode);
        Assert.Equal([output], Directory.GetFileSystemEntries(parent));   // the killed run's partial folder is gone
    }
}
