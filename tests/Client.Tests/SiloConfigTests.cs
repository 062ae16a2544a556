using System.Text.Json.Nodes;
using LayerChop.Client.Commands;
using LayerChop.Engine;
using LayerChop.Grains.Workers;
using LayerChop.Silo;
using LayerChop.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Xunit;

namespace LayerChop.Client.Tests;

/// <summary>`layerchop silo`'s configuration: the file, the variables, the flags, and the refusals before joining.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public class SiloConfigTests
{
    static readonly string Example = Path.Combine(LayerChopProcess.RepoRoot, "deploy", "silo.example.json");
    static readonly string Guide = Path.Combine(LayerChopProcess.RepoRoot, "deploy", "README.md");

    /// <summary>Variables a test silo starts with: none of the caller's LAYERCHOP_* settings leak in.</summary>
    static Dictionary<string, string> CleanEnvironment(params (string Name, string Value)[] set)
    {
        var environment = SiloConfigReader.Fields.Select(f => f.Variable)
            .Append(SiloLaunch.ConnectionVariable).Append(SiloConfigReader.FileVariable)
            .ToDictionary(v => v, _ => "");
        foreach (var (name, value) in set) environment[name] = value;
        return environment;
    }

    static string WriteFile(string folder, string name, string text, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite)
    {
        var path = Path.Combine(folder, name);
        File.WriteAllText(path, text);
        File.SetUnixFileMode(path, mode);
        return path;
    }

    static LoadedSiloConfig Read(string? file, IReadOnlyDictionary<string, string> environment, params SiloConfigOverride[] flags) =>
        SiloConfigReader.Read(file, name => environment.GetValueOrDefault(name), flags);

    [Fact]
    public void A_variable_overrides_the_file_and_a_flag_overrides_both_field_by_field()
    {
        var folder = LayerChopProcess.TempFolder();
        var file = WriteFile(folder, "silo.json", """
            { "cluster_id": "from-file", "port": 12000, "gateway_port": 32000, "gpus": [0, 2], "listen": "0.0.0.0",
              "membership": { "probe_timeout_s": 2.5, "votes_for_death": 3 } }
            """);
        var environment = CleanEnvironment(("LAYERCHOP_PORT", "12001"), ("LAYERCHOP_GATEWAY_PORT", "32001"), ("LAYERCHOP_MEMBERSHIP_VOTES_FOR_DEATH", "4"));
        var loaded = Read(file, environment, new SiloConfigOverride("gateway_port", JsonValue.Create(32002), "--gateway-port"));
        var c = loaded.Config;

        Assert.Equal("from-file", c.ClusterId);                 // file only
        Assert.Equal(12001, c.Port);                            // variable over file
        Assert.Equal(32002, c.GatewayPort);                     // flag over variable over file
        Assert.Equal("[0,2]", c.Gpus);
        Assert.Equal("0.0.0.0", c.Listen);
        Assert.Equal(2.5, c.Membership.ProbeTimeoutS);
        Assert.Equal(4, c.Membership.VotesForDeath);
        Assert.Null(c.Membership.TableRefreshS);                // left out: Orleans' default
        Assert.Equal(new SiloConfig().Advertise, c.Advertise);  // given nowhere: the record's default
        Assert.Equal("LAYERCHOP_PORT=12001", loaded.Describe("port", c.Port));
        Assert.Equal("--gateway-port 32002", loaded.Describe("gateway_port", c.GatewayPort));
        Assert.Equal($"{file}: cluster_id from-file", loaded.Describe("cluster_id", c.ClusterId));

        // The same precedence in the real command, seen through the value it refuses.
        var configFile = WriteFile(folder, "bad.json", """{ "advertise": "from-file" }""");
        var env = CleanEnvironment(("LAYERCHOP_ADVERTISE", "from-variable"));
        LayerChopProcess.AssertOneLineError(LayerChopProcess.Run(env, "silo", "--config", configFile, "--gpus", "0"), "LAYERCHOP_ADVERTISE=from-variable is not an IP address");
        LayerChopProcess.AssertOneLineError(LayerChopProcess.Run(env, "silo", "--config", configFile, "--gpus", "0", "--advertise", "from-flag"), "--advertise from-flag is not an IP address");
        LayerChopProcess.AssertOneLineError(LayerChopProcess.Run(CleanEnvironment((SiloConfigReader.FileVariable, configFile)), "silo", "--gpus", "0"),
            $"{configFile}: advertise from-file is not an IP address");
    }

    [Fact]
    public void Every_field_has_a_variable_derived_from_its_name()
    {
        foreach (var field in SiloConfigReader.Fields)
            Assert.Equal("LAYERCHOP_" + field.Key.Replace('.', '_').ToUpperInvariant(), field.Variable);
        Assert.Contains(SiloConfigReader.Fields, f => f.Key == "gateway_port" && f.Variable == "LAYERCHOP_GATEWAY_PORT");
        Assert.Contains(SiloConfigReader.Fields, f => f.Key == "membership.i_am_alive_table_publish_s" && f.Variable == "LAYERCHOP_MEMBERSHIP_I_AM_ALIVE_TABLE_PUBLISH_S");
    }

    [Fact]
    public void A_connection_file_other_users_can_open_is_refused_with_chmod_600_and_a_private_one_is_read()
    {
        var folder = LayerChopProcess.TempFolder();
        var open = WriteFile(folder, "connection", "Host=127.0.0.1;Port=1;Username=x;Password=secret-word;Database=y",
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var r = LayerChopProcess.Run(CleanEnvironment(("LAYERCHOP_CONNECTION_FILE", open)), "silo", "--gpus", "0", "--slots", "0");
        LayerChopProcess.AssertOneLineError(r, $"chmod 600 {open}");
        Assert.Contains("LAYERCHOP_CONNECTION_FILE=", r.Stderr);
        Assert.DoesNotContain("secret-word", r.Stderr);

        var groupOnly = WriteFile(folder, "connection-group", "Host=127.0.0.1", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        LayerChopProcess.AssertOneLineError(LayerChopProcess.Run(CleanEnvironment(), "silo", "--gpus", "0", "--cluster-file", groupOnly), $"chmod 600 {groupOnly}");

        // 0600: read, and what it names is what the silo then tries to reach (nothing listens on port 1).
        var private600 = WriteFile(folder, "connection-600", "Host=127.0.0.1;Port=1;Username=x;Password=secret-word;Database=y\n");
        var reached = LayerChopProcess.Run(CleanEnvironment(), "silo", "--gpus", "0", "--slots", "0", "--cluster-file", private600,
            "--port", SiloSetup.FreePort().ToString(), "--gateway-port", SiloSetup.FreePort().ToString());
        LayerChopProcess.AssertOneLineError(reached, "cannot reach PostgreSQL database y at 127.0.0.1:1");
        Assert.DoesNotContain("secret-word", reached.Stderr);
    }

    [Fact]
    public void A_password_on_the_command_line_is_refused_pointing_to_the_variable_and_the_file()
    {
        foreach (var connection in new[] { "Host=127.0.0.1;Port=1;Username=x;Password=secret-word;Database=y", "postgres://x:secret-word@127.0.0.1:1/y" })
        {
            var r = LayerChopProcess.Run(CleanEnvironment(), "silo", "--cluster", connection, "--gpus", "0");
            LayerChopProcess.AssertOneLineError(r, "--cluster carries a password");
            Assert.Contains("LAYERCHOP_CLUSTER", r.Stderr);
            Assert.Contains("--cluster-file", r.Stderr);
            Assert.DoesNotContain("secret-word", r.Stderr);
        }
    }

    [Fact]
    public void An_unknown_field_a_bad_value_or_bad_JSON_is_refused_in_one_line_naming_it()
    {
        var folder = LayerChopProcess.TempFolder();
        void Refused(string json, string expected)
        {
            var file = WriteFile(folder, Guid.NewGuid().ToString("N") + ".json", json);
            var e = Assert.Throws<LayerChopException>(() => Read(file, CleanEnvironment()));
            Assert.Contains(expected, e.Message);
            LayerChopProcess.AssertOneLineError(LayerChopProcess.Run(CleanEnvironment(), "silo", "--config", file), expected);
        }
        Refused("""{ "port": 11111, "gpu": 2 }""", "unknown field 'gpu'");
        Refused("""{ "membership": { "probe_timeout": 2 } }""", "unknown field 'membership.probe_timeout'");
        Refused("""{ "port": "eleven" }""", "port \"eleven\": give a whole number");
        Refused("""{ "port": 1.5 }""", "port 1.5: give a whole number");
        Refused("""{ "membership": 3 }""", "membership is an object of fields");
        Refused("""{ "port": 11111, """, "not valid JSON at line 1");
        Refused("""[ "port" ]""", "a silo configuration is a JSON object of fields");
        // Read, then refused by the checks before the silo joins.
        foreach (var (json, expected) in new[]
                 {
                     ("""{ "gpus": "two" }""", "gpus two: give auto, a number of GPUs, or device indices like 0,2"),
                     ("""{ "membership": { "votes_for_death": 0 } }""", "membership.votes_for_death 0: give a value above 0"),
                 })
            LayerChopProcess.AssertOneLineError(LayerChopProcess.Run(CleanEnvironment(), "silo", "--config", WriteFile(folder, Guid.NewGuid().ToString("N") + ".json", json)), expected);
        LayerChopProcess.AssertOneLineError(LayerChopProcess.Run(CleanEnvironment(("LAYERCHOP_MEMBERSHIP_PROBE_TIMEOUT_S", "soon")), "silo"),
            "LAYERCHOP_MEMBERSHIP_PROBE_TIMEOUT_S=soon: give a number");
        LayerChopProcess.AssertOneLineError(LayerChopProcess.Run(CleanEnvironment(), "silo", "--config", Path.Combine(folder, "missing.json")),
            "missing.json: no such silo configuration file");
    }

    [Fact]
    public void A_loopback_listen_with_another_host_advertised_and_a_missing_shared_folder_are_refused_before_joining()
    {
        LayerChopProcess.AssertOneLineError(LayerChopProcess.Run(CleanEnvironment(), "silo", "--gpus", "0", "--advertise", "10.1.2.3"),
            "--advertise 10.1.2.3 is another host's way in, but listen 127.0.0.1 (the default) listens on loopback only");
        var missing = Path.Combine(LayerChopProcess.TempFolder(), "not-mounted");
        LayerChopProcess.AssertOneLineError(LayerChopProcess.Run(CleanEnvironment(("LAYERCHOP_SHARED", missing)), "silo", "--gpus", "0"),
            $"LAYERCHOP_SHARED={missing}: no such folder");
    }

    [Fact]
    public async Task Each_worker_slot_is_pinned_to_its_listed_device()
    {
        Assert.Equal(new[] { 0, 2 }, GpuDevices.Select("0,2", "gpus"));
        Assert.Equal(new[] { 1 }, GpuDevices.Select("[1]", "gpus"));
        Assert.Equal(new[] { 0, 1, 2 }, GpuDevices.Select("3", "gpus"));
        Assert.Empty(GpuDevices.Select("0", "gpus"));
        Assert.Contains("listed twice", Assert.Throws<LayerChopException>(() => GpuDevices.Select("1,1", "gpus")).Message);

        // A real worker process per slot: each sees only its own device in CUDA_VISIBLE_DEVICES.
        var folder = LayerChopProcess.TempFolder();
        // The worker: `sh -c SCRIPT worker JOBFILE` writes the device it was given beside its job file.
        var workers = WorkerOptions.ForHost([3, 1], cpuSlots: 5, cpuThreads: 0,
            command: ["sh", "-c", "printf %s \"$CUDA_VISIBLE_DEVICES\" > \"$(dirname \"$1\")/device\""]);
        Assert.Equal(2, workers.Slots);
        Assert.True(workers.Gpu);
        for (int slot = 0; slot < workers.Slots; slot++)
        {
            var job = new CandidateJob { Id = $"slot{slot}", BaseModel = folder, WorkDir = Path.Combine(folder, $"slot{slot}"), Attempt = 1 };
            using var process = WorkerProcess.Start(workers, job, slot);
            Assert.Equal(0, await process.WaitAsync());
            Assert.Equal(workers.Devices[slot].ToString(), File.ReadAllText(Path.Combine(job.WorkDir, "device")));
        }
    }

    [Fact]
    public void The_example_configuration_parses_and_names_every_field()
    {
        var text = File.ReadAllText(Example);
        var loaded = Read(Example, CleanEnvironment());
        foreach (var field in SiloConfigReader.Fields)
            Assert.True(text.Contains($"\"{field.Name}\":"), $"deploy/silo.example.json does not show {field.Key}");
        Assert.Equal("0.0.0.0", loaded.Config.Listen);
    }

    [Fact]
    public void Membership_timings_and_listed_devices_reach_the_silo_and_its_ports_listen_on_the_listen_address()
    {
        var loaded = Read(null, CleanEnvironment(("LAYERCHOP_MEMBERSHIP_PROBE_TIMEOUT_S", "2"), ("LAYERCHOP_MEMBERSHIP_MISSED_PROBES_LIMIT", "4")),
            new SiloConfigOverride("gpus", JsonValue.Create("1,3"), "--gpus"),
            new SiloConfigOverride("port", JsonValue.Create(SiloSetup.FreePort()), "--port"),
            new SiloConfigOverride("gateway_port", JsonValue.Create(SiloSetup.FreePort()), "--gateway-port"));
        var launch = SiloLaunch.Check(loaded, clusterFlag: "Host=127.0.0.1;Port=1;Username=x;Database=y", _ => null,
            workerCommand: [LayerChopProcess.DotnetHost, LayerChopProcess.Dll]);
        Assert.Equal(new[] { 1, 3 }, launch.Workers.Devices);   // worker slot i pinned to the i-th listed device
        Assert.Equal(2, launch.Workers.Slots);
        using var host = SiloSetup.ClusterSilo(launch);      // built, not started: nothing is joined

        var membership = host.Services.GetRequiredService<IOptions<ClusterMembershipOptions>>().Value;
        Assert.Equal(TimeSpan.FromSeconds(2), membership.ProbeTimeout);
        Assert.Equal(4, membership.NumMissedProbesLimit);
        Assert.Equal(new ClusterMembershipOptions().NumVotesForDeathDeclaration, membership.NumVotesForDeathDeclaration);
        Assert.Equal(new ClusterMembershipOptions().TableRefreshTimeout, membership.TableRefreshTimeout);

        var endpoints = host.Services.GetRequiredService<IOptions<EndpointOptions>>().Value;
        Assert.Equal(System.Net.IPAddress.Loopback, endpoints.SiloListeningEndpoint!.Address);
        Assert.Equal(System.Net.IPAddress.Loopback, endpoints.GatewayListeningEndpoint!.Address);
        Assert.Equal(launch.Port, endpoints.SiloListeningEndpoint.Port);
        Assert.Equal(launch.GatewayPort, endpoints.GatewayListeningEndpoint.Port);
    }

    [Fact]
    public void The_guide_lists_every_field_with_its_variable_flag_and_default_as_the_record_says()
    {
        var guide = File.ReadAllText(Guide);
        var expected = ConfigTable();
        Assert.True(guide.Contains(expected), "deploy/README.md's configuration table differs from SiloConfig; the table should read:\n" + expected);
    }

    /// <summary>The guide's table, rendered from the record (and Orleans' defaults for the membership fields).</summary>
    static string ConfigTable()
    {
        var lines = new List<string> { "| field | variable | flag | default | meaning |", "| --- | --- | --- | --- | --- |" };
        foreach (var field in SiloConfigReader.Fields)
        {
            var flag = SiloCommand.FieldFlags.FirstOrDefault(f => f.Key == field.Key).Flag;
            string value = field.Default switch
            {
                null => "unset",
                string s => $"`{s}`",
                double d when field.Section is not null => $"`{d:0.###}` (Orleans)",
                int i when field.Section is not null => $"`{i}` (Orleans)",
                var other => $"`{other}`",
            };
            lines.Add($"| `{field.Key}` | `{field.Variable}` | {(flag is null ? "none" : $"`{flag}`")} | {value} | {field.Description} |");
        }
        return string.Join("\n", lines);
    }
}
