namespace LayerChop.Interfaces;

/// <summary>
/// The handle the cluster has on one silo's worker supervisor: one grain per silo, keyed by the silo's address
/// (<c>SiloAddress.ToParsableString()</c>) and always activated on that silo. The supervisor owns the silo's
/// slots and worker processes and pulls work from the sweeps itself; this grain only tells it things.
/// </summary>
[Alias("layerchop.worker-host-grain")]
public interface IWorkerHostGrain : IGrainWithStringKey
{
    [Alias("slots"), Orleans.Concurrency.AlwaysInterleave] Task<SlotsView> GetSlots();

    /// <summary>There may be work: a free slot asks the sweeps for some now.</summary>
    [Alias("wake"), Orleans.Concurrency.AlwaysInterleave] Task Wake();

    /// <summary>Stops the worker of this lease, when it runs here (it checkpoints first; it is killed when slow).</summary>
    [Alias("stop"), Orleans.Concurrency.AlwaysInterleave] Task Stop(Lease lease);
}

/// <summary>What one silo's slots are doing.</summary>
[GenerateSerializer, Alias("layerchop.slots-view")]
public sealed record SlotsView
{
    [Id(0)] public string Silo { get; init; } = "";
    [Id(1)] public bool Gpu { get; init; }
    /// <summary>Per slot, the lease (candidate key and attempt) of the worker in it; null when free.</summary>
    [Id(2)] public IReadOnlyList<string?> Holders { get; init; } = [];
    /// <summary>Per slot, its memory in bytes: a GPU's total memory, a CPU slot's share; null where not known
    /// (such a slot takes any work). Empty from a silo of an earlier release.</summary>
    [Id(3)] public IReadOnlyList<long?> MemoryBytes { get; init; } = [];

    public int Capacity => Holders.Count;
    public int Free => Holders.Count(h => h is null);

    /// <summary>The memory of slot <paramref name="slot"/>; null when not known.</summary>
    public long? MemoryOf(int slot) => slot < MemoryBytes.Count ? MemoryBytes[slot] : null;
}
