using System.ComponentModel;
using Orleans.Configuration;

namespace LayerChop.Silo;

/// <summary>
/// Everything a cluster silo is told, read by <see cref="SiloConfigReader"/> from a JSON file
/// (<c>layerchop silo --config FILE</c> or $LAYERCHOP_SILO_CONFIG), then from environment variables, then from
/// the command line's flags, each overriding the one before. Member names are the file's keys in snake_case;
/// each field's variable is LAYERCHOP_ and its name in upper case (a <see cref="Membership"/> field's also
/// carries MEMBERSHIP_). The descriptions below are what deploy/README.md's table says about each field.
/// </summary>
public sealed record SiloConfig
{
    [Description("Name of the cluster; every silo and client of one cluster gives the same")]
    public string ClusterId { get; init; } = "layerchop";

    [Description("A file holding the PostgreSQL connection string, readable by its owner only (chmod 600); $LAYERCHOP_CLUSTER, when set, wins over this field from the file or its variable (not over --cluster-file)")]
    public string? ConnectionFile { get; init; }

    [Description("The IP address other silos and clients reach this silo at")]
    public string Advertise { get; init; } = "127.0.0.1";

    [Description("The IP address the silo and gateway ports listen on: 127.0.0.1 (this host only), 0.0.0.0 (every interface) or one interface's address")]
    public string Listen { get; init; } = "127.0.0.1";

    [Description("Silo-to-silo port")]
    public int Port { get; init; } = 11111;

    [Description("Gateway port clients connect to")]
    public int GatewayPort { get; init; } = 30000;

    [Description("GPUs that run workers, one worker pinned to each: auto (every GPU nvidia-smi lists), a count N (devices 0..N-1), or device indices 0,2 (also [0,2]; one device: [1]); 0 runs CPU slots instead")]
    public string Gpus { get; init; } = "auto";

    [Description("CPU worker slots when the silo has no GPU (0: it runs no workers and only hosts coordinators)")]
    public int CpuSlots { get; init; } = 1;

    [Description("Memory of each CPU slot in GiB (fractions allowed); a slot takes only candidates whose planned peak fits; unset: the host's RAM divided by its CPU slots (a GPU slot has its device's total memory)")]
    public double? SlotMemoryGib { get; init; }

    [Description("Torch threads per CPU worker (0: libtorch's default)")]
    public int Threads { get; init; }

    [Description("The shared folder (the same absolute path on every host) that holds models, data, specs and sweep outputs; the silo refuses to start when it is missing or not writable; unset: no check")]
    public string? Shared { get; init; }

    [Description("Port of the live sweep pages, the sweep API and the Orleans dashboard; unset: no web port")]
    public int? Web { get; init; }

    [Description("The IP address the web port listens on")]
    public string WebBind { get; init; } = "127.0.0.1";

    [Description("How the cluster decides that a silo is dead (the fields below)")]
    public MembershipConfig Membership { get; init; } = new();
}

/// <summary>
/// Orleans' failure detector (ClusterMembershipOptions): shorter times detect a dead host sooner and risk
/// declaring a slow but live one dead. A field left out keeps Orleans' default (<see cref="OrleansDefaults"/>).
/// </summary>
public sealed record MembershipConfig
{
    [Description("Seconds a silo first waits for a probe's answer before it counts the probe as missed (Orleans then adapts the wait to the answer times it sees, between half and four times this)")]
    public double? ProbeTimeoutS { get; init; }

    [Description("Missed probes in a row after which a silo suspects the one it probes")]
    public int? MissedProbesLimit { get; init; }

    [Description("Suspicions (votes) that declare a silo dead")]
    public int? VotesForDeath { get; init; }

    [Description("Seconds between a silo's heartbeat writes to the membership table; an active row without one for twice this long counts as stale")]
    public double? IAmAliveTablePublishS { get; init; }

    [Description("Seconds between a silo's reads of the whole membership table")]
    public double? TableRefreshS { get; init; }

    [Description("Seconds after which a suspicion no longer counts toward a death")]
    public double? DeathVoteExpirationS { get; init; }

    /// <summary>What Orleans uses for a field left out.</summary>
    public static MembershipConfig OrleansDefaults { get; } = From(new ClusterMembershipOptions());

    static MembershipConfig From(ClusterMembershipOptions o) => new()
    {
        ProbeTimeoutS = o.ProbeTimeout.TotalSeconds, MissedProbesLimit = o.NumMissedProbesLimit, VotesForDeath = o.NumVotesForDeathDeclaration,
        IAmAliveTablePublishS = o.IAmAliveTablePublishTimeout.TotalSeconds, TableRefreshS = o.TableRefreshTimeout.TotalSeconds,
        DeathVoteExpirationS = o.DeathVoteExpirationTimeout.TotalSeconds,
    };

    /// <summary>Sets the fields given here on Orleans' options; the others keep Orleans' defaults.</summary>
    public void ApplyTo(ClusterMembershipOptions options)
    {
        if (ProbeTimeoutS is { } probe) options.ProbeTimeout = TimeSpan.FromSeconds(probe);
        if (MissedProbesLimit is { } missed) options.NumMissedProbesLimit = missed;
        if (VotesForDeath is { } votes) options.NumVotesForDeathDeclaration = votes;
        if (IAmAliveTablePublishS is { } alive) options.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(alive);
        if (TableRefreshS is { } refresh) options.TableRefreshTimeout = TimeSpan.FromSeconds(refresh);
        if (DeathVoteExpirationS is { } expiry) options.DeathVoteExpirationTimeout = TimeSpan.FromSeconds(expiry);
    }
}
