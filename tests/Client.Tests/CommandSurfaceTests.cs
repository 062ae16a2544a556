using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using LayerChop.Silo;
using Xunit;

namespace LayerChop.Client.Tests;

/// <summary>What every command promises: its JSON, its help, and the README's command table.</summary>
public partial class CommandSurfaceTests(TrainingInputs inputs) : IClassFixture<TrainingInputs>
{
    /// <summary>Every command of the binary, by its path ("sweep status"), leaves only.</summary>
    static IEnumerable<(string Path, Command Command)> Commands()
    {
        static IEnumerable<(string, Command)> Walk(Command command, string path)
        {
            if (command.Subcommands.Count == 0) yield return (path, command);
            foreach (var sub in command.Subcommands)
                foreach (var leaf in Walk(sub, path.Length == 0 ? sub.Name : path + " " + sub.Name)) yield return leaf;
        }
        return Walk(Cli.Root(), "");
    }

    [GeneratedRegex("^[a-z0-9_]+$")]
    private static partial Regex SnakeCase();

    /// <summary>Names of JSON object members that are not snake_case, with where they are.</summary>
    static IEnumerable<string> NotSnakeCase(JsonElement e, string at)
    {
        if (e.ValueKind == JsonValueKind.Object)
            foreach (var p in e.EnumerateObject())
            {
                if (!SnakeCase().IsMatch(p.Name)) yield return $"{at}.{p.Name}";
                foreach (var bad in NotSnakeCase(p.Value, $"{at}.{p.Name}")) yield return bad;
            }
        else if (e.ValueKind == JsonValueKind.Array)
            foreach (var item in e.EnumerateArray())
                foreach (var bad in NotSnakeCase(item, at + "[]")) yield return bad;
    }

    static void AssertJson(string command, string stdout, bool lines = false)
    {
        var documents = lines ? stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries) : [stdout];
        Assert.True(documents.Length > 0 && documents[0].Trim().Length > 0, $"{command} --json printed nothing");
        foreach (var text in documents)
        {
            JsonElement root;
            try { root = JsonDocument.Parse(text).RootElement; }
            catch (JsonException e) { throw new Xunit.Sdk.XunitException($"{command} --json is not JSON ({e.Message}):\n{text}"); }
            Assert.True(root.ValueKind is JsonValueKind.Object or JsonValueKind.Array, $"{command} --json: {text}");
            var bad = NotSnakeCase(root, "$").ToList();
            Assert.True(bad.Count == 0, $"{command} --json has keys that are not snake_case: {string.Join(", ", bad)}");
        }
    }

    RunResult Ok(params string[] args)
    {
        var r = LayerChopProcess.Run(new Dictionary<string, string>(), TimeSpan.FromMinutes(5), args);
        Assert.True(r.ExitCode == 0, $"{string.Join(' ', args)}: exit {r.ExitCode}\n{r.Stderr}");
        return r;
    }

    [Fact]
    public void Every_command_that_has_json_prints_json_with_snake_case_keys_only()
    {
        var covered = new HashSet<string>();
        void Check(string command, RunResult r, bool lines = false)
        {
            AssertJson(command, r.Stdout, lines);
            covered.Add(command);
        }
        var work = LayerChopProcess.TempFolder();
        var model = Path.Combine(work, "model");
        Check("model init", Ok("model", "init", "--layers", "4", "--hidden", "32", "--heads", "4", "--intermediate", "64", "--vocab", "300",
            "--max-positions", "256", "--out", model, "--json"));
        Check("model inspect", Ok("model", "inspect", model, "--json"));
        Check("model importance", Ok("model", "importance", model, "--calib", inputs.Corpus, "--calib-sequences", "2", "--calib-seq-len", "16", "--json"));
        Check("chop", Ok("chop", model, "--strategy", "input", "--remove", "1", "--out", Path.Combine(work, "chopped"), "--json"));
        Check("generate", Ok("generate", model, "--prompt", "The jury", "--max-new-tokens", "3", "--json"));
        Check("train", Ok("train", model, "--data", inputs.Corpus, "--tokens", "256", "--seq-len", "32", "--batch-tokens", "128",
            "--out", Path.Combine(work, "run"), "--json"), lines: true);
        var tasks = ClusterTests.ContinuationTasks(inputs, Path.Combine(work, "tasks"));
        Check("eval", Ok("eval", model, "--tasks", "continuation", "--task-dir", tasks, "--limit", "2", "--json"));
        Check("db init", Ok("db", "init", Path.Combine(work, "state.db"), "--json"));

        var output = Path.Combine(work, "out");
        var spec = Path.Combine(work, "json.yaml");
        File.WriteAllText(spec, $$"""
            name: json
            base_model: {{model}}
            data: [{{inputs.Corpus}}]
            eval: { tasks: [continuation], task_dir: {{tasks}}, limit: 2 }
            grid: { remove: [0, 1], strategy: [input], heal_tokens: [0], seed: [1] }
            latency: { prompt_tokens: 4, new_tokens: 4 }
            device: cpu
            output: {{output}}
            """);
        Check("plan", Ok("plan", spec, "--json"));
        int webPort = SiloSetup.FreePort();
        var run = Ok("sweep", "run", spec, "--json", "--web", webPort.ToString());
        // Where to look while it runs: the live page first, then the API.
        Assert.Contains($"web: http://127.0.0.1:{webPort}/sweeps/json (the live sweep page), http://127.0.0.1:{webPort}/api/sweeps/json", run.Stderr);
        Check("sweep run", run);
        string[] Store(params string[] args) => [.. args, "--state", Path.Combine(output, "state.db"), "--json"];
        foreach (var verb in new[] { "status", "results", "front", "report", "cancel", "retry" })
            Check("sweep " + verb, Ok(Store("sweep", verb, "json")));
        Check("sweep watch", Ok(Store("sweep", "watch", "json")), lines: true);
        Check("sweep list", Ok(Store("sweep", "list")));
        Check("sweep show", Ok(Store("sweep", "show", "json", "r1-input-h0-s1")));
        Check("sweep export", Ok(Store("sweep", "export", "json", "r1-input-h0-s1", "--out", Path.Combine(work, "exported"))));

        // Cluster mode: a silo on PostgreSQL, and a client.
        Assert.Equal(0, LayerChopProcess.Run("db", "init", ClusterTests.Postgres).ExitCode);
        string clusterId = "json-" + Guid.NewGuid().ToString("N")[..12];
        var log = new System.Text.StringBuilder();
        using (var silo = ClusterTests.StartSilo(clusterId, SiloSetup.FreePort(), SiloSetup.FreePort(), log, "--json"))
        {
            try
            {
                var deadline = DateTime.UtcNow.AddSeconds(60);
                while (!log.ToString().Contains("{\"silo\"") && DateTime.UtcNow < deadline) Thread.Sleep(100);
                string first;
                lock (log) first = log.ToString().Split('\n').First(l => l.StartsWith("{\"silo\""));
                AssertJson("silo", first);
                covered.Add("silo");
                string[] Cluster(params string[] args) => [.. args, "--cluster", ClusterTests.Postgres, "--cluster-id", clusterId, "--json"];
                var clusterSpec = Path.Combine(work, "json-cluster.yaml");
                File.WriteAllText(clusterSpec, File.ReadAllText(spec).Replace("name: json", "name: json-cluster").Replace(output, Path.Combine(work, "out-cluster")));
                Check("sweep start", Ok(Cluster("sweep", "start", clusterSpec)));
                Check("slots", Ok(Cluster("slots")));
            }
            finally
            {
                silo.Kill(entireProcessTree: true);
                silo.WaitForExit();
            }
        }

        Check("demo", LayerChopProcess.Run(new Dictionary<string, string>(), TimeSpan.FromMinutes(5),
            ["demo", "--out", Path.Combine(work, "demo"), "--corpus", BrownTestCorpus.WriteJsonl(40, Path.Combine(work, "brown.jsonl")),
             "--base-tokens", "8192", "--heal-tokens", "1024", "--eval-limit", "4", "--layers", "6", "--hidden", "32", "--vocab", "300", "--json"]));

        var withJson = Commands().Where(c => c.Command.Options.Any(o => o.Name == "--json")).Select(c => c.Path).ToHashSet();
        Assert.Empty(withJson.Except(covered));
    }

    [Fact]
    public void Every_sweep_command_on_a_sweep_that_does_not_exist_fails_in_one_line()
    {
        var state = Path.Combine(LayerChopProcess.TempFolder(), "state.db");
        Assert.Equal(0, LayerChopProcess.Run("db", "init", state).ExitCode);
        // The line names the store it looked in, and its hint reaches the same store.
        var missing = $"no sweep 'nope' in state file {state} (`layerchop sweep list --state {state}` shows the ones there are)";
        foreach (var verb in new[] { "status", "watch", "front", "results", "cancel", "retry", "report" })
            LayerChopProcess.AssertOneLineError(LayerChopProcess.Run("sweep", verb, "nope", "--state", state), missing);
        LayerChopProcess.AssertOneLineError(LayerChopProcess.Run("sweep", "show", "nope", "r0-none-h0-s1", "--state", state), missing);
        LayerChopProcess.AssertOneLineError(LayerChopProcess.Run("sweep", "export", "nope", "r0-none-h0-s1", "--out", "x", "--state", state), missing);
    }

    /// <summary>`--x` words in a help text.</summary>
    [GeneratedRegex(@"(?<![\w-])--[a-z][a-z0-9-]*")]
    private static partial Regex Flag();

    static HashSet<string> FlagsOf(Command command) =>
        command.Options.SelectMany(o => o.Aliases.Append(o.Name)).Append("--help").ToHashSet();

    [Fact]
    public void Every_flag_a_command_names_in_its_help_is_one_of_its_options()
    {
        foreach (var (path, command) in Commands())
        {
            var output = new StringWriter();
            var parse = Cli.Root().Parse([.. path.Split(' '), "--help"]);
            Assert.Equal(0, parse.Invoke(new InvocationConfiguration { Output = output }));
            var help = output.ToString();
            Assert.Contains("Usage:", help);
            var known = FlagsOf(command);
            var unknown = Flag().Matches(help).Select(m => m.Value).Distinct().Where(f => !known.Contains(f)).ToList();
            Assert.True(unknown.Count == 0, $"`layerchop {path} --help` names {string.Join(", ", unknown)}, which it does not take");
        }
    }

    [Fact]
    public void The_readme_command_table_lists_every_command_with_flags_it_takes()
    {
        var readme = File.ReadAllLines(Path.Combine(LayerChopProcess.RepoRoot, "README.md"));
        int start = Array.FindIndex(readme, l => l == "## Commands");
        var rows = readme.Skip(start).TakeWhile(l => !l.StartsWith("### ", StringComparison.Ordinal))
            .Where(l => l.StartsWith("| `layerchop ", StringComparison.Ordinal)).ToList();
        var commands = Commands().ToDictionary(c => c.Path, c => c.Command);
        var listed = new HashSet<string>();
        foreach (var row in rows)
        {
            var usage = row.Split('`')[1];                                   // layerchop sweep status\|watch NAME ...
            var words = usage.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).ToList();
            // The command path: the leading words that name commands; "a\|b" lists several.
            var paths = new List<string> { "" };
            foreach (var word in words)
            {
                var next = paths.SelectMany(p => word.Split("\\|").Select(w => p.Length == 0 ? w : p + " " + w))
                    .Where(p => commands.Keys.Any(k => k == p || k.StartsWith(p + " ", StringComparison.Ordinal))).ToList();
                if (next.Count == 0) break;
                paths = next;
            }
            paths = paths.Where(commands.ContainsKey).ToList();
            Assert.True(paths.Count > 0, $"README row names no command: {usage}");
            foreach (var path in paths)
            {
                listed.Add(path);
                var unknown = Flag().Matches(usage).Select(m => m.Value).Distinct().Where(f => !FlagsOf(commands[path]).Contains(f)).ToList();
                Assert.True(unknown.Count == 0, $"README's row for `layerchop {path}` names {string.Join(", ", unknown)}, which it does not take");
            }
        }
        Assert.Empty(commands.Keys.Except(listed));
    }
}
