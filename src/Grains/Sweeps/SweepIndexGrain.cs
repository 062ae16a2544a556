using LayerChop.Interfaces;

namespace LayerChop.Grains.Sweeps;

[GenerateSerializer, Alias("layerchop.sweep-index")]
public sealed record SweepIndex
{
    /// <summary>The unfinished sweeps.</summary>
    [Id(0)] public List<string> Names { get; init; } = [];
    /// <summary>Every sweep ever added, in order.</summary>
    [Id(1)] public List<string> All { get; init; } = [];
}

/// <summary>The cluster's sweeps and which of them are unfinished, persisted beside the sweeps themselves.</summary>
public sealed class SweepIndexGrain([PersistentState("index", StorageNames.Sweeps)] IPersistentState<SweepIndex> state)
    : Grain, ISweepIndexGrain
{
    public async Task Add(string sweep)
    {
        bool known = state.State.All.Contains(sweep, StringComparer.Ordinal);
        bool unfinished = state.State.Names.Contains(sweep, StringComparer.Ordinal);
        if (known && unfinished) return;
        if (!known) state.State.All.Add(sweep);
        if (!unfinished) state.State.Names.Add(sweep);
        await state.WriteStateAsync();
    }

    public async Task Remove(string sweep)
    {
        if (state.State.Names.Remove(sweep)) await state.WriteStateAsync();
    }

    public Task<IReadOnlyList<string>> GetNames() => Task.FromResult<IReadOnlyList<string>>(state.State.Names.ToArray());

    // Sweeps recorded by earlier releases, which kept only the unfinished ones, are listed too.
    public Task<IReadOnlyList<string>> GetAll() =>
        Task.FromResult<IReadOnlyList<string>>(state.State.All.Union(state.State.Names, StringComparer.Ordinal).ToArray());
}

/// <summary>
/// Runs when a silo starts: wakes every unfinished sweep of the cluster, so that they carry on from their
/// persisted state after a crash or a whole-cluster stop without anyone resubmitting them.
/// </summary>
public static class SweepWakeUp
{
    public static async Task Run(IGrainFactory grains, Microsoft.Extensions.Logging.ILogger log, CancellationToken cancel)
    {
        try
        {
            foreach (var name in await grains.GetGrain<ISweepIndexGrain>(0).GetNames())
                await grains.GetGrain<ISweepGrain>(name).Resume().WaitAsync(cancel);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A silo must start even when this fails; the sweeps then wake on their next call or reminder.
            Microsoft.Extensions.Logging.LoggerExtensions.LogWarning(log, "could not wake the cluster's sweeps: {Message}", e.Message);
        }
    }
}
