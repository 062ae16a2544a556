using System.Text.Json;
using LayerChop.Interfaces;
using LayerChop.Settings;
using LayerChop.Specs;
using LayerChop.Worker;

namespace LayerChop.Grains.Sweeps;

/// <summary>
/// The one shape of a sweep's data as JSON, for every `--json` of the sweep commands, the report's
/// results.json and the silo's HTTP API alike (written with <see cref="JsonFormat"/>).
/// </summary>
public static class SweepJson
{
    public static Dictionary<string, object?> Point(FrontPoint p) => new()
    {
        ["id"] = p.CandidateId, ["params"] = p.Params, ["latency_ms_per_token"] = p.LatencyMsPerToken, ["average"] = p.Average,
        ["average_stderr"] = p.AverageStderr,
    };

    /// <summary>The candidates on either front: what <c>on_front</c> means in every candidate object.</summary>
    public static IReadOnlySet<string> OnFront(SweepFront front) =>
        front.ByParams.Concat(front.ByLatency).Select(p => p.CandidateId).ToHashSet(StringComparer.Ordinal);

    /// <summary>A sweep's counts, as `sweep list` gives each sweep.</summary>
    public static Dictionary<string, object?> Overview(SweepStatus s) => new()
    {
        ["name"] = s.Name, ["submitted_utc"] = s.SubmittedUtc, ["revision"] = s.Revision, ["epoch"] = s.Epoch, ["total"] = s.Total, ["running"] = s.Running,
        ["cancelled"] = s.Cancelled, ["finished"] = s.IsFinished,
        ["counts"] = Enum.GetValues<CandidateStatus>().ToDictionary(v => Words.Of(v), v => s.Count(v)),
    };

    /// <summary>A sweep's counts and its candidates, each marked whether it is on a front.</summary>
    public static Dictionary<string, object?> Status(SweepStatus s, SweepFront front)
    {
        var json = Overview(s);
        var onFront = OnFront(front);
        json["candidates"] = s.Candidates.Select(c => Candidate(c, onFront.Contains(c.Id))).ToArray();
        return json;
    }

    public static Dictionary<string, object?> Submitted(string sweep, SubmitResult submitted) => new()
    {
        ["sweep"] = sweep, ["candidates"] = submitted.Candidates, ["added"] = submitted.Added, ["note"] = submitted.Note,
    };

    public static Dictionary<string, object?> Cancelled(CancelResult cancelled) => new()
    {
        ["stopped"] = cancelled.Stopped, ["queued"] = cancelled.Queued, ["already_finished"] = cancelled.AlreadyFinished,
    };

    public static Dictionary<string, object?> Retried(IReadOnlyList<string> retried) => new() { ["retried"] = retried };

    public static Dictionary<string, object?> Reported(string sweep, string folder) => new() { ["sweep"] = sweep, ["report"] = folder };

    public static Dictionary<string, object?> Exported(string candidate, string folder, string modelFrom) => new()
    {
        ["candidate"] = candidate, ["out"] = folder, ["model_from"] = modelFrom,
    };

    /// <summary>One candidate's summary, as every command's JSON shows it.</summary>
    public static Dictionary<string, object?> Candidate(CandidateSummary c, bool onFront) => new()
    {
        ["id"] = c.Id,
        ["config"] = new Dictionary<string, object?>
        {
            ["remove"] = c.Config.Remove, ["strategy"] = c.Config.Strategy, ["heal_tokens"] = c.Config.HealTokens,
            ["heal_method"] = c.Config.HealMethod, ["seed"] = c.Config.Seed,
        },
        ["status"] = Words.Of(c.Status),
        ["attempts"] = c.Attempts,
        ["running_on"] = c.Running is { } r ? new Dictionary<string, object?> { ["silo"] = r.Silo, ["slot"] = r.Slot, ["attempt"] = c.RunningAttempt } : null,
        ["progress"] = c.Progress is { } p ? new Dictionary<string, object?>
        {
            ["stage"] = Words.Of(p.Stage), ["step"] = p.Step, ["total_steps"] = p.TotalSteps, ["loss"] = p.Loss, ["tokens_per_s"] = p.TokensPerS,
        } : null,
        ["error"] = c.Error,
        ["params"] = c.Result?.Params,
        ["non_embedding_params"] = c.Result?.NonEmbeddingParams,
        ["latency_ms_per_token"] = c.Result?.LatencyMsPerToken,
        ["latency"] = c.Result?.Latency is { } l ? new Dictionary<string, object?>
        {
            ["p10_ms_per_token"] = l.P10MsPerToken, ["p90_ms_per_token"] = l.P90MsPerToken, ["runs"] = l.Runs,
            ["shape"] = l.Shape, ["device"] = l.Device, ["exclusive"] = l.Exclusive,
        } : null,
        ["scores"] = c.Result?.Scores,
        ["score_stderrs"] = c.Result?.ScoreStderrs,
        ["score_counts"] = c.Result?.ScoreCounts,
        ["average"] = c.Result?.Average,
        ["average_stderr"] = c.Result?.AverageStderr,
        ["perplexity"] = c.Result?.Perplexity,
        ["on_front"] = onFront,
    };

    public static Dictionary<string, object?> Detail(SweepSpec spec, CandidateState c, bool onFront)
    {
        var json = Candidate(c.Summarize(), onFront);
        json["folder"] = JobBuilder.CandidateFolder(spec, c.Config);
        json["max_attempts"] = c.MaxAttempts;
        json["history"] = c.Attempts.Select(a => new Dictionary<string, object?>
        {
            ["number"] = a.Number, ["silo"] = a.Silo, ["slot"] = a.Slot, ["outcome"] = Words.Of(a.Outcome),
            ["reason"] = a.Reason, ["started_utc"] = a.StartedUtc, ["ended_utc"] = a.EndedUtc, ["pid"] = a.Pid, ["last_seen_utc"] = a.LastSeenUtc,
        }).ToArray();
        json["loss"] = new Dictionary<string, object?>
        {
            ["steps"] = c.Loss.Steps, ["losses"] = c.Loss.Losses, ["tokens_per_s"] = c.Loss.TokensPerS, ["stride"] = c.Loss.Stride,
        };
        json["changes"] = c.Changes.Select(m => new Dictionary<string, object?> { ["status"] = Words.Of(m.Status), ["utc"] = m.Utc }).ToArray();
        return json;
    }

    /// <summary>Every candidate, each marked whether it is on a front.</summary>
    public static string Results(IReadOnlyList<CandidateSummary> results, SweepFront front)
    {
        var onFront = OnFront(front);
        return JsonSerializer.Serialize(results.Select(c => Candidate(c, onFront.Contains(c.Id))), JsonFormat.Indented);
    }

    /// <summary>Both fronts.</summary>
    public static Dictionary<string, object> Front(SweepFront front) => new()
    {
        ["by_params"] = front.ByParams.Select(Point).ToArray(),
        ["by_latency"] = front.ByLatency.Select(Point).ToArray(),
    };
}
