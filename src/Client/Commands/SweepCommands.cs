using System.CommandLine;
using System.Text.Json;
using LayerChop.Client.Rendering;
using LayerChop.Engine;
using LayerChop.Engine.Pipeline;
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
        sweep.Subcommands.Add(List());
        sweep.Subcommands.Add(Query("status", "Counts by status and one line per candidate (JSON: counts and candidate summaries)", async (s, json) =>
        {
            var status = await s.GetStatus() ?? throw NoSuchSweep();
            if (json) { Cli.WriteJson(SweepJson.Status(status)); return 0; }
            new ProgressTable(live: false, Console.Out).Draw(status.Candidates, status, force: true);
            return 0;
        }));
        sweep.Subcommands.Add(Query("watch", "Follow a sweep until it finishes (JSON: one line per change of a candidate)", async (s, json) =>
        {
            var table = new ProgressTable();
            var candidates = new Dictionary<string, CandidateSummary>();
            var order = new List<string>();
            long since = 0;
            string epoch = "";
            while (true)
            {
                var status = await s.GetStatus(since) ?? throw NoSuchSweep();
                if (status.Epoch != epoch && since > 0) { since = 0; epoch = status.Epoch; continue; }   // the coordinator restarted
                epoch = status.Epoch;
                foreach (var c in status.Candidates)
                {
                    if (!candidates.ContainsKey(c.Id)) order.Add(c.Id);
                    candidates[c.Id] = c;
                    if (json) Cli.WriteJsonLine(SweepJson.Candidate(c, onFront: false));
                }
                since = status.Revision;
                if (!json) table.Draw(order.Select(id => candidates[id]).ToList(), status);
                if (status.IsFinished) return status.Count(CandidateStatus.Failed) > 0 ? 1 : 0;
                await Task.Delay(1000);
            }
        }));
        sweep.Subcommands.Add(Query("front", "The non-dominated candidates (by parameters and by latency against accuracy)", async (s, json) =>
        {
            if (await s.GetSpec() is null) throw NoSuchSweep();
            var front = await s.GetFront();
            if (json) Cli.WriteJson(SweepJson.Front(front));
            else FrontTable.Write(front, Console.Out);
            return 0;
        }));
        sweep.Subcommands.Add(Query("results", "Every candidate's configuration, status, attempts, sizes, latency and scores (JSON with --json)", async (s, json) =>
        {
            var status = await s.GetStatus() ?? throw NoSuchSweep();
            var front = await s.GetFront();
            if (json) Console.WriteLine(SweepJson.Results(status.Candidates, front));
            else new ProgressTable(live: false, Console.Out).Draw(status.Candidates, status, force: true);
            return 0;
        }));
        sweep.Subcommands.Add(Query("cancel", "Cancel the unfinished candidates: queued ones at once, running ones by stopping their workers (they checkpoint first)", async (s, json) =>
        {
            if (await s.GetSpec() is null) throw NoSuchSweep();
            var cancelled = await s.Cancel();
            if (json) Cli.WriteJson(new Dictionary<string, object>
            {
                ["stopped"] = cancelled.Stopped, ["queued"] = cancelled.Queued, ["already_finished"] = cancelled.AlreadyFinished,
            });
            else Console.WriteLine($"cancelled {cancelled.Stopped.Count + cancelled.Queued.Count} candidate(s): {cancelled.Stopped.Count} running (their workers stop), {cancelled.Queued.Count} queued; {cancelled.AlreadyFinished} had finished before");
            return 0;
        }));
        sweep.Subcommands.Add(Query("retry", "Start failed and cancelled candidates again, with max_attempts fresh attempts each", async (s, json) =>
        {
            if (await s.GetSpec() is null) throw NoSuchSweep();
            var retried = await s.Retry();
            if (json) Cli.WriteJson(new Dictionary<string, object> { ["retried"] = retried });
            else Console.WriteLine(retried.Count == 0 ? "nothing to retry" : "retrying " + string.Join(", ", retried));
            return 0;
        }));
        sweep.Subcommands.Add(Report());
        sweep.Subcommands.Add(Show());
        sweep.Subcommands.Add(Export());
        return sweep;
    }

    static LayerChopException NoSuchSweep() => new("no such sweep in this cluster (`layerchop sweep list` shows the ones there are)");

    static Command Start()
    {
        var specPath = new Argument<string>("SPEC") { Description = "Sweep spec (YAML or JSON); its paths must be on storage every silo sees" };
        var cluster = ClusterOptions.Connection();
        var clusterId = ClusterOptions.Id();
        var json = Cli.JsonOption();
        var connectTimeout = ClusterOptions.ConnectTimeout();
        var command = new Command("start", "Submit a sweep to a cluster and return (follow it with 'sweep watch NAME'); submitting it again resumes or extends it")
        {
            specPath, cluster, clusterId, json, connectTimeout,
        };
        command.SetAction(p => Cli.Run(() => WithCluster(p.GetValue(cluster), p.GetValue(clusterId)!, p.GetValue(connectTimeout), async grains =>
        {
            var spec = SweepSpecReader.Load(p.GetValue(specPath)!);
            var submitted = await grains.GetGrain<ISweepGrain>(spec.Name).Submit(spec);
            if (!submitted.Accepted) throw new LayerChopException(submitted.Error ?? "the sweep was rejected");
            if (p.GetValue(json)) Cli.WriteJson(new Dictionary<string, object> { ["sweep"] = spec.Name, ["candidates"] = submitted.Candidates, ["added"] = submitted.Added });
            else Console.WriteLine($"sweep {spec.Name}: {submitted.Candidates.Count} candidates ({submitted.Added.Count} new)");
            return 0;
        })));
        return command;
    }

    static Command Query(string verb, string description, Func<ISweepGrain, bool, Task<int>> body)
    {
        var name = new Argument<string>("NAME") { Description = "Sweep name (the spec's name)" };
        var store = new SweepStore();
        var json = Cli.JsonOption();
        var command = new Command(verb, description) { name, json };
        store.AddTo(command);
        command.SetAction(p => Cli.Run(() => store.With(p, grains => body(grains.GetGrain<ISweepGrain>(p.GetValue(name)!), p.GetValue(json)))));
        return command;
    }

    static Command List()
    {
        var store = new SweepStore();
        var json = Cli.JsonOption();
        var command = new Command("list", "The sweeps in a cluster (or in an embedded sweep's state file), with their candidates' counts by status") { json };
        store.AddTo(command);
        command.SetAction(p => Cli.Run(() => store.With(p, async grains =>
        {
            var rows = new List<SweepStatus>();
            foreach (var name in await grains.GetGrain<ISweepIndexGrain>(0).GetAll())
                if (await grains.GetGrain<ISweepGrain>(name).GetStatus(long.MaxValue) is { } status) rows.Add(status);
            if (p.GetValue(json)) { Cli.WriteJson(rows.Select(SweepJson.Status).ToArray()); return 0; }
            if (rows.Count == 0) { Console.WriteLine("no sweeps"); return 0; }
            var table = new TextTable("sweep", "submitted (UTC)", "total", "done", "running", "queued", "failed", "cancelled")
                .RightAligned("total", "done", "running", "queued", "failed", "cancelled");
            foreach (var r in rows)
                table.AddRow(r.Name, r.SubmittedUtc.ToString("yyyy-MM-dd HH:mm"), r.Total, r.Count(CandidateStatus.Completed), r.Running,
                    r.Count(CandidateStatus.Pending) - Math.Min(r.Running, r.Count(CandidateStatus.Pending)), r.Count(CandidateStatus.Failed), r.Count(CandidateStatus.Cancelled));
            table.Write();
            return 0;
        })));
        return command;
    }

    static Command Report()
    {
        var name = new Argument<string>("NAME") { Description = "Sweep name" };
        var output = new Option<string?>("--out") { Description = "Folder for the report (default: the sweep's output/report, as `sweep run` writes it)" };
        var store = new SweepStore();
        var json = Cli.JsonOption();
        var command = new Command("report", "Write a sweep's report folder (report.md, results.csv/json, Pareto plots) from its current results, as `sweep run` does") { name, output, json };
        store.AddTo(command);
        command.SetAction(p => Cli.Run(() => store.With(p, async grains =>
        {
            var sweep = grains.GetGrain<ISweepGrain>(p.GetValue(name)!);
            var spec = await sweep.GetSpec() ?? throw NoSuchSweep();
            var folder = Reports.SweepReport.Write(spec, await sweep.GetResults(), await sweep.GetFront(), wallTime: null, outDir: p.GetValue(output));
            if (p.GetValue(json)) Cli.WriteJson(new Dictionary<string, object> { ["sweep"] = spec.Name, ["report"] = folder });
            else Console.WriteLine($"report: {Path.Combine(folder, "report.md")} (results.csv, results.json, pareto-params.png/svg, pareto-latency.png/svg)");
            return 0;
        })));
        return command;
    }

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
            var (spec, state) = await FindCandidate(grains, p.GetValue(name)!, p.GetValue(candidate)!);
            if (p.GetValue(json)) { Cli.WriteJson(SweepJson.Detail(spec, state)); return 0; }
            PrintCandidate(spec, state);
            return 0;
        })));
        return command;
    }

    /// <summary>The sweep's spec and the candidate's whole state (Pending with no attempts when it never ran).</summary>
    static async Task<(SweepSpec, CandidateState)> FindCandidate(IGrainFactory grains, string sweep, string id)
    {
        var spec = await grains.GetGrain<ISweepGrain>(sweep).GetSpec() ?? throw NoSuchSweep();
        var config = SweepGrid.Expand(spec).FirstOrDefault(c => c.Id == id)
            ?? throw new LayerChopException($"sweep '{sweep}' has no candidate '{id}' (`layerchop sweep status {sweep}` lists them)");
        var state = await grains.GetGrain<ICandidateGrain>(SweepKeys.Candidate(sweep, id)).GetState()
            ?? new CandidateState { Sweep = sweep, Config = config, Status = CandidateStatus.Pending };
        return (spec, state);
    }

    static void PrintCandidate(SweepSpec spec, CandidateState c)
    {
        Console.WriteLine($"candidate {c.Id} of sweep {c.Sweep}: {c.Status.ToString().ToLowerInvariant()}{(c.Error is null ? "" : $" ({c.Error})")}");
        Console.WriteLine($"  remove {c.Config.Remove} ({c.Config.Strategy}), heal {CandidateConfig.FormatTokens(c.Config.HealTokens)} tokens ({c.Config.HealMethod}), seed {c.Config.Seed}");
        Console.WriteLine($"  folder {JobBuilder.CandidateFolder(spec, c.Config)}");
        Console.WriteLine($"  attempts ({c.Attempts.Count}; failures count from attempt {c.FailuresCountFrom + 1}, {c.MaxAttempts} allowed):");
        var attempts = new TextTable("attempt", "started (UTC)", "ended", "silo", "slot", "outcome").RightAligned("slot");
        foreach (var a in c.Attempts)
            attempts.AddRow($"#{a.Number}", a.StartedUtc.ToString("yyyy-MM-dd HH:mm:ss"), a.EndedUtc is { } e ? e.ToString("HH:mm:ss") : "running", a.Silo, a.Slot,
                a.Outcome.ToString().ToLowerInvariant() + (a.Reason is null ? "" : $" ({a.Reason})"));
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
            Console.WriteLine($"  {Cli.Count(r.Params)} parameters, {r.LatencyMsPerToken:0.00} ms/token, average {Number(r.Average, "0.0000")} ± {Number(r.AverageStderr, "0.0000")}, perplexity {Number(r.Perplexity, "0.00")}");
            var scores = new TextTable("task", "score", "n").RightAligned("n");
            foreach (var (task, score) in r.Scores)
                scores.AddRow(task, $"{Number(score, "0.0000")} ± {Number(r.ScoreStderrs.GetValueOrDefault(task, double.NaN), "0.0000")}", r.ScoreCounts.GetValueOrDefault(task));
            scores.Write(indent: 4);
        }
    }

    /// <summary>A number as text; a non-finite one as what it is (nan, inf), never hidden.</summary>
    internal static string Number(double? value, string format) => value switch
    {
        null => "-",
        double v when double.IsNaN(v) => "nan",
        double v when double.IsInfinity(v) => v > 0 ? "inf" : "-inf",
        double v => v.ToString(format, System.Globalization.CultureInfo.InvariantCulture),
    };

    static Command Export()
    {
        var name = new Argument<string>("NAME") { Description = "Sweep name" };
        var candidate = new Argument<string>("CANDIDATE") { Description = "Candidate id" };
        var output = new Option<string>("--out") { Description = "New folder for the exported model", Required = true };
        var store = new SweepStore();
        var json = Cli.JsonOption();
        var command = new Command("export", "Write a completed candidate's final model as a Hugging Face folder, with lineage.json (base model, removed layers, healing, scores)") { name, candidate, output, json };
        store.AddTo(command);
        command.SetAction(p => Cli.Run(() => store.With(p, async grains =>
        {
            var (spec, state) = await FindCandidate(grains, p.GetValue(name)!, p.GetValue(candidate)!);
            if (state.Status != CandidateStatus.Completed)
                throw new LayerChopException($"candidate {state.Id} is {state.Status.ToString().ToLowerInvariant()}, not completed: only a completed candidate has a final model to export");
            var outDir = Path.GetFullPath(p.GetValue(output)!);
            var workDir = JobBuilder.CandidateFolder(spec, state.Config);
            var c = state.Config;
            CandidateArtifacts.Export(workDir, spec.BaseModel, outDir, new Lineage(spec.Name, c.Id, c.Strategy, c.HealTokens, c.HealMethod, c.Seed, spec.Data, spec.TextField, spec.Train));
            var exported = CandidateArtifacts.FinalModel(workDir, spec.BaseModel);
            if (p.GetValue(json)) Cli.WriteJson(new Dictionary<string, object?> { ["candidate"] = state.Id, ["out"] = outDir, ["model_from"] = exported });
            else Console.WriteLine($"exported {state.Id} to {outDir} (model from {exported}; lineage in lineage.json)");
            return 0;
        })));
        return command;
    }

    /// <summary>
    /// Runs <paramref name="body"/> against a cluster. A cluster that cannot be reached is one line saying why
    /// (no server, no schema, no silo answering within <paramref name="connectTimeout"/> seconds), never a wait of
    /// minutes or a stack trace (that one under LAYERCHOP_DEBUG=1).
    /// </summary>
    internal static int WithCluster(string? connection, string clusterId, int connectTimeout, Func<IGrainFactory, Task<int>> body)
    {
        if (connectTimeout < 1) throw new LayerChopException($"--connect-timeout {connectTimeout}: give 1 second or more");
        var database = Silo.Storage.DatabaseTarget.Parse(ClusterOptions.Require(connection));
        bool debug = Environment.GetEnvironmentVariable("LAYERCHOP_DEBUG") == "1";
        using var host = SiloSetup.ClusterClient(database.ConnectionString, clusterId,
            debug ? Microsoft.Extensions.Logging.LogLevel.Warning : Microsoft.Extensions.Logging.LogLevel.None);
        var timeout = TimeSpan.FromSeconds(connectTimeout);
        Silo.Storage.ClusterDatabase.RequireSchema(database, timeout);
        try
        {
            using var giveUp = new CancellationTokenSource(timeout);
            host.StartAsync(giveUp.Token).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is not LayerChopException)
        {
            if (debug) Console.Error.WriteLine(e);
            if (e is System.Data.Common.DbException || e.InnerException is System.Data.Common.DbException)
                throw new LayerChopException($"cannot read the silos of cluster '{clusterId}' in {database.Display}: {Cli.OneLine((e.InnerException ?? e).Message)}");
            long listed = Silo.Storage.ClusterDatabase.ActiveSilos(database, clusterId, timeout);
            throw new LayerChopException($"no silo of cluster '{clusterId}' answered within {connectTimeout} s " +
                (listed == 0 ? $"({database.Display} lists none)" : $"({database.Display} lists {listed} as active: are they running, and can this host reach their gateway ports?)") +
                "; check that a `layerchop silo` runs with the same --cluster and --cluster-id (--connect-timeout SECONDS waits longer)");
        }
        try { return body(host.Services.GetRequiredService<IGrainFactory>()).GetAwaiter().GetResult(); }
        finally { host.StopAsync().GetAwaiter().GetResult(); }
    }

    static Command Run()
    {
        var specPath = new Argument<string>("SPEC") { Description = "Sweep spec (YAML or JSON; see examples/)" };
        var slots = new Option<int>("--slots") { Description = "Candidates run at once on this machine (CPU mode)", DefaultValueFactory = _ => 1 };
        var threads = new Option<int>("--threads") { Description = "Torch threads per candidate (0: libtorch's default)", DefaultValueFactory = _ => 0 };
        var gpus = new Option<string>("--gpus") { Description = "GPUs to run candidates on, one at a time each: auto (nvidia-smi), a number, or device indices like 0,2; 0 means --slots CPU slots", DefaultValueFactory = _ => "0" };
        var json = new Option<bool>("--json") { Description = "Print the final results as JSON (one object per candidate) instead of tables" };
        var retry = new Option<bool>("--retry") { Description = "Start failed and cancelled candidates of an earlier run again, with max_attempts fresh attempts each" };
        var web = Web.PortOption();
        var webBind = Web.BindOption();
        var command = new Command("run", "Run a sweep to completion on this machine (an embedded silo with its state in OUTPUT/state.db; the report in OUTPUT/report); running it again resumes it, and a spec with a higher max_attempts gives failed candidates more attempts")
        {
            specPath, slots, threads, gpus, json, retry, web, webBind,
        };
        command.SetAction((p, token) => Task.FromResult(Cli.Run(() => RunEmbedded(p.GetValue(specPath)!, p.GetValue(slots), p.GetValue(threads), p.GetValue(json),
            devices: GpuDevices.Select(p.GetValue(gpus)!, $"--gpus {p.GetValue(gpus)}"), retry: p.GetValue(retry), web: Web.Options(p.GetValue(web), p.GetValue(webBind))).GetAwaiter().GetResult())));
        return command;
    }

    /// <param name="devices">when given, one worker slot per GPU device (each worker pinned to it) instead of <paramref name="slots"/> CPU slots.</param>
    /// <param name="retry">failed and cancelled candidates start again.</param>
    /// <param name="web">serve the sweep API and the dashboard while it runs.</param>
    public static async Task<int> RunEmbedded(string path, int slots, int threads, bool json, string? reportPreamble = null, IReadOnlyList<int>? devices = null, bool retry = false,
        Silo.Web.WebOptions? web = null)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        if (slots < 1) throw new LayerChopException("--slots must be at least 1");
        var spec = SweepSpecReader.Load(path);
        Directory.CreateDirectory(spec.Output);
        var workers = WorkerOptions.ForHost(devices ?? [], slots, threads);
        using var host = SiloSetup.Embedded(Path.Combine(spec.Output, "state.db"), workers, web: web);
        using var interrupt = new CancellationTokenSource();
        // Interrupted (Ctrl-C, or SIGTERM, which stops the host): one line says so, and the silo's shutdown after
        // it, with its workers stopping, says nothing.
        var logs = host.Services.GetRequiredService<ConsoleLogs>();
        void Interrupt() { logs.Mute(); interrupt.Cancel(); }
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; Interrupt(); };
        using var stopping = host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(Interrupt);
        await host.StartAsync();
        try
        {
            var sweep = host.Services.GetRequiredService<IGrainFactory>().GetGrain<ISweepGrain>(spec.Name);
            var submitted = await sweep.Submit(spec);
            if (!submitted.Accepted) throw new LayerChopException(submitted.Error ?? "the sweep was rejected");
            Console.Error.WriteLine($"sweep {spec.Name}: {submitted.Candidates.Count} candidates ({submitted.Added.Count} new), output in {spec.Output}");
            if (web is not null) Console.Error.WriteLine(Web.Describe(web, spec.Name));
            if (retry)
            {
                var retried = await sweep.Retry();
                Console.Error.WriteLine(retried.Count == 0 ? "nothing to retry" : $"retrying {retried.Count} candidate(s): {string.Join(", ", retried)}");
            }
            var table = new ProgressTable();
            var candidates = new Dictionary<string, CandidateSummary>();
            var order = new List<string>();
            long since = 0;
            string epoch = "";
            SweepStatus status;
            while (true)
            {
                status = (await sweep.GetStatus(since))!;
                if (status.Epoch != epoch && since > 0) { since = 0; epoch = status.Epoch; continue; }   // the coordinator restarted
                epoch = status.Epoch;
                foreach (var c in status.Candidates)
                {
                    if (!candidates.ContainsKey(c.Id)) order.Add(c.Id);
                    candidates[c.Id] = c;
                }
                since = status.Revision;
                table.Draw(order.Select(id => candidates[id]).ToList(), status);
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
            if (json) Console.WriteLine(SweepJson.Results(results, front));
            else FrontTable.Write(front, Console.Out);
            Console.Error.WriteLine($"report: {Path.Combine(report, "report.md")} (results.csv, results.json, pareto-params.png/svg, pareto-latency.png/svg)");
            int failed = status.Count(CandidateStatus.Failed);
            if (failed > 0) Console.Error.WriteLine($"{failed} candidate(s) failed (reasons in report/results.json); after fixing the cause, 'layerchop sweep run --retry' starts them again");
            if (status.Cancelled || status.Count(CandidateStatus.Cancelled) > 0)
                Console.Error.WriteLine($"{status.Count(CandidateStatus.Cancelled)} candidate(s) cancelled; 'layerchop sweep run --retry' starts them again");
            return failed > 0 ? 1 : 0;
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

}

/// <summary>
/// Where sweep queries go: a cluster (PostgreSQL, through a client) or an embedded sweep's state file (opened
/// by a silo of this process that runs no workers; only while no `sweep run` uses that file).
/// </summary>
sealed class SweepStore
{
    readonly Option<string?> cluster = ClusterOptions.Connection();
    readonly Option<string> clusterId = ClusterOptions.Id();
    readonly Option<int> connectTimeout = ClusterOptions.ConnectTimeout();
    readonly Option<string?> stateFile = new("--state") { Description = "An embedded sweep's state file (OUTPUT/state.db of `sweep run`) instead of a cluster" };

    public void AddTo(Command command)
    {
        command.Options.Add(cluster);
        command.Options.Add(clusterId);
        command.Options.Add(connectTimeout);
        command.Options.Add(stateFile);
    }

    public int With(ParseResult p, Func<IGrainFactory, Task<int>> body)
    {
        if (p.GetValue(stateFile) is not { } file) return SweepCommands.WithCluster(p.GetValue(cluster), p.GetValue(clusterId)!, p.GetValue(connectTimeout), body);
        if (!File.Exists(file)) throw new LayerChopException($"--state {file}: no such file (it is OUTPUT/state.db of a `sweep run`)");
        using var host = SiloSetup.Embedded(file, WorkerOptions.ForHost(devices: [], cpuSlots: 0, cpuThreads: 0));
        host.StartAsync().GetAwaiter().GetResult();
        try { return body(host.Services.GetRequiredService<IGrainFactory>()).GetAwaiter().GetResult(); }
        finally { host.StopAsync().GetAwaiter().GetResult(); }
    }
}

/// <summary>The `--web` options of `sweep run` and `silo`, and the line that says where to look.</summary>
static class Web
{
    public static Option<int?> PortOption() => new("--web") { Description = "Serve the live sweep pages (/sweeps/NAME), the sweep API (/api/sweeps) and the Orleans dashboard (/dashboard) on this port, on loopback unless --web-bind says otherwise" };

    public static Option<string> BindOption() => new("--web-bind") { Description = "Address the --web port listens on (default 127.0.0.1: this host only)", DefaultValueFactory = _ => "127.0.0.1" };

    public static Silo.Web.WebOptions? Options(int? port, string? bind)
    {
        if (port is null) return null;
        bind ??= "127.0.0.1";
        return Silo.Web.WebOptions.Checked(port.Value, bind, $"--web {port}", $"--web-bind {bind}");
    }

    public static string Describe(Silo.Web.WebOptions web, string? sweep) =>
        $"web: {web.Url}/sweeps/{sweep ?? "NAME"} ({(sweep is null ? "the live page of sweep NAME" : "the live sweep page")}), {web.Url}/api/sweeps{(sweep is null ? "" : "/" + sweep)} (the sweep API), {web.Url}/dashboard/ (the Orleans dashboard)";
}
