using System.Net;
using System.Net.Sockets;
using LayerChop.Grains.Sweeps;
using LayerChop.Grains.Workers;
using LayerChop.Silo.Storage;
using Orleans.Configuration;
using Orleans.Runtime;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LayerChop.Silo;

/// <summary>How a LayerChop silo is put together, for the embedded default and for cluster silos alike.</summary>
public static class SiloSetup
{
    /// <summary>
    /// Worker slots, their placement, the sweep grains' storage, and a startup task that wakes the sweeps
    /// stored there (an unfinished one carries on).
    /// </summary>
    public static ISiloBuilder AddLayerChopSweeps(this ISiloBuilder silo, WorkerOptions workers, string storageConnection)
    {
        silo.Services.AddSingleton(workers);
        silo.Services.AddSingleton<WorkerSupervisor>();
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(s => s.GetRequiredService<WorkerSupervisor>());
        silo.Services.AddPlacementDirector<OnSiloOfKeyPlacement, OnSiloOfKeyPlacementDirector>();
        silo.AddLayerChopStorage(new StorageOptions { Database = DatabaseTarget.Parse(storageConnection), StorageName = StorageNames.Sweeps });
        silo.AddStartupTask((services, cancel) => SweepWakeUp.Run(services.GetRequiredService<IGrainFactory>(),
            services.GetRequiredService<ILoggerFactory>().CreateLogger("LayerChop.Silo"), cancel));
        return silo;
    }

    /// <summary>
    /// One process that is a whole cluster: a silo on free localhost ports with its state in a SQLite file,
    /// and the grain factory of the same process as the client.
    /// </summary>
    public static IHost Embedded(string stateFile, WorkerOptions workers, LogLevel logLevel = LogLevel.Warning)
    {
        var builder = Host.CreateApplicationBuilder();
        ConfigureLogging(builder, logLevel);   // to stderr: stdout stays the command's own output
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(FreePort(), FreePort());
            silo.AddLayerChopSweeps(workers, stateFile);
        });
        return builder.Build();
    }

    /// <summary>
    /// A silo of a cluster: membership, reminders and grain state in PostgreSQL, workers on this host's GPUs
    /// (or CPU slots). Every silo and client of one cluster uses the same <paramref name="clusterId"/>.
    /// </summary>
    public static IHost ClusterSilo(string connection, string clusterId, WorkerOptions workers, IPAddress advertise,
        int siloPort, int gatewayPort, LogLevel logLevel = LogLevel.Warning)
    {
        var builder = Host.CreateApplicationBuilder();
        ConfigureLogging(builder, logLevel);
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o => { o.ClusterId = clusterId; o.ServiceId = clusterId; });
            var database = DatabaseTarget.Parse(connection);
            silo.AddLayerChopClustering(new StorageOptions { Database = database });
            silo.AddLayerChopReminders(new StorageOptions { Database = database });
            silo.AddLayerChopSweeps(workers, connection);
            silo.ConfigureEndpoints(advertise, siloPort, gatewayPort, listenOnAnyHostAddress: true);
        });
        return builder.Build();
    }

    /// <summary>A client of a cluster: it finds the gateways through the membership table.</summary>
    public static IHost ClusterClient(string connection, string clusterId, LogLevel logLevel = LogLevel.Warning)
    {
        var builder = Host.CreateApplicationBuilder();
        ConfigureLogging(builder, logLevel);
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o => { o.ClusterId = clusterId; o.ServiceId = clusterId; });
            client.AddLayerChopClustering(DatabaseTarget.Parse(connection));
        });
        return builder.Build();
    }

    static void ConfigureLogging(HostApplicationBuilder builder, LogLevel logLevel)
    {
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.SetMinimumLevel(logLevel);
        builder.Logging.AddFilter("Orleans", logLevel < LogLevel.Warning ? logLevel : LogLevel.Error);
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
