using System.CommandLine;
using System.Text.Json.Nodes;
using LayerChop.Client.Rendering;
using LayerChop.Engine;
using LayerChop.Interfaces;
using LayerChop.Silo;
using LayerChop.Worker;
using Microsoft.Extensions.Hosting;

namespace LayerChop.Client.Commands;

public static class SiloCommand
{
    /// <summary>The flags that set a field of <see cref="SiloConfig"/>, and the field each sets.</summary>
    public static readonly IReadOnlyList<(string Flag, string Key)> FieldFlags =
    [
        ("--cluster-id", "cluster_id"), ("--cluster-file", "connection_file"), ("--gpus", "gpus"), ("--slots", "cpu_slots"), ("--slot-memory-gib", "slot_memory_gib"), ("--threads", "threads"),
        ("--advertise", "advertise"), ("--listen", "listen"), ("--port", "port"), ("--gateway-port", "gateway_port"), ("--shared", "shared"),
        ("--web", "web"), ("--web-bind", "web_bind"),
    ];

    public static Command Create()
    {
        var config = new Option<string?>("--config")
        {
            Description = $"The silo's JSON configuration file (see deploy/README.md; default: ${SiloConfigReader.FileVariable}); " +
                          "environment variables override its fields, and flags override both",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable(SiloConfigReader.FileVariable) is { Length: > 0 } file ? file : null,
        };
        var cluster = new Option<string?>("--cluster")
        {
            Description = $"PostgreSQL connection string of the cluster, for a server without a password only (a password goes in ${SiloLaunch.ConnectionVariable} " +
                          "or in a chmod 600 file named by --cluster-file); without it: --cluster-file, then $LAYERCHOP_CLUSTER, then connection_file",
        };
        var json = new Option<bool>("--json") { Description = "Once started, print {\"silo\",\"gateway_port\",\"cluster_id\",\"slots\",\"gpu\",\"web\"} on stdout" };
        var fields = FieldFlags.Select(f => (f.Key, Option: FieldOption(f.Flag, f.Key))).ToArray();
        var command = new Command("silo", "Run a cluster silo: joins through PostgreSQL, runs sweep candidates on this host's GPUs (or CPU slots) until stopped (SIGTERM: workers checkpoint and their candidates go back to the queue)")
        {
            config, cluster, json,
        };
        foreach (var (_, option) in fields) command.Options.Add(option);
        command.SetAction(p => Cli.Run(() =>
        {
            var overrides = new List<SiloConfigOverride>();
            foreach (var (key, option) in fields)
            {
                JsonNode? value = option switch
                {
                    Option<int?> number => p.GetValue(number) is { } n ? JsonValue.Create(n) : null,
                    Option<double?> size => p.GetValue(size) is { } d ? JsonValue.Create(d) : null,
                    Option<string?> text => p.GetValue(text) is { } t ? JsonValue.Create(t) : null,
                    _ => throw new InvalidOperationException(option.Name),
                };
                if (value is not null) overrides.Add(new SiloConfigOverride(key, value, option.Name));
            }
            var loaded = SiloConfigReader.Read(p.GetValue(config), SiloConfigReader.ProcessEnvironment, overrides);
            var launch = SiloLaunch.Check(loaded, p.GetValue(cluster), SiloConfigReader.ProcessEnvironment);
            GpuDevices.RequireVisible(launch.Workers.Devices, loaded.Describe("gpus", loaded.Config.Gpus));
            Silo.Storage.ClusterDatabase.RequireReachable(Silo.Storage.DatabaseTarget.Parse(launch.Connection), TimeSpan.FromSeconds(10));
            using var host = SiloSetup.ClusterSilo(launch);
            host.Start();
            var workers = launch.Workers;
            if (p.GetValue(json))
                Cli.WriteJsonLine(new Dictionary<string, object?>
                {
                    ["silo"] = $"{launch.Advertise}:{launch.Port}", ["gateway_port"] = launch.GatewayPort, ["cluster_id"] = launch.ClusterId,
                    ["slots"] = workers.Slots, ["gpu"] = workers.Gpu, ["slot_memory_bytes"] = Enumerable.Range(0, workers.Slots).Select(workers.MemoryOf).ToArray(),
                    ["web"] = launch.Web?.Url,
                });
            Console.Error.WriteLine($"silo {launch.Advertise}:{launch.Port} (gateway {launch.GatewayPort}, listening on {launch.Listen}) in cluster '{launch.ClusterId}': " +
                                    (workers.Gpu ? $"{workers.Slots} GPU slot(s) on device(s) {string.Join(",", workers.Devices)}" : workers.Slots == 0 ? "no worker slots" : $"{workers.Slots} CPU slot(s)") +
                                    (workers.Slots == 0 ? "" : $" of {string.Join(", ", Enumerable.Range(0, workers.Slots).Select(i => SlotMemory.Describe(workers.MemoryOf(i))).Distinct())} each") +
                                    "; Ctrl-C or SIGTERM stops it");
            if (launch.Web is not null) Console.Error.WriteLine(Web.Describe(launch.Web, sweep: null));
            host.WaitForShutdown();
            return 0;
        }));
        return command;
    }

    /// <summary>A flag for one field; its help gives the field's description, variable and default from the record.</summary>
    static Option FieldOption(string flag, string key)
    {
        var field = SiloConfigReader.Fields.Single(f => f.Key == key);
        string description = $"{field.Description} (default: {field.Default ?? "unset"}; overrides ${field.Variable} and '{key}' in the config file)";
        return field.ValueType == typeof(int) ? new Option<int?>(flag) { Description = description }
            : field.ValueType == typeof(double) ? new Option<double?>(flag) { Description = description }
            : new Option<string?>(flag) { Description = description };
    }

    /// <summary>Every active silo's slots, in the order of the silos' addresses.</summary>
    internal static async Task<IReadOnlyList<SlotsView>> SlotsOf(IGrainFactory grains)
    {
        var hosts = await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
        var views = new List<SlotsView>();
        foreach (var silo in hosts.Keys.Select(s => s.ToParsableString()).Order(StringComparer.Ordinal))
            views.Add(await grains.GetGrain<IWorkerHostGrain>(silo).GetSlots());
        return views;
    }

    /// <summary>`layerchop slots`: every silo of a cluster and what its worker slots are doing.</summary>
    public static Command Slots()
    {
        var cluster = ClusterOptions.Connection();
        var clusterId = ClusterOptions.Id();
        var connectTimeout = ClusterOptions.ConnectTimeout();
        var json = Cli.JsonOption();
        var command = new Command("slots", "List the cluster's silos and their worker slots: free, or the lease (sweep/candidate attempt N) of the worker in each")
        {
            cluster, clusterId, connectTimeout, json,
        };
        command.SetAction(p => Cli.Run(() => SweepCommands.WithCluster(p.GetValue(cluster), p.GetValue(clusterId)!, p.GetValue(connectTimeout), async grains =>
        {
            var views = await SlotsOf(grains);
            if (p.GetValue(json))
            {
                Cli.WriteJson(views.Select(v => new { v.Silo, v.Gpu, Slots = v.Holders, SlotMemoryBytes = Enumerable.Range(0, v.Capacity).Select(v.MemoryOf) }));
                return 0;
            }
            var table = new TextTable("silo", "kind", "slot", "memory", "holder").RightAligned("slot").RightAligned("memory");
            foreach (var v in views)
                for (int i = 0; i < v.Holders.Count; i++) table.AddRow(v.Silo, v.Gpu ? "GPU" : "CPU", i, SlotMemory.Describe(v.MemoryOf(i)), v.Holders[i] ?? "free");
            table.Write();
            foreach (var v in views) Console.WriteLine($"{v.Silo}: {v.Capacity} {(v.Gpu ? "GPU" : "CPU")} slot(s), {v.Free} free");
            return 0;
        })));
        return command;
    }
}

/// <summary>The options every cluster command shares.</summary>
static class ClusterOptions
{
    public static Option<string?> Connection() => new("--cluster")
    {
        Description = "PostgreSQL connection string of the cluster (default: $LAYERCHOP_CLUSTER)",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("LAYERCHOP_CLUSTER"),
    };

    public static Option<string> Id() => new("--cluster-id")
    {
        Description = "Name of the cluster; silos and clients of one cluster share it", DefaultValueFactory = _ => "layerchop",
    };

    /// <summary>How long a cluster command looks for a silo before it says it found none.</summary>
    public static Option<int> ConnectTimeout() => new("--connect-timeout")
    {
        Description = "Seconds to look for a silo of the cluster before giving up (default: $LAYERCHOP_CONNECT_TIMEOUT, else 10)",
        DefaultValueFactory = result =>
        {
            if (Environment.GetEnvironmentVariable("LAYERCHOP_CONNECT_TIMEOUT") is not { Length: > 0 } text) return 10;
            if (int.TryParse(text, out int seconds)) return seconds;
            result.AddError($"LAYERCHOP_CONNECT_TIMEOUT={text}: give whole seconds");
            return 10;
        },
    };

    public static string Require(string? connection) =>
        connection ?? throw new LayerChopException("no cluster: give --cluster \"Host=...;Username=...;Database=...\" or set LAYERCHOP_CLUSTER");
}
