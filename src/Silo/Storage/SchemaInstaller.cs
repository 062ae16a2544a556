using System.Data.Common;
using System.Net.Sockets;
using System.Reflection;
using LayerChop.Engine;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace LayerChop.Silo.Storage;

/// <summary>One part of the schema (clustering, persistence, reminders) before and after an apply.</summary>
/// <param name="Component">Part name, as recorded in the table layerchop_schema.</param>
/// <param name="PreviousVersion">The version found before applying; null when the part was absent.</param>
/// <param name="Version">The version after applying (<see cref="SchemaInstaller.SchemaVersion"/>).</param>
public sealed record SchemaComponent(string Component, int? PreviousVersion, int Version)
{
    public string Outcome => PreviousVersion switch
    {
        null => "created",
        var v when v == Version => "already in place",
        var v => $"upgraded from version {v}",
    };
}

/// <summary>What <see cref="SchemaInstaller"/> did to one database.</summary>
public sealed record SchemaReport(DatabaseTarget Database, IReadOnlyList<SchemaComponent> Components, IReadOnlyList<string> QueryKeys)
{
    public bool Changed => Components.Any(c => c.PreviousVersion != c.Version);
}

/// <summary>
/// Applies LayerChop's schema scripts (deploy/sql, embedded in this assembly) to PostgreSQL or SQLite.
/// The scripts are idempotent; applying them again replaces the Orleans query texts and keeps all data.
/// Concurrent appliers (several silos starting at once, or a silo and <c>layerchop db init</c>) take
/// turns: PostgreSQL through a transaction-scoped advisory lock, SQLite through BEGIN IMMEDIATE.
/// Each part's version is recorded in the table layerchop_schema; a database whose schema is newer than
/// this build is refused rather than rewritten with older query texts.
/// </summary>
public static class SchemaInstaller
{
    /// <summary>The version every part of the schema scripts in this build records.</summary>
    public const int SchemaVersion = 1;

    /// <summary>Key of the PostgreSQL advisory lock that serializes appliers (the bytes of "LayerChp").</summary>
    public const long AdvisoryLockKey = 0x4C61_7965_7243_6870;

    /// <summary>The Orleans query keys the PostgreSQL schema provides: clustering, persistence, reminders.</summary>
    public static readonly IReadOnlyList<string> PostgresQueryKeys =
    [
        "InsertMembershipVersionKey", "MembershipReadAllKey", "MembershipReadRowKey", "InsertMembershipKey",
        "UpdateMembershipKey", "UpdateIAmAlivetimeKey", "GatewaysQueryKey", "CleanupDefunctSiloEntriesKey",
        "DeleteMembershipTableEntriesKey",
        "ReadFromStorageKey", "WriteToStorageKey", "ClearStorageKey", "DeleteStorageKey",
        "UpsertReminderRowKey", "ReadReminderRowsKey", "ReadReminderRowKey", "ReadRangeRows1Key",
        "ReadRangeRows2Key", "DeleteReminderRowKey", "DeleteReminderRowsKey",
    ];

    /// <summary>The Orleans query keys the SQLite schema provides: persistence only.</summary>
    public static readonly IReadOnlyList<string> SqliteQueryKeys =
        ["ReadFromStorageKey", "WriteToStorageKey", "ClearStorageKey", "DeleteStorageKey"];

    const string ResourcePrefix = "LayerChop.Sql/";

    /// <summary>The schema scripts for one engine, in the order they are applied: (file name, text).</summary>
    public static IReadOnlyList<(string Name, string Sql)> Scripts(DatabaseKind kind)
    {
        var folder = ResourcePrefix + (kind == DatabaseKind.Postgres ? "postgres" : "sqlite") + "/";
        var assembly = typeof(SchemaInstaller).Assembly;
        var scripts = assembly.GetManifestResourceNames()
            .Select(name => (Resource: name, Normalized: name.Replace('\\', '/')))
            .Where(r => r.Normalized.StartsWith(folder, StringComparison.Ordinal))
            .OrderBy(r => r.Normalized, StringComparer.Ordinal)
            .Select(r => (r.Normalized[folder.Length..], Read(assembly, r.Resource)))
            .ToList();
        if (scripts.Count == 0)
            throw new InvalidOperationException($"no schema scripts embedded under {folder}: the build of LayerChop.Silo is broken");
        return scripts;
    }

    /// <summary>Applies the schema to the database, whichever engine it is.</summary>
    public static SchemaReport Apply(DatabaseTarget database, CancellationToken cancellationToken = default) =>
        database.Kind == DatabaseKind.Postgres
            ? ApplyPostgres(database, cancellationToken)
            : ApplySqlite(database, cancellationToken);

    /// <summary>Applies clustering, persistence and reminders to a PostgreSQL database (Npgsql connection string).</summary>
    public static SchemaReport ApplyPostgres(string connectionString, CancellationToken cancellationToken = default) =>
        ApplyPostgres(DatabaseTarget.Postgres(connectionString), cancellationToken);

    /// <summary>Applies grain persistence to a SQLite file (path or <c>Data Source=...</c>); creates the file and its folder if missing.</summary>
    public static SchemaReport ApplySqlite(string pathOrConnectionString, CancellationToken cancellationToken = default) =>
        ApplySqlite(DatabaseTarget.Sqlite(pathOrConnectionString), cancellationToken);

    static SchemaReport ApplyPostgres(DatabaseTarget database, CancellationToken cancellationToken)
    {
        RequireKind(database, DatabaseKind.Postgres);
        try
        {
            using var connection = new NpgsqlConnection(database.ConnectionString);
            connection.Open();
            using var transaction = connection.BeginTransaction();
            Execute(connection, transaction, $"SELECT pg_advisory_xact_lock({AdvisoryLockKey})", cancellationToken);
            var before = ReadVersions(connection, transaction, "SELECT to_regclass('layerchop_schema') IS NOT NULL", cancellationToken);
            RefuseNewer(database, before);
            foreach (var (_, sql) in Scripts(DatabaseKind.Postgres))
                Execute(connection, transaction, sql, cancellationToken);
            var report = Report(database, connection, transaction, before, cancellationToken);
            transaction.Commit();
            return report;
        }
        catch (PostgresException e)
        {
            throw new LayerChopException(Describe(database, e));
        }
        catch (NpgsqlException e)
        {
            throw new LayerChopException($"cannot reach {database.Display}: {Innermost(e)} (is the server running? deploy/postgres.sh start runs one here)");
        }
    }

    static SchemaReport ApplySqlite(DatabaseTarget database, CancellationToken cancellationToken)
    {
        RequireKind(database, DatabaseKind.Sqlite);
        var file = new SqliteConnectionStringBuilder(database.ConnectionString).DataSource;
        try
        {
            if (Directory.Exists(file))
                throw new LayerChopException($"{file} is a folder: give the path of a SQLite database file");
            var folder = Path.GetDirectoryName(file);
            if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);

            using var connection = new SqliteConnection(database.ConnectionString);
            connection.Open();
            // Write-ahead logging lets readers go on while one writer writes; the setting stays with the file.
            Execute(connection, null, "PRAGMA journal_mode=WAL", cancellationToken);
            using var transaction = connection.BeginTransaction(deferred: false);
            var before = ReadVersions(connection, transaction,
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'layerchop_schema'", cancellationToken);
            RefuseNewer(database, before);
            foreach (var (_, sql) in Scripts(DatabaseKind.Sqlite))
                Execute(connection, transaction, sql, cancellationToken);
            var report = Report(database, connection, transaction, before, cancellationToken);
            transaction.Commit();
            return report;
        }
        catch (SqliteException e)
        {
            var what = e.SqliteErrorCode switch
            {
                26 => "it is not a SQLite database",
                14 => "the file cannot be opened or created",
                8 => "the file is read-only",
                _ => Innermost(e),
            };
            throw new LayerChopException($"cannot apply the schema to {database.Display}: {what}");
        }
        catch (UnauthorizedAccessException e)
        {
            throw new LayerChopException($"cannot create {database.Display}: {e.Message}");
        }
    }

    static void RequireKind(DatabaseTarget database, DatabaseKind kind)
    {
        if (database.Kind != kind)
            throw new ArgumentException($"{database.Display} is not a {kind} database", nameof(database));
    }

    static void Execute(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        using var registration = cancellationToken.Register(command.Cancel);
        command.ExecuteNonQuery();
        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>Component name -> version, or an empty map when the version table does not exist yet.</summary>
    static Dictionary<string, int> ReadVersions(DbConnection connection, DbTransaction transaction, string tableExists, CancellationToken cancellationToken)
    {
        var versions = new Dictionary<string, int>(StringComparer.Ordinal);
        using var probe = connection.CreateCommand();
        probe.Transaction = transaction;
        probe.CommandText = tableExists;
        if (!Convert.ToBoolean(probe.ExecuteScalar()))
            return versions;
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT component, version FROM layerchop_schema";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            cancellationToken.ThrowIfCancellationRequested();
            versions[reader.GetString(0)] = Convert.ToInt32(reader.GetValue(1));
        }
        return versions;
    }

    static void RefuseNewer(DatabaseTarget database, Dictionary<string, int> versions)
    {
        var newer = versions.Where(v => v.Value > SchemaVersion).Select(v => $"{v.Key} {v.Value}").ToList();
        if (newer.Count > 0)
            throw new LayerChopException($"{database.Display} has a newer LayerChop schema ({string.Join(", ", newer)}) than this build ({SchemaVersion}): use a newer LayerChop");
    }

    static SchemaReport Report(DatabaseTarget database, DbConnection connection, DbTransaction transaction,
        Dictionary<string, int> before, CancellationToken cancellationToken)
    {
        var after = ReadVersions(connection, transaction, "SELECT 1", cancellationToken);
        var components = after
            .OrderBy(c => c.Key, StringComparer.Ordinal)
            .Select(c => new SchemaComponent(c.Key, before.TryGetValue(c.Key, out var v) ? v : null, c.Value))
            .ToList();
        var keys = new List<string>();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT QueryKey FROM OrleansQuery ORDER BY QueryKey";
        using var reader = command.ExecuteReader();
        while (reader.Read()) keys.Add(reader.GetString(0));
        return new SchemaReport(database, components, keys);
    }

    internal static string Describe(DatabaseTarget database, PostgresException e) => e.SqlState switch
    {
        "3D000" => $"{database.Display}: {e.MessageText} (create it first, e.g. createdb; deploy/postgres.sh start creates 'layerchop')",
        "28P01" or "28000" => $"{database.Display}: {e.MessageText} (check Username and Password)",
        "42501" => $"{database.Display}: {e.MessageText} (the user may not create tables there)",
        _ => $"{database.Display}: {e.MessageText} (SQLSTATE {e.SqlState})",
    };

    internal static string Innermost(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
            if (x is SocketException or TimeoutException || x.InnerException is null)
                return x.Message.Split('\n')[0].Trim();
        return e.Message.Split('\n')[0].Trim();
    }

    static string Read(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
