using System.CommandLine;
using System.Text.Json;
using LayerChop.Engine;
using LayerChop.Grains.Sweeps;
using LayerChop.Grains.Workers;
using LayerChop.Interfaces;
using LayerChop.Silo;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LayerChop.Client.Commands;

public static class SweepCommands
{
    public static Command Create()
    {
        var sweep = new Command("sweep", "Run a grid of chop -> heal -> evaluate candidates and keep the Pareto front of size and latency against accuracy");
        sweep.Subcommands.Add(Run());
        sweep.Subcommands.Add(Start());
        sweep.Subcommands.Add(Query("status", "Counts and one line per candidate (JSON: the candidates' states)", async (s, json) =>
        {
            var status = await s.GetStatus() ?? throw new LayerChopException("no such sweep in this cluster");
            if (json) { Console.WriteLine(ResultsJson(status.Candidates, await s.GetFront())); return 0; }
            new ProgressTable(live: false, Console.Out).Draw(status, force: true);
            return 0;
        }));
        sweep.Subcommands.Add(Query("watch", "Follow a sweep until it finishes", async (s, json) =>
        {
            var table = new ProgressTable();
            while (true)
            {
                var status = await s.GetStatus() ?? throw new LayerChopException("no such sweep in this cluster");
                table.Draw(status);
                if (status.IsFinished) return status.Count(CandidateStatus.Failed) > 0 ? 1 : 0;
                await Task.Delay(1000);
            }
        }));
        sweep.Subcommands.Add(Query("front", "The non-dominated candidates (by parameters and by latency against accuracy)", async (s, json) =>
        {
            var front = await s.GetFront();
            if (json) Console.WriteLine(JsonSerializer.Serialize(new
            {
                by_params = front.ByParams.Select(p => new { id = p.CandidateId, p.Params, latency_ms_per_token = p.LatencyMsPerToken, p.Average }),
                by_latency = front.ByLatency.Select(p => new { id = p.CandidateId, p.Params, latency_ms_per_token = p.LatencyMsPerToken, p.Average }),
            }, Indented));
            else PrintFront(front);
            return 0;
        }));
        sweep.Subcommands.Add(Query("results", "Every candidate's configuration, status, attempts, sizes, latency and scores (JSON with --json)", async (s, json) =>
        {
            var results = await s.GetResults();
            var front = await s.GetFront();
            if (json) Console.WriteLine(ResultsJson(results, front));
            else new ProgressTable(live: false, Console.Out).Draw(new SweepStatus { Name = "", Candidates = results }, force: true);
            return 0;
        }));
        sweep.Subcommands.Add(Query("cancel", "Cancel the unfinished candidates (workers checkpoint first)", async (s, json) => { await s.Cancel(); return 0; }));
        sweep.Subcommands.Add(Query("retry", "Start failed and cancelled candidates again", async (s, json) =>
        {
            var retried = await s.Retry();
            Console.WriteLine(retried.Count == 0 ? "nothing to retry" : "retrying " + string.Join(", ", retried));
            return 0;
        }));
        return sweep;
    }

    static Command Start()
    {
        var specPath = new Argument<string>("SPEC") { Description = "Sweep spec (YAML or JSON); its paths must be on storage every silo sees" };
        var cluster = ClusterOptions.Connection();
        var clusterId = ClusterOptions.Id();
        var command = new Command("start", "Submit a sweep to a cluster and return (follow it with 'sweep watch NAME'); submitting it again resumes or extends it")
        {
            specPath, cluster, clusterId,
        };
        command.SetAction(p => Cli.Run(() => WithCluster(p.GetValue(cluster), p.GetValue(clusterId)!, async grains =>
        {
            var spec = SweepSpecReader.Load(p.GetValue(specPath)!);
            var submitted = await grains.GetGrain<ISweepGrain>(spec.Name).Submit(spec);
            if (!submitted.Accepted) throw new LayerChopException(submitted.Error ?? "the sweep was rejected");
            Console.WriteLine($"sweep {spec.Name}: {submitted.Candidates.Count} candidates ({submitted.Added.Count} new)");
            return 0;
        })));
        return command;
    }

    static Command Query(string verb, string description, Func<ISweepGrain, bool, Task<int>> body)
    {
        var name = new Argument<string>("NAME") { Description = "Sweep name (the spec's name)" };
        var cluster = ClusterOptions.Connection();
        var clusterId = ClusterOptions.Id();
        var json = Cli.JsonOption();
        var command = new Command(verb, description) { name, cluster, clusterId, json };
        command.SetAction(p => Cli.Run(() => WithCluster(p.GetValue(cluster), p.GetValue(clusterId)!,
            grains => body(grains.GetGrain<ISweepGrain>(p.GetValue(name)!), p.GetValue(json)))));
        return command;
    }

    internal static int WithCluster(string? connection, string clusterId, Func<IGrainFactory, Task<int>> body)
    {
        using var host = SiloSetup.ClusterClient(ClusterOptions.Require(connection), clusterId);
        try { host.StartAsync().GetAwaiter().GetResult(); }
        catch (Exception e) when (e is not LayerChopException)
        {
            throw new LayerChopException($"cannot reach cluster '{clusterId}': {Cli.OneLine(e.Message)}; is a 'layerchop silo' running with the same --cluster and --cluster-id?");
        }
        try { return body(host.Services.GetRequiredService<IGrainFactory>()).GetAwaiter().GetResult(); }
        finally { host.StopAsync().GetAwaiter().GetResult(); }
    }

    static Command Run()
    {
        var specPath = new Argument<string>("SPEC") { Description = "Sweep spec (YAML or JSON; see examples/)" };
        var slots = new Option<int>("--slots") { Description = "Candidates run at once on this machine (CPU mode)", DefaultValueFactory = _ => 1 };
        var threads = new Option<int>("--threads") { Description = "Torch threads per candidate (0: libtorch's default)", DefaultValueFactory = _ => 0 };
        var gpus = new Option<string>("--gpus") { Description = "GPUs to run candidates on, one at a time each: a number, or auto (nvidia-smi); 0 means --slots CPU slots", DefaultValueFactory = _ => "0" };
        var json = new Option<bool>("--json") { Description = "Print the final results as JSON (one object per candidate) instead of tables" };
        var command = new Command("run", "Run a sweep to completion on this machine (an embedded silo with its state in OUTPUT/state.db; the report in OUTPUT/report); running it again resumes it")
        {
            specPath, slots, threads, gpus, json,
        };
        command.SetAction((p, token) => Task.FromResult(Cli.Run(() => RunEmbedded(p.GetValue(specPath)!, p.GetValue(slots), p.GetValue(threads), p.GetValue(json),
            gpus: SiloCommand.CountGpus(p.GetValue(gpus)!)).GetAwaiter().GetResult())));
        return command;
    }

    /// <param name="gpus">when above 0, one worker slot per GPU (each worker pinned to its GPU) instead of <paramref name="slots"/> CPU slots.</param>
    public static async Task<int> RunEmbedded(string path, int slots, int threads, bool json, string? reportPreamble = null, int gpus = 0)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        if (slots < 1) throw new LayerChopException("--slots must be at least 1");
        var spec = SweepSpecReader.Load(path);
        Directory.CreateDirectory(spec.Output);
        var workers = WorkerOptions.ForHost(gpus, slots, threads);
        using var host = SiloSetup.Embedded(Path.Combine(spec.Output, "state.db"), workers);
        using var interrupt = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; interrupt.Cancel(); };
        await host.StartAsync();
        try
        {
            var sweep = host.Services.GetRequiredService<IGrainFactory>().GetGrain<ISweepGrain>(spec.Name);
            var submitted = await sweep.Submit(spec);
            if (!submitted.Accepted) throw new LayerChopException(submitted.Error ?? "the sweep was rejected");
            Console.Error.WriteLine($"sweep {spec.Name}: {submitted.Candidates.Count} candidates ({submitted.Added.Count} new), output in {spec.Output}");
            var table = new ProgressTable();
            SweepStatus status;
            while (true)
            {
                status = (await sweep.GetStatus())!;
                table.Draw(status);
                if (status.IsFinished) break;
                try { await Task.Delay(1000, interrupt.Token); }
                catch (OperationCanceledException)
                {
                    Console.Error.WriteLine("interrupted: stopping workers at their next step (they checkpoint); run the same command again to resume");
                    return 130;
                }
            }
            var front = await sweep.GetFront();
            var results = await sweep.GetResults();
            var report = Reports.SweepReport.Write(spec, results, front, clock.Elapsed, reportPreamble);
            if (json) Console.WriteLine(ResultsJson(results, front));
            else PrintFront(front);
            Console.Error.WriteLine($"report: {Path.Combine(report, "report.md")} (results.csv, results.json, pareto-params.png/svg, pareto-latency.png/svg)");
            int failed = status.Count(CandidateStatus.Failed);
            if (failed > 0) Console.Error.WriteLine($"{failed} candidate(s) failed; 'layerchop sweep run' again after fixing the cause retries nothing by itself: see report/results.json for reasons");
            return failed > 0 ? 1 : 0;
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    static void PrintFront(SweepFront front)
    {
        Console.WriteLine("Pareto front (parameters vs average accuracy):");
        Console.WriteLine($"  {"candidate",-36} {"params",10} {"ms/token",9} {"average",8}");
        foreach (var p in front.ByParams)
            Console.WriteLine($"  {p.CandidateId,-36} {Cli.Count(p.Params),10} {p.LatencyMsPerToken,9:0.00} {p.Average,8:0.0000}");
    }

    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static string ResultsJson(IReadOnlyList<CandidateState> results, SweepFront front)
    {
        var onFront = front.ByParams.Select(p => p.CandidateId).Concat(front.ByLatency.Select(p => p.CandidateId)).ToHashSet();
        var list = results.Select(c => new Dictionary<string, object?>
        {
            ["id"] = c.Id,
            ["config"] = new Dictionary<string, object?>
            {
                ["remove"] = c.Config.Remove, ["strategy"] = c.Config.Strategy, ["heal_tokens"] = c.Config.HealTokens,
                ["heal_method"] = c.Config.HealMethod, ["seed"] = c.Config.Seed,
            },
            ["status"] = c.Status.ToString().ToLowerInvariant(),
            ["attempts"] = c.Attempts.Count,
            ["history"] = c.Attempts.Select(a => new Dictionary<string, object?>
            {
                ["number"] = a.Number, ["silo"] = a.Silo, ["slot"] = a.Slot, ["outcome"] = a.Outcome.ToString().ToLowerInvariant(),
                ["reason"] = a.Reason, ["started_utc"] = a.StartedUtc, ["ended_utc"] = a.EndedUtc,
            }).ToArray(),
            ["error"] = c.Error,
            ["params"] = c.Result?.Params,
            ["non_embedding_params"] = c.Result?.NonEmbeddingParams,
            ["latency_ms_per_token"] = c.Result?.LatencyMsPerToken,
            ["latency"] = c.Result?.Latency is { } l ? new Dictionary<string, object?>
            {
                ["p10_ms_per_token"] = l.P10MsPerToken, ["p90_ms_per_token"] = l.P90MsPerToken, ["runs"] = l.Runs,
                ["shape"] = l.Shape, ["device"] = l.Device, ["exclusive"] = l.Exclusive,
            } : null,
            ["scores"] = c.Result?.Scores,
            ["score_stderrs"] = c.Result?.ScoreStderrs.ToDictionary(p => p.Key, p => Finite(p.Value)),
            ["score_counts"] = c.Result?.ScoreCounts,
            ["average"] = c.Result is { } r ? Finite(r.Average) : null,
            ["average_stderr"] = c.Result is { } rs ? Finite(rs.AverageStderr) : null,
            ["perplexity"] = c.Result?.Perplexity,
            ["on_front"] = onFront.Contains(c.Id),
        });
        return JsonSerializer.Serialize(list, Indented);
    }

    static double? Finite(double value) => double.IsFinite(value) ? value : null;
}

/// <summary>One line per candidate, redrawn in place on a terminal; a summary line now and then otherwise.</summary>
sealed class ProgressTable(bool? live = null, TextWriter? output = null)
{
    readonly bool live = live ?? !Console.IsErrorRedirected;
    readonly TextWriter output = output ?? Console.Error;
    int drawnLines;
    DateTime lastPlain = DateTime.MinValue;
    string lastSummary = "";

    public void Draw(SweepStatus status, bool force = false)
    {
        var lines = status.Candidates.Select(Line).ToList();
        string summary = $"{status.Count(CandidateStatus.Completed)}/{status.Candidates.Count} completed, {status.Candidates.Count(c => CandidateTransitions.IsRunning(c.Status))} running, {status.Count(CandidateStatus.Failed)} failed";
        lines.Add(summary);
        if (live)
        {
            if (drawnLines > 0) output.Write($"\u001b[{drawnLines}A");
            foreach (var line in lines) output.WriteLine("\u001b[2K" + line);
            drawnLines = lines.Count;
            return;
        }
        if (!force && summary == lastSummary && (DateTime.UtcNow - lastPlain).TotalSeconds < 30 && !status.IsFinished) return;
        lastPlain = DateTime.UtcNow; lastSummary = summary;
        foreach (var line in lines) output.WriteLine(line);
    }

    static string Line(CandidateState c)
    {
        string bar = "";
        if (c.Status == CandidateStatus.Healing && c.Progress is { TotalSteps: > 0 } p)
        {
            int filled = (int)(20.0 * p.Step / p.TotalSteps);
            bar = $"[{new string('#', filled)}{new string('.', 20 - filled)}] {p.Step}/{p.TotalSteps} loss {p.Loss:0.000} {p.TokensPerS:N0} tok/s";
        }
        else if (c.Status == CandidateStatus.Completed && c.Result is { } r)
            bar = $"avg {r.Average:0.0000} ± {r.AverageStderr:0.0000}  ppl {r.Perplexity:0.0}  {Cli.Count(r.Params)} params  {r.LatencyMsPerToken:0.00} ms/token";
        else if (c.Status == CandidateStatus.Failed) bar = c.Error ?? "";
        string attempts = c.Attempts.Count > 1 ? $" (attempt {c.Attempts.Count})" : "";
        return $"{c.Id,-36} {c.Status.ToString().ToLowerInvariant(),-10} {bar}{attempts}";
    }
}
