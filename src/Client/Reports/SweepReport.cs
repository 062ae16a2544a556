using System.Globalization;
using System.Text;
using CsvHelper;
using LayerChop.Grains.Sweeps;
using LayerChop.Interfaces;
using LayerChop.Settings;
using LayerChop.Specs;
using LayerChop.Worker;

namespace LayerChop.Client.Reports;

/// <summary>
/// The report folder of a sweep: results.csv and results.json (one row per candidate), Pareto plots of
/// size and latency against average accuracy (PNG and SVG), and report.md saying what was run and what came
/// out, including where the results go against the paper's direction.
/// </summary>
public static class SweepReport
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <param name="outDir">the report folder; by default the sweep's output/report.</param>
    public static string Write(SweepSpec spec, IReadOnlyList<CandidateSummary> results, SweepFront front, TimeSpan? wallTime, string? preamble = null, string? outDir = null)
    {
        var dir = Path.GetFullPath(outDir ?? Path.Combine(spec.Output, "report"));
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "results.json"), SweepJson.Results(results, front));
        File.WriteAllText(Path.Combine(dir, "results.csv"), Csv(results, front));
        ParetoPlot.Write(results, front.ByParams, FrontAxis.Params, Path.Combine(dir, "pareto-params"));
        ParetoPlot.Write(results, front.ByLatency, FrontAxis.Latency, Path.Combine(dir, "pareto-latency"));
        File.WriteAllText(Path.Combine(dir, "report.md"), Markdown(spec, results, front, wallTime, preamble));
        return dir;
    }

    /// <summary>
    /// results.csv: one row per candidate, then one column per task score; fields quoted where they need it
    /// (RFC 4180), so a strategy such as <c>layers:1,5</c> or an error message with commas, quotes or line breaks
    /// stays in its column.
    /// </summary>
    public static string Csv(IReadOnlyList<CandidateSummary> results, SweepFront front)
    {
        var tasks = results.Where(r => r.Result is not null).SelectMany(r => r.Result!.Scores.Keys).Distinct().Order().ToList();
        var byParams = front.ByParams.Select(p => p.CandidateId).ToHashSet();
        var byLatency = front.ByLatency.Select(p => p.CandidateId).ToHashSet();
        using var text = new StringWriter(Inv);
        using (var csv = CsvWriter.Create(text, new CsvWriterOptions { NewLine = "\n" }, leaveOpen: true))
        {
            csv.WriteHeader([.. CsvColumns, .. tasks]);
            foreach (var c in results)
            {
                var r = c.Result;
                csv.WriteRecord([
                    c.Id, c.Config.Remove.ToString(Inv), c.Config.Strategy, c.Config.HealTokens.ToString(Inv), c.Config.HealMethod,
                    c.Config.Seed.ToString(Inv), Words.Of(c.Status), c.Attempts.ToString(Inv), c.Error ?? "",
                    r?.Params.ToString(Inv) ?? "", r?.NonEmbeddingParams.ToString(Inv) ?? "", Num(r?.LatencyMsPerToken), Num(r?.Latency?.P10MsPerToken),
                    Num(r?.Latency?.P90MsPerToken), Num(r?.Average), Num(r?.AverageStderr), Num(r?.Perplexity),
                    byParams.Contains(c.Id) ? "1" : "0", byLatency.Contains(c.Id) ? "1" : "0",
                    .. tasks.Select(t => r is not null && r.Scores.TryGetValue(t, out var v) ? Num(v) : ""),
                ]);
            }
        }
        return text.ToString();
    }

    /// <summary>results.csv's columns before the task scores.</summary>
    public static readonly string[] CsvColumns =
    [
        "id", "remove", "strategy", "heal_tokens", "heal_method", "seed", "status", "attempts", "error",
        "params", "non_embedding_params", "latency_ms_per_token", "latency_p10_ms_per_token", "latency_p90_ms_per_token", "average", "average_stderr",
        "perplexity", "on_front_params", "on_front_latency",
    ];

    static string Num(double? v) => v is double d && double.IsFinite(d) ? d.ToString("0.######", Inv) : "";

    static string Markdown(SweepSpec spec, IReadOnlyList<CandidateSummary> results, SweepFront front, TimeSpan? wallTime, string? preamble)
    {
        var sb = new StringBuilder();
        var done = Completed(results);
        sb.AppendLine($"# LayerChop sweep `{spec.Name}`");
        sb.AppendLine();
        if (preamble is not null) { sb.AppendLine(preamble.TrimEnd()); sb.AppendLine(); }
        sb.AppendLine("## What was run");
        sb.AppendLine();
        sb.AppendLine($"- Base model: `{spec.BaseModel}`");
        sb.AppendLine($"- Healing corpus: {string.Join(", ", spec.Data.Select(d => $"`{d}`"))}");
        sb.AppendLine($"- Grid: remove {List(spec.Grid.Remove)}, strategy {List(spec.Grid.Strategy)}, heal tokens {List(spec.Grid.HealTokens)}, heal method {List(spec.Grid.HealMethod)}, seed {List(spec.Grid.Seed)}: {results.Count} candidates, {done.Count} completed");
        sb.AppendLine($"- Healing: sequence {spec.Train.SeqLen}, {spec.Train.BatchTokens} tokens per step, peak learning rate {spec.Train.Lr.ToString(Inv)}, {spec.Train.WarmupSteps} warm-up steps, cosine decay to {spec.Train.MinLrRatio.ToString(Inv)}x");
        if (spec.Grid.HealMethod.Any(m => HealMethods.Is(m, HealMethod.Lora)))
            sb.AppendLine($"- LoRA: rank {spec.Lora.Rank}, alpha {spec.Lora.Alpha.ToString(Inv)}, on {string.Join(", ", spec.Lora.Targets)}, peak learning rate {(spec.Lora.Lr ?? spec.Train.Lr).ToString(Inv)}; the frozen model's weights with the adapters merged into them are the healed model");
        sb.AppendLine($"- Evaluation: {Measured(done)}{(spec.Eval.Perplexity is null ? "" : $"; held-out perplexity on `{spec.Eval.Perplexity}`")}; accuracy = mean of each task's paper metric, ± its standard error");
        sb.AppendLine($"- Latency: {LatencyConditions(done)}");
        if (wallTime is TimeSpan t) sb.AppendLine($"- Wall time of this `sweep run` invocation: {Duration(t)} (earlier runs that this one resumed are not counted)");
        sb.AppendLine();
        sb.AppendLine("## Pareto front");
        sb.AppendLine();
        sb.AppendLine("Points are numbered as in the table below; bars show ±1 standard error of accuracy and, on the latency plot, the 10th-90th percentile of the timed runs.");
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
        sb.AppendLine("| # | candidate | healing | status | params | ms/token (p10-p90) | accuracy ± SE | questions (all tasks) | perplexity | on front |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        var onFront = front.ByParams.Concat(front.ByLatency).Select(p => p.CandidateId).ToHashSet();
        foreach (var (c, number) in results.Select((c, i) => (c, i + 1)))
        {
            var r = c.Result;
            string latency = r is null ? "" : $"{Fmt(r.LatencyMsPerToken, "0.00")}{(r.Latency is { } l ? $" ({l.P10MsPerToken.ToString("0.00", Inv)}-{l.P90MsPerToken.ToString("0.00", Inv)})" : "")}";
            string healing = c.Config.HealTokens == 0 ? "none" : $"{CandidateConfig.FormatTokens(c.Config.HealTokens)} tokens, {c.Config.HealMethod}";
            sb.AppendLine($"| {number} | `{c.Id}` | {healing} | {Words.Of(c.Status)}{(c.Error is null ? "" : $": {c.Error}")} | {r?.Params.ToString("N0", Inv) ?? ""} | {latency} | {(r is null ? "" : Score(r))} | {(r is null || r.ScoreCounts.Count == 0 ? "" : r.ScoreCounts.Values.Sum().ToString(Inv))} | {Fmt(r?.Perplexity, "0.00")} | {(onFront.Contains(c.Id) ? "yes" : "")} |");
        }
        sb.AppendLine();
        sb.AppendLine("## What the numbers show");
        sb.AppendLine();
        sb.AppendLine($"A difference in accuracy is called only when it is at least {NoiseRule.Threshold.ToString(Inv)} standard errors (SE of the difference = sqrt(SE_a² + SE_b²)); otherwise it is \"within noise\". {Comparison.SignsExplained} Perplexity is measured on the same held-out text for every candidate and carries no standard error here.");
        sb.AppendLine();
        sb.Append(Findings(done));
        return sb.ToString();
    }

    static List<CandidateSummary> Completed(IReadOnlyList<CandidateSummary> results) =>
        results.Where(c => c.Status == CandidateStatus.Completed && c.Result is not null).ToList();

    /// <summary>"next_word on 2000 questions per candidate" from the counts the candidates report.</summary>
    static string Measured(IReadOnlyList<CandidateSummary> done)
    {
        var tasks = done.SelectMany(c => c.Result!.ScoreCounts).GroupBy(p => p.Key).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
        if (tasks.Count == 0) return "no task scores";
        return string.Join(", ", tasks.Select(g =>
        {
            int min = g.Min(p => p.Value), max = g.Max(p => p.Value);
            return $"{g.Key} on {(min == max ? min.ToString(Inv) : $"{min}-{max}")} questions per candidate";
        }));
    }

    /// <summary>How latency was measured, from the figures themselves.</summary>
    static string LatencyConditions(IReadOnlyList<CandidateSummary> done)
    {
        var figures = done.Select(c => c.Result!.Latency).OfType<LatencyConditions>().ToList();
        if (figures.Count == 0) return "not measured";
        var shapes = figures.Select(f => (f.Shape, f.Device)).Distinct().Count();
        var devices = figures.Select(f => f.Device).Distinct().ToList();
        int exclusive = figures.Count(f => f.Exclusive);
        var runs = figures.Select(f => f.Runs).Distinct().ToList();
        return $"ms per generated token (greedy, key/value cache), median of {string.Join("/", runs)} timed runs after a warm-up, " +
               $"measured once per architecture and device ({shapes} figures for {figures.Count} candidates) on {string.Join("; ", devices)}; " +
               (exclusive == figures.Count ? "every figure taken with no other LayerChop worker computing on the host (or on the candidate's own GPU)"
                   : $"{figures.Count - exclusive} of {figures.Count} figures taken while other work may have run on the host");
    }

    static string Score(CandidateResult r) =>
        double.IsFinite(r.Average) ? $"{r.Average.ToString("0.0000", Inv)} ± {(double.IsFinite(r.AverageStderr) ? r.AverageStderr.ToString("0.0000", Inv) : "?")}" : "";

    /// <summary>The questions each task was scored on: "next_word 2000", or "arc_easy 4, piqa 6; 10 in all".</summary>
    static string Questions(CandidateResult r)
    {
        var each = string.Join(", ", r.ScoreCounts.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key} {p.Value.ToString(Inv)}"));
        return r.ScoreCounts.Count switch
        {
            0 => "not recorded",
            1 => each,
            _ => $"{each}; {r.ScoreCounts.Values.Sum().ToString(Inv)} in all",
        };
    }

    /// <summary>"1 layer", "4 layers".</summary>
    static string Layers(int count) => $"{count.ToString(Inv)} {(count == 1 ? "layer" : "layers")}";

    /// <summary>"1 layer removed (input)", "4 layers removed (max-gap)", or "nothing removed".</summary>
    static string Removed(int remove, string strategy) => remove == 0 ? "nothing removed" : $"{Layers(remove)} removed ({strategy})";

    /// <summary>"unhealed", "healed 4K tokens", "healed 4K tokens by distillation" or "healed 4K tokens by LoRA".</summary>
    static string Healing(long tokens, string method) =>
        tokens == 0 ? "unhealed" : $"healed {CandidateConfig.FormatTokens(tokens)} tokens{By(method)}";

    static string By(string method) =>
        HealMethods.Is(method, HealMethod.Distill) ? " by distillation" : HealMethods.Is(method, HealMethod.Lora) ? " by LoRA" : "";

    /// <summary>A candidate's configuration in words, as the findings and the plots' legends name it: "2 layers removed (input), healed 4K tokens".</summary>
    public static string Describe(CandidateConfig c) => $"{Removed(c.Remove, c.Strategy)}, {Healing(c.HealTokens, c.HealMethod)}";

    /// <summary>A duration as hours:minutes:seconds, hours not wrapping at a day ("26:03:09").</summary>
    static string Duration(TimeSpan t) => $"{((long)t.TotalHours).ToString("00", Inv)}:{t:mm\\:ss}";

    /// <summary>
    /// Every statement computed from the candidates' measurements: what removing layers cost, what healing
    /// gave back, how placements ordered, judged by <see cref="NoiseRule"/>.
    /// </summary>
    public static string Findings(IReadOnlyList<CandidateSummary> done)
    {
        var sb = new StringBuilder();
        static double Acc(CandidateSummary c) => c.Result!.Average;
        static double Se(CandidateSummary c) => c.Result!.AverageStderr;
        static Comparison Cmp(CandidateSummary a, CandidateSummary b) => NoiseRule.Compare(Acc(a), Se(a), Acc(b), Se(b));
        string Shown(CandidateSummary c) => Score(c.Result!);

        foreach (var seedGroup in done.GroupBy(c => c.Config.Seed).OrderBy(g => g.Key))
        {
            var seed = seedGroup.ToList();
            var baseline = seed.FirstOrDefault(c => c.Config.Remove == 0 && c.Config.HealTokens == 0);
            if (baseline is not null)
            {
                sb.AppendLine($"- The unchopped model scores {Shown(baseline)} (n: {Questions(baseline.Result!)}).");
                foreach (var c in seed.Where(c => c.Config.Remove > 0 && c.Config.HealTokens == 0).OrderBy(c => c.Config.Remove).ThenBy(c => c.Config.Strategy, StringComparer.Ordinal))
                    sb.AppendLine($"- {Describe(c.Config)}: {Shown(c)}; against the unchopped model {Cmp(c, baseline).Describe()}.");
            }

            var groups = seed.GroupBy(c => (c.Config.Remove, c.Config.Strategy, c.Config.HealMethod == CandidateConfig.None ? HealMethods.Name(HealMethods.Default) : c.Config.HealMethod))
                .OrderBy(g => g.Key.Remove).ThenBy(g => g.Key.Strategy, StringComparer.Ordinal);
            foreach (var g in groups)
            {
                var unhealed = seed.FirstOrDefault(c => c.Config.Remove == g.Key.Remove && c.Config.Strategy == g.Key.Strategy && c.Config.HealTokens == 0);
                if (unhealed is null) continue;
                foreach (var healed in g.Where(c => c.Config.HealTokens > 0).OrderBy(c => c.Config.HealTokens))
                {
                    var gain = Cmp(healed, unhealed);
                    string ppl = unhealed.Result!.Perplexity is double pu && healed.Result!.Perplexity is double ph
                        ? $"; perplexity {pu.ToString("0.00", Inv)} -> {ph.ToString("0.00", Inv)}" : "";
                    string what = g.Key.Remove == 0 ? "Nothing removed (the fair control: same healing, no chop)" : Removed(g.Key.Remove, g.Key.Strategy);
                    sb.Append($"- {what}, {Healing(healed.Config.HealTokens, healed.Config.HealMethod)} against unhealed: accuracy {Shown(unhealed)} -> {Shown(healed)}, {gain.Describe("healing raised it", "healing lowered it")}{ppl}.");
                    if (baseline is not null && g.Key.Remove > 0)
                    {
                        var lost = Cmp(baseline, unhealed);
                        if (lost.Verdict == Verdict.Higher && gain.Verdict == Verdict.Higher)
                            sb.Append($" Healing recovered {(100 * gain.Difference / lost.Difference).ToString("0", Inv)}% of the {lost.Difference.ToString("0.000", Inv)} that removing the layers cost.");
                    }
                    sb.AppendLine();
                }
            }

            // Placements at each depth and healing budget: ordered by accuracy, neighbours compared.
            var placements = seed.Where(c => c.Config.Remove > 0)
                .GroupBy(c => (c.Config.Remove, c.Config.HealTokens, c.Config.HealMethod)).Where(g => g.Count() > 1)
                .OrderBy(g => g.Key.Remove).ThenBy(g => g.Key.HealTokens);
            foreach (var g in placements)
            {
                var ordered = g.OrderByDescending(Acc).ThenBy(c => c.Config.Strategy, StringComparer.Ordinal).ToList();
                var steps = ordered.Zip(ordered.Skip(1), (a, b) => $"{a.Config.Strategy} vs {b.Config.Strategy} {Cmp(a, b).Describe()}");
                string order = string.Concat(ordered.Select((c, i) => (i == 0 ? "" : $" {Cmp(ordered[i - 1], c).Sign} ") + $"`{c.Config.Strategy}` {Shown(c)}"));
                sb.AppendLine($"- Placements, {Layers(g.Key.Remove)} removed, {Healing(g.Key.HealTokens, g.Key.HealMethod)}: {order} (neighbours: {string.Join("; ", steps)}).");
                var input = g.FirstOrDefault(c => c.Config.Strategy == "input");
                var output = g.FirstOrDefault(c => c.Config.Strategy == "output");
                if (input is not null && output is not null)
                {
                    var io = Cmp(input, output);
                    string verdict = io.Verdict switch
                    {
                        Verdict.Higher => "as the paper found",
                        Verdict.Lower => "against the paper's finding",
                        Verdict.WithinNoise => "no measurable difference at this scale",
                        _ => "not measurable",
                    };
                    sb.AppendLine($"  The paper found removing near the input best and near the output worst (1.1B parameters): here input - output = {io.Describe()} ({verdict}).");
                }
            }
        }
        if (sb.Length == 0) sb.AppendLine("- No completed candidates to compare.");
        return sb.ToString();
    }

    static string List<T>(IEnumerable<T> values) => "[" + string.Join(", ", values.Select(v => Convert.ToString(v, Inv))) + "]";
    static string Fmt(double? v, string format) => v is double d && double.IsFinite(d) ? d.ToString(format, Inv) : "";
}
