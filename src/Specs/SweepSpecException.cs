using LayerChop.Engine;

namespace LayerChop.Specs;

/// <summary>
/// One thing wrong with a spec. <see cref="Field"/> is the snake_case path the user wrote ("grid.strategy[1]",
/// "train.seq_len"; empty for a syntax error), <see cref="Message"/> starts with it, and <see cref="Line"/> is
/// where the field is in the file when the problem was found while reading one.
/// </summary>
public sealed record SpecProblem(string Field, int? Line, string Message)
{
    public override string ToString() => Line is int line ? $"line {line}: {Message}" : Message;
}

/// <summary>
/// A spec that cannot run, with every problem found (all of them are looked for before any work starts). The
/// message is one line: the spec's path, then each problem, separated by " | ".
/// </summary>
public sealed class SweepSpecException(string specPath, IReadOnlyList<SpecProblem> problems)
    : LayerChopException(Format(specPath, problems))
{
    public string SpecPath { get; } = specPath;
    public IReadOnlyList<SpecProblem> Problems { get; } = problems;

    /// <summary>The field of the first problem.</summary>
    public string Field => Problems.Count > 0 ? Problems[0].Field : "";

    static string Format(string specPath, IReadOnlyList<SpecProblem> problems) =>
        $"{specPath}: " + string.Join(" | ", problems.Select(p => p.ToString()));
}
