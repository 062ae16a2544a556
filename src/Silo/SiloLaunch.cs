using System.Net;
using LayerChop.Engine;
using LayerChop.Grains.Workers;
using LayerChop.Silo.Storage;
using LayerChop.Silo.Web;

namespace LayerChop.Silo;

/// <summary>
/// A cluster silo's configuration once checked, before the silo joins anything: what
/// <see cref="SiloSetup.ClusterSilo"/> builds the silo from. Every refusal is one line that names the value
/// the way the user gave it (flag, variable or file field) and says what to do.
/// </summary>
public sealed record SiloLaunch
{
    /// <summary>The variable that holds the PostgreSQL connection string (the same one the client commands read).</summary>
    public const string ConnectionVariable = SiloConfigReader.Prefix + "CLUSTER";

    public required string Connection { get; init; }
    public required string ClusterId { get; init; }
    public required IPAddress Advertise { get; init; }
    public required IPAddress Listen { get; init; }
    public required int Port { get; init; }
    public required int GatewayPort { get; init; }
    public required WorkerOptions Workers { get; init; }
    public MembershipConfig Membership { get; init; } = new();
    public WebOptions? Web { get; init; }

    /// <summary>Checks <paramref name="loaded"/> and resolves it: GPUs, ports, the shared folder, the connection.</summary>
    /// <param name="clusterFlag">`--cluster` as given on the command line (null when not given).</param>
    /// <param name="environment">reads $LAYERCHOP_CLUSTER.</param>
    /// <param name="workerCommand">what starts a worker; by default this layerchop binary.</param>
    public static SiloLaunch Check(LoadedSiloConfig loaded, string? clusterFlag, Func<string, string?> environment, IReadOnlyList<string>? workerCommand = null)
    {
        var c = loaded.Config;
        string Named(string key, object? value) => loaded.Describe(key, value);

        if (string.IsNullOrWhiteSpace(c.ClusterId)) throw new LayerChopException($"{Named("cluster_id", "''")}: give the cluster a name");
        var advertise = Address(c.Advertise, Named("advertise", c.Advertise));
        var listen = Address(c.Listen, Named("listen", c.Listen));
        if (IPAddress.IsLoopback(listen) && !IPAddress.IsLoopback(advertise))
            throw new LayerChopException($"{Named("advertise", c.Advertise)} is another host's way in, but {Named("listen", c.Listen)} listens on loopback only, " +
                                         "so no other host could reach this silo: listen on 0.0.0.0 or on this host's address (--listen, LAYERCHOP_LISTEN or listen in the config file)");
        foreach (var (key, port) in new[] { ("port", c.Port), ("gateway_port", c.GatewayPort) })
            if (port is < 1 or > 65535) throw new LayerChopException($"{Named(key, port)}: give a port between 1 and 65535");
        if (c.Port == c.GatewayPort)
            throw new LayerChopException($"{Named("port", c.Port)} and {Named("gateway_port", c.GatewayPort)} are the same port: give two different ports");
        if (c.CpuSlots < 0) throw new LayerChopException($"{Named("cpu_slots", c.CpuSlots)}: give 0 or more CPU slots");
        if (c.SlotMemoryGib is <= 0) throw new LayerChopException($"{Named("slot_memory_gib", c.SlotMemoryGib)}: give a size above 0 GiB (or leave it out for the host's RAM divided by its CPU slots)");
        if (c.Threads < 0) throw new LayerChopException($"{Named("threads", c.Threads)}: give 0 (libtorch's default) or more threads");
        CheckMembership(c.Membership, Named);
        var devices = GpuDevices.Select(c.Gpus, Named("gpus", c.Gpus));
        if (c.Shared is { } shared) RequireWritableFolder(shared, Named("shared", shared));
        // A silo started on the address and port of a running one would take its place in the membership table,
        // and the running silo (with its workers) would be declared dead: refused before joining.
        foreach (var (key, port) in new[] { ("port", c.Port), ("gateway_port", c.GatewayPort) })
            if (!SiloSetup.CanListenOn(listen, port))
                throw new LayerChopException($"{Named(key, port)} is already in use on this host (another silo?); give a free port");
        var web = c.Web is { } webPort ? WebOptions.Checked(webPort, c.WebBind, Named("web", webPort), Named("web_bind", c.WebBind)) : null;
        return new SiloLaunch
        {
            Connection = ResolveConnection(loaded, clusterFlag, environment),
            ClusterId = c.ClusterId,
            Advertise = advertise,
            Listen = listen,
            Port = c.Port,
            GatewayPort = c.GatewayPort,
            Workers = WorkerOptions.ForHost(devices, c.CpuSlots, c.Threads, workerCommand, c.SlotMemoryGib),
            Membership = c.Membership,
            Web = web,
        };
    }

    static IPAddress Address(string text, string named) =>
        IPAddress.TryParse(text, out var address) ? address : throw new LayerChopException($"{named} is not an IP address");

    static void CheckMembership(MembershipConfig m, Func<string, object?, string> named)
    {
        foreach (var (key, value) in new (string, double?)[]
                 {
                     ("probe_timeout_s", m.ProbeTimeoutS), ("missed_probes_limit", m.MissedProbesLimit), ("votes_for_death", m.VotesForDeath),
                     ("i_am_alive_table_publish_s", m.IAmAliveTablePublishS), ("table_refresh_s", m.TableRefreshS), ("death_vote_expiration_s", m.DeathVoteExpirationS),
                 })
            if (value is <= 0) throw new LayerChopException($"{named("membership." + key, value)}: give a value above 0 (or leave it out for Orleans' default)");
    }

    /// <summary>
    /// The shared folder exists and this user can create a file in it: a host whose shared mount is missing
    /// refuses to join instead of failing every candidate it takes.
    /// </summary>
    static void RequireWritableFolder(string folder, string named)
    {
        if (!Path.IsPathFullyQualified(folder)) throw new LayerChopException($"{named}: give an absolute path, the same on every host");
        if (!Directory.Exists(folder)) throw new LayerChopException($"{named}: no such folder (is the shared storage mounted on this host?)");
        var probe = Path.Combine(folder, $".layerchop-write-check-{Environment.MachineName}-{Environment.ProcessId}");
        try
        {
            File.WriteAllText(probe, "");
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LayerChopException($"{named}: this user ({Environment.UserName}) cannot write there ({Cli(e.Message)}); give it write access");
        }
    }

    /// <summary>
    /// The PostgreSQL connection string, from the first of: `--cluster` (refused when it carries a password,
    /// which every user of the host can read in the process list), `--cluster-file`, $LAYERCHOP_CLUSTER, and
    /// connection_file from the variables or the file.
    /// </summary>
    static string ResolveConnection(LoadedSiloConfig loaded, string? clusterFlag, Func<string, string?> environment)
    {
        if (clusterFlag is not null)
        {
            if (DatabaseTarget.Parse(clusterFlag).HasPassword)
                throw new LayerChopException($"--cluster carries a password, which other users of this host can read on the command line: " +
                                             $"set {ConnectionVariable} instead, or put the connection string in a file (chmod 600 FILE) named by --cluster-file");
            return clusterFlag;
        }
        var file = loaded.Config.ConnectionFile;
        if (file is not null && loaded.IsFlag("connection_file")) return ReadConnectionFile(file, loaded.Describe("connection_file", file));
        if (environment(ConnectionVariable) is { Length: > 0 } fromVariable) return fromVariable;
        if (file is not null) return ReadConnectionFile(file, loaded.Describe("connection_file", file));
        throw new LayerChopException($"no cluster: set {ConnectionVariable} to the PostgreSQL connection string (Host=...;Username=...;Database=...), " +
                                     "or name a file holding it (chmod 600) with connection_file in the config file, LAYERCHOP_CONNECTION_FILE or --cluster-file");
    }

    static string ReadConnectionFile(string path, string named)
    {
        const UnixFileMode groupOrOthers = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
                                           | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
        if (!File.Exists(path)) throw new LayerChopException($"{named}: no such file");
        var mode = OperatingSystem.IsWindows() ? UnixFileMode.None : File.GetUnixFileMode(path);   // Windows ACLs are not checked
        if ((mode & groupOrOthers) != 0)
            throw new LayerChopException($"{named}: other users can open this file that holds the cluster's password (mode {Convert.ToString((int)mode, 8).PadLeft(4, '0')}): chmod 600 {path}");
        string text;
        try
        {
            text = File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LayerChopException($"{named}: cannot read it ({Cli(e.Message)}); the silo's user must own it");
        }
        if (text.Length == 0) throw new LayerChopException($"{named}: the file is empty: write the connection string (Host=...;Username=...;Password=...;Database=...) into it");
        return text;
    }

    static string Cli(string message) => message.Split('\n')[0].Trim();
}
