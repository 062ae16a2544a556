using LayerChop.Engine;
using LayerChop.Silo.Storage;

namespace LayerChop.Silo.Tests;

/// <summary>How a CONNECTION argument is read; no database needed.</summary>
public sealed class DatabaseTargetTests
{
    [Theory]
    [InlineData("Host=db.example;Username=lc;Password=secret;Database=sweeps", DatabaseKind.Postgres, "PostgreSQL database sweeps at db.example:5432 as lc")]
    [InlineData("postgres://lc:secret@db.example:6543/sweeps", DatabaseKind.Postgres, "PostgreSQL database sweeps at db.example:6543 as lc")]
    [InlineData("Server=db.example;User ID=lc", DatabaseKind.Postgres, "PostgreSQL database lc at db.example:5432 as lc")]
    [InlineData("/var/lib/layerchop/state.db", DatabaseKind.Sqlite, "SQLite file /var/lib/layerchop/state.db")]
    [InlineData("Data Source=/var/lib/layerchop/state.db", DatabaseKind.Sqlite, "SQLite file /var/lib/layerchop/state.db")]
    public void Connection_arguments_are_recognized_and_shown_without_passwords(string argument, DatabaseKind kind, string display)
    {
        var target = DatabaseTarget.Parse(argument);
        Assert.Equal(kind, target.Kind);
        Assert.Equal(display, target.Display);
        Assert.DoesNotContain("secret", target.Display);
        if (argument.Contains("secret")) Assert.Contains("secret", target.ConnectionString);
    }

    [Theory]
    [InlineData("", "no database given")]
    [InlineData("Port=5432;Username=x", "cannot tell the database")]
    [InlineData("Host=h;Bogus=1", "bad PostgreSQL connection string")]
    [InlineData("Data Source=:memory:", "in-memory SQLite database keeps nothing")]
    [InlineData("Host=h;Port=notanumber", "bad PostgreSQL connection string")]
    public void Malformed_connection_arguments_are_refused(string argument, string expected) =>
        Assert.Contains(expected, Assert.Throws<LayerChopException>(() => DatabaseTarget.Parse(argument)).Message);
}
