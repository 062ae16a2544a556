using System.Diagnostics;
using LayerChop.Interfaces;
using LayerChop.Silo;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using static LayerChop.SweepBench.Stats;

namespace LayerChop.SweepBench;

/// <summary>
/// Recovery after a whole-cluster kill. One `layerchop silo` process (1 CPU slot) on PostgreSQL heals one candidate;
/// once a checkpoint exists the silo is killed with SIGKILL (its worker exits by itself), and a silo is started
/// again on the same ports. Nobody resubmits: the new silo wakes the stored sweep. Measured from the restart: the
/// silo up, a new client answered, the candidate's new attempt started, Healing again, and healing progress past
/// the checkpoint it resumed from.
/// </summary>
static class ResumeBench
{
    const string DefaultCluster = "Host=127.0.0.1;Port=55432;Username=postgres;Database=layerchop";

    sealed record Figures(double SiloUp, double ClientAnswer, double AttemptStart, double Healing, double PastCheckpoint,
        double WorkerExit, long Checkpoint, long FirstStep);

    public static async Task<int> Run(BenchInputs inputs, BenchOptions options)
    {
        var connection = options.Get("cluster") ?? Environment.GetEnvironmentVariable("LAYERCHOP_CLUSTER") ?? DefaultCluster;
        inputs.Layerchop("db", "init", connection);
        int runs = options.Int("runs", 3);
        var figures = new List<Figures>();
        for (int run = 1; run <= runs; run++)
        {
            var f = await RunOnce(inputs, connection, run);
            figures.Add(f);
            Console.WriteLine(Invariant($"run {run}: worker gone {f.WorkerExit:0.00} s after the kill; resumed from step {f.Checkpoint}; from the restart: silo up {f.SiloUp:0.00} s, ") +
                              Invariant($"client answered {f.ClientAnswer:0.00} s, new attempt started {f.AttemptStart:0.00} s, Healing {f.Healing:0.00} s, ") +
                              Invariant($"step {f.FirstStep} (> {f.Checkpoint}) {f.PastCheckpoint:0.00} s"));
        }
        Console.WriteLine($"resume after a whole-cluster kill, {runs} run(s), seconds from starting the new silo process:");
        foreach (var (name, pick) in new (string, Func<Figures, double>)[]
        {
            ("silo started (its start-up line)", f => f.SiloUp), ("a new cluster client answered", f => f.ClientAnswer),
            ("new attempt started (StartedUtc)", f => f.AttemptStart), ("candidate Healing again", f => f.Healing),
            ("healing progress past the checkpoint", f => f.PastCheckpoint),
        })
            Console.WriteLine($"  {name,-38} {MeanMedianMax(figures.Select(pick).ToArray(), "s")}");
        return 0;
    }

    static async Task<Figures> RunOnce(BenchInputs inputs, string connection, int run)
    {
        var folder = inputs.Fresh($"resume-{run}");
        var spec = inputs.Spec("resume-bench", folder, "{ remove: [2], strategy: [input], heal_tokens: [51200] }",
            "{ seq_len: 32, batch_tokens: 128, lr: 0.003, warmup_steps: 1, checkpoint_every: 2 }");
        string clusterId = "bench-" + Guid.NewGuid().ToString("N")[..12];
        int port = SiloSetup.FreePort(), gateway = SiloSetup.FreePort();
        var first = SiloProcess.Start(inputs, connection, clusterId, port, gateway);
        SiloProcess? second = null;
        try
        {
            await first.Up.WaitAsync(TimeSpan.FromMinutes(1));
            string id;
            {
                var (client, sweep) = await Connect(connection, clusterId, spec.Name, TimeSpan.FromSeconds(30));
                var submitted = await sweep.Submit(spec);
                if (!submitted.Accepted) throw new InvalidOperationException(submitted.Error);
                id = submitted.Candidates.Single();
                await client.StopAsync();
                client.Dispose();
            }
            var checkpoints = Path.Combine(spec.Output, "candidates", id, "healed", "checkpoints");
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (Newest(checkpoints) is null)
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"no checkpoint in {checkpoints} after 2 minutes; silo: {first.Log}");
                await Task.Delay(10);
            }

            var workers = first.Children();
            var killed = DateTime.UtcNow;
            first.Kill();
            while (workers.Any(Alive)) await Task.Delay(10);                       // the worker notices its silo died
            double workerExit = (DateTime.UtcNow - killed).TotalSeconds;
            long checkpoint = Newest(checkpoints)!.Value;                           // what the next attempt resumes from
            if (File.Exists(Path.Combine(spec.Output, "candidates", id, "result.json"))) throw new InvalidOperationException("killed too late: the candidate had finished");

            var restart = DateTime.UtcNow;
            second = SiloProcess.Start(inputs, connection, clusterId, port, gateway);     // same address: it replaces the dead silo's row
            double Since(DateTime t) => (t - restart).TotalSeconds;
            var (resumedClient, resumed) = await Connect(connection, clusterId, spec.Name, TimeSpan.FromMinutes(1));
            double clientAnswer = Since(DateTime.UtcNow);
            try
            {
                // The candidate grain's own state: its attempts, status and progress (the sweep keeps only a summary).
                var candidate = resumedClient.Services.GetRequiredService<IClusterClient>().GetGrain<ICandidateGrain>(SweepKeys.Candidate(spec.Name, id));
                double? attemptStart = null, healing = null, past = null;
                long firstStep = 0;
                while (past is null)
                {
                    if (DateTime.UtcNow > restart.AddMinutes(2)) throw new TimeoutException($"the candidate did not resume within 2 minutes; silo: {second.Log}");
                    var c = await candidate.GetState() ?? throw new InvalidOperationException($"{id} has no stored state after it healed");
                    if (c.Attempts.Count >= 2 && c.Attempts[^1].StartedUtc > restart)
                    {
                        attemptStart ??= Since(c.Attempts[^1].StartedUtc);
                        // Healing: the time of the move (UpdatedUtc); progress: the time the candidate grain received the step.
                        if (c.Status == CandidateStatus.Healing && c.UpdatedUtc > restart) healing ??= Since(c.UpdatedUtc);
                        if (c.Progress is { } p && p.UpdatedUtc > restart && p.Step > checkpoint) { past = Since(p.UpdatedUtc); firstStep = p.Step; }
                        if (CandidateTransitions.IsFinished(c.Status)) throw new InvalidOperationException($"the candidate ended ({c.Status}) before progress was seen");
                    }
                    await Task.Delay(20);
                }
                return new Figures(Since(await second.Up), clientAnswer, attemptStart!.Value, healing ?? double.NaN, past.Value, workerExit, checkpoint, firstStep);
            }
            finally
            {
                await resumedClient.StopAsync();
                resumedClient.Dispose();
            }
        }
        finally
        {
            first.Dispose();
            second?.Dispose();
        }
    }

    /// <summary>A client of the cluster once one connects and the sweep answers; retried until then.</summary>
    static async Task<(IHost Client, ISweepGrain Sweep)> Connect(string connection, string clusterId, string sweepName, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            var client = SiloSetup.ClusterClient(connection, clusterId);
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await client.StartAsync(timeout.Token);
                var sweep = client.Services.GetRequiredService<IClusterClient>().GetGrain<ISweepGrain>(sweepName);
                await sweep.GetStatus().WaitAsync(timeout.Token);
                return (client, sweep);
            }
            catch (Exception e) when (DateTime.UtcNow < deadline && e is not OutOfMemoryException)
            {
                client.Dispose();
                await Task.Delay(100);
            }
        }
    }

    static long? Newest(string checkpoints) => Directory.Exists(checkpoints)
        ? Directory.EnumerateDirectories(checkpoints, "step-*").Select(d => long.TryParse(Path.GetFileName(d)[5..], out long s) ? s : (long?)null).Max()
        : null;

    /// <summary>Whether the process still runs: it exists and is not a zombie waiting for its new parent to reap it.</summary>
    static bool Alive(int pid) => ProcStat.Fields(pid) is { } f && f[0] != "Z";

    /// <summary>A `layerchop silo` process on CPU slots; <see cref="Up"/> completes when it prints that it runs.</summary>
    sealed class SiloProcess : IDisposable
    {
        readonly Process process;
        readonly TaskCompletionSource<DateTime> up = new(TaskCreationOptions.RunContinuationsAsynchronously);
        readonly System.Text.StringBuilder log = new();

        SiloProcess(Process process) => this.process = process;

        public Task<DateTime> Up => up.Task;
        public string Log { get { lock (log) return log.ToString(); } }

        public static SiloProcess Start(BenchInputs inputs, string connection, string clusterId, int port, int gateway)
        {
            var info = new ProcessStartInfo(BenchInputs.DotnetHost) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { inputs.LayerchopDll, "silo", "--cluster", connection, "--cluster-id", clusterId, "--gpus", "0", "--slots", "1",
                         "--port", port.ToString(), "--gateway-port", gateway.ToString() })
                info.ArgumentList.Add(a);
            var silo = new SiloProcess(Process.Start(info)!);
            silo.process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is null) return;
                if (e.Data.Contains("Ctrl-C or SIGTERM stops it", StringComparison.Ordinal)) silo.up.TrySetResult(DateTime.UtcNow);
                lock (silo.log) silo.log.AppendLine(e.Data);
            };
            silo.process.OutputDataReceived += (_, _) => { };
            silo.process.BeginErrorReadLine();
            silo.process.BeginOutputReadLine();
            return silo;
        }

        /// <summary>The processes this silo started (its workers).</summary>
        public IReadOnlyList<int> Children() => Directory.EnumerateDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), out int pid) ? pid : 0).Where(pid => pid > 0 && ParentOf(pid) == process.Id).ToList();

        static int ParentOf(int pid) => ProcStat.Fields(pid) is { } f && int.TryParse(f[1], out int parent) ? parent : 0;

        /// <summary>SIGKILL, the silo process alone (its workers are left to notice).</summary>
        public void Kill()
        {
            process.Kill(entireProcessTree: false);
            process.WaitForExit();
        }

        public void Dispose()
        {
            try { if (!process.HasExited) process.Kill(entireProcessTree: true); }
            catch (InvalidOperationException) { }
            process.WaitForExit();
            process.Dispose();
        }
    }
}
