using System.CommandLine;
using LayerChop.Engine;
using LayerChop.Grains.Sweeps;
using LayerChop.Interfaces;

namespace LayerChop.Client.Commands;

// `sweep report`: a sweep's report folder from its current results.
public static partial class SweepCommands
{
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
}
