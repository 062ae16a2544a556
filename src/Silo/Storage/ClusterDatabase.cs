using LayerChop.Engine;
using Npgsql;

namespace LayerChop.Silo.Storage;

/// <summary>
/// What a cluster client reads in PostgreSQL itself, so that a client that finds no silo can say why: the server
/// is down, the database has no LayerChop tables, or no silo of that cluster is there.
/// </summary>
public static class ClusterDatabase
{
    /// <summary>Silo status Active in the membership table (Orleans' SiloStatus).</summary>
    const int Active = 3;

    /// <summary>Fails with one line when the database cannot be reached or has no membership table.</summary>
    public static void RequireSchema(DatabaseTarget database, TimeSpan timeout)
    {
        bool installed = Query(database, timeout,
            "SELECT to_regclass('layerchop_silo') IS NOT NULL AND to_regclass('orleansquery') IS NOT NULL", _ => { }) is true;
        if (!installed)
            throw new LayerChopException($"{database.Display} has no LayerChop tables: run `layerchop db init CONN` with the --cluster connection string first");
    }

    /// <summary>Fails with one line when the database cannot be reached (a silo creates the tables itself).</summary>
    public static void RequireReachable(DatabaseTarget database, TimeSpan timeout) => Query(database, timeout, "SELECT 1", _ => { });

    /// <summary>How many silos of the cluster the membership table lists as active.</summary>
    public static long ActiveSilos(DatabaseTarget database, string clusterId, TimeSpan timeout) =>
        Convert.ToInt64(Query(database, timeout, "SELECT count(*) FROM layerchop_silo WHERE deployment_id = @cluster AND status = @active",
            c => { c.Parameters.AddWithValue("cluster", clusterId); c.Parameters.AddWithValue("active", Active); }));

    static object? Query(DatabaseTarget database, TimeSpan timeout, string sql, Action<NpgsqlCommand> parameters)
    {
        if (database.Kind != DatabaseKind.Postgres)
            throw new LayerChopException($"a cluster keeps its membership in PostgreSQL; {database.Display} can hold grain state only");
        var builder = new NpgsqlConnectionStringBuilder(database.ConnectionString)
        {
            Timeout = Math.Max(1, (int)Math.Ceiling(timeout.TotalSeconds)),
            CommandTimeout = Math.Max(1, (int)Math.Ceiling(timeout.TotalSeconds)),
            Pooling = false,
        };
        try
        {
            using var connection = new NpgsqlConnection(builder.ConnectionString);
            connection.Open();
            using var command = new NpgsqlCommand(sql, connection);
            parameters(command);
            return command.ExecuteScalar();
        }
        catch (PostgresException e)
        {
            throw new LayerChopException(SchemaInstaller.Describe(database, e));
        }
        catch (NpgsqlException e)
        {
            throw new LayerChopException($"cannot reach {database.Display}: {SchemaInstaller.Innermost(e)} (is the PostgreSQL server running, and is --cluster right?)");
        }
    }
}
