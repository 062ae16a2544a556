using System.CommandLine;
using LayerChop.Client.Rendering;
using LayerChop.Engine;
using LayerChop.Grains.Sweeps;
using LayerChop.Interfaces;
using LayerChop.Settings;
using LayerChop.Specs;
using LayerChop.Worker;

namespace LayerChop.Client.Commands;

// `sweep show`: one candidate, with its attempts, loss and scores.
public static partial class SweepCommands
{
    static Command Show()
    {
        var name = new Argument<string>("NAME") { Description = "Sweep name" };
        var candidate = new Argument<string>("CANDIDATE") { Description = "Candidate id (as `sweep status` lists them)" };
        var store = new SweepStore();
        var json = Cli.JsonOption();
        var command = new Command("show", "One candidate: configuration, status, attempts (silo, slot, outcome, reason), healing loss by step, scores") { name, candidate, json };
        store.AddTo(command);
        command.SetAction(p => Cli.Run(() => store.With(p, async grains =>
        {
            var (spec, state) = await FindCandidate(grains, store, p.GetValue(name)!, p.GetValue(candidate)!);
            var onFront = SweepJson.OnFront(await grains.GetGrain<ISweepGrain>(p.GetValue(name)!).GetFront()).Contains(state.Id);
            if (p.GetValue(json)) { Cli.WriteJson(SweepJson.Detail(spec, state, onFront)); return 0; }
            PrintCandidate(spec, state);
            return 0;
        })));
        return command;
    }

    /// <summary>The sweep's spec and the candidate's whole state (Pending with no attempts when it never ran).</summary>
    static async Task<(SweepSpec, CandidateState)> FindCandidate(IGrainFactory grains, SweepStore store, string sweep, string id)
    {
        var spec = store.Located(await grains.GetGrain<ISweepGrain>(sweep).GetSpec() ?? throw store.NoSuchSweep(sweep));
        var config = SweepGrid.Find(spec, id)
            ?? throw new LayerChopException($"sweep '{sweep}' has no candidate '{id}' (`layerchop sweep status {sweep}{store.Args}` lists them)");
        var state = await grains.GetGrain<ICandidateGrain>(SweepKeys.Candidate(sweep, id)).GetState()
            ?? new CandidateState { Sweep = sweep, Config = config, Status = CandidateStatus.Pending };
        return (spec, state);
    }

    static void PrintCandidate(SweepSpec spec, CandidateState c)
    {
        Console.WriteLine($"candidate {c.Id} of sweep {c.Sweep}: {Words.Of(c.Status)}{(c.Error is null ? "" : $" ({c.Error})")}");
        Console.WriteLine($"  remove {c.Config.Remove} ({c.Config.Strategy}), heal {CandidateConfig.FormatTokens(c.Config.HealTokens)} tokens ({c.Config.HealMethod}), seed {c.Config.Seed}");
        Console.WriteLine($"  folder {JobBuilder.CandidateFolder(spec, c.Config)}");
        Console.WriteLine($"  attempts ({c.Attempts.Count}; failures count from attempt {c.FailuresCountFrom + 1}, {c.MaxAttempts} allowed):");
        var attempts = new TextTable("attempt", "started (UTC)", "ended", "silo", "slot", "outcome").RightAligned("slot");
        foreach (var a in c.Attempts)
            attempts.AddRow($"#{a.Number}", a.StartedUtc.ToString("yyyy-MM-dd HH:mm:ss"), a.EndedUtc is { } e ? e.ToString("HH:mm:ss") : "running", a.Silo, a.Slot,
                Words.Of(a.Outcome) + (a.Reason is null ? "" : $" ({a.Reason})"));
        if (attempts.RowCount > 0) attempts.Write(indent: 4);
        if (c.Loss.Steps.Count > 0)
        {
            Console.WriteLine($"  healing loss ({c.Loss.Steps.Count} points, every {c.Loss.Stride} step(s)):");
            var loss = new TextTable("step", "loss").RightAligned("step", "loss");
            int every = Math.Max(1, c.Loss.Steps.Count / 10);
            for (int i = 0; i < c.Loss.Steps.Count; i += every) loss.AddRow(c.Loss.Steps[i], c.Loss.Losses[i].ToString("0.0000"));
            if ((c.Loss.Steps.Count - 1) % every != 0) loss.AddRow(c.Loss.Steps[^1], c.Loss.Losses[^1].ToString("0.0000"));
            loss.Write(indent: 4);
        }
        if (c.Result is { } r)
        {
            Console.WriteLine($"  {Cli.Count(r.Params)} parameters, {r.LatencyMsPerToken:0.00} ms/token, average {Numbers.Format(r.Average, "0.0000")} ± {Numbers.Format(r.AverageStderr, "0.0000")}, perplexity {Numbers.Format(r.Perplexity, "0.00")}");
            var scores = new TextTable("task", "score", "n").RightAligned("n");
            foreach (var (task, score) in r.Scores)
                scores.AddRow(task, $"{Numbers.Format(score, "0.0000")} ± {Numbers.Format(r.ScoreStderrs.GetValueOrDefault(task, double.NaN), "0.0000")}", r.ScoreCounts.GetValueOrDefault(task));
            scores.Write(indent: 4);
        }
    }
}
