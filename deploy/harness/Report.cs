using System.Text.Json;
using System.Text.Json.Nodes;

namespace LayerChop.FaultHarness;

public sealed class RunReport
{
    public string Name { get; init; } = "";
    public double Seconds { get; set; }
    /// <summary>This run's time over the fault-free run's.</summary>
    public double? Slowdown { get; set; }
    public List<Fault> Faults { get; } = [];
    public List<Check> Checks { get; } = [];
    /// <summary>Per candidate: its sizes and scores, to compare with the fault-free run.</summary>
    public Dictionary<string, string> Results { get; } = [];
    /// <summary>From a fault to the membership row of each silo it hit turning Dead.</summary>
    public List<double> DetectionSeconds { get; } = [];
    /// <summary>From a fault to the next attempt's worker start of each candidate that ran on a hit host.</summary>
    public List<double> RerunSeconds { get; } = [];
    /// <summary>
    /// Work lost per candidate a kill hit while healing: seconds from its newest checkpoint on the shared storage
    /// (the one its next attempt resumes from) to the kill. Partitions lose none: the cut-off worker goes on.
    /// </summary>
    public List<double> LostSeconds { get; } = [];
    /// <summary>
    /// Attempts whose worker failed by itself (a crash, an error it reported) rather than being ended by the
    /// cluster: engine failures the sweep recovered from by retrying, listed apart from the fault checks.
    /// </summary>
    public List<string> WorkerFailures { get; } = [];

    public JsonObject ToJson() => new()
    {
        ["name"] = Name, ["seconds"] = Math.Round(Seconds, 1), ["slowdown"] = Slowdown is { } s ? Math.Round(s, 2) : null,
        ["faults"] = new JsonArray(Faults.Select(f => (JsonNode)new JsonObject
        {
            ["kind"] = f.Kind, ["hosts"] = new JsonArray(f.Hosts.Select(h => (JsonNode)JsonValue.Create(h.Name)!).ToArray()),
            ["utc"] = f.Utc, ["end_utc"] = f.EndUtc,
            ["victims"] = new JsonArray(f.Victims.Select(v => (JsonNode)new JsonObject
            {
                ["id"] = v.Id, ["attempt"] = v.Attempt, ["stage"] = v.Stage, ["step"] = v.Step,
            }).ToArray()),
        }).ToArray()),
        ["checks"] = new JsonArray(Checks.Select(c => (JsonNode)new JsonObject { ["name"] = c.Name, ["passed"] = c.Passed, ["detail"] = c.Detail }).ToArray()),
        ["detection_s"] = new JsonArray(DetectionSeconds.Select(x => (JsonNode)JsonValue.Create(x)).ToArray()),
        ["rerun_s"] = new JsonArray(RerunSeconds.Select(x => (JsonNode)JsonValue.Create(x)).ToArray()),
        ["lost_s"] = new JsonArray(LostSeconds.Select(x => (JsonNode)JsonValue.Create(x)).ToArray()),
        ["worker_failures"] = new JsonArray(WorkerFailures.Select(x => (JsonNode)JsonValue.Create(x)!).ToArray()),
    };
}

public sealed class Report
{
    public int Seed { get; init; }
    public int Hosts { get; init; }
    public int Candidates { get; init; }
    public int Steps { get; init; }
    public double ProbeTimeoutS { get; init; }
    public int MissedProbes { get; init; }
    public RunReport? Baseline { get; set; }
    public List<RunReport> Scenarios { get; } = [];

    public bool Passed => Baseline is not null && Baseline.Checks.All(c => c.Passed) && Scenarios.All(s => s.Checks.All(c => c.Passed));

    public string ToJson() => new JsonObject
    {
        ["seed"] = Seed, ["hosts"] = Hosts, ["candidates"] = Candidates, ["steps"] = Steps, ["passed"] = Passed,
        ["membership"] = new JsonObject { ["probe_timeout_s"] = ProbeTimeoutS, ["missed_probes_limit"] = MissedProbes },
        ["baseline"] = Baseline?.ToJson(),
        ["scenarios"] = new JsonArray(Scenarios.Select(s => (JsonNode)s.ToJson()).ToArray()),
    }.ToJsonString(new JsonSerializerOptions { WriteIndented = true });

    static string Spread<T>(IReadOnlyList<T> values) where T : IComparable<T> =>
        values.Count == 0 ? "-" : values.Count == 1 ? $"{values[0]}" : $"{values.Min()}..{values.Max()} (n={values.Count})";

    public void Print(TextWriter w)
    {
        w.WriteLine($"seed {Seed}, {Hosts} hosts, {Candidates} candidates of {Steps} steps, membership probe timeout {ProbeTimeoutS} s x {MissedProbes} missed; fault-free run {Baseline?.Seconds:F0} s");
        w.WriteLine($"{"scenario",-10} {"checks",7} {"time",7} {"slowdown",8} {"detect s",14} {"rerun s",14} {"lost s",14}");
        foreach (var s in (RunReport[])[Baseline!, .. Scenarios])
            w.WriteLine($"{s.Name,-10} {s.Checks.Count(c => c.Passed) + "/" + s.Checks.Count,7} {s.Seconds,6:F0}s {(s.Slowdown is { } x ? $"{x:F2}x" : "-"),8} " +
                        $"{Spread(s.DetectionSeconds),14} {Spread(s.RerunSeconds),14} {Spread(s.LostSeconds),14}");
        foreach (var s in (RunReport[])[Baseline!, .. Scenarios])
            foreach (var c in s.Checks.Where(c => !c.Passed))
                w.WriteLine($"FAILED {s.Name}: {c.Name}: {c.Detail}");
        foreach (var s in (RunReport[])[Baseline!, .. Scenarios])
            foreach (var f in s.WorkerFailures)
                w.WriteLine($"worker failed by itself (not a fault; the sweep retried it) in {s.Name}: {f}");
        w.WriteLine(Passed ? "every check holds" : "some checks failed");
    }
}
