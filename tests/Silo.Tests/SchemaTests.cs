using LayerChop.Engine;
using LayerChop.Silo.Storage;
using Microsoft.Data.Sqlite;

namespace LayerChop.Silo.Tests;

[Collection(PostgresCollection.Name)]
public sealed class SchemaTests(PostgresServer server)
{
    [Fact]
    public void Postgres_schema_applies_to_an_empty_database_then_again_concurrently_keeping_data()
    {
        var connection = server.CreateDatabase();

        var first = SchemaInstaller.ApplyPostgres(connection);
        Assert.Equal(["clustering", "persistence", "reminders"], first.Components.Select(c => c.Component));
        Assert.All(first.Components, c => Assert.Null(c.PreviousVersion));
        Assert.All(first.Components, c => Assert.Equal(SchemaInstaller.SchemaVersion, c.Version));
        Assert.True(first.Changed);
        Assert.Equal(SchemaInstaller.PostgresQueryKeys.Order(StringComparer.Ordinal), first.QueryKeys);

        // Data written between two applies stays, and so does the number of tables and indexes.
        PostgresServer.Query(connection, "INSERT INTO layerchop_membership_version (deployment_id, version) VALUES ('kept', 41)");
        var objects = PostgresServer.Query(connection, "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace").Single();

        // Four appliers at once (silos starting together): the advisory lock makes them take turns.
        var reports = Enumerable.Range(0, 4).AsParallel().Select(_ => SchemaInstaller.ApplyPostgres(connection)).ToList();
        foreach (var again in reports)
        {
            Assert.False(again.Changed);
            Assert.All(again.Components, c => Assert.Equal(SchemaInstaller.SchemaVersion, c.PreviousVersion));
            Assert.Equal(first.QueryKeys, again.QueryKeys);
        }
        Assert.Equal([41], PostgresServer.Query(connection, "SELECT version FROM layerchop_membership_version WHERE deployment_id = 'kept'"));
        Assert.Equal(objects, PostgresServer.Query(connection, "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace").Single());
        Assert.Equal([20L], PostgresServer.Query(connection, "SELECT count(*) FROM OrleansQuery"));
    }

    [Fact]
    public void Sqlite_schema_applies_to_a_new_file_then_again_concurrently_keeping_data()
    {
        var file = SqliteFiles.Create();

        var first = SchemaInstaller.ApplySqlite(file);
        Assert.Equal("persistence", Assert.Single(first.Components).Component);
        Assert.Null(first.Components[0].PreviousVersion);
        Assert.Equal(SchemaInstaller.SqliteQueryKeys.Order(StringComparer.Ordinal), first.QueryKeys);

        Sqlite(file, "INSERT INTO layerchop_grain_state (service_id, grain_type, grain_type_hash, grain_id_hash, grain_id_n0, grain_id_n1, version) VALUES ('kept', 's', 1, 2, 3, 4, 7)");
        var reports = Enumerable.Range(0, 4).AsParallel().Select(_ => SchemaInstaller.ApplySqlite($"Data Source={file}")).ToList();
        Assert.All(reports, r => Assert.False(r.Changed));
        Assert.Equal(7L, Sqlite(file, "SELECT version FROM layerchop_grain_state WHERE service_id = 'kept'"));
        Assert.Equal("wal", Sqlite(file, "PRAGMA journal_mode"));
    }

    [Fact]
    public void A_database_with_a_newer_schema_is_refused_and_left_alone()
    {
        var connection = server.CreateDatabase();
        SchemaInstaller.ApplyPostgres(connection);
        PostgresServer.Query(connection, "UPDATE layerchop_schema SET version = 99 WHERE component = 'reminders'");
        PostgresServer.Query(connection, "UPDATE OrleansQuery SET QueryText = 'from the future' WHERE QueryKey = 'ReadReminderRowKey'");

        var e = Assert.Throws<LayerChopException>(() => SchemaInstaller.ApplyPostgres(connection));
        Assert.Contains("newer LayerChop schema (reminders 99)", e.Message);
        Assert.Equal(["from the future"], PostgresServer.Query(connection, "SELECT QueryText FROM OrleansQuery WHERE QueryKey = 'ReadReminderRowKey'"));

        var file = SqliteFiles.Create();
        SchemaInstaller.ApplySqlite(file);
        Sqlite(file, "UPDATE layerchop_schema SET version = 5");
        Assert.Contains("newer LayerChop schema (persistence 5)", Assert.Throws<LayerChopException>(() => SchemaInstaller.ApplySqlite(file)).Message);
    }

    [Fact]
    public void Unreachable_or_wrong_databases_give_one_clear_line()
    {
        var refused = Assert.Throws<LayerChopException>(() => SchemaInstaller.ApplyPostgres("Host=127.0.0.1;Port=1;Username=postgres;Database=x"));
        Assert.Contains("cannot reach PostgreSQL database x at 127.0.0.1:1", refused.Message);
        Assert.Contains("deploy/postgres.sh start", refused.Message);

        var missing = Assert.Throws<LayerChopException>(() => SchemaInstaller.ApplyPostgres(
            new Npgsql.NpgsqlConnectionStringBuilder(server.ConnectionString) { Database = "layerchop_no_such_database" }.ConnectionString));
        Assert.Contains("database \"layerchop_no_such_database\" does not exist", missing.Message);

        var notSqlite = Path.Combine(Path.GetDirectoryName(SqliteFiles.Create())!, "text.db");
        File.WriteAllText(notSqlite, "this is not a database, it is a sentence that is long enough to be a header\n");
        Assert.Contains("not a SQLite database", Assert.Throws<LayerChopException>(() => SchemaInstaller.ApplySqlite(notSqlite)).Message);

        Assert.All(new[] { refused.Message, missing.Message }, m => Assert.DoesNotContain('\n', m));
    }

    static object? Sqlite(string file, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={file}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
