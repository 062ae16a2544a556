using System.Diagnostics;

namespace LayerChop.FaultHarness;

/// <summary>
/// Silo hosts on one machine: each in its own Linux network namespace with its own address on a private
/// bridge, which also carries the root namespace's address (where PostgreSQL and the client are). A host is
/// cut off by taking its link down. Everything is removed by <see cref="Dispose"/>, and leftovers of a run that
/// died are removed by the next one (<see cref="RemoveLeftovers"/>).
/// </summary>
public sealed class TestNetwork : IDisposable
{
    /// <summary>Every name the harness creates starts with this (interfaces and namespaces).</summary>
    public const string NamePrefix = "lcf";
    readonly List<NetHost> hosts = [];
    bool disposed;

    public string Bridge { get; }
    public string Gateway { get; }
    public IReadOnlyList<NetHost> Hosts => hosts;

    TestNetwork(string tag, string subnet)
    {
        Bridge = $"{NamePrefix}{tag}br";
        Gateway = subnet + ".1";
    }

    /// <summary>Creates the bridge and <paramref name="count"/> hosts (10.231.N.11, .12, ...).</summary>
    public static TestNetwork Create(int count, string subnet)
    {
        var tag = (Environment.ProcessId % 10000).ToString("D4");
        var network = new TestNetwork(tag, subnet);
        try
        {
            Ip($"link add {network.Bridge} type bridge");
            Ip($"addr add {network.Gateway}/24 dev {network.Bridge}");
            Ip($"link set {network.Bridge} up");
            for (int i = 1; i <= count; i++)
            {
                var host = new NetHost($"{NamePrefix}{tag}h{i}", $"{subnet}.{10 + i}", i);
                network.hosts.Add(host);
                Ip($"netns add {host.Namespace}");
                // `ip netns exec` puts /etc/netns/NAME/* over /etc: a resolver with no name server answers at once,
                // where the machine's own name server (unreachable from the bridge) would stall every lookup.
                Directory.CreateDirectory(EtcFolder(host.Namespace));
                File.WriteAllText(Path.Combine(EtcFolder(host.Namespace), "resolv.conf"), "# a fault harness host: no name server\n");
                Ip($"link add {host.Link} type veth peer name {host.Link}p");
                Ip($"link set {host.Link}p netns {host.Namespace}");
                Ip($"-n {host.Namespace} link set {host.Link}p name eth0");
                Ip($"-n {host.Namespace} addr add {host.Address}/24 dev eth0");
                Ip($"-n {host.Namespace} link set eth0 up");
                Ip($"-n {host.Namespace} link set lo up");
                Ip($"-n {host.Namespace} route add default via {network.Gateway}");
                Ip($"link set {host.Link} master {network.Bridge}");
                Ip($"link set {host.Link} up");
            }
            return network;
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    static string EtcFolder(string name) => Path.Combine("/etc/netns", name);

    static void RemoveNamespace(string name)
    {
        Run("ip", $"netns del {name}", check: false);
        if (Directory.Exists(EtcFolder(name))) Directory.Delete(EtcFolder(name), recursive: true);
    }

    /// <summary>Cuts <paramref name="host"/> off from every other host, PostgreSQL and the client.</summary>
    public static void Cut(NetHost host) => Ip($"link set {host.Link} down");

    public static void Reconnect(NetHost host) => Ip($"link set {host.Link} up");

    /// <summary>
    /// Cuts <paramref name="host"/> off from the other hosts only: blackhole routes on both sides silently drop
    /// every packet between its address and theirs, while PostgreSQL and the client stay reachable.
    /// </summary>
    public void CutFromHosts(NetHost host)
    {
        foreach (var other in hosts.Where(h => h != host))
        {
            Ip($"-n {host.Namespace} route add blackhole {other.Address}/32");
            Ip($"-n {other.Namespace} route add blackhole {host.Address}/32");
        }
    }

    public void ReconnectToHosts(NetHost host)
    {
        foreach (var other in hosts.Where(h => h != host))
        {
            Ip($"-n {host.Namespace} route del blackhole {other.Address}/32");
            Ip($"-n {other.Namespace} route del blackhole {host.Address}/32");
        }
    }

    /// <summary>kill -9 of every process in the host's namespace (its silo and its workers); the ids killed.</summary>
    public static IReadOnlyList<int> KillAll(NetHost host)
    {
        var pids = Pids(host);
        foreach (var pid in pids)
            try { Process.GetProcessById(pid).Kill(); } catch (Exception e) when (e is ArgumentException or InvalidOperationException) { }
        return pids;
    }

    public static IReadOnlyList<int> Pids(NetHost host) =>
        Run("ip", $"netns pids {host.Namespace}", check: false).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => int.TryParse(l.Trim(), out int p) ? p : 0).Where(p => p > 0).ToList();

    /// <summary>Removes namespaces and links left by harness runs whose process is gone (a run killed mid-way).</summary>
    public static void RemoveLeftovers()
    {
        foreach (var line in Run("ip", "netns list", check: false).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = line.Split(' ')[0];
            if (!name.StartsWith(NamePrefix, StringComparison.Ordinal) || OwnedByLiveRun(name)) continue;
            var host = new NetHost(name, "", 0);
            KillAll(host);
            RemoveNamespace(name);
        }
        foreach (var line in Run("ip", "-o link show", check: false).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(':', 3);
            if (parts.Length < 2) continue;
            var name = parts[1].Trim().Split('@')[0];
            if (name.StartsWith(NamePrefix, StringComparison.Ordinal) && !OwnedByLiveRun(name)) Run("ip", $"link del {name}", check: false);
        }
    }

    /// <summary>Names carry the creating run's process id (mod 10000); a run whose id matches a live harness is left alone.</summary>
    static bool OwnedByLiveRun(string name)
    {
        var tag = name.Length >= NamePrefix.Length + 4 ? name.Substring(NamePrefix.Length, 4) : "";
        return Process.GetProcessesByName("layerchop-faults").Concat(Process.GetProcessesByName("dotnet"))
            .Any(p => p.Id != Environment.ProcessId && (p.Id % 10000).ToString("D4") == tag && IsHarness(p.Id))
            || (Environment.ProcessId % 10000).ToString("D4") == tag;
    }

    static bool IsHarness(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/cmdline").Contains("layerchop-faults", StringComparison.Ordinal); }
        catch (IOException) { return false; }
    }

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        foreach (var host in hosts)
        {
            KillAll(host);
            RemoveNamespace(host.Namespace);   // its end of the veth pair goes with it, and so does ours
            Run("ip", $"link del {host.Link}", check: false);
        }
        Run("ip", $"link del {Bridge}", check: false);
    }

    static void Ip(string args) => Run("ip", args, check: true);

    internal static string Run(string file, string args, bool check)
    {
        var info = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (check && p.ExitCode != 0) throw new HarnessException($"`{file} {args}` failed: {error.Trim()}");
        return output.Result;
    }
}

/// <summary>One silo host: its namespace, its address, and the link on the bridge whose state cuts it off.</summary>
public sealed record NetHost(string Namespace, string Address, int Number)
{
    /// <summary>The root side of the host's veth pair (same name as its namespace).</summary>
    public string Link => Namespace;
    public string Name => $"h{Number}";
}

/// <summary>A problem of the harness's own (setup, a missing tool): one line, exit code 2.</summary>
public sealed class HarnessException(string message) : Exception(message);
