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
/// (no supervisor asks for work) takes a grid of &gt;= N candidates; the bench, as the silo's supervisor would,
/// takes N of them (<see cref="ISweepGrain.TakeNext"/>) and ends each attempt with a synthetic result (seeded,
/// varied so that the fronts are not trivial) through <see cref="ICandidateGrain.End"/>; then GetFront, GetStatus
/// (all candidates, and the delta since a revision) and GetResults are timed call by call, from the silo's own
/// grain factory and from a cluster client in a process of its own (this program's `query` command) through the
/// silo's gateway.
/// </summary>
static class FrontBench
{
    static readonly string[] Strategies = ["input", "output", "middle", "both", "max-gap"];
    static readonly long[] HealTokens = [0, 1024, 2048, 4096, 8192];

    /// <summary>Completions after the revision that the delta query asks from.</summary>
    public const int DeltaCandidates = 10;

    public static async Task<int> Run(BenchInputs inputs, BenchOptions options)
    {
        int candidates = options.Int("candidates", 1000);
        int calls = options.Int("calls", 2000);
        var folder = inputs.Fresh("front");
        var spec = inputs.Spec("front-bench", folder, Grid(candidates), "{ seq_len: 32, batch_tokens: 128 }");

        using var host = SiloSetup.Embedded(Path.Combine(folder, "state.db"), new WorkerOptions { Slots = 0, Command = inputs.Command });
        await host.StartAsync();
        try
        {
            var sweep = host.Services.GetRequiredService<IGrainFactory>().GetGrain<ISweepGrain>(spec.Name);
            var clock = Stopwatch.StartNew();
            var submitted = await sweep.Submit(spec);
            if (!submitted.Accepted) throw new InvalidOperationException(submitted.Error);
            Console.WriteLine(Invariant($"submit: {submitted.Candidates.Count} candidates in {clock.Elapsed.TotalMilliseconds:0} ms (embedded silo, 0 worker slots)"));
            await NothingDispatched(sweep);

            var supervisor = SyntheticSupervisor.Of(host);
            var random = new Random(20261124);
            var (done, since) = await Complete(supervisor, sweep, candidates, random);
            var front = await sweep.GetFront();
            var points = done.Select(c => FrontPoint.Of(c.Config, c.Result)).ToList();
            foreach (var (axis, got) in new[] { (FrontAxis.Params, front.ByParams), (FrontAxis.Latency, front.ByLatency) })
                if (!ParetoFront.Compute(points, axis).Select(p => p.CandidateId).SequenceEqual(got.Select(p => p.CandidateId)))
                    throw new InvalidOperationException($"the coordinator's {axis} front differs from the front computed at once");
            var results = await sweep.GetResults();
            Console.WriteLine(Invariant($"front: {front.ByParams.Count} points by params, {front.ByLatency.Count} by latency (checked against ParetoFront.Compute); ") +
                              Invariant($"GetResults: {results.Count} candidates, {JsonSerializer.Serialize(results).Length / 1024.0:0} KiB as JSON"));

            await Measure("in-process grain factory", sweep, calls, since, new OthersCpu().Start());
            await MeasureFromClientProcess(host, spec.Name, calls, since);
        }
        finally
        {
            await host.StopAsync();
        }
        return 0;
    }

    /// <summary>
    /// A grid of at least N candidates, remove 1-2 x 5 placements x heal sizes x seeds: exactly N when N is 10, 20, 30,
    /// 40 or a multiple of 50 (1,000: 5 heal sizes x 20 seeds; 10,000: 5 heal sizes x 200 seeds).
    /// </summary>
    public static string Grid(int candidates)
    {
        int heals = Math.Clamp((candidates + 9) / 10, 1, HealTokens.Length);
        int seeds = Math.Max(1, (candidates + 49) / 50);
        return $"{{ remove: [1, 2], strategy: [{string.Join(", ", Strategies)}], heal_tokens: [{string.Join(", ", HealTokens.Take(heals))}], " +
               $"seed: [{string.Join(", ", Enumerable.Range(1, seeds))}] }}";
    }

    /// <summary>With no slot, nothing may start: after a few seconds every candidate is still Pending without an attempt.</summary>
    public static async Task NothingDispatched(ISweepGrain sweep)
    {
        await Task.Delay(TimeSpan.FromSeconds(3));
        var status = (await sweep.GetStatus())!;
        if (status.Running > 0 || status.Candidates.Any(c => c.Status != CandidateStatus.Pending || c.Attempts > 0 || c.Running is not null))
            throw new InvalidOperationException("with 0 worker slots a candidate was dispatched");
        Console.WriteLine("slots = 0: nothing dispatched after 3 s (every candidate Pending, no attempt)");
    }

    /// <summary>
    /// Completes N candidates one at a time and prints the rate and each call's round trip. Returns them, and the
    /// sweep's revision before the last <see cref="DeltaCandidates"/> (so that a delta query from it returns those).
    /// </summary>
    public static async Task<(List<SyntheticSupervisor.Completion> Done, long Since)> Complete(
        SyntheticSupervisor supervisor, ISweepGrain sweep, int candidates, Random random)
    {
        var done = new List<SyntheticSupervisor.Completion>(candidates);
        long since = 0;
        var clock = Stopwatch.StartNew();
        while (done.Count < candidates)
        {
            if (done.Count == candidates - DeltaCandidates) since = (await sweep.GetStatus(long.MaxValue))!.Revision;
            done.Add(await supervisor.CompleteNext(sweep, random) ?? throw new InvalidOperationException($"only {done.Count} candidates were queued"));
        }
        double seconds = clock.Elapsed.TotalSeconds;
        var status = (await sweep.GetStatus(long.MaxValue))!;
        if (status.Count(CandidateStatus.Completed) != candidates || status.Running != 0)
            throw new InvalidOperationException($"after {candidates} completions the sweep counts {status.Count(CandidateStatus.Completed)} Completed, {status.Running} running");
        Console.WriteLine(Invariant($"ingest: {candidates} candidates completed through the protocol (TakeNext, then End with a synthetic result), one at a time, ") +
                          Invariant($"in {seconds:0.00} s ({candidates / seconds:0} candidates/s)"));
        Console.WriteLine($"  {"TakeNext (attempt begins: 1 candidate write)",-57}{Latency(done.Select(c => c.TakeMs).ToArray())}");
        Console.WriteLine($"  {"End (Completed: 1 candidate write + the sweep's update)",-57}{Latency(done.Select(c => c.EndMs).ToArray())}");
        return (done, since);
    }

    /// <summary>The same queries from a client process of its own (this program's `query`), through the silo's gateway (loopback TCP).</summary>
    public static async Task MeasureFromClientProcess(IHost silo, string sweep, int calls, long since)
    {
        int gateway = silo.Services.GetRequiredService<IOptions<EndpointOptions>>().Value.GatewayPort;
        var info = new ProcessStartInfo(BenchInputs.DotnetHost) { RedirectStandardOutput = true };
        foreach (var a in new[] { typeof(FrontBench).Assembly.Location, "query", "--gateway", gateway.ToString(), "--sweep", sweep,
                     "--calls", calls.ToString(), "--since", since.ToString(), "--silo-pid", Environment.ProcessId.ToString() })
            info.ArgumentList.Add(a);
        using var client = Process.Start(info)!;
        Console.Write(await client.StandardOutput.ReadToEndAsync());
        await client.WaitForExitAsync();
        if (client.ExitCode != 0) throw new InvalidOperationException($"the client process failed (exit code {client.ExitCode})");
    }

    /// <summary>The client side of the query benchmarks: a cluster client of the silo at 127.0.0.1:--gateway.</summary>
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
                long.Parse(options.Get("since") ?? "0"), new OthersCpu(options.Int("silo-pid", 0)).Start());
        }
        finally
        {
            await host.StopAsync();
        }
        return 0;
    }

    /// <summary>Times each query call by call (after a warm-up), in turns, so that each sees the same conditions.</summary>
    public static async Task Measure(string from, ISweepGrain sweep, int calls, long since, OthersCpu others)
    {
        int changed = (await sweep.GetStatus(since))!.Candidates.Count;
        var queries = new (string Name, Func<Task> Call)[]
        {
            ("GetFront", () => sweep.GetFront()),
            ("GetStatus", () => sweep.GetStatus()),
            ($"GetStatus(revision) ({changed} changed)", () => sweep.GetStatus(since)),
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
        foreach (var q in queries) Console.WriteLine($"  {q.Name,-34} {Latency(times[q.Name])}");
    }
}
