using System.Net;
using System.Net.Sockets;
using LayerChop.Grains.Sweeps;
using LayerChop.Grains.Workers;
using LayerChop.Silo.Storage;
using LayerChop.Silo.Web;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Dashboard;
using Orleans.Runtime;
using Orleans.Runtime.Messaging;

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
    /// <param name="web">the sweep API and the Orleans dashboard on this port; none when null.</param>
    public static IHost Embedded(string stateFile, WorkerOptions workers, LogLevel logLevel = LogLevel.Warning, WebOptions? web = null)
    {
        var builder = CreateBuilder(web);
        ConfigureLogging(builder, logLevel);
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(FreePort(), FreePort());
            silo.AddLayerChopSweeps(workers, stateFile);
            if (web is not null) silo.AddDashboard();
        });
        return Build(builder, web);
    }

    /// <summary>A plain host, or a web application when the silo serves the sweep API.</summary>
    static IHostApplicationBuilder CreateBuilder(WebOptions? web)
    {
        if (web is null) return Host.CreateApplicationBuilder();
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls(web.Url);
        return builder;
    }

    static IHost Build(IHostApplicationBuilder builder, WebOptions? web)
    {
        if (builder is not WebApplicationBuilder webBuilder) return ((HostApplicationBuilder)builder).Build();
        var app = webBuilder.Build();
        app.UseJsonErrors();
        app.MapSweepApi();
        app.MapSweepPage();
        app.MapOrleansDashboard(routePrefix: "/dashboard");
        return app;
    }

    /// <summary>
    /// A silo of a cluster: membership, reminders and grain state in PostgreSQL, workers on this host's GPUs
    /// (or CPU slots), its ports listening on <see cref="SiloLaunch.Listen"/> and advertised at
    /// <see cref="SiloLaunch.Advertise"/>. Every silo and client of one cluster uses the same cluster id.
    /// </summary>
    public static IHost ClusterSilo(SiloLaunch launch, LogLevel logLevel = LogLevel.Warning)
    {
        var builder = CreateBuilder(launch.Web);
        ConfigureLogging(builder, logLevel);
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o => { o.ClusterId = launch.ClusterId; o.ServiceId = launch.ClusterId; });
            silo.Configure<ClusterMembershipOptions>(launch.Membership.ApplyTo);
            var database = DatabaseTarget.Parse(launch.Connection);
            silo.AddLayerChopClustering(new StorageOptions { Database = database });
            silo.AddLayerChopReminders(new StorageOptions { Database = database });
            silo.AddLayerChopSweeps(launch.Workers, launch.Connection);
            silo.Configure<EndpointOptions>(o =>
            {
                o.AdvertisedIPAddress = launch.Advertise;
                o.SiloPort = launch.Port;
                o.GatewayPort = launch.GatewayPort;
                o.SiloListeningEndpoint = new IPEndPoint(launch.Listen, launch.Port);
                o.GatewayListeningEndpoint = new IPEndPoint(launch.Listen, launch.GatewayPort);
            });
            if (launch.Web is not null) silo.AddDashboard();
        });
        return Build(builder, launch.Web);
    }

    /// <summary>
    /// A client of a cluster: it finds the gateways through the membership table. Its start keeps looking for a
    /// gateway until the token given to <c>StartAsync</c> is cancelled (Orleans' own retries give up only after
    /// about three minutes); an error that another try cannot fix, such as a failed database read, ends it at once.
    /// </summary>
    /// <param name="logLevel">of Orleans' and the host's own lines on stderr: none by default, since the command
    /// reports a failure to connect itself, in one line.</param>
    public static IHost ClusterClient(string connection, string clusterId, LogLevel logLevel = LogLevel.None)
    {
        var builder = Host.CreateApplicationBuilder();
        ConfigureLogging(builder, logLevel);
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o => { o.ClusterId = clusterId; o.ServiceId = clusterId; });
            client.AddLayerChopClustering(DatabaseTarget.Parse(connection));
            client.UseConnectionRetryFilter(async (exception, cancel) =>
            {
                if (exception is not (OrleansMessageRejectionException or ConnectionFailedException)) return false;
                await Task.Delay(TimeSpan.FromMilliseconds(500), cancel);   // no silo yet, or its gateway refused: look again
                return true;
            });
        });
        return builder.Build();
    }

    /// <summary>
    /// Log lines go to stderr (stdout stays the command's own output), at <paramref name="logLevel"/>; Orleans'
    /// own warnings are about what LayerChop handles itself, so Orleans shows errors only unless asked for more.
    /// </summary>
    static void ConfigureLogging(IHostApplicationBuilder builder, LogLevel logLevel)
    {
        var logs = new ConsoleLogs();
        builder.Services.AddSingleton(logs);
        var orleansLevel = logLevel < LogLevel.Warning ? logLevel : (LogLevel)Math.Max((int)logLevel, (int)LogLevel.Error);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.SetMinimumLevel(LogLevel.Trace);   // the one filter below decides
        builder.Logging.AddFilter((category, level) =>
            !logs.Muted && level >= (category?.StartsWith("Orleans", StringComparison.Ordinal) == true ? orleansLevel : logLevel));
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
    }

    /// <summary>Whether this host can listen on a TCP port at <paramref name="address"/> (0.0.0.0: every address).</summary>
    public static bool CanListenOn(IPAddress address, int port)
    {
        var listener = new TcpListener(address, port);
        try
        {
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        finally
        {
            listener.Stop();
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>
/// A host's log lines on stderr can be muted: a command that was interrupted has said so, and its silo's
/// shutdown (workers stopping, calls cut short) is nothing the user needs to read.
/// </summary>
public sealed class ConsoleLogs
{
    volatile bool muted;

    public bool Muted => muted;

    public void Mute() => muted = true;
}
