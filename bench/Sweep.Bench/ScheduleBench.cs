using System.Diagnostics;
using LayerChop.Grains.Workers;
using LayerChop.Interfaces;
using LayerChop.Silo;
using Microsoft.Extensions.DependencyInjection;
using static LayerChop.SweepBench.Stats;

namespace LayerChop.SweepBench;

/// <summary>
/// The scheduler's overhead per candidate on an embedded silo with S CPU slots: a sweep of quick candidates (chop,
/// no healing, 8 questions) is submitted and its coordinator polled every 10 ms in-process. For each candidate:
/// from the moment it could start (the submit, or the end of the previous attempt in the slot it got) to its
/// attempt's StartedUtc (the scheduler's own work), and on to its move to Chopping (which adds the worker process's
/// start: .NET, libtorch, reading the job).
/// </summary>
static class ScheduleBench
{
    public static async Task<int> Run(BenchInputs inputs, BenchOptions options)
    {
        int runs = options.Int("runs", 3);
        foreach (int slots in options.Ints("slots", 1, 2))
        {
            var all = new Timings();
            for (int run = 1; run <= runs; run++)
            {
                Console.WriteLine($"run {run} of {runs}:");
                await RunOnce(inputs, slots, run, all);
            }
            Console.WriteLine($"{slots} slot(s), {runs} run(s) of a fresh embedded silo:");
            all.Print();
        }
        return 0;
    }

    /// <summary>Per-candidate timings in milliseconds.</summary>
    sealed class Timings
    {
        public List<double> FromSubmit { get; } = [];
        public List<double> FromHandoff { get; } = [];
        public List<double> WorkerStart { get; } = [];
        public List<double> ReadyToRunning { get; } = [];
        public List<double> SweepSeconds { get; } = [];

        public void Add(Timings run)
        {
            FromSubmit.AddRange(run.FromSubmit); FromHandoff.AddRange(run.FromHandoff); WorkerStart.AddRange(run.WorkerStart);
            ReadyToRunning.AddRange(run.ReadyToRunning); SweepSeconds.AddRange(run.SweepSeconds);
        }

        public void Print()
        {
            Console.WriteLine($"  submit -> attempt start (first wave):        {MeanMedianMax(FromSubmit)}");
            Console.WriteLine($"  slot freed -> attempt start (handoff):       {MeanMedianMax(FromHandoff)}");
            Console.WriteLine($"  attempt start -> Chopping (worker start-up): {MeanMedianMax(WorkerStart)}");
            Console.WriteLine($"  ready -> Chopping:                           {MeanMedianMax(ReadyToRunning)}");
            Console.WriteLine($"  whole sweep:                                 {MeanMedianMax(SweepSeconds, "s")}");
        }
    }

    static async Task RunOnce(BenchInputs inputs, int slots, int run, Timings all)
    {
        // A folder (and state file) of its own per run: SQLite's connection pool would hand a new silo in this
        // process the previous run's database even after the file was deleted.
        var folder = inputs.Fresh($"schedule-{slots}-{run}");
        var spec = inputs.Spec($"schedule-{slots}", folder, "{ remove: [1, 2], strategy: [input, output, max-gap], heal_tokens: [0] }",
            "{ seq_len: 32, batch_tokens: 128 }");
        using var host = SiloSetup.Embedded(Path.Combine(folder, "state.db"),
            new WorkerOptions { Slots = slots, Command = inputs.Command, CpuThreads = 1 });
        await host.StartAsync();
        try
        {
            var grains = host.Services.GetRequiredService<IGrainFactory>();
            var sweep = grains.GetGrain<ISweepGrain>(spec.Name);
            var submittedUtc = DateTime.UtcNow;
            var wall = Stopwatch.StartNew();
            var submitted = await sweep.Submit(spec);
            if (!submitted.Accepted) throw new InvalidOperationException(submitted.Error);

            // When each candidate was first seen past Pending: exact (the move's UpdatedUtc) when caught in Chopping,
            // else the moment of the poll (an upper bound). Each poll asks only for what changed since the last one.
            var running = new Dictionary<string, (DateTime At, bool Exact)>();
            SweepStatus status;
            long since = 0;
            do
            {
                status = (await sweep.GetStatus(since))!;
                since = status.Revision;
                var now = DateTime.UtcNow;
                foreach (var c in status.Candidates)
                    if (!running.ContainsKey(c.Id) && c.Status != CandidateStatus.Pending && c.Attempts > 0)
                        running[c.Id] = c.Status == CandidateStatus.Chopping ? (c.UpdatedUtc, true) : (now, false);
                if (wall.Elapsed > TimeSpan.FromMinutes(4)) throw new TimeoutException("the sweep did not finish in 4 minutes");
                await Task.Delay(10);
            }
            while (!status.IsFinished);
            double sweepSeconds = wall.Elapsed.TotalSeconds;

            var results = await sweep.GetResults();
            if (results.Any(c => c.Status != CandidateStatus.Completed || c.Attempts != 1))
                throw new InvalidOperationException("every candidate should complete in one attempt: " +
                    string.Join("; ", results.Select(c => $"{c.Id} {c.Status} {c.Error}")));
            // Attempt times are the candidate grains' own (the sweep keeps no attempt history).
            var attempts = new List<(string Id, AttemptRecord Attempt)>();
            foreach (var c in results)
            {
                var state = await grains.GetGrain<ICandidateGrain>(SweepKeys.Candidate(spec.Name, c.Id)).GetState()
                    ?? throw new InvalidOperationException($"{c.Id} is Completed but has no stored state");
                attempts.Add((c.Id, state.Attempts.Single()));
            }
            attempts = attempts.OrderBy(a => a.Attempt.StartedUtc).ToList();

            Console.WriteLine($"schedule: {results.Count} candidates (chop + 8 continuation questions + latency, no healing), {slots} CPU slot(s) of 1 thread, embedded silo");
            Console.WriteLine($"  {"candidate",-24} {"slot",4} {"ready at",-12} {"ready->start",12} {"start->chopping",15} {"ready->chopping",15} {"worker run",10}");
            var timings = new Timings();
            timings.SweepSeconds.Add(sweepSeconds);
            foreach (var (id, attempt) in attempts)
            {
                // Ready: the submit, or, when an earlier attempt used the same slot, the end of that attempt.
                var previous = attempts.Where(a => a.Attempt.Slot == attempt.Slot && a.Attempt.StartedUtc < attempt.StartedUtc)
                    .Select(a => a.Attempt.EndedUtc).LastOrDefault();
                var ready = previous ?? submittedUtc;
                double scheduling = (attempt.StartedUtc - ready).TotalMilliseconds;
                (previous is null ? timings.FromSubmit : timings.FromHandoff).Add(scheduling);
                var (seen, exact) = running[id];
                double startup = (seen - attempt.StartedUtc).TotalMilliseconds;
                timings.WorkerStart.Add(startup);
                timings.ReadyToRunning.Add((seen - ready).TotalMilliseconds);
                Console.WriteLine(Invariant($"  {id,-24} {attempt.Slot,4} {(previous is null ? "submit" : "slot freed"),-12} {scheduling,9:0.0} ms {startup,12:0.0} ms{(exact ? " " : "*")} {(seen - ready).TotalMilliseconds,12:0.0} ms  {(attempt.EndedUtc!.Value - attempt.StartedUtc).TotalSeconds,7:0.00} s"));
            }
            Console.WriteLine("  (* = caught after Chopping: the poll's time, an upper bound)");
            timings.Print();
            all.Add(timings);
        }
        finally
        {
            await host.StopAsync();
        }
    }
}
