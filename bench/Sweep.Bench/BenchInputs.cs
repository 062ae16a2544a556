using System.Diagnostics;
using System.Text.Json;
using LayerChop.Engine.Data;
using LayerChop.Specs;

namespace LayerChop.SweepBench;

/// <summary>
/// What every sweep benchmark needs: the layerchop binary (workers and cluster silos run it), a tiny base model
/// (4 layers, hidden 32, made by <c>layerchop model init</c>), a small real corpus (the first Brown Corpus texts,
/// tags stripped) that is both the healing data and the <c>continuation</c> task, and a folder for the sweeps.
/// </summary>
sealed class BenchInputs
{
    public required string Work { get; init; }
    public required string LayerchopDll { get; init; }
    public required string Model { get; init; }
    public required string Corpus { get; init; }
    public required string TaskDir { get; init; }

    /// <summary>How a worker (or a silo) is started: the same dotnet host running layerchop.dll.</summary>
    public IReadOnlyList<string> Command => [DotnetHost, LayerchopDll];

    public static string DotnetHost => Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";

    public static BenchInputs Prepare(BenchOptions options)
    {
        var root = RepoRoot();
        var dll = options.Get("layerchop") ?? Path.Combine(root, "src", "Client", "bin", "Release", "net10.0", "layerchop.dll");
        if (!File.Exists(dll)) throw new InvalidOperationException($"{dll} is missing: build the solution (dotnet build LayerChop.sln -c Release) or give --layerchop DLL");
        var work = Path.GetFullPath(options.Get("work") ?? Path.Combine(Path.GetTempPath(), "layerchop-sweep-bench"));
        Directory.CreateDirectory(work);

        var model = Path.Combine(work, "base");
        if (!File.Exists(Path.Combine(model, "config.json")))
            Layerchop(dll, "model", "init", "--layers", "4", "--hidden", "32", "--heads", "4", "--kv-heads", "2", "--intermediate", "64",
                "--vocab", "300", "--seed", "4", "--max-positions", "256", "--out", model);

        var taskDir = Path.Combine(work, "tasks");
        Directory.CreateDirectory(taskDir);
        var corpus = Path.Combine(taskDir, "continuation.jsonl");             // the healing corpus is the task's text too
        if (!File.Exists(corpus))
        {
            var brown = options.Get("brown") ?? new[]
            {
                Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "layerchop", "brown"),
                Path.Combine(root, "tests", ".data", "brown"),
            }.FirstOrDefault(Directory.Exists)
                ?? throw new InvalidOperationException("no Brown Corpus found: run `layerchop demo` or tests/fetch-test-data.sh once, or give --brown DIR");
            File.WriteAllLines(corpus + ".tmp", BrownCorpus.Read(brown).Take(15).Select(d => JsonSerializer.Serialize(new { text = d.Text })));
            File.Move(corpus + ".tmp", corpus);
        }
        return new BenchInputs { Work = work, LayerchopDll = dll, Model = model, Corpus = corpus, TaskDir = taskDir };
    }

    /// <summary>An empty folder under the work folder (emptied when it exists).</summary>
    public string Fresh(string name)
    {
        var dir = Path.Combine(Work, name);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>
    /// Writes a spec with this grid and healing settings (YAML flow mappings) next to its output folder and reads it
    /// back as a silo would. Evaluation is 8 continuation questions; latency is 8 new tokens after 8.
    /// </summary>
    public SweepSpec Spec(string name, string folder, string grid, string train)
    {
        var path = Path.Combine(folder, name + ".yaml");
        File.WriteAllLines(path,
        [
            $"name: {name}",
            $"base_model: {Model}",
            $"data: [{Corpus}]",
            $"eval: {{ tasks: [continuation], task_dir: {TaskDir}, limit: 8 }}",
            $"grid: {grid}",
            $"train: {train}",
            "latency: { prompt_tokens: 8, new_tokens: 8 }",
            "device: cpu",
            $"output: {Path.Combine(folder, "out")}",
        ]);
        return SweepSpecReader.Load(path);
    }

    public void Layerchop(params string[] args) => Layerchop(LayerchopDll, args);

    static void Layerchop(string dll, params string[] args)
    {
        var info = new ProcessStartInfo(DotnetHost) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"layerchop {string.Join(' ', args.Take(2))} failed: {stderr.Result.Trim()}");
    }

    static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "LayerChop.sln"))) return dir.FullName;
        return Directory.GetCurrentDirectory();
    }
}

/// <summary><c>--name value</c> options after the command word.</summary>
sealed class BenchOptions(IEnumerable<string> args)
{
    readonly Dictionary<string, string> values = Parse(args);

    static Dictionary<string, string> Parse(IEnumerable<string> args)
    {
        var list = args.ToList();
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < list.Count; i++)
        {
            if (!list[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= list.Count)
                throw new ArgumentException($"unexpected argument '{list[i]}' (options are --name value)");
            values[list[i][2..]] = list[++i];
        }
        return values;
    }

    public string? Get(string name) => values.GetValueOrDefault(name);

    public int Int(string name, int fallback) => values.TryGetValue(name, out var v) ? int.Parse(v) : fallback;

    public int[] Ints(string name, params int[] fallback) =>
        values.TryGetValue(name, out var v) ? v.Split(',').Select(int.Parse).ToArray() : fallback;
}
