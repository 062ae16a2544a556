using System.Diagnostics;
using LayerChop.Silo.Storage;
using Npgsql;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace LayerChop.Silo.Tests;

/// <summary>
/// The PostgreSQL server the tests run against: $LAYERCHOP_PG, else the one deploy/postgres.sh starts.
/// Each test run works in databases of its own (layerchop_test_PID_N), dropped at the end, so every run
/// starts from an empty database and leaves the server as it found it.
/// </summary>
public sealed class PostgresServer : IDisposable
{
    /// <summary>What deploy/postgres.sh prints with its defaults.</summary>
    public const string DefaultConnection = "Host=127.0.0.1;Port=55432;Username=postgres;Database=layerchop";

    readonly List<string> created = [];
    static int next;

    public string ConnectionString { get; }

    public PostgresServer()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("LAYERCHOP_PG");
        ConnectionString = string.IsNullOrWhiteSpace(fromEnvironment) ? DefaultConnection : fromEnvironment;
        var display = DatabaseTarget.Postgres(ConnectionString).Display;
        try
        {
            using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(ConnectionString) { Timeout = 5 }.ConnectionString);
            connection.Open();
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            throw new InvalidOperationException(
                $"No PostgreSQL server for the tests: cannot connect to {display} ({e.Message}). Run `deploy/postgres.sh start` " +
                "(or set LAYERCHOP_PG to the connection string of a server where the user may create databases).", e);
        }
        DropLeftovers();
    }

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public string CreateDatabase()
    {
        var name = $"layerchop_test_{Environment.ProcessId}_{Interlocked.Increment(ref next)}";
        Admin($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        Admin($"CREATE DATABASE {name}");
        lock (created) created.Add(name);
        return new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name }.ConnectionString;
    }

    /// <summary>Runs one statement on the given database and returns the first column of every row.</summary>
    public static List<object?> Query(string connectionString, string sql, params (string Name, object? Value)[] parameters)
    {
        using var connection = new NpgsqlConnection(connectionString);
        connection.Open();
        using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        using var reader = command.ExecuteReader();
        var rows = new List<object?>();
        do
        {
            while (reader.Read()) rows.Add(reader.IsDBNull(0) ? null : reader.GetValue(0));
        } while (reader.NextResult());
        return rows;
    }

    public void Dispose()
    {
        NpgsqlConnection.ClearAllPools();
        lock (created)
            foreach (var name in created)
                Admin($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    }

    void Admin(string sql)
    {
        using var connection = new NpgsqlConnection(ConnectionString);
        connection.Open();
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }

    /// <summary>Drops the databases of earlier test runs whose process is gone (a run that was killed).</summary>
    void DropLeftovers()
    {
        var names = Query(ConnectionString, "SELECT datname FROM pg_database WHERE datname LIKE 'layerchop\\_test\\_%'");
        foreach (var name in names.OfType<string>())
        {
            var parts = name.Split('_');
            if (parts.Length == 4 && int.TryParse(parts[2], out var pid) && !Alive(pid))
                Admin($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        }
    }

    static bool Alive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "postgres";
}

/// <summary>Fresh SQLite files, in a folder of this test run that is removed when the run ends.</summary>
public static class SqliteFiles
{
    static readonly string RunFolder = Path.Combine(Path.GetTempPath(), "layerchop-silo-tests", $"run-{Environment.ProcessId}");

    static SqliteFiles() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(RunFolder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    };

    public static string Create()
    {
        var folder = Path.Combine(RunFolder, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        return Path.Combine(folder, "state.db");
    }
}
