using System.CommandLine;
using LayerChop.Client.Rendering;
using LayerChop.Silo.Storage;

namespace LayerChop.Client.Commands;

public static class DbCommands
{
    public static Command Create()
    {
        var db = new Command("db", "Prepare the database that holds sweeps: PostgreSQL for cluster mode, a SQLite file for embedded mode");
        db.Subcommands.Add(Init());
        return db;
    }

    static Command Init()
    {
        var connection = new Argument<string>("CONNECTION")
        {
            Description = "PostgreSQL connection string (Host=...;Port=...;Username=...;Database=...) or postgres:// URL, " +
                          "or a SQLite file path (or Data Source=FILE)",
        };
        var json = Cli.JsonOption();
        var command = new Command("init",
            "Create LayerChop's tables and Orleans queries (PostgreSQL: membership, grain state, reminders; SQLite: grain state). " +
            "Safe to run again: existing data is kept and the query texts are brought up to date")
        {
            connection, json,
        };
        command.SetAction(p => Cli.Run(() =>
        {
            var database = DatabaseTarget.Parse(p.GetValue(connection)!);
            var report = SchemaInstaller.Apply(database);
            if (p.GetValue(json))
            {
                Cli.WriteJson(new Dictionary<string, object>
                {
                    ["database"] = database.Display,
                    ["kind"] = database.Kind == DatabaseKind.Postgres ? "postgres" : "sqlite",
                    ["schema_version"] = SchemaInstaller.SchemaVersion,
                    ["changed"] = report.Changed,
                    ["components"] = report.Components.Select(c => new Dictionary<string, object?>
                    {
                        ["component"] = c.Component, ["previous_version"] = c.PreviousVersion,
                        ["version"] = c.Version, ["outcome"] = c.Outcome,
                    }).ToList(),
                    ["query_keys"] = report.QueryKeys,
                });
                return 0;
            }
            Console.WriteLine($"{database.Display}: schema version {SchemaInstaller.SchemaVersion}");
            var table = new TextTable("component", "outcome");
            foreach (var c in report.Components) table.AddRow(c.Component, c.Outcome);
            table.Write(indent: 2);
            Console.WriteLine($"  {report.QueryKeys.Count} Orleans queries in OrleansQuery");
            Console.WriteLine(report.Changed ? "done" : "nothing to change");
            return 0;
        }));
        return command;
    }
}
