using System.CommandLine;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using LayerChop.Client.Rendering;
using LayerChop.Interfaces;
using LayerChop.Engine;
using LayerChop.Grains.Workers;
using LayerChop.Silo;
using Microsoft.Extensions.Hosting;

namespace LayerChop.Client.Commands;

public static class SiloCommand
{
    public static Command Create()
    {
        var cluster = ClusterOptions.Connection();
        var clusterId = ClusterOptions.Id();
        var gpus = new Option<string>("--gpus") { Description = "GPUs this silo runs workers on: a number, or auto (nvidia-smi); 0 means CPU slots", DefaultValueFactory = _ => "auto" };
        var slots = new Option<int>("--slots") { Description = "CPU worker slots when there is no GPU (0: this silo runs no workers, it only hosts coordinators)", DefaultValueFactory = _ => 1 };
        var threads = new Option<int>("--threads") { Description = "Torch threads per CPU worker (0: libtorch's default)", DefaultValueFactory = _ => 0 };
        var advertise = new Option<string>("--advertise") { Description = "Address other silos and clients reach this silo at", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "Silo-to-silo port", DefaultValueFactory = _ => 11111 };
        var gatewayPort = new Option<int>("--gateway-port") { Description = "Client gateway port", DefaultValueFactory = _ => 30000 };
        var json = new Option<bool>("--json") { Description = "Once started, print {\"silo\",\"gateway_port\",\"cluster_id\",\"slots\",\"gpu\",\"web\"} on stdout" };
        var web = Web.PortOption();
        var webBind = Web.BindOption();
        var command = new Command("silo", "Run a cluster silo: joins through PostgreSQL, runs sweep candidates on this host's GPUs (or CPU slots) until stopped")
        {
            cluster, clusterId, gpus, slots, threads, advertise, port, gatewayPort, json, web, webBind,
        };
        command.SetAction(p => Cli.Run(() =>
        {
            int gpuCount = CountGpus(p.GetValue(gpus)!);
            if (!IPAddress.TryParse(p.GetValue(advertise), out var address))
                throw new LayerChopException($"--advertise {p.GetValue(advertise)} is not an IP address");
            if (p.GetValue(slots) < 0) throw new LayerChopException($"--slots {p.GetValue(slots)}: give 0 or more CPU slots");
            var workers = WorkerOptions.ForHost(gpuCount, p.GetValue(slots), p.GetValue(threads));
            RequireFreePorts(p.GetValue(port), p.GetValue(gatewayPort));
            var connection = ClusterOptions.Require(p.GetValue(cluster));
            Silo.Storage.ClusterDatabase.RequireReachable(Silo.Storage.DatabaseTarget.Parse(connection), TimeSpan.FromSeconds(10));
            var webOptions = Web.Options(p.GetValue(web), p.GetValue(webBind));
            using var host = SiloSetup.ClusterSilo(connection, p.GetValue(clusterId)!, workers, address,
                p.GetValue(port), p.GetValue(gatewayPort), web: webOptions);
            host.Start();
            if (p.GetValue(json))
                Cli.WriteJsonLine(new Dictionary<string, object?>
                {
                    ["silo"] = $"{address}:{p.GetValue(port)}", ["gateway_port"] = p.GetValue(gatewayPort), ["cluster_id"] = p.GetValue(clusterId)!,
                    ["slots"] = workers.Slots, ["gpu"] = workers.Gpu, ["web"] = webOptions?.Url,
                });
            Console.Error.WriteLine($"silo {address}:{p.GetValue(port)} (gateway {p.GetValue(gatewayPort)}) in cluster '{p.GetValue(clusterId)}': " +
                                    (workers.Gpu ? $"{workers.Slots} GPU slot(s)" : workers.Slots == 0 ? "no worker slots" : $"{workers.Slots} CPU slot(s)") + "; Ctrl-C or SIGTERM stops it");
            if (webOptions is not null) Console.Error.WriteLine(Web.Describe(webOptions, sweep: null));
            host.WaitForShutdown();
            return 0;
        }));
        return command;
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
            var hosts = await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
            var views = new List<SlotsView>();
            foreach (var silo in hosts.Keys.Select(s => s.ToParsableString()).Order(StringComparer.Ordinal))
                views.Add(await grains.GetGrain<IWorkerHostGrain>(silo).GetSlots());
            if (p.GetValue(json))
            {
                Cli.WriteJson(views.Select(v => new { v.Silo, v.Gpu, Slots = v.Holders }));
                return 0;
            }
            var table = new TextTable("silo", "kind", "slot", "holder").RightAligned("slot");
            foreach (var v in views)
                for (int i = 0; i < v.Holders.Count; i++) table.AddRow(v.Silo, v.Gpu ? "GPU" : "CPU", i, v.Holders[i] ?? "free");
            table.Write();
            foreach (var v in views) Console.WriteLine($"{v.Silo}: {v.Capacity} {(v.Gpu ? "GPU" : "CPU")} slot(s), {v.Free} free");
            return 0;
        })));
        return command;
    }

    /// <summary>
    /// Refuses ports this host already listens on, before the silo joins the cluster: a silo started on the
    /// address and port of a running one would take its place in the membership table, and the running silo
    /// (with its workers) would be declared dead.
    /// </summary>
    static void RequireFreePorts(int port, int gatewayPort)
    {
        if (port == gatewayPort) throw new LayerChopException($"--port and --gateway-port are both {port}: give two different ports");
        foreach (var (value, option) in new[] { (port, "--port"), (gatewayPort, "--gateway-port") })
            if (!SiloSetup.CanListenOn(value))
                throw new LayerChopException($"{option} {value} is already in use on this host (another silo?); give a free port with {option}");
    }

    internal static int CountGpus(string value)
    {
        if (value != "auto")
            return int.TryParse(value, out int n) && n >= 0 ? n : throw new LayerChopException($"--gpus {value}: give a number or auto");
        try
        {
            var info = new ProcessStartInfo("nvidia-smi", "-L") { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(info)!;
            var lines = process.StandardOutput.ReadToEnd().Split('\n').Count(l => l.StartsWith("GPU ", StringComparison.Ordinal));
            process.WaitForExit();
            return process.ExitCode == 0 ? lines : 0;
        }
        catch (System.ComponentModel.Win32Exception) { return 0; }      // no nvidia-smi: a CPU host
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
