using System.Diagnostics;
using Xunit;

namespace LayerChop.Client.Tests;

public sealed record RunResult(int ExitCode, string Stdout, string Stderr);

/// <summary>Runs the built layerchop command line as a user would.</summary>
public static class LayerChopProcess
{
    public static readonly string Dll = FindDll();

    /// <summary>The dotnet host running the tests (full path, so a test may clear PATH).</summary>
    public static readonly string DotnetHost = ResolveDotnet();

    static string ResolveDotnet()
    {
        if (Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet") return p;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
            if (File.Exists(Path.Combine(dir, "dotnet"))) return Path.Combine(dir, "dotnet");
        return "dotnet";
    }

    public static string RepoRoot => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(Dll)!, "..", "..", "..", "..", ".."));

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

    public static RunResult Run(params string[] args) => Run(new Dictionary<string, string>(), args);

    /// <param name="environment">variables to set for the process (replacing inherited ones).</param>
    public static RunResult Run(IReadOnlyDictionary<string, string> environment, params string[] args) => Run(environment, TimeSpan.FromSeconds(120), args);

    public static RunResult Run(IReadOnlyDictionary<string, string> environment, TimeSpan limit, params string[] args)
    {
        var info = new ProcessStartInfo(DotnetHost) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (key, value) in environment) info.Environment[key] = value;
        info.ArgumentList.Add(Dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment.Remove("LAYERCHOP_DEBUG");
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(limit)) { process.Kill(true); throw new TimeoutException("layerchop " + string.Join(' ', args)); }
        return new RunResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    public static string TempFolder()
    {
        var path = Path.Combine(Path.GetTempPath(), "layerchop-cli-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>Exit code 2 and exactly one line on stderr, containing <paramref name="expected"/>, no stack trace.</summary>
    public static void AssertOneLineError(RunResult r, string expected)
    {
        Assert.Equal(2, r.ExitCode);
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, "expected one line on stderr, got:\n" + r.Stderr);
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(expected, lines[0]);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

}
