using System.Diagnostics;
using LayerChop.Silo.Storage;

namespace LayerChop.Silo.Tests;

/// <summary>Runs tests/Silo.Tests.OldRelease, a stand-in for an earlier LayerChop build, as its own process.</summary>
public static class OldRelease
{
    public static void Write(string serviceId, string key, params DatabaseTarget[] databases)
    {
        // tests/Silo.Tests/bin/<Configuration>/net10.0/ -> tests/Silo.Tests.OldRelease/bin/<Configuration>/net10.0/
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = here.Parent!.Name;
        var tests = here.Parent!.Parent!.Parent!.Parent!.FullName;
        var dll = Path.Combine(tests, "Silo.Tests.OldRelease", "bin", configuration, here.Name, "LayerChop.Silo.Tests.OldRelease.dll");
        if (!File.Exists(dll)) throw new InvalidOperationException($"{dll} is missing: build the solution first");

        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { dll, serviceId, key }.Concat(databases.Select(d => d.ConnectionString)))
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(60_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("the earlier release did not finish writing in 60 s");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"the earlier release failed ({process.ExitCode}):\n{stdout.Result}\n{stderr.Result}");
    }
}
