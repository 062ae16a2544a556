using System.Data;
using System.Data.Common;
using LayerChop.Silo.Storage;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace LayerChop.Silo.Tests;

/// <summary>
/// The stored Orleans queries run directly, with parameters bound the way the ADO.NET providers bind them
/// (by name without prefix, same .NET types), for the rules and keys that a short cluster run does not
/// reach: stale versions that must change nothing, row reads, cleanup and deletion.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class QueryContractTests(PostgresServer server)
{
    static readonly DateTime Start = new(2030, 1, 2, 3, 4, 5, DateTimeKind.Utc);

    [Fact]
    public void Membership_changes_need_the_current_version_and_bump_it_by_one()
    {
        using var db = new NpgsqlConnection(SchemaInstaller.ApplyPostgres(server.CreateDatabase()).Database.ConnectionString);
        db.Open();
        var id = P("DeploymentId", "sweep-cluster");
        object?[] Silo(int port) => [P("Address", "10.0.0.1", DbType.AnsiString), P("Port", port), P("Generation", 7)];
        object?[] Insert(int port, int version) =>
        [
            id, .. Silo(port), P("SiloName", $"silo-{port}"), P("HostName", "gpu-host"), P("Status", 3), P("ProxyPort", port + 1),
            P("StartTime", Start), P("IAmAliveTime", Start), P("Version", version),
        ];
        object?[] Update(int port, int version, int status, string? suspects) =>
            [id, .. Silo(port), P("Status", status), P("SuspectTimes", suspects), P("IAmAliveTime", Start.AddMinutes(1)), P("Version", version)];
        int Version() => Convert.ToInt32(Rows(db, "MembershipReadAllKey", id)[0]["version"]);

        Assert.True(Bool(db, "InsertMembershipVersionKey", id));
        Assert.False(Bool(db, "InsertMembershipVersionKey", id));
        var empty = Assert.Single(Rows(db, "MembershipReadAllKey", id));
        Assert.Equal(0, Convert.ToInt32(empty["version"]));
        Assert.Null(empty["starttime"]);

        Assert.True(Bool(db, "InsertMembershipKey", Insert(11111, 0)));
        Assert.False(Bool(db, "InsertMembershipKey", Insert(11111, 1)));  // already there
        Assert.False(Bool(db, "InsertMembershipKey", Insert(11112, 0)));  // stale version
        Assert.Equal(1, Version());

        Assert.False(Bool(db, "UpdateMembershipKey", Update(11111, 0, 6, null)));   // stale version
        Assert.False(Bool(db, "UpdateMembershipKey", Update(11112, 1, 6, null)));   // no such silo
        Assert.Equal(1, Version());
        Assert.True(Bool(db, "UpdateMembershipKey", Update(11111, 1, 3, "10.0.0.2:11111@7,2030-01-02 03:04:05.000 GMT")));
        Assert.Equal(2, Version());

        Rows(db, "UpdateIAmAlivetimeKey", [id, .. Silo(11111), P("IAmAliveTime", Start.AddHours(1))]);
        Assert.Equal(2, Version());
        var row = Assert.Single(Rows(db, "MembershipReadRowKey", [id, .. Silo(11111)]));
        Assert.Equal(("10.0.0.1", 11111, 7, 3, 11112, "silo-11111", "gpu-host"),
            ((string)row["address"]!, (int)row["port"]!, (int)row["generation"]!, (int)row["status"]!, (int)row["proxyport"]!, (string)row["siloname"]!, (string)row["hostname"]!));
        Assert.Equal(Start.AddHours(1), ((DateTime)row["iamalivetime"]!).ToUniversalTime());
        Assert.Equal("10.0.0.2:11111@7,2030-01-02 03:04:05.000 GMT", row["suspecttimes"]);
        var absent = Assert.Single(Rows(db, "MembershipReadRowKey", [id, .. Silo(22222)]));
        Assert.Equal(2, Convert.ToInt32(absent["version"]));
        Assert.Null(absent["starttime"]);

        // A second silo, then gateways: Active ones with a proxy port only.
        Assert.True(Bool(db, "InsertMembershipKey", Insert(11113, 2)));
        Assert.True(Bool(db, "UpdateMembershipKey", Update(11113, 3, 6, null)));
        var gateways = Rows(db, "GatewaysQueryKey", id, P("Status", 3));
        Assert.Equal([11112], gateways.Select(g => (int)g["proxyport"]!));

        // Cleanup forgets the dead silo that is past the cutoff, keeps the active one and the version row.
        Rows(db, "CleanupDefunctSiloEntriesKey", id, P("IAmAliveTime", Start.AddMinutes(30)));
        Assert.Equal([11111], Rows(db, "MembershipReadAllKey", id).Select(r => (int)r["port"]!));
        Assert.Equal(4, Version());

        Rows(db, "DeleteMembershipTableEntriesKey", id);
        Assert.Empty(Rows(db, "MembershipReadAllKey", id));
    }

    [Fact]
    public void Persistence_delete_and_reminder_bulk_delete_follow_the_etag_rules()
    {
        using var pg = new NpgsqlConnection(SchemaInstaller.ApplyPostgres(server.CreateDatabase()).Database.ConnectionString);
        pg.Open();
        var sqliteTarget = SchemaInstaller.ApplySqlite(SqliteFiles.Create()).Database;
        using var sqlite = new SqliteConnection(sqliteTarget.ConnectionString);
        sqlite.Open();

        foreach (var db in new DbConnection[] { pg, sqlite })
        {
            object?[] Identity(int? version) =>
            [
                P("GrainIdHash", 17), P("GrainIdN0", 0L), P("GrainIdN1", 0L), P("GrainTypeHash", 23), P("GrainTypeString", "state"),
                P("GrainIdExtensionString", "sweep-9"), P("ServiceId", "svc"), P("GrainStateVersion", version),
            ];
            Assert.Equal(1, Convert.ToInt32(Rows(db, "WriteToStorageKey", [.. Identity(null), P("PayloadBinary", new byte[] { 1, 2 })]).Single()["newgrainstateversion"]));
            Assert.Empty(Rows(db, "WriteToStorageKey", [.. Identity(null), P("PayloadBinary", new byte[] { 3 })]));   // insert lost
            Assert.Empty(Rows(db, "WriteToStorageKey", [.. Identity(5), P("PayloadBinary", new byte[] { 3 })]));      // stale version
            Assert.Empty(Rows(db, "DeleteStorageKey", Identity(2)));
            Assert.NotEqual(1, Convert.ToInt32(Rows(db, "DeleteStorageKey", Identity(1)).Single().Values.First()));
            Assert.Empty(Rows(db, "ReadFromStorageKey", Identity(null)[..^1]));
        }

        object?[] Reminder(string grain, string name) =>
            [P("ServiceId", "svc"), P("GrainId", grain, DbType.AnsiString), P("ReminderName", name), P("StartTime", Start), P("Period", 60_000), P("GrainHash", -5)];
        Assert.Equal(0, Convert.ToInt32(Rows(pg, "UpsertReminderRowKey", Reminder("ticker/a", "r")).Single()["version"]));
        Rows(pg, "UpsertReminderRowKey", Reminder("ticker/b", "r"));
        Assert.Equal(2, Rows(pg, "ReadRangeRows2Key", P("ServiceId", "svc"), P("BeginHash", 0), P("EndHash", 0)).Count);
        Assert.Single(Rows(pg, "ReadRangeRows1Key", P("ServiceId", "svc"), P("BeginHash", -6), P("EndHash", -5)), r => (string)r["grainid"]! == "ticker/a");
        Rows(pg, "DeleteReminderRowsKey", P("ServiceId", "svc"));
        Assert.Empty(Rows(pg, "ReadRangeRows2Key", P("ServiceId", "svc"), P("BeginHash", 0), P("EndHash", 0)));
    }

    static DbParameter P(string name, object? value, DbType? type = null) => new NpgsqlParameter
    {
        ParameterName = name,
        Value = value ?? DBNull.Value,
        DbType = type ?? value switch
        {
            int => DbType.Int32, long => DbType.Int64, DateTime => DbType.DateTime, byte[] => DbType.Binary,
            null when name is "GrainStateVersion" => DbType.Int32,
            _ => DbType.String,
        },
    };

    static bool Bool(DbConnection db, string key, params object?[] parameters) =>
        Convert.ToBoolean(Rows(db, key, parameters).First().Values.Single());

    /// <summary>Runs the stored query text of <paramref name="key"/>; rows of all result sets, columns by lower-case name.</summary>
    static List<Dictionary<string, object?>> Rows(DbConnection db, string key, params object?[] parameters)
    {
        using var lookup = db.CreateCommand();
        lookup.CommandText = "SELECT QueryText FROM OrleansQuery WHERE QueryKey = @key";
        var keyParameter = lookup.CreateParameter();
        keyParameter.ParameterName = "key";
        keyParameter.Value = key;
        lookup.Parameters.Add(keyParameter);
        var text = (string)lookup.ExecuteScalar()!;

        using var command = db.CreateCommand();
        command.CommandText = text;
        foreach (DbParameter p in parameters.Cast<DbParameter>())
        {
            var copy = command.CreateParameter();
            copy.ParameterName = p.ParameterName;
            copy.DbType = p.DbType;
            copy.Value = p.Value;
            command.Parameters.Add(copy);
        }
        var rows = new List<Dictionary<string, object?>>();
        using var reader = command.ExecuteReader();
        do
        {
            while (reader.Read())
            {
                var row = new Dictionary<string, object?>();
                for (var i = 0; i < reader.FieldCount; i++)
                    row[reader.GetName(i).ToLowerInvariant()] = reader.IsDBNull(i) ? null : reader.GetValue(i);
                rows.Add(row);
            }
        } while (reader.NextResult());
        return rows;
    }
}
