using System.Globalization;
using System.Text;
using LayerChop.Grains.Sweeps;
using LayerChop.Interfaces;

namespace LayerChop.Client.Reports;

/// <summary>
/// The report folder of a sweep: results.csv and results.json (one row per candidate), Pareto plots of
/// size and latency against average accuracy (PNG and SVG), and report.md saying what was run and what came
/// out, including where the results go against the paper's direction.
/// </summary>
public static class SweepReport
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Write(SweepSpec spec, IReadOnlyList<CandidateState> results, SweepFront front, TimeSpan? wallTime, string? preamble = null)
    {
        var dir = Path.Combine(spec.Output, "report");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "results.json"), Commands.SweepCommands.ResultsJson(results, front));
        File.WriteAllText(Path.Combine(dir, "results.csv"), Csv(results, front));
        ParetoPlot.Write(results, front.ByParams, FrontAxis.Params, Path.Combine(dir, "pareto-params"));
        ParetoPlot.Write(results, front.ByLatency, FrontAxis.Latency, Path.Combine(dir, "pareto-latency"));
        File.WriteAllText(Path.Combine(dir, "report.md"), Markdown(spec, results, front, wallTime, preamble));
        return dir;
    }

    static string Csv(IReadOnlyList<CandidateState> results, SweepFront front)
    {
        var tasks = results.Where(r => r.Result is not null).SelectMany(r => r.Result!.Scores.Keys).Distinct().Order().ToList();
        var sb = new StringBuilder();
        sb.AppendLine(string.Join(",", new[] { "id", "remove", "strategy", "heal_tokens", "heal_method", "seed", "status", "attempts",
            "params", "non_embedding_params", "latency_ms_per_token", "average", "perplexity", "on_front_params", "on_front_latency" }.Concat(tasks)));
        var byParams = front.ByParams.Select(p => p.CandidateId).ToHashSet();
        var byLatency = front.ByLatency.Select(p => p.CandidateId).ToHashSet();
        foreach (var c in results)
        {
            var r = c.Result;
            var cells = new List<string>
            {
                c.Id, c.Config.Remove.ToString(Inv), c.Config.Strategy, c.Config.HealTokens.ToString(Inv), c.Config.HealMethod,
                c.Config.Seed.ToString(Inv), c.Status.ToString().ToLowerInvariant(), c.Attempts.Count.ToString(Inv),
                r?.Params.ToString(Inv) ?? "", r?.NonEmbeddingParams.ToString(Inv) ?? "", Num(r?.LatencyMsPerToken), Num(r?.Average),
                Num(r?.Perplexity), byParams.Contains(c.Id) ? "1" : "0", byLatency.Contains(c.Id) ? "1" : "0",
            };
            cells.AddRange(tasks.Select(t => r is not null && r.Scores.TryGetValue(t, out var v) ? Num(v) : ""));
            sb.AppendLine(string.Join(",", cells));
        }
        return sb.ToString();
    }

    static string Num(double? v) => v is double d && double.IsFinite(d) ? d.ToString("0.######", Inv) : "";

    static string Markdown(SweepSpec spec, IReadOnlyList<CandidateState> results, SweepFront front, TimeSpan? wallTime, string? preamble)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"# LayerChop sweep `{spec.Name}`");
        sb.AppendLine();
        if (preamble is not null) { sb.AppendLine(preamble.TrimEnd()); sb.AppendLine(); }
        sb.AppendLine("## What was run");
        sb.AppendLine();
        sb.AppendLine($"- Base model: `{spec.BaseModel}`");
        sb.AppendLine($"- Healing corpus: {string.Join(", ", spec.Data.Select(d => $"`{d}`"))}");
        sb.AppendLine($"- Grid: remove {List(spec.Grid.Remove)}, strategy {List(spec.Grid.Strategy)}, heal tokens {List(spec.Grid.HealTokens)}, heal method {List(spec.Grid.HealMethod)}, seed {List(spec.Grid.Seed)}: {results.Count} candidates");
        sb.AppendLine($"- Healing: sequence {spec.Train.SeqLen}, {spec.Train.BatchTokens} tokens per step, peak learning rate {spec.Train.Lr.ToString(Inv)}, {spec.Train.WarmupSteps} warm-up steps, cosine decay to {spec.Train.MinLrRatio.ToString(Inv)}x");
        sb.AppendLine($"- Evaluation: tasks {List(spec.Eval.Tasks)}{(spec.Eval.Limit is int l ? $" (first {l} questions)" : "")}{(spec.Eval.Perplexity is null ? "" : $", held-out perplexity on `{spec.Eval.Perplexity}`")}; accuracy = mean of each task's paper metric");
        sb.AppendLine($"- Latency: ms per generated token, {spec.Latency.PromptTokens}-token prompt, {spec.Latency.NewTokens} new tokens, greedy, key/value cache");
        if (wallTime is TimeSpan t) sb.AppendLine($"- Wall time of this run: {t:hh\\:mm\\:ss}");
        sb.AppendLine();
        sb.AppendLine("## Pareto front");
        sb.AppendLine();
        sb.AppendLine("![Parameters against accuracy](pareto-params.png)");
        sb.AppendLine();
        sb.AppendLine("![Latency against accuracy](pareto-latency.png)");
        sb.AppendLine();
        sb.AppendLine("Not dominated on parameters vs accuracy: " + string.Join(", ", front.ByParams.Select(p => $"`{p.CandidateId}`")));
        sb.AppendLine();
        sb.AppendLine("Not dominated on latency vs accuracy: " + string.Join(", ", front.ByLatency.Select(p => $"`{p.CandidateId}`")));
        sb.AppendLine();
        sb.AppendLine("## All candidates");
        sb.AppendLine();
        sb.AppendLine("| candidate | status | params | ms/token | accuracy | perplexity | on front |");
        sb.AppendLine("|---|---|---|---|---|---|---|");
        var onFront = front.ByParams.Concat(front.ByLatency).Select(p => p.CandidateId).ToHashSet();
        foreach (var c in results)
        {
            var r = c.Result;
            sb.AppendLine($"| `{c.Id}` | {c.Status.ToString().ToLowerInvariant()}{(c.Error is null ? "" : $": {c.Error}")} | {r?.Params.ToString("N0", Inv) ?? ""} | {Fmt(r?.LatencyMsPerToken, "0.00")} | {Fmt(r?.Average, "0.0000")} | {Fmt(r?.Perplexity, "0.00")} | {(onFront.Contains(c.Id) ? "yes" : "")} |");
        }
        sb.AppendLine();
        sb.AppendLine("## Healing against no healing, and the paper's direction");
        sb.AppendLine();
        sb.Append(Findings(results, spec.Eval.Limit));
        return sb.ToString();
    }

    /// <summary>Healed vs unhealed at the same depth and placement, on perplexity and accuracy; said plainly either way.</summary>
    static string Findings(IReadOnlyList<CandidateState> results, int? limit)
    {
        var sb = new StringBuilder();
        var done = results.Where(c => c.Status == CandidateStatus.Completed && c.Result is not null).ToList();
        var groups = done.GroupBy(c => (c.Config.Remove, c.Config.Strategy, c.Config.Seed)).OrderBy(g => g.Key.Remove).ThenBy(g => g.Key.Strategy);
        int agree = 0, against = 0;
        foreach (var g in groups)
        {
            var unhealed = g.FirstOrDefault(c => c.Config.HealTokens == 0);
            foreach (var healed in g.Where(c => c.Config.HealTokens > 0).OrderBy(c => c.Config.HealTokens))
            {
                if (unhealed is null) continue;
                double? pu = unhealed.Result!.Perplexity, ph = healed.Result!.Perplexity;
                string what = g.Key.Remove == 0 ? "nothing removed (the fair control: same healing tokens, no chop)" : $"{g.Key.Remove} layers removed ({g.Key.Strategy})";
                if (pu is double a && ph is double b)
                {
                    bool better = b < a;
                    if (g.Key.Remove > 0) { if (better) agree++; else against++; }
                    double accBefore = unhealed.Result.Average, accAfter = healed.Result.Average;
                    string accuracy = accAfter < accBefore ? " (accuracy fell: against the paper's direction)" : "";
                    sb.AppendLine($"- {what}: perplexity {a:0.00} unhealed -> {b:0.00} after {healed.Config.HealTokens:N0} healing tokens ({(better ? "healing helped" : "healing did NOT help: against the paper's direction")}); accuracy {accBefore:0.0000} -> {accAfter:0.0000}{accuracy}.");
                }
            }
        }
        var placements = done.Where(c => c.Config.Remove > 0 && c.Config.HealTokens == 0 && c.Result!.Perplexity is not null)
            .GroupBy(c => c.Config.Remove).Where(g => g.Count() > 1);
        foreach (var g in placements)
        {
            var best = g.MinBy(c => c.Result!.Perplexity)!;
            sb.AppendLine($"- Unhealed, {g.Key} layers removed: lowest perplexity with `{best.Config.Strategy}` ({string.Join(", ", g.OrderBy(c => c.Result!.Perplexity).Select(c => $"{c.Config.Strategy} {c.Result!.Perplexity:0.00}"))}). The paper found removing near the input best and near the output worst at 1.1B parameters.");
        }
        if (agree + against > 0)
            sb.AppendLine(against == 0
                ? $"- In every one of {agree} chopped configurations, healing lowered held-out perplexity, as the paper reports."
                : $"- Healing lowered held-out perplexity in {agree} chopped configuration(s) and did not in {against}: those go against the paper's direction, and are reported as measured.");
        // How far apart accuracies must be to mean anything: the standard error of one candidate's accuracy.
        var accuracies = done.Select(c => c.Result!.Average).Where(double.IsFinite).ToList();
        if (accuracies.Count > 1 && limit is int n && n > 0)
        {
            double p = accuracies.Average(), spread = accuracies.Max() - accuracies.Min();
            double stderr = Math.Sqrt(p * (1 - p) / n);
            sb.AppendLine(spread < 3 * stderr
                ? $"- Accuracy spans {accuracies.Min():0.0000}-{accuracies.Max():0.0000} across candidates, while one candidate's accuracy on {n} questions has a standard error of about {stderr:0.000}: these differences are within noise, so the accuracy fronts above rank noise. Perplexity is the clearer signal at this scale."
                : $"- Accuracy spans {accuracies.Min():0.0000}-{accuracies.Max():0.0000}; one candidate's standard error on {n} questions is about {stderr:0.000}.");
        }
        if (sb.Length == 0) sb.AppendLine("- No pair of healed and unhealed candidates with perplexity to compare.");
        return sb.ToString();
    }

    static string List<T>(IEnumerable<T> values) => "[" + string.Join(", ", values.Select(v => Convert.ToString(v, Inv))) + "]";
    static string Fmt(double? v, string format) => v is double d && double.IsFinite(d) ? d.ToString(format, Inv) : "";
}
