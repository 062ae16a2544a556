using System.CommandLine;
using LayerChop.Engine;
using LayerChop.Grains.Workers;
using LayerChop.Interfaces;
using LayerChop.Silo;
using LayerChop.Silo.Storage;
using LayerChop.Specs;
using Microsoft.Extensions.DependencyInjection;

namespace LayerChop.Client.Commands;

// Where sweep commands reach a sweep: a cluster, or an embedded sweep's state file.
public static partial class SweepCommands
{
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
