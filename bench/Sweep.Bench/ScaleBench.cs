using System.Diagnostics;
using LayerChop.Grains.Workers;
using LayerChop.Interfaces;
using LayerChop.Silo;
using LayerChop.Specs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Runtime;
using static LayerChop.SweepBench.Stats;

namespace LayerChop.SweepBench;

/// <summary>
/// Whether a sweep's costs stay flat as it grows to 10,000 candidates. One embedded silo with 0 worker slots; the
/// bench is its supervisor (<see cref="SyntheticSupervisor"/>). First, sweeps of 10 candidates, completed one
/// candidate at a time: the End round trip of a status change in a small sweep. Then one sweep of N: its submit,
/// every candidate completed the same way (End round trips at the start and at the end), the silo process's
/// memory along the way, the coordinator's re-activation from the candidates' stored states, and `sweep status`
/// (GetStatus of everything, and of what changed since a revision) in-process and from a client process.
/// </summary>
static class ScaleBench
{
    const int SmallSweep = 10;

    public static async Task<int> Run(BenchInputs inputs, BenchOptions options)
    {
        int candidates = options.Int("candidates", 10_000);
        int changes = options.Int("changes", 200);
        int calls = options.Int("calls", 200);
        var folder = inputs.Fresh("scale");
        using var host = SiloSetup.Embedded(Path.Combine(folder, "state.db"), new WorkerOptions { Slots = 0, Command = inputs.Command });
        await host.StartAsync();
        try
        {
            var grains = host.Services.GetRequiredService<IGrainFactory>();
            var management = grains.GetGrain<IManagementGrain>(0);
            var supervisor = SyntheticSupervisor.Of(host);
            var random = new Random(20261124);

            // A status change in sweeps of 10: one sweep first to warm up (JIT, first activations), not counted.
            var smallSubmits = new List<double>();
            var smallEnds = new List<double>();
            for (int i = 0; i <= (changes + SmallSweep - 1) / SmallSweep; i++)
            {
                var small = inputs.Spec($"scale-small-{i}", folder, FrontBench.Grid(SmallSweep), "{ seq_len: 32, batch_tokens: 128 }");
                var sweep = grains.GetGrain<ISweepGrain>(small.Name);
                var clock = Stopwatch.StartNew();
                await Submitted(sweep, small, SmallSweep);
                double submit = clock.Elapsed.TotalMilliseconds;
                var ends = new List<double>();
                while (await supervisor.CompleteNext(sweep, random) is { } c) ends.Add(c.EndMs);
                if (ends.Count != SmallSweep) throw new InvalidOperationException($"{small.Name}: {ends.Count} candidates completed, not {SmallSweep}");
                if (i == 0) continue;
                smallSubmits.Add(submit);
                smallEnds.AddRange(ends);
            }
            Console.WriteLine($"sweeps of {SmallSweep}: {smallSubmits.Count} sweeps (after one to warm up), each completed one candidate at a time");
            Console.WriteLine($"  {"submit",-57}{MeanMedianMax(smallSubmits)}");
            Console.WriteLine($"  {"End (Completed: 1 candidate write + the sweep's update)",-57}{Latency(smallEnds)}");

            await CollectIdle(management);
            var before = Memory.Now();
            var spec = inputs.Spec("scale-bench", folder, FrontBench.Grid(candidates), "{ seq_len: 32, batch_tokens: 128 }");
            var big = grains.GetGrain<ISweepGrain>(spec.Name);
            var submitClock = Stopwatch.StartNew();
            await Submitted(big, spec, candidates);
            double submitMs = submitClock.Elapsed.TotalMilliseconds;
            var submitted = Memory.Now();
            Console.WriteLine(Invariant($"sweep of {candidates}: submit {submitMs:0} ms"));
            await FrontBench.NothingDispatched(big);

            var (done, since) = await FrontBench.Complete(supervisor, big, candidates, random);
            int edge = Math.Min(changes, done.Count / 2);
            Console.WriteLine($"  {$"End, the first {edge} (~0 completed before)",-57}{Latency(done.Take(edge).Select(c => c.EndMs).ToArray())}");
            Console.WriteLine($"  {$"End, the last {edge} (~all completed before)",-57}{Latency(done.TakeLast(edge).Select(c => c.EndMs).ToArray())}");
            done.Clear();                                                       // the bench keeps no results of its own
            done.TrimExcess();

            var completed = Memory.Now();
            await big.GetStatus(long.MaxValue);                                 // the coordinator is not idle: it stays
            int activations = await management.GetTotalActivationCount();
            await CollectIdle(management, keep: big);
            var coordinatorOnly = Memory.Now();
            Console.WriteLine($"silo process memory (this process: managed heap after a full blocking GC / working set), sweep of {candidates}:");
            Console.WriteLine($"  {"before the submit (sweeps of " + SmallSweep + " deactivated)",-60} {before}");
            Console.WriteLine($"  {"after the submit (every candidate Pending, none activated)",-60} {submitted}  ({submitted.Minus(before)})");
            Console.WriteLine($"  {"after every completion (" + activations + " grain activations)",-60} {completed}  ({completed.Minus(before)})");
            Console.WriteLine($"  {"candidate grains deactivated, the coordinator kept",-60} {coordinatorOnly}  ({coordinatorOnly.Minus(before)}; " +
                              $"{await management.GetTotalActivationCount()} activations)");

            // The coordinator's cold start: it rebuilds every summary from the candidates' stored states.
            await management.DeactivateGrain(big.GetGrainId());
            var reactivate = Stopwatch.StartNew();
            var status = (await big.GetStatus(long.MaxValue))!;
            Console.WriteLine(Invariant($"coordinator re-activation (reads {candidates} candidate states): {reactivate.Elapsed.TotalMilliseconds:0} ms; ") +
                              $"then {status.Count(CandidateStatus.Completed)} Completed");
            if (status.Count(CandidateStatus.Completed) != candidates) throw new InvalidOperationException("the re-activated coordinator lost candidates");
            // Re-activation numbers the candidates' changes anew: the delta query asks from before the last ones again.
            since = status.Revision - FrontBench.DeltaCandidates;

            await FrontBench.Measure("in-process grain factory", big, calls, since, new OthersCpu().Start());
            await FrontBench.MeasureFromClientProcess(host, spec.Name, calls, since);
        }
        finally
        {
            await host.StopAsync();
        }
        return 0;
    }

    static async Task Submitted(ISweepGrain sweep, SweepSpec spec, int candidates)
    {
        var submitted = await sweep.Submit(spec);
        if (!submitted.Accepted) throw new InvalidOperationException(submitted.Error);
        if (submitted.Candidates.Count != candidates) throw new InvalidOperationException($"{spec.Name}: {submitted.Candidates.Count} candidates, not {candidates}");
    }

    /// <summary>Deactivates every grain idle for a second or more (all but <paramref name="keep"/>, just called).</summary>
    static async Task CollectIdle(IManagementGrain management, ISweepGrain? keep = null)
    {
        await Task.Delay(TimeSpan.FromSeconds(2));
        if (keep is not null) await keep.GetStatus(long.MaxValue);
        await management.ForceActivationCollection(TimeSpan.FromSeconds(1));
    }

    /// <summary>This process's managed heap after a full blocking collection, and its working set, in MiB.</summary>
    sealed record Memory(double HeapMiB, double WorkingSetMiB)
    {
        public static Memory Now()
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            long heap = GC.GetTotalMemory(forceFullCollection: true);
            using var self = Process.GetCurrentProcess();
            return new Memory(heap / 1048576.0, self.WorkingSet64 / 1048576.0);
        }

        public string Minus(Memory earlier) => Invariant($"{HeapMiB - earlier.HeapMiB:+0.0;-0.0} / {WorkingSetMiB - earlier.WorkingSetMiB:+0.0;-0.0} MiB");

        public override string ToString() => Invariant($"{HeapMiB,7:0.0} / {WorkingSetMiB,7:0.0} MiB");
    }
}
