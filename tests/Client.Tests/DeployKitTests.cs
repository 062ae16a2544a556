using System.Diagnostics;
using LayerChop.Grains.Workers;
using Xunit;

namespace LayerChop.Client.Tests;

/// <summary>The files of deploy/ that run silos on hosts: the systemd unit and the Slurm batch script.</summary>
public class DeployKitTests
{
    static readonly string Unit = Path.Combine(LayerChopProcess.RepoRoot, "deploy", "layerchop-silo.service");
    static readonly string Sbatch = Path.Combine(LayerChopProcess.RepoRoot, "deploy", "slurm", "layerchop-silos.sbatch");

    static RunResult Run(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new InvalidOperationException($"{file} is not installed (Debian: apt-get install -y systemd; deploy/setup.sh does it)");
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(60))) { process.Kill(true); throw new TimeoutException(file); }
            return new RunResult(process.ExitCode, stdout.Result, stderr.Result);
        }
    }

    static string Setting(string unit, string name) =>
        unit.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.StartsWith(name + "=", StringComparison.Ordinal))?[(name.Length + 1)..]
        ?? throw new Xunit.Sdk.XunitException($"the unit sets no {name}");

    /// <summary>
    /// systemd-analyze verify checks that ExecStart's binary exists, and /opt/layerchop/layerchop is not installed
    /// here: it verifies a copy whose ExecStart names a binary that exists, everything else unchanged.
    /// </summary>
    [Fact]
    public void The_systemd_unit_passes_systemd_analyze_verify()
    {
        var unit = File.ReadAllText(Unit);
        const string binary = "ExecStart=/opt/layerchop/layerchop ";
        Assert.Contains(binary, unit);
        var copy = Path.Combine(LayerChopProcess.TempFolder(), "layerchop-silo.service");
        File.WriteAllText(copy, unit.Replace(binary, $"ExecStart={LayerChopProcess.DotnetHost} "));
        var r = Run("systemd-analyze", "verify", copy);
        Assert.True(r.ExitCode == 0 && r.Stderr.Trim().Length == 0, $"systemd-analyze verify: exit {r.ExitCode}\n{r.Stdout}{r.Stderr}");
    }

    [Fact]
    public void The_systemd_unit_lets_the_silo_stop_its_workers_before_anything_is_killed()
    {
        var unit = File.ReadAllText(Unit);
        Assert.Equal("mixed", Setting(unit, "KillMode"));        // SIGTERM to the silo alone; SIGKILL to all only after the timeout
        Assert.Equal("SIGTERM", Setting(unit, "KillSignal"));
        var stopTimeout = TimeSpan.FromSeconds(int.Parse(Setting(unit, "TimeoutStopSec")));
        // The silo waits ShutdownGrace for its workers' checkpoints and 5 s more before it kills them; then it leaves the cluster.
        Assert.True(stopTimeout >= WorkerSupervisor.ShutdownGrace + TimeSpan.FromSeconds(5) + TimeSpan.FromSeconds(15),
            $"TimeoutStopSec {stopTimeout.TotalSeconds} s leaves the silo too little time after its workers' {WorkerSupervisor.ShutdownGrace.TotalSeconds} s grace");
        Assert.Equal("always", Setting(unit, "Restart"));
        Assert.Equal("/etc/layerchop/silo.json", Setting(unit, "Environment").Split('=', 2)[1]);
        Assert.Equal("layerchop", Setting(unit, "User"));
    }

    [Fact]
    public void The_slurm_batch_script_is_valid_bash_and_starts_one_silo_per_node()
    {
        var r = Run("bash", "-n", Sbatch);
        Assert.True(r.ExitCode == 0, r.Stderr);
        var script = File.ReadAllText(Sbatch);
        Assert.Contains("#SBATCH --ntasks-per-node=1", script);
        Assert.Contains("srun --ntasks-per-node=1", script);
        Assert.Contains("exec $LAYERCHOP_BIN silo", script);
    }
}
