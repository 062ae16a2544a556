namespace LayerChop.Interfaces;

/// <summary>
/// The worker slots of one silo, as the cluster sees them: one grain per silo, keyed by the silo's address
/// (<c>SiloAddress.ToParsableString()</c>) and always activated on that silo. Coordinators reserve a slot here
/// before they place a candidate on the silo, so that no slot (no GPU) is ever given to two candidates.
/// </summary>
[Alias("layerchop.worker-host-grain")]
public interface IWorkerHostGrain : IGrainWithStringKey
{
    [Alias("slots"), Orleans.Concurrency.AlwaysInterleave] Task<SlotsView> GetSlots();

    /// <summary>
    /// Keeps a free slot for the candidate (key <see cref="SweepKeys.Candidate"/>) for a short while, until
    /// the candidate, activated on this silo, claims it. Returns the slot, or null when none is free.
    /// </summary>
    [Alias("reserve"), Orleans.Concurrency.AlwaysInterleave] Task<int?> Reserve(string candidate);

    /// <summary>Gives back a reservation the candidate did not use.</summary>
    [Alias("unreserve"), Orleans.Concurrency.AlwaysInterleave] Task CancelReservation(string candidate);
}

/// <summary>What one silo's slots are doing.</summary>
[GenerateSerializer, Alias("layerchop.slots-view")]
public sealed record SlotsView
{
    [Id(0)] public string Silo { get; init; } = "";
    [Id(1)] public bool Gpu { get; init; }
    /// <summary>Per slot, the candidate holding or reserving it; null when free.</summary>
    [Id(2)] public IReadOnlyList<string?> Holders { get; init; } = [];

    public int Capacity => Holders.Count;
    public int Free => Holders.Count(h => h is null);
}
