using System.CommandLine;
using LayerChop.Client.Rendering;
using LayerChop.Grains.Sweeps;
using LayerChop.Interfaces;

namespace LayerChop.Client.Commands;

// The `sweep` verbs, each group in a file of its own in this folder; this one puts them together, with the read-only queries (status, watch, front, results) and the two verbs that change a sweep (cancel, retry).
public static partial class SweepCommands
{
    public static Command Create()
    {
        var sweep = new Command("sweep", "Run a grid of chop -> heal -> evaluate candidates and keep the Pareto front of size and latency against accuracy");
        sweep.Subcommands.Add(Run());
        sweep.Subcommands.Add(Start());
        sweep.Subcommands.Add(List());
        sweep.Subcommands.Add(Query("status", "Counts by status and one line per candidate (JSON: counts and candidate summaries)", async (s, store, json) =>
        {
            var status = await s.GetStatus() ?? throw store.NoSuchSweep(s);
            if (json) { Cli.WriteJson(SweepJson.Status(status, await s.GetFront())); return 0; }
            new ProgressTable(live: false, Console.Out).Draw(status.Candidates, status, force: true);
            return 0;
        }));
        sweep.Subcommands.Add(Query("watch", "Follow a sweep until it finishes (JSON: one line per change of a candidate, its place on the front included)", async (s, store, json) =>
        {
            var table = new ProgressTable();
            var follow = new SweepFollower(s);
            while (true)
            {
                var (status, changed) = await follow.Next() ?? throw store.NoSuchSweep(s);
                if (json) foreach (var c in changed) Cli.WriteJsonLine(SweepJson.Candidate(c, follow.OnFront.Contains(c.Id)));
                else table.Draw(follow.Candidates, status);
                if (status.IsFinished) return status.Count(CandidateStatus.Failed) > 0 ? 1 : 0;
                await Task.Delay(1000);
            }
        }));
        sweep.Subcommands.Add(Query("front", "The non-dominated candidates (by parameters and by latency against accuracy)", async (s, store, json) =>
        {
            if (await s.GetSpec() is null) throw store.NoSuchSweep(s);
            var front = await s.GetFront();
            if (json) Cli.WriteJson(SweepJson.Front(front));
            else FrontTable.Write(front, Console.Out);
            return 0;
        }));
        sweep.Subcommands.Add(Query("results", "Every candidate's configuration, status, attempts, sizes, latency and scores (JSON with --json)", async (s, store, json) =>
        {
            var status = await s.GetStatus() ?? throw store.NoSuchSweep(s);
            var front = await s.GetFront();
            if (json) Console.WriteLine(SweepJson.Results(status.Candidates, front));
            else new ProgressTable(live: false, Console.Out).Draw(status.Candidates, status, force: true);
            return 0;
        }));
        sweep.Subcommands.Add(Query("cancel", "Cancel the unfinished candidates: queued ones at once, running ones by stopping their workers (they checkpoint first); a finished sweep stays as it is", async (s, store, json) =>
        {
            if (await s.GetSpec() is null) throw store.NoSuchSweep(s);
            var cancelled = await s.Cancel();
            if (json) Cli.WriteJson(SweepJson.Cancelled(cancelled));
            else if (cancelled.Stopped.Count + cancelled.Queued.Count == 0)
                Console.WriteLine($"nothing to cancel: all {cancelled.AlreadyFinished} candidate(s) of sweep {s.GetPrimaryKeyString()} had finished; the sweep stays as it was");
            else Console.WriteLine($"cancelled {cancelled.Stopped.Count + cancelled.Queued.Count} candidate(s): {cancelled.Stopped.Count} running (their workers stop), {cancelled.Queued.Count} queued; {cancelled.AlreadyFinished} had finished before");
            return 0;
        }, writes: true));
        sweep.Subcommands.Add(Query("retry", "Start failed and cancelled candidates again, with max_attempts fresh attempts each", async (s, store, json) =>
        {
            if (await s.GetSpec() is null) throw store.NoSuchSweep(s);
            var retried = await s.Retry();
            if (json) Cli.WriteJson(SweepJson.Retried(retried));
            else Console.WriteLine(retried.Count == 0 ? "nothing to retry" : "retrying " + string.Join(", ", retried));
            return 0;
        }, writes: true));
        sweep.Subcommands.Add(Report());
        sweep.Subcommands.Add(Show());
        sweep.Subcommands.Add(Export());
        return sweep;
    }

    /// <param name="writes">the verb changes the sweep (cancel, retry); every other verb only reads it, and an
    /// embedded state file is then read through a snapshot that nothing writes to the user's file.</param>
    static Command Query(string verb, string description, Func<ISweepGrain, SweepStore, bool, Task<int>> body, bool writes = false)
    {
        var name = new Argument<string>("NAME") { Description = "Sweep name (the spec's name)" };
        var store = new SweepStore();
        var json = Cli.JsonOption();
        var command = new Command(verb, description) { name, json };
        store.AddTo(command);
        command.SetAction(p => Cli.Run(() => store.With(p, grains => body(grains.GetGrain<ISweepGrain>(p.GetValue(name)!), store, p.GetValue(json)), writes)));
        return command;
    }
}
