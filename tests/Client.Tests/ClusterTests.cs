using System.Diagnostics;
using System.Text.Json;
using LayerChop.Silo;
using Xunit;

namespace LayerChop.Client.Tests;

/// <summary>Cluster mode against the real PostgreSQL that deploy/setup.sh starts: a silo process, a client, a sweep.</summary>
public class ClusterTests(TrainingInputs inputs) : IClassFixture<TrainingInputs>
{
    internal static string Postgres => Environment.GetEnvironmentVariable("LAYERCHOP_PG") is { Length: > 0 } pg
        ? pg : "Host=127.0.0.1;Port=55432;Username=postgres;Database=layerchop";

    [Fact]
    public void A_sweep_started_on_a_cluster_silo_completes_and_its_results_and_front_are_queried_from_the_client()
    {
        var init = LayerChopProcess.Run("db", "init", Postgres);
        Assert.True(init.ExitCode == 0, "PostgreSQL for the tests is not reachable; run deploy/postgres.sh start: " + init.Stderr);
        string clusterId = "test-" + Guid.NewGuid().ToString("N")[..12];
        var model = Path.Combine(inputs.Work, "cluster-base");
        InitModel(model);
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

        var siloLog = new System.Text.StringBuilder();
        using var silo = StartSilo(clusterId, SiloSetup.FreePort(), SiloSetup.FreePort(), siloLog, "--slot-memory-gib", "2.5");
        try
        {
            string[] Cluster(params string[] args) => [.. args, "--cluster", Postgres, "--cluster-id", clusterId];
            var started = Retrying(Cluster("sweep", "start", spec), TimeSpan.FromSeconds(20), siloLog);   // the silo takes a few seconds to join
            Assert.Contains("4 candidates", started.Stdout);

            var watched = LayerChopProcess.Run(Cluster("sweep", "watch", "clustered"));
            Assert.True(watched.ExitCode == 0, watched.Stderr + "\nsilo: " + siloLog);

            var results = JsonDocument.Parse(LayerChopProcess.Run(Cluster("sweep", "results", "clustered", "--json")).Stdout).RootElement;
            Assert.Equal(4, results.GetArrayLength());
            Assert.All(results.EnumerateArray(), c => Assert.Equal("completed", c.GetProperty("status").GetString()));
            var front = JsonDocument.Parse(LayerChopProcess.Run(Cluster("sweep", "front", "clustered", "--json")).Stdout).RootElement;
            Assert.True(front.GetProperty("by_params").GetArrayLength() > 0);

            // The silo shows its one CPU slot with its memory, free again once the sweep is done.
            var slots = JsonDocument.Parse(LayerChopProcess.Run(Cluster("slots", "--json")).Stdout).RootElement;
            var only = Assert.Single(slots.EnumerateArray());
            Assert.False(only.GetProperty("gpu").GetBoolean());
            Assert.Equal(JsonValueKind.Null, Assert.Single(only.GetProperty("slots").EnumerateArray()).ValueKind);
            Assert.Equal(5L << 29, Assert.Single(only.GetProperty("slot_memory_bytes").EnumerateArray()).GetInt64());
            Assert.Contains("2.50 GiB", LayerChopProcess.Run(Cluster("slots")).Stdout);

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

    internal static Process StartSilo(string clusterId, int port, int gatewayPort, System.Text.StringBuilder log, params string[] extra)
    {
        var info = new ProcessStartInfo(LayerChopProcess.DotnetHost) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new string[] { LayerChopProcess.Dll, "silo", "--cluster", Postgres, "--cluster-id", clusterId, "--gpus", "0", "--slots", "1",
                     "--port", port.ToString(), "--gateway-port", gatewayPort.ToString() }.Concat(extra))
            info.ArgumentList.Add(a);
        var silo = Process.Start(info)!;
        silo.ErrorDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        silo.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
        silo.BeginErrorReadLine(); silo.BeginOutputReadLine();
        return silo;
    }

    [Fact]
    public void Killing_every_silo_mid_healing_and_starting_one_again_resumes_the_sweep_from_its_checkpoint()
    {
        Assert.Equal(0, LayerChopProcess.Run("db", "init", Postgres).ExitCode);
        string clusterId = "test-" + Guid.NewGuid().ToString("N")[..12];
        var (spec, output) = HealingSweep("resumed", "2");
        string[] Cluster(params string[] args) => [.. args, "--cluster", Postgres, "--cluster-id", clusterId];
        int port = SiloSetup.FreePort(), gateway = SiloSetup.FreePort();
        var log = new System.Text.StringBuilder();
        var first = StartSilo(clusterId, port, gateway, log);
        Process? second = null;
        try
        {
            Retrying(Cluster("sweep", "start", spec), TimeSpan.FromSeconds(20), log);   // the silos take a few seconds to join
            var checkpoints = Path.Combine(output, "candidates", "r2-input-h51200-pretrain-s1", "healed", "checkpoints");
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (DateTime.UtcNow < deadline && !(Directory.Exists(checkpoints) && Directory.EnumerateDirectories(checkpoints, "step-*").Any()))
                Thread.Sleep(20);
            first.Kill(entireProcessTree: false);                          // the whole cluster stops; its worker follows
            first.WaitForExit();
            Assert.False(File.Exists(Path.Combine(output, "candidates", "r2-input-h51200-pretrain-s1", "result.json")), "killed too late: the candidate had finished");

            Thread.Sleep(1000);                                            // the orphaned worker notices and exits
            var healed = Path.Combine(output, "candidates", "r2-input-h51200-pretrain-s1", "healed");
            long LastCheckpoint() => Directory.EnumerateDirectories(checkpoints, "step-*")
                .Select(d => long.TryParse(Path.GetFileName(d)[5..], out var n) ? n : 0).DefaultIfEmpty(0).Max();
            long stoppedAt = LastCheckpoint();

            second = StartSilo(clusterId, port, gateway, log);             // same address: it replaces the dead silo's row
            // Nobody resubmits or even asks: the starting silo wakes the sweep, which restarts its candidate.
            deadline = DateTime.UtcNow.AddMinutes(2);
            while (DateTime.UtcNow < deadline && !File.Exists(Path.Combine(healed, "train_result.json")) && LastCheckpoint() <= stoppedAt)
                Thread.Sleep(100);
            Assert.True(File.Exists(Path.Combine(healed, "train_result.json")) || LastCheckpoint() > stoppedAt,
                $"healing did not go on past step {stoppedAt} by itself\nsilo: {log}");
            Retrying(Cluster("sweep", "watch", "resumed"), TimeSpan.FromSeconds(20), log);
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

    [Fact]
    public void Killing_one_of_two_silos_mid_healing_moves_its_candidate_to_the_other_silo_which_resumes_it_from_its_checkpoint_in_a_slot_of_its_own()
    {
        Assert.Equal(0, LayerChopProcess.Run("db", "init", Postgres).ExitCode);
        string clusterId = "test-" + Guid.NewGuid().ToString("N")[..12];
        var (spec, output) = HealingSweep("moved", "1, 2");
        string[] Cluster(params string[] args) => [.. args, "--cluster", Postgres, "--cluster-id", clusterId];
        var log = new System.Text.StringBuilder();
        var ports = new[] { SiloSetup.FreePort(), SiloSetup.FreePort() };
        var silos = ports.Select(p => StartSilo(clusterId, p, SiloSetup.FreePort(), log)).ToArray();
        try
        {
            Retrying(Cluster("sweep", "start", spec), TimeSpan.FromSeconds(20), log);   // the silos take a few seconds to join
            string[] ids = ["r1-input-h51200-pretrain-s1", "r2-input-h51200-pretrain-s1"];
            string Checkpoints(string id) => Path.Combine(output, "candidates", id, "healed", "checkpoints");
            var deadline = DateTime.UtcNow.AddMinutes(3);
            while (DateTime.UtcNow < deadline && !ids.All(id => Directory.Exists(Checkpoints(id)) && Directory.EnumerateDirectories(Checkpoints(id), "step-*").Any()))
                Thread.Sleep(20);
            Assert.True(ids.All(id => Directory.Exists(Checkpoints(id))), "both candidates should heal at once, one per silo\nsilo: " + log);

            // Which silo runs which candidate: the first silo's candidate is the one that has to move.
            var running = Results(Cluster("sweep", "results", "moved", "--json"));
            string SiloOf(JsonElement c) => c.GetProperty("running_on").GetProperty("silo").GetString()!;
            var killedPort = ports[0].ToString();
            var moved = running.Single(c => SiloOf(c).Split('@')[0].EndsWith(":" + killedPort)).GetProperty("id").GetString()!;
            string killedSilo = SiloOf(running.Single(c => c.GetProperty("id").GetString() == moved));
            silos[0].Kill(entireProcessTree: false);                       // kill -9; its worker notices and exits
            silos[0].WaitForExit();
            Assert.False(File.Exists(Path.Combine(output, "candidates", moved, "result.json")), "killed too late: the candidate had finished");

            Retrying(Cluster("sweep", "watch", "moved"), TimeSpan.FromMinutes(4), log);   // once the cluster declares the silo dead
            var results = Results(Cluster("sweep", "results", "moved", "--json"));
            Assert.All(results, c => Assert.Equal("completed", c.GetProperty("status").GetString()));
            JsonElement[] History(string id)
            {
                var shown = LayerChopProcess.Run(Cluster("sweep", "show", "moved", id, "--json"));
                Assert.True(shown.ExitCode == 0, shown.Stderr);
                return JsonDocument.Parse(shown.Stdout).RootElement.GetProperty("history").EnumerateArray().ToArray();
            }
            var history = History(moved);
            Assert.Equal(["interrupted", "succeeded"], history.Select(a => a.GetProperty("outcome").GetString()));
            Assert.Equal(killedSilo, history[0].GetProperty("silo").GetString());
            Assert.NotEqual(killedSilo, history[1].GetProperty("silo").GetString());
            var train = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "candidates", moved, "healed", "train_result.json"))).RootElement;
            Assert.Contains(train.GetProperty("resumed_from").EnumerateArray(), step => step.GetInt64() > 0);

            // No slot ever ran two candidates at once: the attempts of one silo's slot never overlap in time.
            var attempts = ids.SelectMany(History).Select(a => (
                Slot: a.GetProperty("silo").GetString() + "#" + a.GetProperty("slot").GetInt32(),
                Start: a.GetProperty("started_utc").GetDateTime(), End: a.GetProperty("ended_utc").GetDateTime())).ToList();
            foreach (var slot in attempts.GroupBy(a => a.Slot))
            {
                var ordered = slot.OrderBy(a => a.Start).ToList();
                for (int i = 1; i < ordered.Count; i++)
                    Assert.True(ordered[i].Start >= ordered[i - 1].End, $"slot {slot.Key} ran two candidates at once");
            }
        }
        finally
        {
            foreach (var silo in silos) { silo.Kill(entireProcessTree: true); silo.WaitForExit(); }
        }
    }

    [Fact]
    public void A_silo_declared_dead_while_it_could_not_hear_of_it_takes_no_more_work_and_stops_itself_and_another_silo_finishes_the_sweep()
    {
        Assert.Equal(0, LayerChopProcess.Run("db", "init", Postgres).ExitCode);
        string clusterId = "test-" + Guid.NewGuid().ToString("N")[..12];
        var (spec, output) = HealingSweep("zombie", "1, 2");
        // The silo reads the membership table by itself only every 10 minutes: until then nothing but its own
        // check before asking for work tells it that the cluster declared it dead (as after a healed partition,
        // when the others stopped gossiping to it).
        var config = Path.Combine(LayerChopProcess.TempFolder(), "silo.json");
        File.WriteAllText(config, """{ "membership": { "table_refresh_s": 600 } }""");
        string[] Cluster(params string[] args) => [.. args, "--cluster", Postgres, "--cluster-id", clusterId];
        var log = new System.Text.StringBuilder();
        int port = SiloSetup.FreePort();
        var zombie = StartSilo(clusterId, port, SiloSetup.FreePort(), log, "--config", config);
        Process? other = null;
        try
        {
            Retrying(Cluster("sweep", "start", spec), TimeSpan.FromSeconds(20), log);
            string[] ids = ["r1-input-h51200-pretrain-s1", "r2-input-h51200-pretrain-s1"];
            string Folder(string id) => Path.Combine(output, "candidates", id);
            bool Healing(string id) => Directory.Exists(Path.Combine(Folder(id), "healed", "checkpoints"));
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (DateTime.UtcNow < deadline && !ids.Any(Healing)) Thread.Sleep(20);
            string first = ids.Single(Healing), second = ids.Single(id => id != first);   // one slot: one candidate at a time

            // The cluster declares the silo dead, as the other silos would: its row turns Dead and the table's version moves on.
            using (var db = new Npgsql.NpgsqlConnection(Postgres))
            {
                db.Open();
                using var kill = new Npgsql.NpgsqlCommand("""
                    UPDATE layerchop_silo SET status = 6 WHERE deployment_id = @cluster AND port = @port AND status = 3;
                    UPDATE layerchop_membership_version SET version = version + 1, changed_at = now() WHERE deployment_id = @cluster;
                    """, db);
                kill.Parameters.AddWithValue("cluster", clusterId);
                kill.Parameters.AddWithValue("port", port);
                Assert.True(kill.ExecuteNonQuery() >= 2, "the silo's active row and the table's version should both change");
            }
            Assert.False(File.Exists(Path.Combine(Folder(first), "result.json")), "declared dead too late: its candidate had finished");

            // Its worker finishes the candidate it had; when the slot is free, the silo reads the table, finds itself
            // dead and stops instead of taking the second candidate.
            Assert.True(zombie.WaitForExit(TimeSpan.FromMinutes(3)), "the silo declared dead should stop by itself\nsilo: " + log);
            Assert.NotEqual(0, zombie.ExitCode);
            string Starts(string id) => File.Exists(Path.Combine(Folder(id), "workers.jsonl")) ? File.ReadAllText(Path.Combine(Folder(id), "workers.jsonl")) : "";
            Assert.DoesNotContain($":{port}@", Starts(second));

            other = StartSilo(clusterId, SiloSetup.FreePort(), SiloSetup.FreePort(), log);
            Retrying(Cluster("sweep", "watch", "zombie"), TimeSpan.FromMinutes(3), log);
            var results = Results(Cluster("sweep", "results", "zombie", "--json"));
            Assert.All(results, c => Assert.Equal("completed", c.GetProperty("status").GetString()));
            var shown = LayerChopProcess.Run(Cluster("sweep", "show", "zombie", second, "--json"));
            Assert.True(shown.ExitCode == 0, shown.Stderr);
            var history = JsonDocument.Parse(shown.Stdout).RootElement.GetProperty("history").EnumerateArray().ToArray();
            Assert.Equal(["succeeded"], history.Select(a => a.GetProperty("outcome").GetString()));
            Assert.DoesNotContain($":{port}@", history[0].GetProperty("silo").GetString());
        }
        finally
        {
            zombie.Kill(entireProcessTree: true);
            zombie.WaitForExit();
            other?.Kill(entireProcessTree: true);
            other?.WaitForExit();
        }
    }

    /// <summary>
    /// A sweep of one candidate per number in <paramref name="remove"/>, each healing 400 steps with a checkpoint
    /// every 2 (long enough to stop its silo mid-healing), on a model of its own; its spec file and output folder.
    /// </summary>
    (string Spec, string Output) HealingSweep(string name, string remove)
    {
        var model = Path.Combine(inputs.Work, "cluster-base-" + name);
        InitModel(model);
        var output = Path.Combine(LayerChopProcess.TempFolder(), "out");
        var spec = Path.Combine(LayerChopProcess.TempFolder(), name + ".yaml");
        File.WriteAllText(spec, $$"""
            name: {{name}}
            base_model: {{model}}
            data: [{{inputs.Corpus}}]
            eval: { tasks: [continuation], task_dir: {{TaskDir()}}, limit: 8 }
            grid: { remove: [{{remove}}], strategy: [input], heal_tokens: [51200], seed: [1] }
            train: { seq_len: 32, batch_tokens: 128, lr: 0.003, warmup_steps: 1, checkpoint_every: 2 }
            latency: { prompt_tokens: 8, new_tokens: 8 }
            device: cpu
            output: {{output}}
            """);
        return (spec, output);
    }

    /// <summary>The 4-layer model every sweep test here starts from (256 positions, room for the continuation task).</summary>
    internal static void InitModel(string folder) =>
        Assert.Equal(0, LayerChopProcess.Run("model", "init", "--layers", "4", "--hidden", "32", "--heads", "4", "--intermediate", "64",
            "--vocab", "300", "--max-positions", "256", "--out", folder).ExitCode);

    /// <summary>Runs a client command until it succeeds (the cluster may still be forming or recovering).</summary>
    static RunResult Retrying(string[] args, TimeSpan within, System.Text.StringBuilder siloLog)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            // One run may take all the time left, and at least 2 minutes (a `sweep watch` lasts until the sweep ends).
            var left = deadline - DateTime.UtcNow;
            var r = LayerChopProcess.Run(new Dictionary<string, string>(), left > TimeSpan.FromMinutes(2) ? left : TimeSpan.FromMinutes(2), args);
            if (r.ExitCode == 0) return r;
            if (DateTime.UtcNow > deadline) Assert.Fail($"{string.Join(' ', args.Take(2))}: {r.Stderr}\nsilo: {siloLog}");
            Thread.Sleep(1000);
        }
    }

    static JsonElement[] Results(string[] args)
    {
        var r = LayerChopProcess.Run(args);
        Assert.True(r.ExitCode == 0, r.Stderr);
        return JsonDocument.Parse(r.Stdout).RootElement.EnumerateArray().ToArray();
    }

    string TaskDir() => ContinuationTasks(inputs, Path.Combine(inputs.Work, "cluster-tasks"));

    /// <summary>A task folder whose `continuation` task is the test corpus.</summary>
    internal static string ContinuationTasks(TrainingInputs inputs, string folder)
    {
        Directory.CreateDirectory(folder);
        File.Copy(inputs.Corpus, Path.Combine(folder, "continuation.jsonl"), overwrite: true);
        return folder;
    }
}
