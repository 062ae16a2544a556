using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

namespace LayerChop.FaultHarness;

/// <summary>
/// The multi-host fault harness. It builds silo hosts in Linux network namespaces, one PostgreSQL and one client
/// on this machine, runs a tiny CPU sweep once without faults, then once per scenario with faults injected at
/// seeded random times, and checks each run: it completes; every candidate completes exactly once; no candidate
/// ever has two attempts running at once and no (host, slot) holds two attempts at once (by the attempt history
/// and by the workers' own start and stop records); results equal the fault-free run; healing resumed from
/// checkpoints; work on hosts that were not hit went on uninterrupted (a worker that failed by itself is listed
/// apart). It prints what it measured (detection time, time until a candidate runs elsewhere, steps lost,
/// slowdown) and writes report.json.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        Options options;
        try { options = Options.Parse(args); }
        catch (HarnessException e) { Console.Error.WriteLine($"layerchop-faults: {e.Message}"); return 2; }
        if (options.Help) { Console.WriteLine(Options.Usage); return 0; }
        try
        {
            var report = await new Harness(options).Run();
            return report.Passed ? 0 : 1;
        }
        catch (HarnessException e)
        {
            Console.Error.WriteLine($"layerchop-faults: {e.Message}");
            return 2;
        }
    }
}

public sealed record Options
{
    /// <summary>Every kind of fault; each is a scenario of its own, and <see cref="Mixed"/> strikes once with each.</summary>
    public static readonly string[] FaultKinds = ["kill", "new-ports", "all-hosts", "postgres", "partition", "partition-silos"];
    public const string Mixed = "mixed";
    /// <summary>The faults of the reduced (CI) form's mixed scenario: one host killed, the database restarted, both partitions.</summary>
    public static readonly string[] ReducedFaultKinds = ["kill", "postgres", "partition", "partition-silos"];
    public static readonly string[] AllScenarios = [.. FaultKinds, Mixed];
    public static readonly string[] ReducedScenarios = [Mixed];

    public int Seed { get; init; }
    public IReadOnlyList<string> Scenarios { get; init; } = AllScenarios;
    public bool Reduced { get; init; }
    public int Hosts { get; init; } = 3;
    /// <summary>CPU worker slots per silo (cpu_slots).</summary>
    public int Slots { get; init; } = 1;
    /// <summary>Candidates of the sweep: remove 1 or 2 layers, times this many seeds.</summary>
    public int Seeds { get; init; } = 6;
    public int Faults { get; init; } = 2;
    /// <summary>Healing steps per candidate (128 tokens each).</summary>
    public int Steps { get; init; } = 4000;
    /// <summary>The silos' membership timings (deploy/silo.example.json "membership"); Orleans' defaults are 5 s and 3.</summary>
    public double ProbeTimeoutS { get; init; } = 5;
    public int MissedProbes { get; init; } = 3;
    public string Out { get; init; } = "";
    public bool Json { get; init; }
    public bool Help { get; init; }
    public string Subnet { get; init; } = "10.231.7";
    public int PgPort { get; init; } = 55442;

    public const string Usage = """
        layerchop-faults: silo hosts in network namespaces, one PostgreSQL, seeded faults; checks that sweeps survive.
        Runs as root on Linux (ip netns). Build first: dotnet build LayerChop.sln -c Release.

        Usage: deploy/faults.sh [--seed N] [--reduced] [--scenarios LIST] [--hosts N] [--slots N] [--seeds N] [--faults N] [--steps N] [--probe-timeout S] [--missed-probes N] [--out DIR] [--json]

          --seed N         seed of every random choice (fault times, hosts); default: random, printed
          --reduced        the CI form: the fault-free run and the mixed scenario with kill, postgres,
                           partition and partition-silos only; 8 candidates of 3000 steps
          --scenarios L    comma-separated, from: kill, new-ports, all-hosts, postgres, partition, partition-silos,
                           mixed (one fault of each kind, in a seeded order); default: all of them
                           kill: kill -9 of a host's silo and workers, back on the same ports 5 s later
                           new-ports: the same, back on other ports
                           all-hosts: kill -9 of every host at once, all back 5 s later
                           postgres: PostgreSQL stopped for 8-12 s, then started again
                           partition: a host's link down until the cluster declares it dead, then 10 s more
                           partition-silos: the same, but only traffic between hosts is dropped; the host
                           still reaches PostgreSQL and the client
          --hosts N        silo hosts (default 3, at least 3)
          --slots N        CPU worker slots per silo (default 1)
          --seeds N        candidates = 2 x N (remove 1 or 2 layers, N seeds; default 6)
          --faults N       faults injected per single-kind scenario (default 2)
          --steps N        healing steps per candidate, 128 tokens each (default 4000)
          --probe-timeout S, --missed-probes N
                           the silos' membership.probe_timeout_s and missed_probes_limit (default 5 and 3,
                           Orleans' own); lower finds a dead host sooner and suspects a slow one sooner
          --out DIR        logs, sweep outputs and report.json (default /tmp/layerchop-faults-SEED)
          --json           print report.json on stdout instead of the summary
        Exit code: 0 when every check holds, 1 when one fails, 2 when the harness could not run.
        """;

    public static Options Parse(string[] args)
    {
        var o = new Options { Seed = Random.Shared.Next(1, 100000) };
        bool scenariosGiven = false, seedsGiven = false, faultsGiven = false, stepsGiven = false;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new HarnessException($"{args[i]} needs a value");
            int Number(string name) => int.TryParse(Next(), out int n) && n > 0 ? n : throw new HarnessException($"{name} takes a whole number above 0");
            switch (args[i])
            {
                case "--seed": o = o with { Seed = Number("--seed") }; break;
                case "--reduced": o = o with { Reduced = true }; break;
                case "--scenarios":
                    var list = Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    if (list.FirstOrDefault(s => !AllScenarios.Contains(s)) is { } bad)
                        throw new HarnessException($"unknown scenario '{bad}'; choose from {string.Join(", ", AllScenarios)}");
                    o = o with { Scenarios = list };
                    scenariosGiven = true;
                    break;
                case "--hosts": o = o with { Hosts = Number("--hosts") }; break;
                case "--slots": o = o with { Slots = Number("--slots") }; break;
                case "--seeds": o = o with { Seeds = Number("--seeds") }; seedsGiven = true; break;
                case "--faults": o = o with { Faults = Number("--faults") }; faultsGiven = true; break;
                case "--probe-timeout": o = o with { ProbeTimeoutS = Number("--probe-timeout") }; break;
                case "--missed-probes": o = o with { MissedProbes = Number("--missed-probes") }; break;
                case "--steps": o = o with { Steps = Number("--steps") }; stepsGiven = true; break;
                case "--out": o = o with { Out = Next() }; break;
                case "--json": o = o with { Json = true }; break;
                case "-h" or "--help": o = o with { Help = true }; break;
                default: throw new HarnessException($"unknown option '{args[i]}'; see --help");
            }
        }
        if (o.Hosts < 3) throw new HarnessException("--hosts: at least 3 (a death needs the votes of two others)");
        if (o.Reduced)
            o = o with
            {
                Scenarios = scenariosGiven ? o.Scenarios : ReducedScenarios, Seeds = seedsGiven ? o.Seeds : 4, Faults = faultsGiven ? o.Faults : 1,
                Steps = stepsGiven ? o.Steps : 3000,
            };
        return o with { Out = o.Out.Length > 0 ? Path.GetFullPath(o.Out) : $"/tmp/layerchop-faults-{o.Seed}" };
    }
}
