using LayerChop.Engine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Providers;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Storage;

namespace LayerChop.Silo.Storage;

/// <summary>How a silo keeps its state in a database.</summary>
public sealed class StorageOptions
{
    /// <summary>The database: a SQLite file (embedded mode) or PostgreSQL (cluster mode).</summary>
    public required DatabaseTarget Database { get; init; }

    /// <summary>
    /// Name of the grain storage provider. The default, "Default", serves every grain whose
    /// <c>[PersistentState]</c> names no storage.
    /// </summary>
    public string StorageName { get; init; } = ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME;

    /// <summary>Apply the schema scripts when the silo starts (idempotent; concurrent silos take turns).</summary>
    public bool ApplySchema { get; init; } = true;

    public static StorageOptions For(string connection) => new() { Database = DatabaseTarget.Parse(connection) };
}

/// <summary>
/// Silo and client configuration for LayerChop's databases: grain state on SQLite or PostgreSQL, and, on
/// PostgreSQL only, cluster membership and durable reminders. Each method also makes the silo apply the
/// schema (deploy/sql) at the very start of its lifecycle, before any Orleans provider reads its queries.
/// </summary>
public static class StorageSetup
{
    /// <summary>
    /// Grain persistence through Orleans' ADO.NET provider, with state written by the Orleans serializer.
    /// </summary>
    /// <remarks>
    /// Orleans' default grain storage format is Newtonsoft JSON with .NET type names inside, so renaming or
    /// moving a state type makes stored rows unreadable. The Orleans serializer writes fields by their
    /// <c>[Id]</c> and names types (where it must name them at all, e.g. a subtype in a field of a base
    /// type) by their <c>[Alias]</c>: state types must carry <c>[GenerateSerializer]</c>, <c>[Id]</c> on each
    /// member and a stable <c>[Alias]</c>, and can then be renamed, moved between namespaces, or gain new
    /// members without losing stored state.
    /// </remarks>
    public static ISiloBuilder AddLayerChopStorage(this ISiloBuilder builder, StorageOptions options)
    {
        var database = options.Database;
        builder.AddAdoNetGrainStorage(options.StorageName, optionsBuilder => optionsBuilder.Configure<IServiceProvider>((o, services) =>
        {
            o.Invariant = database.Invariant;
            o.ConnectionString = database.ConnectionString;
            o.GrainStorageSerializer = new OrleansGrainStorageSerializer(services.GetRequiredService<Serializer>());
        }));
        // A database error in a grain reaches its caller (another silo, the client) as itself. Orleans serializes
        // exceptions only from the namespaces it lists (Microsoft, which covers SQLite's, and System): PostgreSQL's
        // came as "Could not find a codec for type Npgsql.NpgsqlException" instead of the server's message.
        builder.Services.Configure<ExceptionSerializationOptions>(o => o.SupportedNamespacePrefixes.Add(typeof(Npgsql.NpgsqlException).Namespace!));
        if (options.ApplySchema) AddSchemaApplier(builder.Services, database);
        return builder;
    }

    /// <summary>Cluster membership in PostgreSQL (Orleans' ADO.NET clustering): silos find each other through the database.</summary>
    public static ISiloBuilder AddLayerChopClustering(this ISiloBuilder builder, StorageOptions options)
    {
        var database = RequirePostgres(options.Database, "cluster membership");
        builder.UseAdoNetClustering(o =>
        {
            o.Invariant = database.Invariant;
            o.ConnectionString = database.ConnectionString;
        });
        if (options.ApplySchema) AddSchemaApplier(builder.Services, database);
        return builder;
    }

    /// <summary>Durable reminders in PostgreSQL (Orleans' ADO.NET reminders); they survive a whole-cluster restart.</summary>
    public static ISiloBuilder AddLayerChopReminders(this ISiloBuilder builder, StorageOptions options)
    {
        var database = RequirePostgres(options.Database, "reminders");
        builder.AddReminders();
        builder.UseAdoNetReminderService(o =>
        {
            o.Invariant = database.Invariant;
            o.ConnectionString = database.ConnectionString;
        });
        if (options.ApplySchema) AddSchemaApplier(builder.Services, database);
        return builder;
    }

    /// <summary>A client that finds the cluster's gateways in PostgreSQL (the schema must be in place).</summary>
    public static IClientBuilder AddLayerChopClustering(this IClientBuilder builder, DatabaseTarget database)
    {
        RequirePostgres(database, "cluster membership");
        builder.UseAdoNetClustering(o =>
        {
            o.Invariant = database.Invariant;
            o.ConnectionString = database.ConnectionString;
        });
        return builder;
    }

    static DatabaseTarget RequirePostgres(DatabaseTarget database, string what) =>
        database.Kind == DatabaseKind.Postgres
            ? database
            : throw new LayerChopException($"{what} needs PostgreSQL; {database.Display} can hold grain state only");

    static void AddSchemaApplier(IServiceCollection services, DatabaseTarget database)
    {
        // One applier per database, however many providers use it.
        if (services.Any(s => s.ServiceType == typeof(SchemaApplierRegistration) && Equals(s.ImplementationInstance, new SchemaApplierRegistration(database))))
            return;
        services.AddSingleton(new SchemaApplierRegistration(database));
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp =>
            new SchemaApplier(database, sp.GetRequiredService<ILogger<SchemaApplier>>()));
    }

    sealed record SchemaApplierRegistration(DatabaseTarget Database);
}

/// <summary>Applies the schema to one database as the first step of a silo's start.</summary>
sealed class SchemaApplier(DatabaseTarget database, ILogger<SchemaApplier> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(SchemaApplier), ServiceLifecycleStage.First, ApplyAsync);

    async Task ApplyAsync(CancellationToken cancellationToken)
    {
        var report = await Task.Run(() => SchemaInstaller.Apply(database, cancellationToken), cancellationToken);
        logger.LogInformation("LayerChop schema on {Database}: {Components}", database.Display,
            string.Join(", ", report.Components.Select(c => $"{c.Component} {c.Outcome}")));
    }
}
