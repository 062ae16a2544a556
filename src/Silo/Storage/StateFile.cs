using LayerChop.Engine;
using Microsoft.Data.Sqlite;

namespace LayerChop.Silo.Storage;

/// <summary>
/// An embedded sweep's state file (OUTPUT/state.db of `sweep run`) as queries open it: read-only. A file that is
/// not one is refused in one line and left as it was; a query reads a snapshot of it, taken through a read-only
/// connection, so that nothing it starts (the schema check, the grains' activation) can write to the user's file.
/// </summary>
public static class StateFile
{
    /// <summary>The tables every LayerChop state file holds (deploy/sql/sqlite).</summary>
    static readonly string[] Tables = ["layerchop_schema", "layerchop_grain_state", "OrleansQuery"];

    /// <summary>Throws one line unless <paramref name="file"/> is a LayerChop state file. Reads it read-only.</summary>
    /// <param name="option">how the command names it ("--state").</param>
    public static void Check(string file, string option)
    {
        if (Directory.Exists(file)) throw new LayerChopException($"{option} {file} is a folder; give OUTPUT/state.db of a `sweep run`");
        if (!File.Exists(file)) throw new LayerChopException($"{option} {file}: no such file (it is OUTPUT/state.db of a `sweep run`)");
        string? why;
        try
        {
            using var connection = Open(file);
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table'";
            var tables = new HashSet<string>(StringComparer.Ordinal);
            using (var reader = command.ExecuteReader())
                while (reader.Read()) tables.Add(reader.GetString(0));
            var missing = Tables.Where(t => !tables.Contains(t)).ToList();
            why = missing.Count == 0 ? null
                : tables.Count == 0 ? "it is an empty SQLite database" : $"it is a SQLite database without LayerChop's tables ({string.Join(", ", missing)})";
        }
        catch (SqliteException e)
        {
            why = e.SqliteErrorCode == 26 ? "it is not a SQLite database" : $"it cannot be read ({e.Message.Split('\n')[0]})";
        }
        if (why is not null) throw new LayerChopException($"{option} {file} is not a LayerChop state file: {why}; give OUTPUT/state.db of a `sweep run`");
    }

    /// <summary>A consistent copy of <paramref name="file"/> in a new temporary file, read through a read-only connection.</summary>
    public static string Snapshot(string file)
    {
        var copy = Path.Combine(Path.GetTempPath(), $"layerchop-state-{Guid.NewGuid():N}.db");
        using var source = Open(file);
        using (var destination = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = copy, Pooling = false }.ConnectionString))
        {
            destination.Open();
            source.BackupDatabase(destination);
        }
        return copy;
    }

    /// <summary>Deletes a snapshot with its journal files.</summary>
    public static void DeleteSnapshot(string copy)
    {
        SqliteConnection.ClearAllPools();
        foreach (var path in new[] { copy, copy + "-wal", copy + "-shm", copy + "-journal" })
            try { File.Delete(path); } catch (IOException) { }
    }

    // Read-only. A write-ahead-logged file that no one has open has no -wal or -shm beside it, and a read-only
    // connection would create them: it then opens the file as immutable, which creates nothing. With a -wal there
    // (a `sweep run` has it open), it reads the log too.
    static SqliteConnection Open(string file)
    {
        var full = Path.GetFullPath(file);
        var source = File.Exists(full + "-wal") ? full : "file:" + Uri.EscapeDataString(full).Replace("%2F", "/") + "?immutable=1";
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = source, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ConnectionString);
        connection.Open();
        return connection;
    }
}
