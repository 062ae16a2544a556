using System.CommandLine;
using System.Text.Json;
using LayerChop.Client.Rendering;
using LayerChop.Engine;
using LayerChop.Engine.Pipeline;
using LayerChop.Grains.Sweeps;
using LayerChop.Grains.Workers;
using LayerChop.Interfaces;
using LayerChop.Silo;
using LayerChop.Silo.Storage;
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
            if (submitted.Note is { } note) Console.Error.WriteLine(note);
            if (submitted.Added.Count > 0) foreach (var warning in SweepSpecValidator.Warnings(spec)) Console.Error.WriteLine("warning: " + warning);
            if (p.GetValue(json)) Cli.WriteJson(SweepJson.Submitted(spec.Name, submitted));
            else Console.WriteLine($"sweep {spec.Name}: {submitted.Candidates.Count} candidates ({submitted.Added.Count} new)");
            return 0;
        })));
        return command;
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
            if (p.GetValue(json)) { Cli.WriteJson(rows.Select(SweepJson.Overview).ToArray()); return 0; }
            if (rows.Count == 0) { Console.WriteLine($"no sweeps in {store.Where}"); return 0; }
            var statuses = Enum.GetValues<CandidateStatus>().Select(v => SweepJson.Word(v)).ToArray();
            var table = new TextTable(["sweep", "submitted (UTC)", "total", .. statuses, "running"]).RightAligned(["total", .. statuses, "running"]);
            foreach (var r in rows)
                table.AddRow([r.Name, r.SubmittedUtc.ToString("yyyy-MM-dd HH:mm"), r.Total, .. Enum.GetValues<CandidateStatus>().Select(v => (object)r.Count(v)), r.Running]);
            table.Write();
            return 0;
        })));
        return command;
    }

    static Command Report()
    {
        var name = new Argument<string>("NAME") { Description = "Sweep name" };
        var output = new Option<string?>("--out") { Description = "A new (or empty) folder for the report (default: the sweep's output/report, as `sweep run` writes it)" };
        var store = new SweepStore();
        var json = Cli.JsonOption();
        var command = new Command("report", "Write a sweep's report folder (report.md, results.csv/json, Pareto plots) from its current results, as `sweep run` does") { name, output, json };
        store.AddTo(command);
        command.SetAction(p => Cli.Run(() => store.With(p, async grains =>
        {
            var sweep = grains.GetGrain<ISweepGrain>(p.GetValue(name)!);
            var spec = store.Located(await sweep.GetSpec() ?? throw store.NoSuchSweep(sweep));
            var outDir = p.GetResult(output) is { Implicit: false } ? UserFolder.RequireNewOrEmpty(p.GetValue(output), "--out") : null;
            var folder = Reports.SweepReport.Write(spec, await sweep.GetResults(), await sweep.GetFront(), wallTime: null, outDir: outDir);
            if (p.GetValue(json)) Cli.WriteJson(SweepJson.Reported(spec.Name, folder));
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
        var config = SweepGrid.Expand(spec).FirstOrDefault(c => c.Id == id)
            ?? throw new LayerChopException($"sweep '{sweep}' has no candidate '{id}' (`layerchop sweep status {sweep}{store.Args}` lists them)");
        var state = await grains.GetGrain<ICandidateGrain>(SweepKeys.Candidate(sweep, id)).GetState()
            ?? new CandidateState { Sweep = sweep, Config = config, Status = CandidateStatus.Pending };
        return (spec, state);
    }

    static void PrintCandidate(SweepSpec spec, CandidateState c)
    {
        Console.WriteLine($"candidate {c.Id} of sweep {c.Sweep}: {SweepJson.Word(c.Status)}{(c.Error is null ? "" : $" ({c.Error})")}");
        Console.WriteLine($"  remove {c.Config.Remove} ({c.Config.Strategy}), heal {CandidateConfig.FormatTokens(c.Config.HealTokens)} tokens ({c.Config.HealMethod}), seed {c.Config.Seed}");
        Console.WriteLine($"  folder {JobBuilder.CandidateFolder(spec, c.Config)}");
        Console.WriteLine($"  attempts ({c.Attempts.Count}; failures count from attempt {c.FailuresCountFrom + 1}, {c.MaxAttempts} allowed):");
        var attempts = new TextTable("attempt", "started (UTC)", "ended", "silo", "slot", "outcome").RightAligned("slot");
        foreach (var a in c.Attempts)
            attempts.AddRow($"#{a.Number}", a.StartedUtc.ToString("yyyy-MM-dd HH:mm:ss"), a.EndedUtc is { } e ? e.ToString("HH:mm:ss") : "running", a.Silo, a.Slot,
                SweepJson.Word(a.Outcome) + (a.Reason is null ? "" : $" ({a.Reason})"));
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
            var (spec, state) = await FindCandidate(grains, store, p.GetValue(name)!, p.GetValue(candidate)!);
            if (state.Status != CandidateStatus.Completed)
                throw new LayerChopException($"candidate {state.Id} is {SweepJson.Word(state.Status)}, not completed: only a completed candidate has a final model to export");
            var workDir = JobBuilder.CandidateFolder(spec, state.Config);
            if (CandidateInputs.Read(workDir) is { } inputs && inputs.Sweep != spec.Name)
                throw new LayerChopException($"{workDir} holds sweep '{inputs.Sweep}''s candidate, not sweep '{spec.Name}''s: nothing of it is exported");
            var outDir = UserFolder.RequireNewOrEmpty(p.GetValue(output), "--out");
            var c = state.Config;
            CandidateArtifacts.Export(workDir, spec.BaseModel, outDir, new Lineage(spec.Name, c.Id, c.Strategy, c.HealTokens, c.HealMethod, c.Seed, spec.Data, spec.TextField, spec.Train));
            var exported = CandidateArtifacts.FinalModel(workDir, spec.BaseModel);
            if (p.GetValue(json)) Cli.WriteJson(SweepJson.Exported(state.Id, outDir, exported));
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
            devices: GpuDevices.RequireVisible(GpuDevices.Select(p.GetValue(gpus)!, $"--gpus {p.GetValue(gpus)}"), $"--gpus {p.GetValue(gpus)}"), retry: p.GetValue(retry), web: Web.Options(p.GetValue(web), p.GetValue(webBind))).GetAwaiter().GetResult())));
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
        if (SweepOutput.Claim(spec.Output, spec.Name) is { } taken) throw new LayerChopException(taken);
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
            if (submitted.Note is { } note) Console.Error.WriteLine(note);
            if (submitted.Added.Count > 0) foreach (var warning in SweepSpecValidator.Warnings(spec)) Console.Error.WriteLine("warning: " + warning);
            if (web is not null) Console.Error.WriteLine(Web.Describe(web, spec.Name));
            if (retry)
            {
                var retried = await sweep.Retry();
                Console.Error.WriteLine(retried.Count == 0 ? "nothing to retry" : $"retrying {retried.Count} candidate(s): {string.Join(", ", retried)}");
            }
            var table = new ProgressTable();
            var follow = new SweepFollower(sweep);
            SweepStatus status;
            while (true)
            {
                (status, _) = (await follow.Next())!.Value;
                table.Draw(follow.Candidates, status);
                if (status.IsFinished) break;
                try { await Task.Delay(1000, interrupt.Token); }
                catch (OperationCanceledException)
                {
                    Console.Error.WriteLine("interrupted: stopping workers at their next step (they checkpoint); run the same command again to resume");
                    return Cli.Interrupted;
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
/// Where sweep queries go: a cluster (PostgreSQL, through a client) or an embedded sweep's state file, opened by a
/// silo of this process that runs no workers. A query reads a snapshot of the state file (see <see cref="StateFile"/>),
/// so it never writes to it; cancel and retry change the file itself, only while no `sweep run` uses it.
/// </summary>
sealed class SweepStore
{
    readonly Option<string?> cluster = ClusterOptions.Connection();
    readonly Option<string> clusterId = ClusterOptions.Id();
    readonly Option<int> connectTimeout = ClusterOptions.ConnectTimeout();
    readonly Option<string?> stateFile = new("--state") { Description = "An embedded sweep's state file (OUTPUT/state.db of `sweep run`) instead of a cluster" };
    string? statePath;
    string clusterArgs = "";

    public void AddTo(Command command)
    {
        command.Options.Add(cluster);
        command.Options.Add(clusterId);
        command.Options.Add(connectTimeout);
        command.Options.Add(stateFile);
    }

    /// <summary>What the store is, for messages: "state file /x/state.db" or "cluster 'layerchop'".</summary>
    public string Where => statePath is { } f ? $"state file {f}" : $"cluster '{clusterArgs}'";

    /// <summary>The options a suggested command needs to reach the same store (" --state /x/state.db").</summary>
    public string Args { get; private set; } = "";

    public LayerChopException NoSuchSweep(ISweepGrain sweep) => NoSuchSweep(sweep.GetPrimaryKeyString());

    public LayerChopException NoSuchSweep(string name) =>
        new($"no sweep '{name}' in {Where} (`layerchop sweep list{Args}` shows the ones there are)");

    /// <param name="writes">the command changes the sweep: it opens the state file itself instead of a snapshot.</param>
    public int With(ParseResult p, Func<IGrainFactory, Task<int>> body, bool writes = false)
    {
        string id = p.GetValue(clusterId)!;
        clusterArgs = id;
        if (p.GetValue(stateFile) is not { } file)
        {
            Args = (p.GetResult(cluster) is { Implicit: false } ? " --cluster CONN" : "") + (id == "layerchop" ? "" : $" --cluster-id {id}");
            return SweepCommands.WithCluster(p.GetValue(cluster), id, p.GetValue(connectTimeout), body);
        }
        if (p.GetResult(cluster) is { Implicit: false })
            throw new LayerChopException("--state and --cluster name two different stores; give one (--state: an embedded sweep's state file, --cluster: a cluster)");
        StateFile.Check(file, "--state");
        statePath = Path.GetFullPath(file);
        Args = $" --state {statePath}";
        var snapshot = writes ? null : StateFile.Snapshot(statePath);
        try
        {
            using var host = SiloSetup.Embedded(snapshot ?? statePath, WorkerOptions.ForHost(devices: [], cpuSlots: 0, cpuThreads: 0));
            host.StartAsync().GetAwaiter().GetResult();
            try { return body(host.Services.GetRequiredService<IGrainFactory>()).GetAwaiter().GetResult(); }
            finally { host.StopAsync().GetAwaiter().GetResult(); }
        }
        finally
        {
            if (snapshot is not null) StateFile.DeleteSnapshot(snapshot);
        }
    }

    /// <summary>
    /// The spec with its output where its folders are now. An embedded sweep's state file lies in its output
    /// folder: when the folder was moved (the state file is elsewhere and the recorded folder no longer holds it),
    /// the folders are read beside the state file, and a note says so; a cluster's specs are as submitted.
    /// </summary>
    public SweepSpec Located(SweepSpec spec)
    {
        if (statePath is null) return spec;
        var here = Path.GetDirectoryName(statePath)!;
        if (Path.GetFullPath(spec.Output).TrimEnd('/') == here.TrimEnd('/')) return spec;
        if (File.Exists(Path.Combine(spec.Output, Path.GetFileName(statePath)))) return spec;     // a copy of the state file: the folder is where it was
        if (!Directory.Exists(Path.Combine(here, "candidates")) && SweepOutput.Owner(here) != spec.Name)
            throw new LayerChopException($"sweep {spec.Name}'s output folder {spec.Output} is gone, and {here} (where the state file is) does not hold its candidates; move the folder back or give the state file inside it");
        Console.Error.WriteLine($"note: sweep {spec.Name}'s output folder moved from {spec.Output} to {here}, where its state file is; its folders are read there");
        return spec with { Output = here };
    }
}

/// <summary>
/// Follows a sweep by revision: each <see cref="Next"/> asks the coordinator only for what changed, starts over
/// when the coordinator restarted (a new epoch numbers revisions afresh), and keeps every candidate's latest
/// summary in grid order and the set on either front; a candidate whose place on the front changed counts as changed.
/// </summary>
sealed class SweepFollower(ISweepGrain sweep)
{
    readonly Dictionary<string, CandidateSummary> latest = new(StringComparer.Ordinal);
    readonly List<string> order = [];
    long since;
    string epoch = "";

    public IReadOnlySet<string> OnFront { get; private set; } = new HashSet<string>();

    public IReadOnlyList<CandidateSummary> Candidates => order.Select(id => latest[id]).ToList();

    /// <summary>The sweep's status and the candidates that changed since the last call; null when there is no such sweep.</summary>
    public async Task<(SweepStatus Status, IReadOnlyList<CandidateSummary> Changed)?> Next()
    {
        while (true)
        {
            if (await sweep.GetStatus(since) is not { } status) return null;
            if (status.Epoch != epoch && since > 0) { since = 0; epoch = status.Epoch; continue; }   // the coordinator restarted
            epoch = status.Epoch;
            var changed = new Dictionary<string, CandidateSummary>(StringComparer.Ordinal);
            foreach (var c in status.Candidates)
            {
                if (!latest.ContainsKey(c.Id)) order.Add(c.Id);
                latest[c.Id] = changed[c.Id] = c;
            }
            since = status.Revision;
            var front = SweepJson.OnFront(await sweep.GetFront());
            foreach (var id in front.Except(OnFront).Concat(OnFront.Except(front)))
                if (latest.TryGetValue(id, out var c)) changed.TryAdd(id, c);
            OnFront = front;
            return (status, order.Where(changed.ContainsKey).Select(id => changed[id]).ToList());
        }
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
