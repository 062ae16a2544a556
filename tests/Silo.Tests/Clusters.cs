using System.Reflection;
using LayerChop.Silo.Storage;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace LayerChop.Silo.Tests;

/// <summary>In-process Orleans test clusters configured the way LayerChop's silos are.</summary>
public static class Clusters
{
    /// <summary>
    /// Silos with grain state in <paramref name="database"/> and the test host's in-memory membership
    /// (embedded mode keeps membership out of the database too).
    /// </summary>
    public static async Task<InProcessTestCluster> WithStorage(DatabaseTarget database, string serviceId, short silos = 1)
    {
        var builder = new InProcessTestClusterBuilder(silos);
        builder.Options.ServiceId = serviceId;
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((_, silo) => silo.AddLayerChopStorage(new StorageOptions { Database = database }));
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    /// <summary>
    /// Cluster mode: membership, grain state and reminders in PostgreSQL; the client finds its gateways there too.
    /// </summary>
    public static async Task<InProcessTestCluster> OnPostgres(DatabaseTarget database, short silos = 2)
    {
        // Silos join one at a time: two silos joining at the same moment both name the same table
        // version, one loses and retries after a back-off of seconds (correct, but slow for a test).
        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ConfigureFileLogging = false;
        UseDatabaseMembership(builder.Options);
        var options = new StorageOptions { Database = database };
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddLayerChopClustering(options).AddLayerChopStorage(options).AddLayerChopReminders(options);
            // Reminders normally tick once a minute at most; the tests wait for ticks a second apart.
            silo.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = TimeSpan.FromSeconds(1));
        });
        builder.ConfigureClient(client => client.AddLayerChopClustering(database));
        var cluster = builder.Build();
        await cluster.DeployAsync();
        for (var i = 1; i < silos; i++) await cluster.StartAdditionalSiloAsync();
        return cluster;
    }

    /// <summary>
    /// Turns off the test host's own membership table (and the grain directory built on it), so that the
    /// silos and the client use the ADO.NET membership configured above. Orleans 10.4.2 keeps this switch
    /// internal and always on; the test sets it by reflection and fails loudly if a later version renames it.
    /// </summary>
    static void UseDatabaseMembership(InProcessTestClusterOptions options)
    {
        var property = typeof(InProcessTestClusterOptions).GetProperty("UseTestClusterMembership",
                           BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
                       ?? throw new InvalidOperationException("InProcessTestClusterOptions.UseTestClusterMembership is gone: find the new way to run a test cluster on real membership");
        property.SetValue(options, false);
    }
}
