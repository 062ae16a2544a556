using System.Runtime.InteropServices;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LayerChop.FaultHarness;

/// <summary>One injected fault: what, where, when, and which candidates were running on the hosts it hit.</summary>
public sealed record Fault(string Kind, IReadOnlyList<NetHost> Hosts, DateTime Utc, IReadOnlyList<Sighting> Victims)
{
    /// <summary>When the fault was over (hosts restarting, link back, database back).</summary>
    public DateTime EndUtc { get; set; }
    /// <summary>Per candidate it hit while healing: the newest checkpoint on the shared storage when it struck (step, written at).</summary>
    public Dictionary<string, (long Step, DateTime Utc)> LastCheckpoints { get; } = [];
    /// <summary>The silos the fault hit, as "address:port@generation" keys of the membership table.</summary>
    public List<(string Address, int Port, int Generation)> Silos { get; } = [];
}

public sealed record Check(string Name, bool Passed, string Detail);

public sealed class Harness(Options options)
{
    const string Sweep = "faults";
    const int CheckpointEvery = 20;
    /// <summary>Healing steps per candidate: long enough that a cut-off worker is still healing when the cluster moves its candidate.</summary>
    int HealSteps => options.Steps;
    readonly Random random = new(options.Seed);
    readonly DateTime began = DateTime.UtcNow;
    string repo = "", layerchop = "", connection = "", model = "", corpus = "", tasks = "";
    /// <summary>The running sweep's output folder.</summary>
    string? output;
    TestNetwork? network;

    void Say(string line) => Console.Error.WriteLine($"[{(DateTime.UtcNow - began).TotalSeconds,6:F1}s] {line}");

    public async Task<Report> Run()
    {
        Preflight();
        Directory.CreateDirectory(options.Out);
        Say($"seed {options.Seed}; scenarios {string.Join(",", options.Scenarios)}; {options.Hosts} hosts of {options.Slots} slot(s); {2 * options.Seeds} candidates of {options.Steps} healing steps; " +
            $"membership: probe timeout {options.ProbeTimeoutS} s, {options.MissedProbes} missed probes; output {options.Out}");
        TestNetwork.RemoveLeftovers();
        using var cleanup = new Cleanup(this);
        network = TestNetwork.Create(options.Hosts, options.Subnet);
        Say($"network: bridge {network.Bridge} {network.Gateway}/24; hosts {string.Join(", ", network.Hosts.Select(h => $"{h.Name}={h.Address} (netns {h.Namespace})"))}");
        try
        {
            connection = Postgres("start");
            Say($"PostgreSQL: {connection}");
            Layerchop(TimeSpan.FromMinutes(1), "db", "init", connection);
            PrepareInputs();

            var report = new Report
            {
                Seed = options.Seed, Hosts = options.Hosts, Candidates = 2 * options.Seeds, Steps = options.Steps,
                ProbeTimeoutS = options.ProbeTimeoutS, MissedProbes = options.MissedProbes,
            };
            var baseline = await RunSweep("baseline", null);
            report.Baseline = baseline;
            Say($"baseline: {baseline.Seconds:F0} s, {(baseline.Checks.All(c => c.Passed) ? "all checks hold" : "CHECKS FAILED")}");
            foreach (var scenario in options.Scenarios)
            {
                var run = await RunSweep(scenario, baseline);
                report.Scenarios.Add(run);
                Say($"{scenario}: {run.Seconds:F0} s ({run.Seconds / baseline.Seconds:F2}x), {run.Checks.Count(c => c.Passed)}/{run.Checks.Count} checks hold");
            }
            File.WriteAllText(Path.Combine(options.Out, "report.json"), report.ToJson());
            if (options.Json) Console.WriteLine(report.ToJson());
            else report.Print(Console.Out);
            return report;
        }
        finally
        {
            try { Postgres("stop"); } catch (HarnessException e) { Say($"stopping PostgreSQL: {e.Message}"); }
        }
    }

    /// <summary>Removes the network (and with it every process of the hosts) however the run ends.</summary>
    sealed class Cleanup : IDisposable
    {
        readonly Harness harness;
        readonly PosixSignalRegistration onInt, onTerm;

        public Cleanup(Harness harness)
        {
            this.harness = harness;
            void Stop(PosixSignalContext c)
            {
                harness.Say("interrupted: removing the network namespaces");
                harness.network?.Dispose();
                try { harness.Postgres("stop"); } catch (HarnessException) { }
            }
            onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
            onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
            AppDomain.CurrentDomain.ProcessExit += (_, _) => harness.network?.Dispose();
        }

        public void Dispose()
        {
            harness.network?.Dispose();
            onInt.Dispose();
            onTerm.Dispose();
        }
    }

    void Preflight()
    {
        if (!OperatingSystem.IsLinux()) throw new HarnessException("needs Linux (network namespaces)");
        if (Environment.UserName != "root" && geteuid() != 0) throw new HarnessException("needs root (ip netns add); run it with sudo");
        repo = FindRepo();
        layerchop = Path.Combine(repo, "src", "Client", "bin", "Release", "net10.0", "layerchop.dll");
        if (!File.Exists(layerchop)) throw new HarnessException($"{layerchop} is missing: build first (dotnet build LayerChop.sln -c Release)");
        if (!File.Exists(Path.Combine(repo, "tests", ".data", "brown", "cats.txt")))
            throw new HarnessException("tests/.data/brown is missing: run ./deploy/setup.sh (or tests/fetch-test-data.sh)");
        try { TestNetwork.Run("ip", "-V", check: true); }
        catch (System.ComponentModel.Win32Exception) { throw new HarnessException("the ip command (iproute2) is missing: apt-get install iproute2"); }
    }

    [System.Runtime.InteropServices.DllImport("libc")]
    static extern uint geteuid();

    static string FindRepo()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "LayerChop.sln"))) return dir.FullName;
        throw new HarnessException("cannot find the LayerChop repository above " + AppContext.BaseDirectory);
    }

    string Postgres(string command)
    {
        var info = new ProcessStartInfo("bash", [Path.Combine(repo, "deploy", "postgres.sh"), command, Path.Combine(options.Out, "pg")])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        info.Environment["LAYERCHOP_PG_PORT"] = options.PgPort.ToString(CultureInfo.InvariantCulture);
        info.Environment["LAYERCHOP_PG_LISTEN"] = network!.Gateway;
        info.Environment["LAYERCHOP_PG_TRUST"] = options.Subnet + ".0/24";
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new HarnessException($"deploy/postgres.sh {command} failed: {stderr.Trim().Split('\n').Last()}");
        return stdout.Result.Trim();
    }

    /// <summary>Runs a layerchop command on the root namespace (the client's side); its stdout.</summary>
    string Layerchop(TimeSpan within, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(layerchop);
        foreach (var a in args) info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(within))
        {
            p.Kill(entireProcessTree: true);
            throw new HarnessException($"layerchop {string.Join(' ', args.Take(2))} did not finish within {within.TotalSeconds:F0} s");
        }
        if (p.ExitCode != 0) throw new HarnessException($"layerchop {string.Join(' ', args.Take(2))} failed ({p.ExitCode}): {stderr.Result.Trim()}");
        return stdout.Result;
    }

    void PrepareInputs()
    {
        var inputs = Path.Combine(options.Out, "inputs");
        Directory.CreateDirectory(inputs);
        model = Path.Combine(inputs, "model");
        if (!File.Exists(Path.Combine(model, "config.json")))
            Layerchop(TimeSpan.FromMinutes(2), "model", "init", "--layers", "4", "--hidden", "32", "--heads", "4", "--intermediate", "64",
                "--vocab", "300", "--max-positions", "256", "--seed", "5", "--out", model);
        corpus = Path.Combine(inputs, "brown.jsonl");
        var documents = LayerChop.Engine.Data.BrownCorpus.Read(Path.Combine(repo, "tests", ".data", "brown")).Take(15)
            .Select(d => JsonSerializer.Serialize(new { text = d.Text }));
        File.WriteAllLines(corpus, documents);
        tasks = Path.Combine(inputs, "tasks");
        Directory.CreateDirectory(tasks);
        File.Copy(corpus, Path.Combine(tasks, "continuation.jsonl"), overwrite: true);
    }

    string WriteSpec(string folder)
    {
        var seeds = string.Join(", ", Enumerable.Range(1, options.Seeds));
        var spec = Path.Combine(folder, "sweep.yaml");
        File.WriteAllText(spec, $"""
            name: {Sweep}
            base_model: {model}
            data: [{corpus}]
            eval: {"{"} tasks: [continuation], task_dir: {tasks}, limit: 8 {"}"}
            grid: {"{"} remove: [1, 2], strategy: [input], heal_tokens: [{HealSteps * 128}], seed: [{seeds}] {"}"}
            train: {"{"} seq_len: 32, batch_tokens: 128, lr: 0.003, warmup_steps: 1, checkpoint_every: {CheckpointEvery} {"}"}
            latency: {"{"} prompt_tokens: 8, new_tokens: 8 {"}"}
            device: cpu
            max_attempts: 10
            output: {Path.Combine(folder, "out")}
            """);
        return spec;
    }

    /// <summary>
    /// The silo of <paramref name="silo"/>'s host, configured as an operator would: a config file per host (its
    /// address, ports, its CPU slots, the membership timings under test) and the connection in a 0600 file.
    /// </summary>
    string[] SiloArguments(SiloRunner silo, string clusterId, string folder)
    {
        var connectionFile = Path.Combine(folder, "connection");
        if (!File.Exists(connectionFile))
        {
            File.WriteAllText(connectionFile, connection + "\n");
            File.SetUnixFileMode(connectionFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        var config = new LayerChop.Silo.SiloConfig
        {
            ClusterId = clusterId, ConnectionFile = connectionFile,
            Advertise = silo.Host.Address, Listen = silo.Host.Address, Port = silo.Port, GatewayPort = silo.GatewayPort,
            Gpus = "0", CpuSlots = options.Slots, Threads = 1, Shared = folder,
            Web = SiloRunner.WebPort, WebBind = silo.Host.Address,
            Membership = new LayerChop.Silo.MembershipConfig { ProbeTimeoutS = options.ProbeTimeoutS, MissedProbesLimit = options.MissedProbes },
        };
        var file = Path.Combine(folder, $"silo-{silo.Host.Name}.json");
        File.WriteAllText(file, JsonSerializer.Serialize(config, ConfigFormat));
        return ["dotnet", layerchop, "silo", "--config", file];
    }

    /// <summary>The project's JSON format, leaving out the fields the harness does not set (they keep their defaults).</summary>
    static readonly JsonSerializerOptions ConfigFormat = new(LayerChop.Settings.JsonFormat.Indented)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    async Task<RunReport> RunSweep(string name, RunReport? baseline)
    {
        var folder = Path.Combine(options.Out, "runs", name);
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(Path.Combine(folder, "logs"));
        var spec = WriteSpec(folder);
        output = Path.Combine(folder, "out");
        var clusterId = $"faults-{options.Seed}-{name}-{Guid.NewGuid():N}"[..40];
        var silos = network!.Hosts.Select(h => new SiloRunner(h, s => SiloArguments(s, clusterId, folder), Path.Combine(folder, "logs", h.Name + ".log"), Say)).ToList();
        var run = new RunReport { Name = name };
        using var observer = new Observer(silos, connection, clusterId, Sweep);
        try
        {
            foreach (var s in silos) s.Start();
            var deadline = DateTime.UtcNow.AddSeconds(90);
            while (true)
            {
                try
                {
                    Layerchop(TimeSpan.FromSeconds(60), "sweep", "start", spec, "--cluster", connection, "--cluster-id", clusterId, "--connect-timeout", "20");
                    break;
                }
                catch (HarnessException e) when (DateTime.UtcNow < deadline)
                {
                    Say($"{name}: the cluster is not ready yet ({e.Message.Split('\n')[0]}); trying again");
                    await Task.Delay(2000);
                }
            }
            var started = DateTime.UtcNow;
            Say($"{name}: sweep submitted to cluster {clusterId}");
            observer.Start();
            var faults = name == "baseline" ? Task.CompletedTask : InjectFaults(name, silos, observer, run);
            var limit = started + TimeSpan.FromMinutes(options.Reduced ? 8 : 15);
            while (!observer.Finished && !faults.IsFaulted && DateTime.UtcNow < limit) await Task.Delay(1000);
            await faults;
            while (!observer.Finished && DateTime.UtcNow < limit) await Task.Delay(1000);
            run.Seconds = (DateTime.UtcNow - started).TotalSeconds;
            if (baseline is not null) run.Slowdown = run.Seconds / baseline.Seconds;
            var details = new Dictionary<string, JsonElement>();
            foreach (var id in observer.Now().Keys)
                if (await observer.Get($"/api/sweeps/{Sweep}/candidates/{id}") is { } detail) details[id] = detail;
            await observer.StopAsync();
            new Checker(run, observer, details, baseline, Path.Combine(folder, "out"), 2 * options.Seeds, CheckpointEvery, began).CheckAll();
            Say($"{name}: " + string.Join("; ", run.Checks.Select(c => $"{(c.Passed ? "ok" : "FAILED")} {c.Name}")));
            foreach (var failed in run.Checks.Where(c => !c.Passed)) Say($"{name}: FAILED {failed.Name}: {failed.Detail}");
            foreach (var failure in run.WorkerFailures) Say($"{name}: a worker failed by itself (not a fault; the sweep retried it): {failure}");
            return run;
        }
        finally
        {
            await Task.WhenAll(silos.Select(s => s.StopAsync(TimeSpan.FromSeconds(30))));
            foreach (var s in silos) s.Dispose();
        }
    }

    async Task InjectFaults(string scenario, List<SiloRunner> silos, Observer observer, RunReport run)
    {
        // The mixed scenario strikes once with every kind of fault, in a seeded order.
        var kinds = scenario == Options.Mixed
            ? (options.Reduced ? Options.ReducedFaultKinds : Options.FaultKinds).OrderBy(_ => random.Next()).ToList()
            : Enumerable.Repeat(scenario, options.Faults).ToList();
        Say($"{scenario}: faults to inject: {string.Join(", ", kinds)}");
        for (int i = 0; i < kinds.Count; i++)
        {
            // One fault at a time: the next lands once every host has one active silo again (a restarted host's old
            // silo declared dead) and healing is under way past a checkpoint, after a seeded pause.
            var ready = DateTime.UtcNow.AddMinutes(3);
            while (DateTime.UtcNow < ready && !observer.Finished && !(Settled(observer) && Healing(observer).Any(s => s.Step >= CheckpointEvery + 5)))
                await Task.Delay(500);
            if (observer.Finished) { Say($"{scenario}: the sweep finished before fault {i + 1} of {kinds.Count}"); return; }
            await Task.Delay(TimeSpan.FromSeconds(random.NextDouble() * 4));
            run.Faults.Add(await InjectOne(kinds[i], silos, observer));
        }
    }

    async Task<Fault> InjectOne(string kind, List<SiloRunner> silos, Observer observer)
    {
        var healing = Healing(observer).Where(s => s.Step >= CheckpointEvery + 5).ToList();
        var candidates = healing.Select(s => HostOf(s.Silo)).Distinct().Select(a => silos.First(s => s.Host.Address == a)).ToList();
        var target = candidates.Count > 0 ? candidates[random.Next(candidates.Count)] : silos[random.Next(silos.Count)];
        var now = observer.Now().Values.Where(s => s.Silo is not null).ToList();
        var onTarget = now.Where(s => HostOf(s.Silo) == target.Host.Address).ToList();
        Fault fault;
        void NoteCheckpoints()
        {
            foreach (var v in fault.Victims.Where(v => v.Stage == "healing"))
            {
                var folder = Path.Combine(output!, "candidates", v.Id, "healed", "checkpoints");
                var newest = Directory.Exists(folder) ? new DirectoryInfo(folder).GetDirectories("step-*").OrderBy(d => d.Name).LastOrDefault() : null;
                if (newest is not null && long.TryParse(newest.Name["step-".Length..], out long step))
                    fault.LastCheckpoints[v.Id] = (step, newest.LastWriteTimeUtc);
            }
        }
        switch (kind)
        {
            case "kill" or "new-ports":
                fault = new Fault(kind, [target.Host], DateTime.UtcNow, onTarget);
                RecordSilos(fault, observer);
                target.HoldRestart(DateTime.UtcNow.AddSeconds(5), kind == "new-ports" ? target.Port + 7 : null, kind == "new-ports" ? target.GatewayPort + 7 : null);
                NoteCheckpoints();
                var killed = TestNetwork.KillAll(target.Host);
                Say($"{kind}: kill -9 of {target.Host.Name} ({killed.Count} processes), running {Describe(fault.Victims)}; back in 5 s{(kind == "new-ports" ? $" on ports {target.Port}/{target.GatewayPort}" : "")}");
                fault.EndUtc = DateTime.UtcNow.AddSeconds(5);
                await Task.Delay(TimeSpan.FromSeconds(12));
                break;
            case "all-hosts":
                fault = new Fault(kind, silos.Select(s => s.Host).ToList(), DateTime.UtcNow, now);
                RecordSilos(fault, observer);
                foreach (var s in silos) s.HoldRestart(DateTime.UtcNow.AddSeconds(5));
                NoteCheckpoints();
                foreach (var s in silos) TestNetwork.KillAll(s.Host);
                Say($"all-hosts: kill -9 of every host, running {Describe(fault.Victims)}; back in 5 s");
                fault.EndUtc = DateTime.UtcNow.AddSeconds(5);
                await Task.Delay(TimeSpan.FromSeconds(15));
                break;
            case "postgres":
                fault = new Fault(kind, [], DateTime.UtcNow, []);
                Postgres("stop");
                var down = 8 + random.Next(5);
                Say($"postgres: stopped for {down} s, while running {Describe(now)}");
                await Task.Delay(TimeSpan.FromSeconds(down));
                Postgres("start");
                fault.EndUtc = DateTime.UtcNow;
                Say("postgres: back");
                await Task.Delay(TimeSpan.FromSeconds(5));
                break;
            case "partition" or "partition-silos":
                fault = new Fault(kind, [target.Host], DateTime.UtcNow, onTarget);
                RecordSilos(fault, observer);
                if (kind == "partition") TestNetwork.Cut(target.Host);
                else network!.CutFromHosts(target.Host);
                Say($"{kind}: {target.Host.Name} cut off from {(kind == "partition" ? "everything" : "the other hosts (PostgreSQL and the client still reachable)")}, " +
                    $"running {Describe(fault.Victims)}; until the cluster declares it dead, then 10 s more");
                var cutLimit = DateTime.UtcNow.AddSeconds(180);
                while (DateTime.UtcNow < cutLimit && !DeclaredDead(fault, observer)) await Task.Delay(500);
                var dead = DateTime.UtcNow;
                await Task.Delay(TimeSpan.FromSeconds(10));
                if (kind == "partition") TestNetwork.Reconnect(target.Host);
                else network!.ReconnectToHosts(target.Host);
                fault.EndUtc = DateTime.UtcNow;
                Say($"{kind}: {target.Host.Name} reconnected after {(fault.EndUtc - fault.Utc).TotalSeconds:F0} s (declared dead after {(dead - fault.Utc).TotalSeconds:F0} s)");
                await Task.Delay(TimeSpan.FromSeconds(5));
                break;
            default:
                throw new HarnessException($"unknown fault {kind}");
        }
        return fault;
    }

    /// <summary>Every host has exactly one active membership row, and none is joining or suspected dead meanwhile.</summary>
    bool Settled(Observer observer)
    {
        lock (observer.Members)
        {
            var rows = observer.Members.GroupBy(m => (m.Address, m.Port, m.Generation)).Select(g => g.Last()).ToList();
            return network!.Hosts.All(h => rows.Count(r => r.Address == h.Address && r.Status == 3) == 1)
                   && rows.All(r => r.Status is 3 or 6);   // 3: active, 6: dead (1 created, 2 joining, 4/5 leaving)
        }
    }

    static IEnumerable<Sighting> Healing(Observer observer) => observer.Now().Values.Where(s => s.Stage == "healing" && s.Silo is not null);

    /// <summary>The host address of a silo key ("10.231.7.12:11111@123456789").</summary>
    public static string? HostOf(string? silo) => silo?.TrimStart('S').Split(':')[0];

    static string Describe(IEnumerable<Sighting> sightings)
    {
        var list = sightings.Select(s => $"{s.Id} #{s.Attempt} ({s.Stage} step {s.Step})").ToList();
        return list.Count == 0 ? "nothing" : string.Join(", ", list);
    }

    /// <summary>The active membership rows of the fault's hosts at the moment it struck.</summary>
    static void RecordSilos(Fault fault, Observer observer)
    {
        lock (observer.Members)
            foreach (var row in observer.Members.GroupBy(m => (m.Address, m.Port, m.Generation)).Select(g => g.Last()))
                if (row.Status == 3 && fault.Hosts.Any(h => h.Address == row.Address)) fault.Silos.Add((row.Address, row.Port, row.Generation));
    }

    static bool DeclaredDead(Fault fault, Observer observer)
    {
        lock (observer.Members)
            return fault.Silos.Count > 0 && fault.Silos.All(s => observer.Members.Any(m => (m.Address, m.Port, m.Generation) == s && m.Status == 6));
    }
}
