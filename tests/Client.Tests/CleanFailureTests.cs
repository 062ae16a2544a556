using System.Diagnostics;
using System.Runtime.InteropServices;
using LayerChop.Silo;
using Npgsql;
using Xunit;

namespace LayerChop.Client.Tests;

/// <summary>
/// Failures a user meets first (no silo, no schema, a taken port, Ctrl-C) end in one line on stderr, quickly,
/// with no stack trace; real processes against the PostgreSQL of deploy/postgres.sh.
/// </summary>
public class CleanFailureTests(TrainingInputs inputs) : IClassFixture<TrainingInputs>
{
    static string Postgres => Environment.GetEnvironmentVariable("LAYERCHOP_PG") is { Length: > 0 } pg
        ? pg : "Host=127.0.0.1;Port=55432;Username=postgres;Database=layerchop";

    static string NewClusterId() => "test-" + Guid.NewGuid().ToString("N")[..12];

    static (RunResult Result, TimeSpan Elapsed) Timed(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var clock = Stopwatch.StartNew();
        var result = LayerChopProcess.Run(environment, TimeSpan.FromSeconds(120), args);
        return (result, clock.Elapsed);
    }

    static void InitSchema()
    {
        var init = LayerChopProcess.Run("db", "init", Postgres);
        Assert.True(init.ExitCode == 0, "PostgreSQL for the tests is not reachable; run deploy/postgres.sh start: " + init.Stderr);
    }

    [Fact]
    public void A_client_of_a_cluster_with_no_silo_says_so_in_one_line_within_the_default_connect_timeout()
    {
        InitSchema();
        string clusterId = NewClusterId();
        var (r, elapsed) = Timed(new Dictionary<string, string>(), "sweep", "list", "--cluster", Postgres, "--cluster-id", clusterId);
        LayerChopProcess.AssertOneLineError(r, $"no silo of cluster '{clusterId}' answered within 10 s");
        Assert.Contains("--cluster-id", r.Stderr);
        Assert.DoesNotContain("Password", r.Stderr, StringComparison.OrdinalIgnoreCase);
        Assert.True(elapsed < TimeSpan.FromSeconds(20), $"took {elapsed.TotalSeconds:0.0} s");
    }

    [Fact]
    public void The_connect_timeout_comes_from_the_environment_and_the_option()
    {
        InitSchema();
        string clusterId = NewClusterId();
        var environment = new Dictionary<string, string> { ["LAYERCHOP_CONNECT_TIMEOUT"] = "2" };
        var (fromEnvironment, elapsed) = Timed(environment, "slots", "--cluster", Postgres, "--cluster-id", clusterId);
        LayerChopProcess.AssertOneLineError(fromEnvironment, "answered within 2 s");
        Assert.True(elapsed < TimeSpan.FromSeconds(8), $"took {elapsed.TotalSeconds:0.0} s");

        var (fromOption, _) = Timed(environment, "sweep", "status", "any", "--cluster", Postgres, "--cluster-id", clusterId, "--connect-timeout", "1");
        LayerChopProcess.AssertOneLineError(fromOption, "answered within 1 s");
    }

    [Fact]
    public void A_cluster_database_without_the_schema_names_db_init_as_the_fix()
    {
        InitSchema();
        var empty = "layerchop_empty_" + Guid.NewGuid().ToString("N")[..12];
        using (var admin = new NpgsqlConnection(Postgres))
        {
            admin.Open();
            using var create = new NpgsqlCommand($"CREATE DATABASE {empty}", admin);
            create.ExecuteNonQuery();
        }
        try
        {
            var connection = new NpgsqlConnectionStringBuilder(Postgres) { Database = empty }.ConnectionString;
            var (r, elapsed) = Timed(new Dictionary<string, string>(), "sweep", "list", "--cluster", connection);
            LayerChopProcess.AssertOneLineError(r, "layerchop db init");
            Assert.Contains($"PostgreSQL database {empty}", r.Stderr);
            Assert.True(elapsed < TimeSpan.FromSeconds(20), $"took {elapsed.TotalSeconds:0.0} s");
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            using var admin = new NpgsqlConnection(Postgres);
            admin.Open();
            using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {empty} WITH (FORCE)", admin);
            drop.ExecuteNonQuery();
        }
    }

    [Fact]
    public void A_cluster_database_that_cannot_be_reached_is_named_in_one_line()
    {
        var unreachable = new NpgsqlConnectionStringBuilder(Postgres) { Port = 1, Password = "secret-word" }.ConnectionString;
        var r = LayerChopProcess.Run("slots", "--cluster", unreachable);
        LayerChopProcess.AssertOneLineError(r, "cannot reach PostgreSQL database");
        Assert.DoesNotContain("secret-word", r.Stderr);
    }

    [Fact]
    public void A_second_silo_on_the_ports_of_a_running_one_refuses_in_one_line_and_the_running_one_keeps_answering()
    {
        InitSchema();
        string clusterId = NewClusterId();
        int port = SiloSetup.FreePort(), gateway = SiloSetup.FreePort();
        var log = new System.Text.StringBuilder();
        using var first = StartSilo(clusterId, port, gateway, log);
        try
        {
            string[] Slots() => ["slots", "--cluster", Postgres, "--cluster-id", clusterId, "--connect-timeout", "30"];
            var before = LayerChopProcess.Run(Slots());
            Assert.True(before.ExitCode == 0, before.Stderr + "\nsilo: " + log);

            var samePort = LayerChopProcess.Run("silo", "--cluster", Postgres, "--cluster-id", clusterId, "--gpus", "0", "--slots", "0",
                "--port", port.ToString(), "--gateway-port", SiloSetup.FreePort().ToString());
            LayerChopProcess.AssertOneLineError(samePort, $"--port {port} is already in use");
            var sameGateway = LayerChopProcess.Run("silo", "--cluster", Postgres, "--cluster-id", clusterId, "--gpus", "0", "--slots", "0",
                "--port", SiloSetup.FreePort().ToString(), "--gateway-port", gateway.ToString());
            LayerChopProcess.AssertOneLineError(sameGateway, $"--gateway-port {gateway} is already in use");

            Thread.Sleep(2000);   // time enough for a silo that had been declared dead to notice
            var after = LayerChopProcess.Run(Slots());
            Assert.True(after.ExitCode == 0, after.Stderr + "\nsilo: " + log);
            Assert.Contains($":{port}@", after.Stdout);
            Assert.False(first.HasExited, "the running silo stopped: " + log);
            lock (log) Assert.DoesNotContain("dead", log.ToString());
        }
        finally
        {
            first.Kill(entireProcessTree: true);
            first.WaitForExit();
        }
    }

    [Fact]
    public void Ctrl_C_on_sweep_run_prints_the_interrupted_line_then_nothing_and_exits_130()
    {
        var output = Path.Combine(LayerChopProcess.TempFolder(), "out");
        var spec = SlowSweep(output);
        // Its own process group, with SIGINT at its default action whatever the test runner's is, so that the
        // signal reaches the command and its worker as Ctrl-C in a terminal does.
        var stderr = new System.Text.StringBuilder();
        using var process = Start("setsid", ["env", "--default-signal=INT", LayerChopProcess.DotnetHost, LayerChopProcess.Dll, "sweep", "run", spec], stderr);
        try
        {
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (DateTime.UtcNow < deadline && !(Directory.Exists(output) && Directory.EnumerateDirectories(output, "step-*", SearchOption.AllDirectories).Any()))
                Thread.Sleep(50);
            Assert.False(process.HasExited, "the sweep ended before it was interrupted:\n" + stderr);
            Assert.Equal(0, kill(-process.Id, SIGINT));
            Assert.True(process.WaitForExit(TimeSpan.FromSeconds(60)), "no exit within 60 s of SIGINT:\n" + stderr);
            process.WaitForExit();   // the rest of stderr
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        Assert.Equal(130, process.ExitCode);
        var lines = stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        int interrupted = Array.FindIndex(lines, l => l.StartsWith("interrupted:", StringComparison.Ordinal));
        Assert.True(interrupted >= 0, "no interrupted line:\n" + stderr);
        Assert.True(interrupted == lines.Length - 1, "stderr goes on after the interrupted line:\n" + stderr);
        Assert.DoesNotContain("   at ", stderr.ToString());
    }

    const int SIGINT = 2;

    [DllImport("libc", SetLastError = true)]
    static extern int kill(int pid, int signal);

    /// <summary>One candidate healing for far longer than the test waits.</summary>
    string SlowSweep(string output)
    {
        var work = LayerChopProcess.TempFolder();
        var model = Path.Combine(work, "base");
        var init = LayerChopProcess.Run("model", "init", "--layers", "4", "--hidden", "32", "--heads", "4", "--kv-heads", "2",
            "--intermediate", "64", "--vocab", "300", "--seed", "4", "--max-positions", "256", "--out", model);
        Assert.True(init.ExitCode == 0, init.Stderr);
        var tasks = Path.Combine(work, "tasks");
        Directory.CreateDirectory(tasks);
        File.Copy(inputs.Corpus, Path.Combine(tasks, "continuation.jsonl"));
        var spec = Path.Combine(work, "slow.yaml");
        File.WriteAllText(spec, $$"""
            name: interrupted
            base_model: {{model}}
            data: [{{inputs.Corpus}}]
            eval: { tasks: [continuation], task_dir: {{tasks}}, limit: 8 }
            grid: { remove: [2], strategy: [input], heal_tokens: [5120000], seed: [1] }
            train: { seq_len: 32, batch_tokens: 128, lr: 0.003, warmup_steps: 1, checkpoint_every: 2 }
            latency: { prompt_tokens: 8, new_tokens: 8 }
            device: cpu
            output: {{output}}
            """);
        return spec;
    }

    static Process StartSilo(string clusterId, int port, int gatewayPort, System.Text.StringBuilder log) =>
        Start(LayerChopProcess.DotnetHost, [LayerChopProcess.Dll, "silo", "--cluster", Postgres, "--cluster-id", clusterId, "--gpus", "0",
            "--slots", "0", "--port", port.ToString(), "--gateway-port", gatewayPort.ToString()], log);

    /// <summary>A process whose stderr lines are collected in <paramref name="stderr"/> as they come.</summary>
    static Process Start(string file, string[] args, System.Text.StringBuilder stderr)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment.Remove("LAYERCHOP_DEBUG");
        var process = Process.Start(info)!;
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        process.OutputDataReceived += (_, e) => { };
        process.BeginErrorReadLine(); process.BeginOutputReadLine();
        return process;
    }
}
