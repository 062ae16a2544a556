using System.Text.Json;
using Xunit;

namespace LayerChop.Client.Tests;

public class DbInitCommandTests
{
    [Fact]
    public void Init_creates_the_sqlite_schema_then_finds_nothing_to_change()
    {
        var file = Path.Combine(LayerChopProcess.TempFolder(), "state", "sweeps.db");

        var first = LayerChopProcess.Run("db", "init", file);
        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.Contains($"SQLite file {file}: schema version 1", first.Stdout);
        Assert.Contains("persistence  created", first.Stdout);
        Assert.True(File.Exists(file));

        var again = LayerChopProcess.Run("db", "init", $"Data Source={file}", "--json");
        Assert.True(again.ExitCode == 0, again.Stderr);
        using var doc = JsonDocument.Parse(again.Stdout);
        Assert.Equal("sqlite", doc.RootElement.GetProperty("kind").GetString());
        Assert.False(doc.RootElement.GetProperty("changed").GetBoolean());
        var component = Assert.Single(doc.RootElement.GetProperty("components").EnumerateArray());
        Assert.Equal("persistence", component.GetProperty("component").GetString());
        Assert.Equal(1, component.GetProperty("previous_version").GetInt32());
        Assert.Equal(4, doc.RootElement.GetProperty("query_keys").GetArrayLength());
    }

    [Fact]
    public void Init_applies_the_postgres_schema_idempotently()
    {
        // The server deploy/postgres.sh starts (or $LAYERCHOP_PG); its database 'layerchop' is LayerChop's own.
        var connection = Environment.GetEnvironmentVariable("LAYERCHOP_PG") is { Length: > 0 } fromEnvironment
            ? fromEnvironment
            : "Host=127.0.0.1;Port=55432;Username=postgres;Database=layerchop";
        var first = LayerChopProcess.Run("db", "init", connection);
        Assert.True(first.ExitCode == 0, $"db init failed: {first.Stderr} (is PostgreSQL running? deploy/postgres.sh start)");
        var again = LayerChopProcess.Run("db", "init", connection);
        Assert.True(again.ExitCode == 0, again.Stderr);
        Assert.Contains("clustering   already in place", again.Stdout);
        Assert.Contains("persistence  already in place", again.Stdout);
        Assert.Contains("reminders    already in place", again.Stdout);
        Assert.Contains("20 Orleans queries", again.Stdout);
        Assert.Contains("nothing to change", again.Stdout);
    }

    [Theory]
    [InlineData("Host=127.0.0.1;Port=1;Username=postgres;Database=layerchop", "cannot reach PostgreSQL database layerchop at 127.0.0.1:1")]
    [InlineData("Host=127.0.0.1;Bogus=1", "bad PostgreSQL connection string")]
    [InlineData("Frobnicate=1", "cannot tell the database")]
    public void Bad_or_unreachable_connections_fail_with_one_line(string connection, string expected) =>
        LayerChopProcess.AssertOneLineError(LayerChopProcess.Run("db", "init", connection), expected);

    [Fact]
    public void A_file_that_is_not_a_database_is_refused_and_left_alone()
    {
        var file = Path.Combine(LayerChopProcess.TempFolder(), "notes.txt");
        const string text = "not a database, just a line of text that is longer than a SQLite header\n";
        File.WriteAllText(file, text);
        LayerChopProcess.AssertOneLineError(LayerChopProcess.Run("db", "init", file), "it is not a SQLite database");
        Assert.Equal(text, File.ReadAllText(file));
    }
}
