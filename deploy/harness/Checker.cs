using System.Text.Json;

namespace LayerChop.FaultHarness;

/// <summary>The checks every run must pass, and the figures it yields.</summary>
/// <param name="began">when the harness started: times in messages are seconds since then, as in its log.</param>
public sealed class Checker(RunReport run, Observer observer, IReadOnlyDictionary<string, JsonElement> details, RunReport? baseline,
    string output, int expected, int checkpointEvery, DateTime began)
{
    /// <summary>An attempt as the candidate's history has it.</summary>
    sealed record Attempt(string Candidate, int Number, string Outcome, string? Host, int Slot, DateTime Start, DateTime? End, string? Reason);

    string At(DateTime? utc) => utc is { } t ? $"{(t - began).TotalSeconds:F1}s" : "?";

    /// <summary>
    /// A worker that failed by itself: it crashed (its silo saw it die by a signal) or reported an error. The
    /// cluster did not end it, so it says nothing about the faults; the run lists it apart (an engine failure the
    /// sweep recovered from by retrying).
    /// </summary>
    static bool FailedByItself(Attempt a) => a.Outcome == "failed";

    /// <summary>A crashed worker writes no stop record; its silo saw the process die, and the history ends it then.</summary>
    static bool DiedBySignal(Attempt a) => a.Reason?.Contains(LayerChop.Worker.WorkerProtocol.KilledBySignal, StringComparison.Ordinal) == true;

    /// <summary>A worker process as its own start and stop records have it (a killed one: until the harness killed its host).</summary>
    sealed record WorkerRun(string Candidate, int Attempt, string? Host, int? Slot, DateTime Start, DateTime? End, string EndSource);

    public void CheckAll()
    {
        var attempts = details.SelectMany(d => d.Value.GetProperty("history").EnumerateArray().Select(a => new Attempt(d.Key,
            a.GetProperty("number").GetInt32(), a.GetProperty("outcome").GetString()!, Harness.HostOf(a.GetProperty("silo").GetString()),
            a.GetProperty("slot").GetInt32(), a.GetProperty("started_utc").GetDateTime().ToUniversalTime(),
            a.GetProperty("ended_utc").ValueKind == JsonValueKind.Null ? null : a.GetProperty("ended_utc").GetDateTime().ToUniversalTime(),
            a.TryGetProperty("reason", out var reason) && reason.ValueKind == JsonValueKind.String ? reason.GetString() : null))).ToList();
        var workers = details.Keys.SelectMany(id => WorkerRuns(id, attempts)).ToList();
        foreach (var (id, d) in details) run.Results[id] = Fingerprint(d);

        Completes();
        ExactlyOnce(attempts);
        NoOverlap("no candidate ran two attempts at once (history)", attempts.GroupBy(a => a.Candidate), a => (a.Start, a.End), a => $"#{a.Number} on {a.Host}#{a.Slot}");
        NoOverlap("no candidate ran two workers at once (workers' own records)", workers.GroupBy(w => w.Candidate), w => (w.Start, w.End), w => $"#{w.Attempt} on {w.Host}#{w.Slot} ({w.EndSource})");
        NoOverlap("no (host, slot) held two attempts at once (history)", attempts.GroupBy(a => $"{a.Host}#{a.Slot}"), a => (a.Start, a.End), a => $"{a.Candidate} #{a.Number}");
        NoOverlap("no (host, slot) ran two workers at once (workers' own records)", workers.Where(w => w.Slot is not null).GroupBy(w => $"{w.Host}#{w.Slot}"), w => (w.Start, w.End), w => $"{w.Candidate} #{w.Attempt}");
        var stopped = workers.Where(w => w.End is null).ToList();
        run.Checks.Add(new Check("every worker left a stop record, was killed with its host or was seen crashing by its silo", stopped.Count == 0,
            stopped.Count == 0 ? $"{workers.Count} workers" : "no end known for " + string.Join(", ", stopped.Select(w => $"{w.Candidate} #{w.Attempt}"))));
        if (baseline is not null) SameResults();
        OnlyHitHostsInterrupted(attempts);
        Resumed(attempts);
        Figures(attempts);
    }

    void Completes()
    {
        var notDone = details.Where(d => d.Value.GetProperty("status").GetString() != "completed").Select(d => $"{d.Key}: {d.Value.GetProperty("status").GetString()}").ToList();
        bool ok = observer.Finished && details.Count == expected && notDone.Count == 0;
        run.Checks.Add(new Check("the sweep completes", ok,
            ok ? $"{expected} candidates completed" : $"finished {observer.Finished}, {details.Count} of {expected} candidates seen; {string.Join(", ", notDone)}"));
    }

    void ExactlyOnce(List<Attempt> attempts)
    {
        var wrong = new List<string>();
        foreach (var (id, _) in details)
        {
            int succeeded = attempts.Count(a => a.Candidate == id && a.Outcome == "succeeded");
            if (succeeded != 1) wrong.Add($"{id}: {succeeded} successful attempts");
            if (!File.Exists(Path.Combine(output, "candidates", id, "result.json"))) wrong.Add($"{id}: no result.json");
            var workerAttempts = WorkerRecords(id).Select(r => r.GetProperty("attempt").GetInt32()).Distinct();
            var unknown = workerAttempts.Where(n => !attempts.Any(a => a.Candidate == id && a.Number == n)).ToList();
            if (unknown.Count > 0) wrong.Add($"{id}: workers of attempts {string.Join(",", unknown)} that the history does not know");
        }
        run.Checks.Add(new Check("every candidate completes exactly once", wrong.Count == 0,
            wrong.Count == 0 ? $"{details.Count} candidates, one successful attempt each" : string.Join("; ", wrong)));
    }

    void NoOverlap<T>(string name, IEnumerable<IGrouping<string, T>> groups, Func<T, (DateTime Start, DateTime? End)> interval, Func<T, string> describe)
    {
        var overlaps = new List<string>();
        int intervals = 0;
        foreach (var group in groups)
        {
            var ordered = group.OrderBy(x => interval(x).Start).ToList();
            intervals += ordered.Count;
            for (int i = 1; i < ordered.Count; i++)
            {
                var previousEnd = interval(ordered[i - 1]).End ?? DateTime.MaxValue;
                if (interval(ordered[i]).Start < previousEnd)
                    overlaps.Add($"{group.Key}: {describe(ordered[i - 1])} until {End(previousEnd)} and {describe(ordered[i])} from {interval(ordered[i]).Start:HH:mm:ss.fff}");
            }
        }
        run.Checks.Add(new Check(name, overlaps.Count == 0, overlaps.Count == 0 ? $"{intervals} intervals, none overlap" : string.Join("; ", overlaps)));
    }

    static string End(DateTime end) => end == DateTime.MaxValue ? "(no end)" : end.ToString("HH:mm:ss.fff");

    IEnumerable<JsonElement> WorkerRecords(string id)
    {
        var path = Path.Combine(output, "candidates", id, "workers.jsonl");
        if (!File.Exists(path)) yield break;
        foreach (var line in File.ReadAllLines(path))
        {
            JsonElement record;
            try { record = JsonDocument.Parse(line).RootElement.Clone(); } catch (JsonException) { continue; }
            yield return record;
        }
    }

    IEnumerable<WorkerRun> WorkerRuns(string id, List<Attempt> attempts)
    {
        foreach (var attempt in WorkerRecords(id).GroupBy(r => r.GetProperty("attempt").GetInt32()))
        {
            var start = attempt.FirstOrDefault(r => r.GetProperty("event").GetString() == "start");
            if (start.ValueKind != JsonValueKind.Object) continue;
            var stop = attempt.FirstOrDefault(r => r.GetProperty("event").GetString() == "stop");
            var where = start.TryGetProperty("where", out var w) && w.ValueKind == JsonValueKind.String ? w.GetString() : null;
            var host = Harness.HostOf(where?.Split('#')[0]);
            int? slot = where is not null && int.TryParse(where.Split('#').Last(), out int s) ? s : null;
            var started = start.GetProperty("utc").GetDateTime().ToUniversalTime();
            if (stop.ValueKind == JsonValueKind.Object)
            {
                yield return new WorkerRun(id, attempt.Key, host, slot, started, stop.GetProperty("utc").GetDateTime().ToUniversalTime(), "stop record");
                continue;
            }
            var kill = run.Faults.Where(f => f.Kind is "kill" or "new-ports" or "all-hosts" && f.Utc > started && f.Hosts.Any(h => h.Address == host))
                .Select(f => (DateTime?)f.Utc).FirstOrDefault();
            if (kill is not null)
            {
                yield return new WorkerRun(id, attempt.Key, host, slot, started, kill, "killed with its host");
                continue;
            }
            var crashed = attempts.FirstOrDefault(a => a.Candidate == id && a.Number == attempt.Key && DiedBySignal(a) && a.End is not null);
            yield return crashed is not null
                ? new WorkerRun(id, attempt.Key, host, slot, started, crashed.End, "crashed, as its silo saw it")
                : new WorkerRun(id, attempt.Key, host, slot, started, null, "no stop record");
        }
    }

    static string Fingerprint(JsonElement d) => JsonSerializer.Serialize(new
    {
        @params = d.GetProperty("params").GetRawText(), non_embedding = d.GetProperty("non_embedding_params").GetRawText(),
        scores = d.GetProperty("scores").GetRawText(), perplexity = d.GetProperty("perplexity").GetRawText(), average = d.GetProperty("average").GetRawText(),
    });

    void SameResults()
    {
        var differ = run.Results.Where(r => !baseline!.Results.TryGetValue(r.Key, out var b) || b != r.Value)
            .Select(r => $"{r.Key}: {r.Value} vs {baseline!.Results.GetValueOrDefault(r.Key, "(none)")}").ToList();
        run.Checks.Add(new Check("results equal the fault-free run (sizes, scores, perplexity)", differ.Count == 0 && run.Results.Count == baseline!.Results.Count,
            differ.Count == 0 ? $"{run.Results.Count} candidates equal" : string.Join("; ", differ)));
    }

    void OnlyHitHostsInterrupted(List<Attempt> attempts)
    {
        var failed = attempts.Where(FailedByItself).ToList();
        run.WorkerFailures.AddRange(failed.Select(a => $"{a.Candidate} #{a.Number} on {a.Host}#{a.Slot}, {At(a.Start)} to {At(a.End)}: {a.Reason}"));
        var unexplained = attempts.Where(a => a.Outcome != "succeeded" && !FailedByItself(a) && !run.Faults.Any(f => f.Hosts.Any(h => h.Address == a.Host) && a.Start <= f.Utc.AddSeconds(1)))
            .Select(a => $"{a.Candidate} #{a.Number} on {a.Host}#{a.Slot}, {At(a.Start)} to {At(a.End)}: {a.Outcome} ({a.Reason})").ToList();
        run.Checks.Add(new Check("work on hosts that were not hit went on uninterrupted", unexplained.Count == 0,
            unexplained.Count == 0 ? $"{attempts.Count(a => a.Outcome != "succeeded" && !FailedByItself(a))} attempts ended early, all on hit hosts; {failed.Count} failed by themselves" : string.Join("; ", unexplained)));
    }

    /// <summary>The steps each healing resume started from (train_result.json's resumed_from).</summary>
    List<long> ResumedFrom(string id)
    {
        var path = Path.Combine(output, "candidates", id, "healed", "train_result.json");
        if (!File.Exists(path)) return [];
        var root = JsonDocument.Parse(File.ReadAllText(path)).RootElement;
        return root.TryGetProperty("resumed_from", out var r) && r.ValueKind == JsonValueKind.Array ? r.EnumerateArray().Select(x => x.GetInt64()).ToList() : [];
    }

    void Resumed(List<Attempt> attempts)
    {
        // A candidate hit past a checkpoint must not heal from the start again: a later attempt either resumed from
        // a checkpoint or found the work done (a cut-off worker that still owned the folder may have finished it).
        var victims = run.Faults.SelectMany(f => f.Victims).Where(v => v.Stage == "healing" && v.Step >= 2 * checkpointEvery).ToList();
        var startedOver = new List<string>();
        int resumed = 0;
        foreach (var v in victims)
        {
            long floor = v.Step!.Value / checkpointEvery * checkpointEvery - checkpointEvery;
            List<Sighting> later;
            lock (observer.Sightings)
                later = observer.Sightings.Where(s => s.Id == v.Id && s.Attempt > v.Attempt && s.Stage == "healing" && s.Step < floor).ToList();
            if (later.Count > 0) startedOver.Add($"{v.Id} (hit at step {v.Step}; attempt {later[0].Attempt} healed at step {later[0].Step})");
            if (ResumedFrom(v.Id).Any(step => step > 0)) resumed++;
        }
        run.Checks.Add(new Check("healing resumed from checkpoints", startedOver.Count == 0,
            startedOver.Count == 0 ? $"{victims.Count} candidates hit past a checkpoint: {resumed} resumed from one, the others found their work done"
                                   : "started over: " + string.Join(", ", startedOver)));
    }

    void Figures(List<Attempt> attempts)
    {
        foreach (var fault in run.Faults)
        {
            lock (observer.Members)
                foreach (var silo in fault.Silos)
                    if (observer.Members.FirstOrDefault(m => (m.Address, m.Port, m.Generation) == silo && m.Status == 6 && m.Utc >= fault.Utc) is { } dead)
                        run.DetectionSeconds.Add(Math.Round((dead.Utc - fault.Utc).TotalSeconds, 1));
            foreach (var victim in fault.Victims)
            {
                if (attempts.Where(a => a.Candidate == victim.Id && a.Number > victim.Attempt).OrderBy(a => a.Number).FirstOrDefault() is { } next)
                    run.RerunSeconds.Add(Math.Round((next.Start - fault.Utc).TotalSeconds, 1));
                if (fault.LastCheckpoints.TryGetValue(victim.Id, out var checkpoint))
                    run.LostSeconds.Add(Math.Round((fault.Utc - checkpoint.Utc).TotalSeconds, 2));
            }
        }
    }
}
