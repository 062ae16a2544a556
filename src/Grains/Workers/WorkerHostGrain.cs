using LayerChop.Interfaces;
using Orleans.Concurrency;
using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.Placement;

namespace LayerChop.Grains.Workers;

/// <summary>The cluster's handle on this silo's <see cref="WorkerSupervisor"/>: activated only on the silo its key names.</summary>
[OnSiloOfKey, Reentrant]
public sealed class WorkerHostGrain(WorkerSupervisor supervisor, ILocalSiloDetails silo) : Grain, IWorkerHostGrain
{
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (this.GetPrimaryKeyString() != silo.SiloAddress.ToParsableString())
            throw new InvalidOperationException($"worker host {this.GetPrimaryKeyString()} activated on {silo.SiloAddress.ToParsableString()}");
        return Task.CompletedTask;
    }

    public Task<SlotsView> GetSlots() => Task.FromResult(supervisor.View());

    public Task Wake()
    {
        supervisor.Wake();
        return Task.CompletedTask;
    }

    public Task Stop(Lease lease)
    {
        supervisor.Stop(lease);
        return Task.CompletedTask;
    }
}

/// <summary>Places a grain on the silo whose address (<c>SiloAddress.ToParsableString()</c>) is its key.</summary>
[GenerateSerializer, Alias("layerchop.on-silo-of-key")]
public sealed class OnSiloOfKeyPlacement : PlacementStrategy
{
    public static readonly OnSiloOfKeyPlacement Instance = new();
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class OnSiloOfKeyAttribute() : PlacementAttribute(OnSiloOfKeyPlacement.Instance);

public sealed class OnSiloOfKeyPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var key = target.GrainIdentity.Key.ToString();
        var wanted = SiloAddress.FromParsableString(key);
        if (context.GetCompatibleSilos(target).Contains(wanted)) return Task.FromResult(wanted);
        throw new SiloUnavailableException($"silo {key} is not an active member of the cluster");
    }
}
