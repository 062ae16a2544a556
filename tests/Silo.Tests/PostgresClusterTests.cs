using LayerChop.Silo.Storage;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Orleans.TestingHost;

namespace LayerChop.Silo.Tests;

/// <summary>Two silos in cluster mode on a fresh PostgreSQL database, shared by the tests of one class.</summary>
public sealed class PostgresCluster : IAsyncLifetime
{
    readonly PostgresServer server = new();

    public DatabaseTarget Database { get; private set; } = null!;
    public InProcessTestCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        // An empty database: the silos themselves apply the schema when they start.
        Database = DatabaseTarget.Postgres(server.CreateDatabase());
        Cluster = await Clusters.OnPostgres(Database, silos: 2);
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        server.Dispose();
    }
}

/// <summary>Cluster mode: two silos that find each other, keep state and fire reminders through PostgreSQL.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresClusterTests(PostgresCluster fixture) : IClassFixture<PostgresCluster>
{
    DatabaseTarget database => fixture.Database;
    InProcessTestCluster cluster => fixture.Cluster;

    string ClusterId => cluster.Options.ClusterId;

    List<object?> Query(string sql) => PostgresServer.Query(database.ConnectionString, sql, ("cluster", ClusterId), ("service", cluster.Options.ServiceId));

    [Fact]
    public async Task Two_silos_form_a_cluster_through_the_membership_table()
    {
        var hosts = await cluster.Client.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
        Assert.Equal(2, hosts.Count);

        // Both silos are Active (3) in the table, with gateways the client found there.
        Assert.Equal([3, 3], Query("SELECT status FROM layerchop_silo WHERE deployment_id = @cluster"));
        Assert.Equal(2L, Query("SELECT count(*) FROM layerchop_silo WHERE deployment_id = @cluster AND proxy_port > 0").Single());
        // Each join was a versioned change: two inserts and at least two status updates.
        Assert.True((int)Query("SELECT version FROM layerchop_membership_version WHERE deployment_id = @cluster").Single()! >= 4);

        // A third silo joins and leaves gracefully: its row ends Dead (6), the others stay Active.
        var third = await cluster.StartAdditionalSiloAsync();
        Assert.Equal(3, (await cluster.Client.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true)).Count);
        await cluster.StopSiloAsync(third);
        Assert.Equal([3, 3, 6], Query("SELECT status FROM layerchop_silo WHERE deployment_id = @cluster ORDER BY status"));
        Assert.Equal(2, (await cluster.Client.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true)).Count);
    }

    [Fact]
    public async Task Grain_state_lives_in_postgres_and_conflicts_are_detected()
    {
        var original = cluster.Client.GetGrain<IValueGrain>(GrainId.Create("value", "candidate-7"));
        var twin = cluster.Client.GetGrain<IValueGrain>(GrainId.Create("twin", "candidate-7"));
        await original.Write(1);
        Assert.Equal(1, (await twin.Read()).Value);
        await twin.Write(2);
        await Assert.ThrowsAsync<Orleans.Storage.InconsistentStateException>(() => original.Write(3));
        Assert.Equal([2], Query("SELECT version FROM layerchop_grain_state WHERE service_id = @service AND grain_type = 'value'"));
    }

    [Fact]
    public async Task A_reminder_is_stored_in_postgres_and_fires()
    {
        var key = "ticker-" + Guid.NewGuid().ToString("N");
        var ticker = cluster.Client.GetGrain<ITickerGrain>(key);
        await ticker.Start(due: TimeSpan.FromMilliseconds(500), period: TimeSpan.FromSeconds(1));

        // Orleans reads it back through the reminder table (ReadReminderRowsKey).
        var table = cluster.Silos[0].ServiceProvider.GetRequiredService<IReminderTable>();
        var rows = await table.ReadRows(ticker.GetGrainId());
        var row = Assert.Single(rows.Reminders);
        Assert.Equal("tick", row.ReminderName);
        Assert.Equal(TimeSpan.FromSeconds(1), row.Period);
        Assert.Equal([1000L], Query($"SELECT period FROM layerchop_reminder WHERE service_id = @service AND grain_id = '{ticker.GetGrainId()}'"));

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (TickerGrain.Ticks.GetValueOrDefault(key) < 2 && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        Assert.True(TickerGrain.Ticks.GetValueOrDefault(key) >= 2, $"the reminder fired {TickerGrain.Ticks.GetValueOrDefault(key)} times in 20 s");

        await ticker.Stop();
        Assert.Empty((await table.ReadRows(ticker.GetGrainId())).Reminders);
    }

    [Fact]
    public async Task The_reminder_table_honours_etags_and_hash_ranges()
    {
        var table = cluster.Silos[0].ServiceProvider.GetRequiredService<IReminderTable>();
        var grain = GrainId.Create("ticker", "range-" + Guid.NewGuid().ToString("N"));
        var hash = grain.GetUniformHashCode();
        var start = new DateTime(2030, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        var entry = new ReminderEntry { GrainId = grain, ReminderName = "r", StartAt = start, Period = TimeSpan.FromDays(30) };

        var etag1 = await table.UpsertRow(entry);
        var etag2 = await table.UpsertRow(entry);
        Assert.NotEqual(etag1, etag2);

        var read = await table.ReadRow(grain, "r");
        Assert.NotNull(read);
        Assert.Equal(start, read.StartAt.ToUniversalTime());
        Assert.Equal(TimeSpan.FromDays(30), read.Period); // more than int.MaxValue milliseconds
        Assert.Equal(etag2, read.ETag);

        // Ranges are (begin, end] on the uint ring; begin == end is the whole ring, begin > end wraps.
        bool InRange(ReminderTableData data) => data.Reminders.Any(r => r.GrainId == grain);
        Assert.True(InRange(await table.ReadRows(hash - 1, hash)));
        Assert.False(InRange(await table.ReadRows(hash, hash + 1)));
        Assert.True(InRange(await table.ReadRows(hash, hash)));
        Assert.True(InRange(await table.ReadRows(hash + 1, hash)));
        Assert.False(InRange(await table.ReadRows(hash + 1, hash - 1)));

        Assert.False(await table.RemoveRow(grain, "r", etag1!));
        Assert.True(await table.RemoveRow(grain, "r", etag2!));
        Assert.Null(await table.ReadRow(grain, "r"));
    }
}
