using System.Text;
using LayerChop.Silo.Storage;
using Microsoft.Data.Sqlite;
using Orleans.Runtime;
using Orleans.Storage;
using Orleans.TestingHost;

namespace LayerChop.Silo.Tests;

/// <summary>Grain state through Orleans' ADO.NET persistence on both engines, with LayerChop's schema.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PersistenceTests(PostgresServer server)
{
    DatabaseTarget Database(string engine)
    {
        if (engine == "postgres")
        {
            var connection = server.CreateDatabase();
            return DatabaseTarget.Postgres(connection);
        }
        return DatabaseTarget.Sqlite(SqliteFiles.Create());
    }

    static IValueGrain Value(IGrainFactory grains, string type, string key) =>
        grains.GetGrain<IValueGrain>(GrainId.Create(type, key));

    static ICompoundValueGrain Compound(IGrainFactory grains, Guid key, string extension) =>
        grains.GetGrain<ICompoundValueGrain>(GrainId.Create(GrainType.Create("value"), GrainIdKeyExtensions.CreateGuidKey(key, extension)));

    [Fact]
    public async Task A_PostgreSQL_error_in_a_grain_reaches_the_caller_with_the_servers_own_message()
    {
        var database = Database("postgres");
        await using var cluster = await Clusters.WithStorage(database, "persist-" + Guid.NewGuid().ToString("N"));
        var grain = Value(cluster.Client, "value", "db-error");
        await grain.Write(1);
        // The state table goes away under the running silo: the next write fails in the server (42P01).
        PostgresServer.Query(database.ConnectionString, "ALTER TABLE layerchop_grain_state RENAME TO layerchop_grain_state_gone");
        var error = await Assert.ThrowsAnyAsync<Exception>(() => grain.Write(2));
        Assert.Contains("42P01", error.Message);
        Assert.DoesNotContain("codec", error.Message);
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task State_survives_a_restart_and_stale_etags_raise_InconsistentStateException(string engine)
    {
        var database = Database(engine);
        var serviceId = "persist-" + Guid.NewGuid().ToString("N");
        var sweep = Guid.NewGuid();
        // String keys, a hex-looking string key (stored as an integer key), and Guid keys with extensions.
        string[] keys = ["sweep/α-1", "cafe"];

        await using (var cluster = await Clusters.WithStorage(database, serviceId))
        {
            var grains = cluster.Client;
            foreach (var (key, i) in keys.Select((k, i) => (k, i)))
            {
                var grain = Value(grains, "value", key);
                Assert.Equal(new ValueView(0, null, false), await grain.Read());
                await grain.Write(10 + i);
                await grain.Write(20 + i);
                Assert.Equal(new ValueView(20 + i, "2", true), await grain.Read());
            }
            await Compound(grains, sweep, "candidate-a").Write(1);
            await Compound(grains, sweep, "candidate-b").Write(2);

            // Update path: the twin grain shares the row and moves its version on; the original's ETag is stale.
            var original = Value(grains, "value", "sweep/α-1");
            var twin = Value(grains, "twin", "sweep/α-1");
            Assert.Equal(new ValueView(20, "2", true), await twin.Read());
            await twin.Write(30);
            await Assert.ThrowsAsync<InconsistentStateException>(() => original.Write(31));

            // Insert path: both grains saw no row; the second insert must lose.
            var first = Value(grains, "value", "fresh");
            var second = Value(grains, "twin", "fresh");
            Assert.False((await first.Read()).RecordExists);
            Assert.False((await second.Read()).RecordExists);
            await second.Write(5);
            await Assert.ThrowsAsync<InconsistentStateException>(() => first.Write(6));

            // Clear keeps the row with a new version; the next write updates it.
            var cleared = Value(grains, "value", "cafe");
            await cleared.Clear();
            Assert.Equal(new ValueView(0, "3", false), await cleared.Read());
            await cleared.Write(40);
            Assert.Equal(new ValueView(40, "4", true), await cleared.Read());
        }

        await using (var cluster = await Clusters.WithStorage(database, serviceId))
        {
            var grains = cluster.Client;
            Assert.Equal(new ValueView(30, "3", true), await Value(grains, "value", "sweep/α-1").Read());
            Assert.Equal(new ValueView(40, "4", true), await Value(grains, "value", "cafe").Read());
            Assert.Equal(new ValueView(5, "1", true), await Value(grains, "value", "fresh").Read());
            Assert.Equal(1, (await Compound(grains, sweep, "candidate-a").Read()).Value);
            Assert.Equal(2, (await Compound(grains, sweep, "candidate-b").Read()).Value);
            Assert.False((await Compound(grains, sweep, "candidate-c").Read()).RecordExists);
        }

        // Another service on the same tables sees none of it.
        await using (var cluster = await Clusters.WithStorage(database, "other-" + serviceId))
            Assert.False((await Value(cluster.Client, "value", "sweep/α-1").Read()).RecordExists);
    }

    [Fact]
    public async Task State_written_by_an_earlier_release_as_OldName_reads_back_into_the_renamed_type()
    {
        var databases = new[] { Database("sqlite"), Database("postgres") };
        var serviceId = "rename-" + Guid.NewGuid().ToString("N");
        OldRelease.Write(serviceId, "sweep-1", databases);

        foreach (var database in databases)
        {
            // The Orleans serializer's bytes: no .NET type or assembly name that a rename would break; the
            // value in the field declared as object is named by its [Alias].
            var text = Encoding.Latin1.GetString(Payload(database, serviceId, "progress"));
            Assert.DoesNotContain("OldName", text);
            Assert.DoesNotContain("OldCheckpoint", text);
            Assert.DoesNotContain("OldRelease", text);
            Assert.Contains("layerchop.tests.checkpoint", text);

            await using var cluster = await Clusters.WithStorage(database, serviceId);
            var grain = cluster.Client.GetGrain<IProgressGrain>("sweep-1");
            Assert.Equal(new ProgressView("healing", 1234, nameof(RenamedCheckpoint), "checkpoints/step-1234", null, true), await grain.Load());
            await grain.SetLoss(2.5);
            Assert.Equal(2.5, (await grain.Load()).Loss);
        }
    }

    static byte[] Payload(DatabaseTarget database, string serviceId, string stateName)
    {
        const string sql = "SELECT payload FROM layerchop_grain_state WHERE service_id = @service AND grain_type = @state";
        if (database.Kind == DatabaseKind.Postgres)
            return (byte[])PostgresServer.Query(database.ConnectionString, sql, ("service", serviceId), ("state", stateName)).Single()!;
        using var connection = new SqliteConnection(database.ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("@service", serviceId);
        command.Parameters.AddWithValue("@state", stateName);
        return (byte[])command.ExecuteScalar()!;
    }
}
