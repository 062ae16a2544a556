using System.Diagnostics;
using System.Text.Json;
using LayerChop.Grains.Sweeps;
using LayerChop.Grains.Workers;
using LayerChop.Interfaces;
using LayerChop.Silo;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using static LayerChop.SweepBench.Stats;

namespace LayerChop.SweepBench;

/// <summary>
/// Query latency of a sweep coordinator that holds many completed candidates. An embedded silo with no worker slot
/// (nothing is ever dispatched) takes a grid of &gt;= N candidates; N synthetic Completed states (seeded, varied so
/// that the fronts are not trivial) are reported through <see cref="ISweepGrain.CandidateChanged"/> as candidate
/// grains would; then GetFront, GetStatus and GetResults are timed call by call, from the silo's own grain factory
/// and from a cluster client in a process of its own (this program's `query` command) through the silo's gateway.
/// </summary>
static class FrontBench
{
    static readonly string[] Tasks = ["piqa", "hellaswag", "openbookqa", "winogrande", "sciq", "arc_easy"];
    static readonly string[] Strategies = ["input", "output", "middle", "both", "max-gap"];
    static readonly long[] HealTokens = [0, 1024, 2048, 4096, 8192];

    public static async Task<int> Run(BenchInputs inputs, BenchOptions options)
    {
        int candidates = options.Int("candidates", 1000);
        int calls = options.Int("calls", 2000);
        int seeds = (candidates + 2 * Strategies.Length * HealTokens.Length - 1) / (2 * Strategies.Length * HealTokens.Length);
        var folder = inputs.Fresh("front");
        var spec = inputs.Spec("front-bench", folder,
            $"{{ remove: [1, 2], strategy: [{string.Join(", ", Strategies)}], heal_tokens: [{string.Join(", ", HealTokens)}], seed: [{string.Join(", ", Enumerable.Range(1, seeds))}] }}",
            "{ seq_len: 32, batch_tokens: 128 }");

        using var host = SiloSetup.Embedded(Path.Combine(folder, "state.db"), new WorkerOptions { Slots = 0, Command = inputs.Command });
        await host.StartAsync();
        try
        {
            var sweep = host.Services.GetRequiredService<IGrainFactory>().GetGrain<ISweepGrain>(spec.Name);
            var clock = Stopwatch.StartNew();
            var submitted = await sweep.Submit(spec);
            if (!submitted.Accepted) throw new InvalidOperationException(submitted.Error);
            Console.WriteLine(Invariant($"submit: {submitted.Candidates.Count} candidates in {clock.Elapsed.TotalMilliseconds:0} ms (embedded silo, 0 worker slots)"));

            // With no slot, nothing may start: after a few scheduler ticks every candidate is still Pending without attempts.
            await Task.Delay(TimeSpan.FromSeconds(3));
            var status = (await sweep.GetStatus())!;
            if (status.Candidates.Any(c => c.Status != CandidateStatus.Pending || c.Attempts.Count > 0))
                throw new InvalidOperationException("with 0 worker slots a candidate was dispatched");
            Console.WriteLine("slots = 0: nothing dispatched after 3 s (every candidate Pending, no attempt)");

            var random = new Random(20261124);
            var fed = status.Candidates.Take(candidates).Select(c => Completed(c, random)).ToList();
            clock.Restart();
            foreach (var c in fed) await sweep.CandidateChanged(c);             // one-way, as candidate grains report
            while ((await sweep.GetStatus())!.Count(CandidateStatus.Completed) < fed.Count) await Task.Delay(20);
            Console.WriteLine(Invariant($"ingest: {fed.Count} completion reports taken in {clock.Elapsed.TotalSeconds:0.00} s ({fed.Count / clock.Elapsed.TotalSeconds:0} reports/s; each status change rewrites the sweep's state)"));

            var front = await sweep.GetFront();
            var points = fed.Select(c => FrontPoint.Of(c.Config, c.Result!)).ToList();
            foreach (var (axis, got) in new[] { (FrontAxis.Params, front.ByParams), (FrontAxis.Latency, front.ByLatency) })
                if (!ParetoFront.Compute(points, axis).Select(p => p.CandidateId).SequenceEqual(got.Select(p => p.CandidateId)))
                    throw new InvalidOperationException($"the coordinator's {axis} front differs from the front computed at once");
            var results = await sweep.GetResults();
            Console.WriteLine(Invariant($"front: {front.ByParams.Count} points by params, {front.ByLatency.Count} by latency (checked against ParetoFront.Compute); ") +
                              Invariant($"GetResults: {results.Count} candidates, {JsonSerializer.Serialize(results).Length / 1024.0:0} KiB as JSON"));

            await Measure("in-process grain factory", sweep, calls, new OthersCpu().Start());

            // The same queries from a client process of its own, through the silo's gateway (loopback TCP).
            int gateway = host.Services.GetRequiredService<IOptions<EndpointOptions>>().Value.GatewayPort;
            var info = new ProcessStartInfo(BenchInputs.DotnetHost) { RedirectStandardOutput = true };
            foreach (var a in new[] { typeof(FrontBench).Assembly.Location, "query", "--gateway", gateway.ToString(), "--sweep", spec.Name,
                         "--calls", calls.ToString(), "--silo-pid", Environment.ProcessId.ToString() })
                info.ArgumentList.Add(a);
            using var client = Process.Start(info)!;
            Console.Write(await client.StandardOutput.ReadToEndAsync());
            await client.WaitForExitAsync();
            if (client.ExitCode != 0) throw new InvalidOperationException($"the client process failed (exit code {client.ExitCode})");
        }
        finally
        {
            await host.StopAsync();
        }
        return 0;
    }

    /// <summary>The client side of the front benchmark: a cluster client of the silo at 127.0.0.1:--gateway.</summary>
    public static async Task<int> Query(BenchOptions options)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        int gateway = options.Int("gateway", 0);
        builder.UseOrleansClient(client => client.UseLocalhostClustering(gateway));
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var sweep = host.Services.GetRequiredService<IClusterClient>().GetGrain<ISweepGrain>(options.Get("sweep")!);
            await Measure($"cluster client in a process of its own (gateway 127.0.0.1:{gateway})", sweep, options.Int("calls", 2000),
                new OthersCpu(options.Int("silo-pid", 0)).Start());
        }
        finally
        {
            await host.StopAsync();
        }
        return 0;
    }

    /// <summary>Times each query call by call (after a warm-up), in turns, so that each sees the same conditions.</summary>
    static async Task Measure(string from, ISweepGrain sweep, int calls, OthersCpu others)
    {
        var queries = new (string Name, Func<Task> Call)[]
        {
            ("GetFront", () => sweep.GetFront()),
            ("GetStatus", () => sweep.GetStatus()),
            ("GetResults", () => sweep.GetResults()),
        };
        var times = queries.ToDictionary(q => q.Name, _ => new List<double>(calls));
        for (int i = 0; i < 50; i++) foreach (var q in queries) await q.Call();
        var clock = new Stopwatch();
        int gen0 = GC.CollectionCount(0), gen2 = GC.CollectionCount(2);
        var wall = Stopwatch.StartNew();
        for (int i = 0; i < calls; i++)
            foreach (var q in queries)
            {
                clock.Restart();
                await q.Call();
                times[q.Name].Add(clock.Elapsed.TotalMilliseconds);
            }
        Console.WriteLine(Invariant($"queries from the {from}: {wall.Elapsed.TotalSeconds:0.0} s, {GC.CollectionCount(0) - gen0} gen0 / {GC.CollectionCount(2) - gen2} gen2 collections, ") +
                          Invariant($"processes other than this one and the silo used {others.Seconds:0.0} CPU-s meanwhile"));
        foreach (var q in queries) Console.WriteLine($"  {q.Name,-10} {Latency(times[q.Name])}");
    }

    /// <summary>
    /// A synthetic completed candidate: sizes between 0.55B and 1.1B parameters, latency roughly proportional to size,
    /// and task scores that grow with size and healing, with noise, so that the fronts hold a few dozen points.
    /// </summary>
    static CandidateState Completed(CandidateState pending, Random random)
    {
        double size = 0.5 + 0.5 * random.NextDouble();
        long parameters = (long)(1.1e9 * size);
        double heal = pending.Config.HealTokens > 0 ? 0.01 * Math.Log2(pending.Config.HealTokens / 512.0) : 0;
        double quality = 0.30 + 0.30 * Math.Sqrt(2 * size - 1) + heal + 0.02 * Gaussian(random);
        var scores = Tasks.ToDictionary(t => t, _ => Math.Clamp(quality + 0.05 * Gaussian(random), 0, 1));
        var now = DateTime.UtcNow;
        return pending with
        {
            Status = CandidateStatus.Completed,
            UpdatedUtc = now,
            Attempts = [new AttemptRecord { Number = 1, StartedUtc = now.AddMinutes(-30), EndedUtc = now, Silo = "synthetic", Outcome = AttemptOutcome.Succeeded }],
            Result = new CandidateResult
            {
                Params = parameters, NonEmbeddingParams = parameters - 131_000_000, BytesOnDisk = 2 * parameters,
                LatencyMsPerToken = 20 * size * (1 + 0.1 * Gaussian(random)), Scores = scores, Average = scores.Values.Average(),
                Perplexity = 12 / quality, HeldoutLoss = Math.Log(12 / quality),
            },
        };
    }

    static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
