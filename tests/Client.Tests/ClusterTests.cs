using System.Diagnostics;
using System.Text.Json;
using Xunit;

namespace LayerChop.Client.Tests;

/// <summary>Cluster mode against the real PostgreSQL that deploy/setup.sh starts: a silo process, a client, a sweep.</summary>
public class ClusterTests(TrainingInputs inputs) : IClassFixture<TrainingInputs>
{
    static string Postgres => Environment.GetEnvironmentVariable("LAYERCHOP_PG") is { Length: > 0 } pg
        ? pg : "Host=127.0.0.1;Port=55432;Username=postgres;Database=layerchop";

    static int FreePort()
    {
        var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        int port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    [Fact]
    public void A_sweep_started_on_a_cluster_silo_completes_and_its_results_and_front_are_queried_from_the_client()
    {
        var init = LayerChopProcess.Run("db", "init", Postgres);
        Assert.True(init.ExitCode == 0, "PostgreSQL for the tests is not reachable; run deploy/postgres.sh start: " + init.Stderr);
        string clusterId = "test-" + Guid.NewGuid().ToString("N")[..12];
        var model = Path.Combine(inputs.Work, "cluster-base");
        Assert.Equal(0, LayerChopProcess.Run("model", "init", "--layers", "4", "--hidden", "32", "--heads", "4", "--intermediate", "64",
            "--vocab", "300", "--max-positions", "256", "--out", model).ExitCode);
        var spec = Path.Combine(LayerChopProcess.TempFolder(), "cluster.yaml");
        File.WriteAllText(spec, $$"""
            name: clustered
            base_model: {{model}}
            data: [{{inputs.Corpus}}]
            eval: { tasks: [continuation], task_dir: {{TaskDir()}}, limit: 8 }
            grid: { remove: [0, 2], strategy: [input], heal_tokens: [0, 256], seed: [1] }
            train: { seq_len: 32, batch_tokens: 128, lr: 0.003, warmup_steps: 1, checkpoint_every: 1 }
            latency: { prompt_tokens: 8, new_tokens: 8 }
            device: cpu
            output: {{Path.Combine(LayerChopProcess.TempFolder(), "out")}}
            """);

        var info = new ProcessStartInfo(LayerChopProcess.DotnetHost) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { LayerChopProcess.Dll, "silo", "--cluster", Postgres, "--cluster-id", clusterId, "--gpus", "0", "--slots", "1",
                     "--port", FreePort().ToString(), "--gateway-port", FreePort().ToString() })
            info.ArgumentList.Add(a);
        using var silo = Process.Start(info)!;
        var siloLog = new System.Text.StringBuilder();
        silo.ErrorDataReceived += (_, e) => { lock (siloLog) siloLog.AppendLine(e.Data); };
        silo.OutputDataReceived += (_, e) => { };
        silo.BeginErrorReadLine(); silo.BeginOutputReadLine();
        try
        {
            string[] Cluster(params string[] args) => [.. args, "--cluster", Postgres, "--cluster-id", clusterId];
            RunResult started = new(1, "", "");
            for (int attempt = 0; attempt < 20; attempt++)                 // the silo takes a few seconds to join
            {
                started = LayerChopProcess.Run(Cluster("sweep", "start", spec));
                if (started.ExitCode == 0) break;
                Thread.Sleep(1000);
            }
            Assert.True(started.ExitCode == 0, started.Stderr + "\nsilo: " + siloLog);
            Assert.Contains("4 candidates", started.Stdout);

            var watched = LayerChopProcess.Run(Cluster("sweep", "watch", "clustered"));
            Assert.True(watched.ExitCode == 0, watched.Stderr + "\nsilo: " + siloLog);

            var results = JsonDocument.Parse(LayerChopProcess.Run(Cluster("sweep", "results", "clustered", "--json")).Stdout).RootElement;
            Assert.Equal(4, results.GetArrayLength());
            Assert.All(results.EnumerateArray(), c => Assert.Equal("completed", c.GetProperty("status").GetString()));
            var front = JsonDocument.Parse(LayerChopProcess.Run(Cluster("sweep", "front", "clustered", "--json")).Stdout).RootElement;
            Assert.True(front.GetProperty("by_params").GetArrayLength() > 0);

            // Submitting the same spec again duplicates nothing.
            var again = LayerChopProcess.Run(Cluster("sweep", "start", spec));
            Assert.Contains("4 candidates (0 new)", again.Stdout);
        }
        finally
        {
            silo.Kill(entireProcessTree: true);
            silo.WaitForExit();
        }
    }

    static Process StartSilo(string clusterId, int port, int gatewayPort, System.Text.StringBuilder log)
    {
        var info = new ProcessStartInfo(LayerChopProcess.DotnetHost) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { LayerChopProcess.Dll, "silo", "--cluster", Postgres, "--cluster-id", clusterId, "--gpus", "0", "--slots", "1",
                     "--port", port.ToString(), "--gateway-port", gatewayPort.ToString() })
            info.ArgumentList.Add(a);
        var silo = Process.Start(info)!;
        silo.ErrorDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        silo.OutputDataReceived += (_, e) => { };
        silo.BeginErrorReadLine(); silo.BeginOutputReadLine();
        return silo;
    }

    [Fact]
    public void Killing_every_silo_mid_healing_and_starting_one_again_resumes_the_sweep_from_its_checkpoint()
    {
        Assert.Equal(0, LayerChopProcess.Run("db", "init", Postgres).ExitCode);
        string clusterId = "test-" + Guid.NewGuid().ToString("N")[..12];
        var model = Path.Combine(inputs.Work, "cluster-base-2");
        Assert.Equal(0, LayerChopProcess.Run("model", "init", "--layers", "4", "--hidden", "32", "--heads", "4", "--intermediate", "64",
            "--vocab", "300", "--max-positions", "256", "--out", model).ExitCode);
        var output = Path.Combine(LayerChopProcess.TempFolder(), "out");
        var spec = Path.Combine(LayerChopProcess.TempFolder(), "resume.yaml");
        File.WriteAllText(spec, $$"""
            name: resumed
            base_model: {{model}}
            data: [{{inputs.Corpus}}]
            eval: { tasks: [continuation], task_dir: {{TaskDir()}}, limit: 8 }
            grid: { remove: [2], strategy: [input], heal_tokens: [51200], seed: [1] }
            train: { seq_len: 32, batch_tokens: 128, lr: 0.003, warmup_steps: 1, checkpoint_every: 2 }
            latency: { prompt_tokens: 8, new_tokens: 8 }
            device: cpu
            output: {{output}}
            """);
        string[] Cluster(params string[] args) => [.. args, "--cluster", Postgres, "--cluster-id", clusterId];
        int port = FreePort(), gateway = FreePort();
        var log = new System.Text.StringBuilder();
        var first = StartSilo(clusterId, port, gateway, log);
        Process? second = null;
        try
        {
            RunResult started = new(1, "", "");
            for (int attempt = 0; attempt < 20 && started.ExitCode != 0; attempt++)
            {
                started = LayerChopProcess.Run(Cluster("sweep", "start", spec));
                if (started.ExitCode != 0) Thread.Sleep(1000);
            }
            Assert.True(started.ExitCode == 0, started.Stderr + "\nsilo: " + log);
            var checkpoints = Path.Combine(output, "candidates", "r2-input-h51200-pretrain-s1", "healed", "checkpoints");
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (DateTime.UtcNow < deadline && !(Directory.Exists(checkpoints) && Directory.EnumerateDirectories(checkpoints, "step-*").Any()))
                Thread.Sleep(20);
            first.Kill(entireProcessTree: false);                          // the whole cluster stops; its worker follows
            first.WaitForExit();
            Assert.False(File.Exists(Path.Combine(output, "candidates", "r2-input-h51200-pretrain-s1", "result.json")), "killed too late: the candidate had finished");

            second = StartSilo(clusterId, port, gateway, log);             // same address: it replaces the dead silo's row
            RunResult watched = new(1, "", "");
            for (int attempt = 0; attempt < 20 && watched.ExitCode != 0; attempt++)
            {
                watched = LayerChopProcess.Run(Cluster("sweep", "watch", "resumed"));
                if (watched.ExitCode != 0) Thread.Sleep(1000);
            }
            Assert.True(watched.ExitCode == 0, watched.Stderr + "\nsilo: " + log);
            var result = JsonDocument.Parse(LayerChopProcess.Run(Cluster("sweep", "results", "resumed", "--json")).Stdout).RootElement[0];
            Assert.Equal("completed", result.GetProperty("status").GetString());
            Assert.Equal(2, result.GetProperty("attempts").GetInt32());   // the interrupted one, and the one that finished
            // It continued from a checkpoint instead of starting over: the healing run records where.
            var train = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "candidates", "r2-input-h51200-pretrain-s1", "healed", "train_result.json"))).RootElement;
            Assert.Contains(train.GetProperty("resumed_from").EnumerateArray(), step => step.GetInt64() > 0);
        }
        finally
        {
            first.Kill(entireProcessTree: true);
            second?.Kill(entireProcessTree: true);
            second?.WaitForExit();
        }
    }

    string TaskDir()
    {
        var tasks = Path.Combine(inputs.Work, "cluster-tasks");
        Directory.CreateDirectory(tasks);
        File.Copy(inputs.Corpus, Path.Combine(tasks, "continuation.jsonl"), overwrite: true);
        return tasks;
    }
}
