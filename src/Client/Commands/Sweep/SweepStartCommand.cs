using System.CommandLine;
using LayerChop.Engine;
using LayerChop.Grains.Sweeps;
using LayerChop.Interfaces;
using LayerChop.Specs;

namespace LayerChop.Client.Commands;

// `sweep start`: submit a sweep to a cluster.
public static partial class SweepCommands
{
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
            var slots = MemoryOfSlots(await SiloCommand.SlotsOf(grains));
            if (slots.Count == 0) Console.Error.WriteLine("note: no silo of the cluster has a worker slot yet; the candidates wait for one");
            RefuseWhatNoSlotHolds(spec, slots);
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
}
