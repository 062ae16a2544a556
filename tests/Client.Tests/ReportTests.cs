using LayerChop.Client.Reports;
using LayerChop.Grains.Sweeps;
using LayerChop.Interfaces;
using LayerChop.Specs;
using LayerChop.Worker;
using Xunit;

namespace LayerChop.Client.Tests;

/// <summary>The report's statements follow its documented noise rule, on results constructed by hand.</summary>
public class ReportTests
{
    [Theory]
    [InlineData(0.60, 0.01, 0.55, 0.01, Verdict.Higher)]      // 0.05 / 0.0141 = 3.5 SE
    [InlineData(0.55, 0.01, 0.60, 0.01, Verdict.Lower)]
    [InlineData(0.60, 0.02, 0.55, 0.02, Verdict.WithinNoise)] // 0.05 / 0.0283 = 1.77 SE
    [InlineData(0.60, 0.015, 0.54, 0.015, Verdict.Higher)]    // 0.06 / 0.0212 = 2.83 SE
    [InlineData(0.60, double.NaN, 0.40, 0.01, Verdict.Unknown)]
    public void A_difference_is_called_only_at_two_standard_errors_of_the_difference(double a, double sa, double b, double sb, Verdict expected)
    {
        Assert.Equal(expected, NoiseRule.Compare(a, sa, b, sb).Verdict);
    }

    [Fact]
    public void The_boundary_is_exactly_two_standard_errors()
    {
        double se = 0.03 / Math.Sqrt(2);                        // SE of the difference = 0.03
        Assert.Equal(Verdict.Higher, NoiseRule.Compare(0.56, se, 0.5, se).Verdict);
        Assert.Equal(Verdict.WithinNoise, NoiseRule.Compare(0.5599, se, 0.5, se).Verdict);
    }

    static CandidateSummary Candidate(int remove, string strategy, long heal, double accuracy, double stderr, double perplexity, int n = 2000) => new()
    {
        Config = new CandidateConfig { Remove = remove, Strategy = remove == 0 ? CandidateConfig.None : strategy, HealTokens = heal, HealMethod = heal == 0 ? CandidateConfig.None : "pretrain" },
        Status = CandidateStatus.Completed,
        Result = new CandidateResult
        {
            Params = 1_000_000 - remove * 100_000, Average = accuracy, Perplexity = perplexity,
            Scores = new Dictionary<string, double> { ["next_word"] = accuracy },
            ScoreStderrs = new Dictionary<string, double> { ["next_word"] = stderr },
            ScoreCounts = new Dictionary<string, int> { ["next_word"] = n },
            LatencyMsPerToken = 1 - remove * 0.1,
            Latency = new LatencyConditions { P10MsPerToken = 0.9 - remove * 0.1, P90MsPerToken = 1.1 - remove * 0.1, Runs = 15, Shape = $"L{8 - remove}", Device = "cpu: test", Exclusive = true },
        },
    };

    static readonly CandidateSummary[] Sweep =
    [
        Candidate(0, "none", 0, 0.600, 0.011, 80),
        Candidate(0, "none", 1000, 0.605, 0.011, 79),
        Candidate(4, "input", 0, 0.450, 0.011, 200),
        Candidate(4, "input", 1000, 0.540, 0.011, 95),
        Candidate(4, "output", 0, 0.380, 0.011, 400),
        Candidate(4, "output", 1000, 0.520, 0.011, 99),
        Candidate(4, "max-gap", 0, 0.445, 0.011, 210),
        Candidate(4, "max-gap", 1000, 0.530, 0.011, 97),
    ];

    [Fact]
    public void Findings_state_each_comparison_with_its_standard_error_and_verdict()
    {
        var text = SweepReport.Findings(Sweep);

        Assert.Contains("The unchopped model scores 0.6000 ± 0.0110 (n: next_word 2000)", text);
        // Removing half the layers next to the output: 0.22 lower, 14 SE.
        Assert.Contains("4 layers removed (output), unhealed: 0.3800 ± 0.0110; against the unchopped model -0.220 ± 0.016, 14.1 SE: lower, beyond noise", text);
        // The fair control: 0.005 apart, 0.3 SE.
        Assert.Contains("Nothing removed (the fair control: same healing, no chop), healed 1K tokens against unhealed: accuracy 0.6000 ± 0.0110 -> 0.6050 ± 0.0110, +0.005 ± 0.016, 0.3 SE: within noise", text);
        // Healing the input chop: +0.09 of the 0.15 lost = 60%.
        Assert.Contains("healing raised it, beyond noise; perplexity 200.00 -> 95.00. Healing recovered 60% of the 0.150 that removing the layers cost.", text);
        // Unhealed placements: input and max-gap within noise of each other, both above output.
        Assert.Contains("`input` 0.4500 ± 0.0110 ≈ `max-gap` 0.4450 ± 0.0110 > `output` 0.3800 ± 0.0110", text);
        Assert.Contains("input vs max-gap +0.005 ± 0.016, 0.3 SE: within noise", text);
        Assert.Contains("input - output = +0.070 ± 0.016, 4.5 SE: higher, beyond noise (as the paper found)", text);
        // Healed placements: input vs output 0.02 apart, 1.3 SE.
        Assert.Contains("input - output = +0.020 ± 0.016, 1.3 SE: within noise (no measurable difference at this scale)", text);
    }

    [Fact]
    public void The_report_says_how_many_questions_were_measured_and_how_latency_was_taken_not_what_was_configured()
    {
        var folder = Path.Combine(LayerChopProcess.TempFolder(), "sweep");
        var spec = new SweepSpec
        {
            Name = "s", BaseModel = "base", Output = folder, Data = ["train.jsonl"],
            Eval = new LayerChop.Settings.EvalSettings { Tasks = ["next_word"], TaskDir = "tasks", Limit = 300 },
            Grid = new GridSpec { Remove = [0, 4], Strategy = ["input", "output", "max-gap"], HealTokens = [0, 1000], HealMethod = ["pretrain"], Seed = [1] },
        };
        var front = new ParetoFront();
        foreach (var c in Sweep) front.Add(FrontPoint.Of(c.Config, c.Result!));
        var dir = SweepReport.Write(spec, Sweep, front.ToSweepFront(), TimeSpan.FromMinutes(3));

        var markdown = File.ReadAllText(Path.Combine(dir, "report.md"));
        Assert.Contains("next_word on 2000 questions per candidate", markdown);
        Assert.DoesNotContain("300 questions", markdown);                            // the configured limit is not a measurement
        Assert.Contains("measured once per architecture and device (2 figures for 8 candidates)", markdown);
        Assert.Contains("| 3 | `r4-input-h0-s1` | none | completed | 600,000 | 0.60 (0.50-0.70) | 0.4500 ± 0.0110 | 2000 |", markdown);
        foreach (var plot in new[] { "pareto-params.png", "pareto-latency.png", "pareto-params.svg", "pareto-latency.svg" })
            Assert.True(new FileInfo(Path.Combine(dir, plot)).Length > 1000, plot);
    }

    /// <summary>The candidate measured on several tasks: (task, score, standard error, questions) each.</summary>
    static CandidateSummary OnTasks(CandidateSummary c, params (string Task, double Score, double Stderr, int N)[] tasks) => c with
    {
        Result = c.Result! with
        {
            Scores = tasks.ToDictionary(t => t.Task, t => t.Score),
            ScoreStderrs = tasks.ToDictionary(t => t.Task, t => t.Stderr),
            ScoreCounts = tasks.ToDictionary(t => t.Task, t => t.N),
            Average = tasks.Average(t => t.Score),
        },
    };

    static readonly (string, double, double, int)[] FourTasks =
        [("piqa", 0.5, 0.2, 6), ("arc_easy", 0.25, 0.2, 4), ("hellaswag", 0.25, 0.2, 4), ("winogrande", 0.5, 0.2, 4)];

    [Fact]
    public void The_findings_give_each_tasks_question_count_and_their_total_not_the_smallest_count()
    {
        var baseline = OnTasks(Candidate(0, "none", 0, 0, 0, 80), FourTasks);

        var text = SweepReport.Findings([baseline]);

        Assert.Contains("(n: arc_easy 4, hellaswag 4, piqa 6, winogrande 4; 18 in all)", text);
        Assert.DoesNotContain("n = 4", text);
    }

    [Theory]
    [InlineData(0.2778, 0.1192, 0.2778, 0.1192, "=")]
    [InlineData(0.60, 0.01, 0.55, 0.01, ">")]                 // 3.5 SE
    [InlineData(0.60, 0.02, 0.55, 0.02, "≈")]                 // 1.8 SE
    [InlineData(0.55, 0.01, 0.60, 0.01, "<")]
    [InlineData(0.60, double.NaN, 0.55, 0.01, "?")]
    [InlineData(0.60, double.NaN, 0.60, double.NaN, "=")]
    public void An_ordering_sign_is_greater_only_beyond_noise_and_equal_only_for_the_same_score(double a, double sa, double b, double sb, string sign)
    {
        Assert.Equal(sign, NoiseRule.Compare(a, sa, b, sb).Sign);
    }

    [Fact]
    public void Tied_placements_are_written_as_a_tie_and_the_signs_are_explained_in_the_report()
    {
        var tied = OnTasks(Candidate(2, "input", 4096, 0, 0, 90), FourTasks);
        var same = OnTasks(Candidate(2, "output", 4096, 0, 0, 95), FourTasks);
        var worse = OnTasks(Candidate(2, "middle", 4096, 0, 0, 99), [.. FourTasks.Select(t => t with { Item2 = 0 })]);

        var text = SweepReport.Findings([tied, same, worse]);

        Assert.Contains("Placements, 2 layers removed, healed 4096 tokens: `input` 0.3750 ± 0.1000 = `output` 0.3750 ± 0.1000 > `middle` 0.0000 ± 0.1000", text);
        Assert.Contains(Comparison.SignsExplained, WriteReport([tied, same, worse], wallTime: null));
    }

    [Fact]
    public void The_candidates_table_counts_questions_over_all_tasks_and_says_so_in_its_header()
    {
        var markdown = WriteReport([OnTasks(Candidate(0, "none", 0, 0, 0, 80), FourTasks)], wallTime: null);

        Assert.Contains("| accuracy ± SE | questions (all tasks) |", markdown);
        Assert.Contains("| 0.3750 ± 0.1000 | 18 |", markdown);
    }

    [Fact]
    public void The_report_shows_each_candidates_heal_method_and_the_lora_settings_of_a_sweep_that_heals_by_lora()
    {
        var pretrain = Candidate(2, "input", 4096, 0.4, 0.01, 90);
        var lora = Candidate(2, "input", 4096, 0.38, 0.01, 95);
        lora = lora with { Config = lora.Config with { HealMethod = "lora" } };
        var spec = new SweepSpec
        {
            Name = "s", BaseModel = "base", Output = Path.Combine(LayerChopProcess.TempFolder(), "sweep"), Data = ["train.jsonl"],
            Grid = new GridSpec { Remove = [2], Strategy = ["input"], HealTokens = [4096], HealMethod = ["pretrain", "lora"], Seed = [1] },
            Lora = new LayerChop.Settings.LoraSettings { Rank = 8, Targets = ["q_proj", "v_proj"] },
        };
        var front = new ParetoFront();
        foreach (var c in new[] { pretrain, lora }) front.Add(FrontPoint.Of(c.Config, c.Result!));
        var markdown = File.ReadAllText(Path.Combine(SweepReport.Write(spec, [pretrain, lora], front.ToSweepFront(), null), "report.md"));

        Assert.Contains("| 1 | `r2-input-h4096-pretrain-s1` | 4096 tokens, pretrain | completed |", markdown);
        Assert.Contains("| 2 | `r2-input-h4096-lora-s1` | 4096 tokens, lora | completed |", markdown);
        Assert.Contains("- LoRA: rank 8, alpha 32, on q_proj, v_proj, peak learning rate 0.0003;", markdown);
        Assert.Equal(" 2  2 layers removed (input), healed 4096 tokens by LoRA  0.380 ± 0.010", ParetoPlot.Legend(2, lora));
    }

    [Fact]
    public void The_wall_time_line_says_it_covers_only_this_invocation_and_counts_hours_past_a_day()
    {
        var markdown = WriteReport(Sweep, new TimeSpan(1, 2, 3, 9));

        Assert.Contains("- Wall time of this `sweep run` invocation: 26:03:09 (earlier runs that this one resumed are not counted)", markdown);
        Assert.DoesNotContain("Wall time", WriteReport(Sweep, wallTime: null));
    }

    /// <summary>report.md of a sweep of these candidates.</summary>
    static string WriteReport(CandidateSummary[] candidates, TimeSpan? wallTime)
    {
        var spec = new SweepSpec
        {
            Name = "s", BaseModel = "base", Output = Path.Combine(LayerChopProcess.TempFolder(), "sweep"), Data = ["train.jsonl"],
            Grid = new GridSpec { Remove = [0], Strategy = ["input"], HealTokens = [0], HealMethod = ["pretrain"], Seed = [1] },
        };
        var front = new ParetoFront();
        foreach (var c in candidates) front.Add(FrontPoint.Of(c.Config, c.Result!));
        return File.ReadAllText(Path.Combine(SweepReport.Write(spec, candidates, front.ToSweepFront(), wallTime), "report.md"));
    }

    [Theory]
    [InlineData(56_000, "thousands", 1e3)]
    [InlineData(999_999, "thousands", 1e3)]
    [InlineData(1_000_000, "millions", 1e6)]
    [InlineData(124_000_000, "millions", 1e6)]
    [InlineData(1_100_000_000, "billions", 1e9)]
    public void The_parameters_axis_unit_follows_the_largest_count_shown(long largest, string name, double size)
    {
        Assert.Equal((size, name), ParetoPlot.ParamsUnit([38_000, largest]));
    }

    [Fact]
    public void A_legend_line_spells_out_the_removed_layers_the_placement_and_the_healing_tokens()
    {
        var chopped = OnTasks(Candidate(2, "input", 4096, 0, 0, 90), FourTasks);
        var distilled = Candidate(1, "output", 50_000_000, 0.5, 0.01, 90);
        distilled = distilled with { Config = distilled.Config with { HealMethod = "distill" } };
        var baseline = Candidate(0, "none", 0, 0.6, double.NaN, 80);

        Assert.Equal(" 3  2 layers removed (input), healed 4096 tokens  0.375 ± 0.100", ParetoPlot.Legend(3, chopped));
        Assert.Equal("12  1 layer removed (output), healed 50M tokens by distillation  0.500 ± 0.010", ParetoPlot.Legend(12, distilled));
        Assert.Equal(" 1  nothing removed, unhealed  0.600 ± ?", ParetoPlot.Legend(1, baseline));
    }

    [Fact]
    public void The_plot_legend_lists_dominated_points_only_when_a_completed_point_is_off_the_front()
    {
        string Svg(CandidateSummary[] candidates, IReadOnlyList<FrontPoint> front)
        {
            var path = Path.Combine(LayerChopProcess.TempFolder(), "plot");
            ParetoPlot.Write(candidates, front, FrontAxis.Params, path);
            return File.ReadAllText(path + ".svg");
        }
        var all = Sweep.Select(c => FrontPoint.Of(c.Config, c.Result!)).ToList();

        Assert.DoesNotContain("dominated", Svg(Sweep, all));
        Assert.Contains("dominated", Svg(Sweep, ParetoFront.Compute(all, FrontAxis.Params)));
    }

    [Fact]
    public void Results_csv_keeps_a_strategy_with_a_comma_and_an_error_with_quotes_commas_and_line_breaks_in_their_columns()
    {
        const string error = "chop failed: \"layers:1,5\" names layer 5, but the model has 4\nsecond line, with \"quotes\"\r\nthird";
        var failed = new CandidateSummary
        {
            Config = new CandidateConfig { Remove = 2, Strategy = "layers:1,5", HealTokens = 1000, HealMethod = "pretrain" },
            Status = CandidateStatus.Failed, Attempts = 3, Error = error,
        };
        var completed = Candidate(4, "input", 0, 0.450, 0.011, 200);
        var front = new SweepFront { ByParams = [new FrontPoint { CandidateId = completed.Id }] };

        var rows = new List<string[]>();
        using var csv = CsvHelper.CsvReader.FromText(SweepReport.Csv([failed, completed], front));
        foreach (var row in csv)
        {
            var cells = new string[row.FieldCount];
            for (int i = 0; i < cells.Length; i++) cells[i] = row.GetString(i);
            rows.Add(cells);
        }
        Assert.Equal(SweepReport.CsvColumns.Append("next_word"), csv.Headers);

        Assert.Equal(2, rows.Count);
        var columns = SweepReport.CsvColumns.Append("next_word").ToArray();
        Assert.All(rows, row => Assert.Equal(columns.Length, row.Length));
        string Cell(int row, string column) => rows[row][Array.IndexOf(columns, column)];
        Assert.Equal(failed.Id, Cell(0, "id"));
        Assert.Equal("layers:1,5", Cell(0, "strategy"));
        Assert.Equal("pretrain", Cell(0, "heal_method"));
        Assert.Equal("failed", Cell(0, "status"));
        Assert.Equal("3", Cell(0, "attempts"));
        Assert.Equal(error, Cell(0, "error"));
        Assert.Equal("", Cell(0, "params"));
        Assert.Equal("input", Cell(1, "strategy"));
        Assert.Equal("", Cell(1, "error"));
        Assert.Equal("600000", Cell(1, "params"));
        Assert.Equal("1", Cell(1, "on_front_params"));
        Assert.Equal("0.45", Cell(1, "next_word"));
    }
}
