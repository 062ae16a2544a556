using System.CommandLine;
using LayerChop.Client.Rendering;
using LayerChop.Engine;
using LayerChop.Grains.Sweeps;
using LayerChop.Grains.Workers;
using LayerChop.Interfaces;
using LayerChop.Silo;
using LayerChop.Specs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LayerChop.Client.Commands;

// `sweep run`: a sweep to completion on this machine, with an embedded silo.
public static partial class SweepCommands
{
    static Command Run()
    {
        var specPath = new Argument<string>("SPEC") { Description = "Sweep spec (YAML or JSON; see examples/)" };
        var slots = new Option<int>("--slots") { Description = "Candidates run at once on this machine (CPU mode)", DefaultValueFactory = _ => 1 };
        var threads = new Option<int>("--threads") { Description = "Torch threads per candidate (0: libtorch's default)", DefaultValueFactory = _ => 0 };
        var gpus = new Option<string>("--gpus") { Description = "GPUs to run candidates on, one at a time each: auto (nvidia-smi), a number, or device indices like 0,2; 0 means --slots CPU slots", DefaultValueFactory = _ => "0" };
        var slotMemory = new Option<double?>("--slot-memory-gib") { Description = "Memory of each CPU slot in GiB (fractions allowed; default: this host's RAM divided by --slots); a GPU slot has its device's total memory" };
        var json = new Option<bool>("--json") { Description = "Print the final results as JSON (one object per candidate) instead of tables" };
        var retry = new Option<bool>("--retry") { Description = "Start failed and cancelled candidates of an earlier run again, with max_attempts fresh attempts each" };
        var web = Web.PortOption();
        var webBind = Web.BindOption();
        var command = new Command("run", "Run a sweep to completion on this machine (an embedded silo with its state in OUTPUT/state.db; the report in OUTPUT/report); running it again resumes it, and a spec with a higher max_attempts gives failed candidates more attempts")
        {
            specPath, slots, slotMemory, threads, gpus, json, retry, web, webBind,
        };
        command.SetAction((p, token) => Task.FromResult(Cli.Run(() => RunEmbedded(p.GetValue(specPath)!, p.GetValue(slots), p.GetValue(threads), p.GetValue(json),
            devices: GpuDevices.RequireVisible(GpuDevices.Select(p.GetValue(gpus)!, $"--gpus {p.GetValue(gpus)}"), $"--gpus {p.GetValue(gpus)}"), retry: p.GetValue(retry), web: Web.Options(p.GetValue(web), p.GetValue(webBind)),
            slotMemoryGib: p.GetValue(slotMemory)).GetAwaiter().GetResult())));
        return command;
    }

    /// <param name="devices">when given, one worker slot per GPU device (each worker pinned to it) instead of <paramref name="slots"/> CPU slots.</param>
    /// <param name="retry">failed and cancelled candidates start again.</param>
    /// <param name="web">serve the sweep API and the dashboard while it runs.</param>
    /// <param name="slotMemoryGib">each CPU slot's memory; by default the host's RAM divided by <paramref name="slots"/>.</param>
    public static async Task<int> RunEmbedded(string path, int slots, int threads, bool json, string? reportPreamble = null, IReadOnlyList<int>? devices = null, bool retry = false,
        Silo.Web.WebOptions? web = null, double? slotMemoryGib = null)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        if (slots < 1) throw new LayerChopException("--slots must be at least 1");
        if (slotMemoryGib is <= 0) throw new LayerChopException($"--slot-memory-gib {slotMemoryGib}: give a size above 0 GiB");
        var spec = SweepSpecReader.Load(path);
        var workers = WorkerOptions.ForHost(devices ?? [], slots, threads, cpuSlotGib: slotMemoryGib);
        RefuseWhatNoSlotHolds(spec, Enumerable.Range(0, workers.Slots).Select(workers.MemoryOf).ToArray());
        if (SweepOutput.Claim(spec.Output, spec.Name) is { } taken) throw new LayerChopException(taken);
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
