using System.CommandLine;
using LayerChop.Client.Rendering;
using LayerChop.Grains.Sweeps;
using LayerChop.Interfaces;
using LayerChop.Settings;

namespace LayerChop.Client.Commands;

// `sweep list`: every sweep in a store with its counts.
public static partial class SweepCommands
{
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
            var statuses = Enum.GetValues<CandidateStatus>().Select(v => Words.Of(v)).ToArray();
            var table = new TextTable(["sweep", "submitted (UTC)", "total", .. statuses, "running"]).RightAligned(["total", .. statuses, "running"]);
            foreach (var r in rows)
                table.AddRow([r.Name, r.SubmittedUtc.ToString("yyyy-MM-dd HH:mm"), r.Total, .. Enum.GetValues<CandidateStatus>().Select(v => (object)r.Count(v)), r.Running]);
            table.Write();
            return 0;
        })));
        return command;
    }
}
