using LayerChop.Client.Commands;
using LayerChop.Client.Rendering;
using LayerChop.Engine.Evaluation;
using Xunit;

namespace LayerChop.Client.Tests;

/// <summary>Tables and progress written anywhere but a terminal are plain text, laid out the same every time.</summary>
public class RenderingTests
{
    [Fact]
    public void A_table_off_a_terminal_is_plain_aligned_text_whose_long_cells_never_wrap()
    {
        string error = "chop failed: [layers:1,5] names layer 5, " + new string('x', 300);
        var output = new StringWriter();
        new TextTable("candidate", "attempts", "error").RightAligned("attempts")
            .AddRow("r2-input-h0-s1", 1, "")
            .AddRow("r2-layers:1,5-h0-s1", 12, error)
            .Write(Terminal.For(output));

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.DoesNotContain('\u001b', output.ToString());
        Assert.Equal(["candidate            attempts  error", "r2-input-h0-s1              1", $"r2-layers:1,5-h0-s1        12  {error}"], lines);
    }

    [Fact]
    public void Progress_off_a_terminal_prints_important_updates_and_otherwise_one_line_per_interval()
    {
        var output = new StringWriter();
        var block = new LiveBlock(plainEvery: TimeSpan.FromHours(1), console: Terminal.For(output));
        block.Show(["step 1/3"]);
        block.Show(["step 2/3"]);
        block.Message("checkpoint written");
        block.Show(["step 3/3"], important: true);

        Assert.False(block.IsLive);
        Assert.Equal("checkpoint written\nstep 3/3\n", output.ToString().ReplaceLineEndings("\n"));
    }

    [Fact]
    public void The_eval_table_marks_each_tasks_paper_metric_and_shows_the_average()
    {
        var results = new EvaluationResults([
            new TaskResult("piqa", 10, "acc_norm", 0.5, 0.1, 0.7, 0.12),
            new TaskResult("winogrande", 1, "acc", 1.0, null),
        ]);
        var output = new StringWriter();
        EvalCommand.Table(results, Terminal.For(output));

        var text = output.ToString();
        Assert.Contains("0.7000 ± 0.1200*", text);
        Assert.Contains("1.0000 ± -*", text);
        Assert.Contains("average", text);
        Assert.DoesNotContain('\u001b', text);
    }
}
