using System.Diagnostics;

namespace LayerChop.Client.Tests;

public sealed record RunResult(int ExitCode, string Stdout, string Stderr);

/// <summary>Runs the built layerchop command line as a user would.</summary>
public static class LayerChopProcess
{
    static readonly string Dll = FindDll();

    static string FindDll()
    {
        // tests/Client.Tests/bin/<Configuration>/net10.0/ -> src/Client/bin/<Configuration>/net10.0/layerchop.dll
        var here = new DirectoryInfo(AppContext.BaseDirectory);
        string framework = here.Name, configuration = here.Parent!.Name;
        var root = here;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "LayerChop.sln"))) root = root.Parent;
        if (root is null) throw new InvalidOperationException("LayerChop.sln not found above " + AppContext.BaseDirectory);
        var dll = Path.Combine(root.FullName, "src", "Client", "bin", configuration, framework, "layerchop.dll");
        if (!File.Exists(dll)) throw new InvalidOperationException($"{dll} is missing; build the solution first");
        return dll;
    }

    public static RunResult Run(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment.Remove("LAYERCHOP_DEBUG");
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(120_000)) { process.Kill(true); throw new TimeoutException("layerchop " + string.Join(' ', args)); }
        return new RunResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    public static string TempFolder()
    {
        var path = Path.Combine(Path.GetTempPath(), "layerchop-cli-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }
}
