using System.Net;
using System.Net.Sockets;
using LayerChop.Grains.Sweeps;
using LayerChop.Grains.Workers;
using LayerChop.Silo.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LayerChop.Silo;

/// <summary>How a LayerChop silo is put together, for the embedded default and for cluster silos alike.</summary>
public static class SiloSetup
{
    /// <summary>Worker slots and the sweep grains' storage.</summary>
    public static ISiloBuilder AddLayerChopSweeps(this ISiloBuilder silo, WorkerOptions workers, string storageConnection)
    {
        silo.Services.AddSingleton(workers);
        silo.Services.AddSingleton<WorkerSlots>();
        silo.AddLayerChopStorage(new StorageOptions { Database = DatabaseTarget.Parse(storageConnection), StorageName = StorageNames.Sweeps });
        return silo;
    }

    /// <summary>
    /// One process that is a whole cluster: a silo on free localhost ports with its state in a SQLite file,
    /// and the grain factory of the same process as the client.
    /// </summary>
    public static IHost Embedded(string stateFile, WorkerOptions workers, LogLevel logLevel = LogLevel.Warning)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.SetMinimumLevel(logLevel);
        builder.Logging.AddFilter("Orleans", logLevel < LogLevel.Warning ? logLevel : LogLevel.Error);
        // Console logging goes to stderr so that stdout stays the command's own output.
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(FreePort(), FreePort());
            silo.AddLayerChopSweeps(workers, stateFile);
        });
        return builder.Build();
    }

    static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
