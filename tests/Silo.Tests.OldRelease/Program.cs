using LayerChop.Silo.Storage;
using LayerChop.Silo.Tests.OldRelease;
using Orleans.Runtime;
using Orleans.TestingHost;

// Usage: LayerChop.Silo.Tests.OldRelease SERVICE_ID GRAIN_KEY CONNECTION...
// Writes one "progress" state for grain progress/GRAIN_KEY into each database, the way the earlier
// release did, through a silo configured by StorageSetup.AddLayerChopStorage.
if (args.Length < 3)
{
    Console.Error.WriteLine("usage: LayerChop.Silo.Tests.OldRelease SERVICE_ID GRAIN_KEY CONNECTION...");
    return 2;
}
var (serviceId, key) = (args[0], args[1]);
foreach (var connection in args[2..])
{
    var builder = new InProcessTestClusterBuilder(1);
    builder.Options.ServiceId = serviceId;
    builder.Options.ConfigureFileLogging = false;
    builder.ConfigureSilo((_, silo) => silo.AddLayerChopStorage(StorageOptions.For(connection)));
    await using var cluster = builder.Build();
    await cluster.DeployAsync();
    var grain = cluster.Client.GetGrain<IOldProgressGrain>(GrainId.Create("progress", key));
    await grain.Save(new OldName
    {
        Phase = "healing",
        Step = 1234,
        Checkpoint = new OldCheckpoint { Path = "checkpoints/step-1234", Step = 1234 },
    });
}
return 0;

namespace LayerChop.Silo.Tests.OldRelease
{
    /// <summary>The progress state as the earlier release named it.</summary>
    [GenerateSerializer, Alias("layerchop.tests.progress")]
    public sealed class OldName
    {
        [Id(0)] public string Phase { get; set; } = "";
        [Id(1)] public long Step { get; set; }

        /// <summary>Declared as object, so the stored bytes must say which type the value has.</summary>
        [Id(2)] public object? Checkpoint { get; set; }
    }

    [GenerateSerializer, Alias("layerchop.tests.checkpoint")]
    public sealed class OldCheckpoint
    {
        [Id(0)] public string Path { get; set; } = "";
        [Id(1)] public long Step { get; set; }
    }

    [Alias("layerchop.tests.IOldProgressGrain")]
    public interface IOldProgressGrain : IGrainWithStringKey
    {
        Task Save(OldName progress);
    }

    [GrainType("progress")]
    public sealed class OldProgressGrain([PersistentState("progress")] IPersistentState<OldName> state) : Grain, IOldProgressGrain
    {
        public Task Save(OldName progress)
        {
            state.State = progress;
            return state.WriteStateAsync();
        }
    }
}
