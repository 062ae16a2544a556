using System.Data.Common;
using LayerChop.Engine;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace LayerChop.Silo.Storage;

/// <summary>Which database engine holds LayerChop's Orleans tables.</summary>
public enum DatabaseKind
{
    /// <summary>A SQLite file: grain state of the embedded (single-machine) mode.</summary>
    Sqlite,

    /// <summary>A PostgreSQL database: membership, grain state and reminders of cluster mode.</summary>
    Postgres,
}

/// <summary>
/// A database as the user named it on the command line, normalized to the connection string that
/// Orleans' ADO.NET providers and <see cref="SchemaInstaller"/> use, plus a description that is safe to
/// print (no password).
/// </summary>
public sealed record DatabaseTarget
{
    DatabaseTarget(DatabaseKind kind, string connectionString, string display, bool hasPassword = false)
    {
        Kind = kind;
        ConnectionString = connectionString;
        Display = display;
        HasPassword = hasPassword;
    }

    public DatabaseKind Kind { get; }

    public string ConnectionString { get; }

    /// <summary>"PostgreSQL database layerchop at 127.0.0.1:55432 as postgres" or "SQLite file /abs/path.db".</summary>
    public string Display { get; }

    /// <summary>Whether the connection string carries a password (one that must not be given on a command line).</summary>
    public bool HasPassword { get; }

    /// <summary>The ADO.NET invariant name Orleans needs for this database.</summary>
    /// <remarks>
    /// For SQLite it must be "System.Data.SQLite": Orleans maps that name to Microsoft.Data.Sqlite's factory.
    /// The name "Microsoft.Data.Sqlite" passes Orleans' option validation and then fails at silo start.
    /// </remarks>
    public string Invariant => Kind == DatabaseKind.Postgres ? "Npgsql" : "System.Data.SQLite";

    public override string ToString() => Display;

    /// <summary>
    /// Reads what a user typed: a PostgreSQL connection string (<c>Host=...;Username=...</c>) or URL
    /// (<c>postgres://user@host:port/db</c>), a SQLite connection string (<c>Data Source=file.db</c>) or
    /// a plain SQLite file path.
    /// </summary>
    public static DatabaseTarget Parse(string connection)
    {
        var text = connection.Trim();
        if (text.Length == 0)
            throw new LayerChopException("no database given: pass a PostgreSQL connection string (Host=...;Username=...) or a SQLite file path");
        if (text.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
            return Postgres(FromUrl(text));
        if (!text.Contains('='))
            return Sqlite(text);

        var keys = new DbConnectionStringBuilder();
        try
        {
            keys.ConnectionString = text;
        }
        catch (ArgumentException e)
        {
            throw new LayerChopException($"not a connection string: {Cli(e.Message)} (PostgreSQL: Host=...;Username=...; SQLite: a file path or Data Source=FILE)");
        }
        bool Has(params string[] names) => names.Any(keys.ContainsKey);
        if (Has("host", "server"))
            return Postgres(text);
        if (Has("data source", "datasource", "filename"))
            return Sqlite(text);
        throw new LayerChopException("cannot tell the database from the connection string: give Host=... (PostgreSQL) or Data Source=... (SQLite)");
    }

    /// <summary>A PostgreSQL database named by an Npgsql connection string.</summary>
    public static DatabaseTarget Postgres(string connectionString)
    {
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException)
        {
            throw new LayerChopException($"bad PostgreSQL connection string: {Cli(e.Message)}");
        }
        if (string.IsNullOrWhiteSpace(builder.Host))
            throw new LayerChopException("bad PostgreSQL connection string: it names no Host");
        var database = string.IsNullOrEmpty(builder.Database) ? builder.Username ?? "(the user's default)" : builder.Database;
        var user = string.IsNullOrEmpty(builder.Username) ? "" : $" as {builder.Username}";
        return new DatabaseTarget(DatabaseKind.Postgres, builder.ConnectionString,
            $"PostgreSQL database {database} at {builder.Host}:{builder.Port}{user}", hasPassword: !string.IsNullOrEmpty(builder.Password));
    }

    /// <summary>A SQLite database file, by path or by <c>Data Source=...</c> connection string.</summary>
    public static DatabaseTarget Sqlite(string pathOrConnectionString)
    {
        SqliteConnectionStringBuilder builder;
        try
        {
            builder = pathOrConnectionString.Contains('=')
                ? new SqliteConnectionStringBuilder(pathOrConnectionString)
                : new SqliteConnectionStringBuilder { DataSource = pathOrConnectionString };
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException)
        {
            throw new LayerChopException($"bad SQLite connection string: {Cli(e.Message)}");
        }
        if (string.IsNullOrWhiteSpace(builder.DataSource))
            throw new LayerChopException("bad SQLite connection string: it names no Data Source file");
        if (builder.DataSource == ":memory:" || builder.Mode == SqliteOpenMode.Memory)
            throw new LayerChopException("an in-memory SQLite database keeps nothing: give a file path");
        builder.DataSource = Path.GetFullPath(builder.DataSource);
        // Several silos' providers and the installer share the file: wait on a lock instead of failing at once.
        if (builder.DefaultTimeout < 30) builder.DefaultTimeout = 30;
        return new DatabaseTarget(DatabaseKind.Sqlite, builder.ConnectionString, $"SQLite file {builder.DataSource}");
    }

    static string FromUrl(string url)
    {
        Uri uri;
        try
        {
            uri = new Uri(url);
        }
        catch (UriFormatException e)
        {
            throw new LayerChopException($"bad PostgreSQL URL: {e.Message}");
        }
        var builder = new NpgsqlConnectionStringBuilder { Host = uri.Host };
        if (!uri.IsDefaultPort && uri.Port > 0) builder.Port = uri.Port;
        if (uri.UserInfo.Length > 0)
        {
            var parts = uri.UserInfo.Split(':', 2);
            builder.Username = Uri.UnescapeDataString(parts[0]);
            if (parts.Length == 2) builder.Password = Uri.UnescapeDataString(parts[1]);
        }
        var database = uri.AbsolutePath.Trim('/');
        if (database.Length > 0) builder.Database = Uri.UnescapeDataString(database);
        return builder.ConnectionString;
    }

    static string Cli(string message) => message.Split('\n')[0].Trim();
}
