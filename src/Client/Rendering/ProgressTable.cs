using LayerChop.Interfaces;
using LayerChop.Settings;
using Spectre.Console;

namespace LayerChop.Client.Rendering;

/// <summary>
/// A sweep's candidates as a table, one row each, and a summary line: redrawn in place on a terminal, or, when
/// the output is redirected, printed whenever the summary changes and every 30 s otherwise. With
/// <c>live: false</c> and <c>force</c>, a table once (`sweep status`, `sweep results`).
/// </summary>
public sealed class ProgressTable(bool? live = null, TextWriter? output = null)
{
    readonly IAnsiConsole console = Terminal.For(output ?? Console.Error);
    readonly LiveBlock block = new(plainEvery: TimeSpan.FromSeconds(30), live: live, console: Terminal.For(output ?? Console.Error));
    string lastSummary = "";

    public void Draw(IReadOnlyList<CandidateSummary> candidates, SweepStatus status, bool force = false)
    {
        var table = new TextTable("candidate", "status", "attempts", "progress").RightAligned("attempts");
        foreach (var c in candidates) table.AddRow(c.Id, Words.Of(c.Status), c.Attempts, Detail(c));
        string summary = $"{status.Count(CandidateStatus.Completed)}/{status.Total} completed, {status.Running} running, {status.Count(CandidateStatus.Failed)} failed" +
                         (status.Count(CandidateStatus.Cancelled) > 0 ? $", {status.Count(CandidateStatus.Cancelled)} cancelled" : "");
        bool important = force || status.IsFinished || summary != lastSummary;
        lastSummary = summary;
        if (force && !block.IsLive)
        {
            table.Write(console);
            console.Profile.Out.Writer.WriteLine(summary);
            return;
        }
        int width = block.IsLive ? console.Profile.Width - 1 : Terminal.RedirectedWidth;
        block.Show([.. table.Lines(width), summary], important);
    }

    static string Detail(CandidateSummary c)
    {
        if (c.Status == CandidateStatus.Healing && c.Progress is { TotalSteps: > 0 } p)
            return $"{Bar.Of(p.Step, p.TotalSteps, 20)} {p.Step}/{p.TotalSteps} loss {p.Loss:0.000} {p.TokensPerS:N0} tok/s";
        if (c.Status == CandidateStatus.Completed && c.Result is { } r)
            return $"avg {Numbers.Format(r.Average, "0.0000")} ± {Numbers.Format(r.AverageStderr, "0.0000")}  ppl {Numbers.Format(r.Perplexity, "0.0")}  {Cli.Count(r.Params)} params  {r.LatencyMsPerToken:0.00} ms/token";
        if (c.Status is CandidateStatus.Failed or CandidateStatus.Cancelled) return c.Error ?? "";
        if (c.Status == CandidateStatus.Pending && c.Running is not null) return "starting";
        return "";
    }
}

/// <summary>A text progress bar: <c>[#####.....]</c>.</summary>
public static class Bar
{
    public static string Of(long done, long total, int width)
    {
        int filled = total <= 0 ? 0 : (int)Math.Clamp(width * (double)done / total, 0, width);
        return $"[{new string('#', filled)}{new string('.', width - filled)}]";
    }
}
