using System.Collections;

namespace LayerChop.Specs;

/// <summary>One field two specs disagree on: its path as the spec spells it (train.lr, data) and each value as
/// the spec's YAML form writes it ("none" when left out).</summary>
public sealed record SpecDifference(string Field, string Existing, string Submitted);

/// <summary>
/// What differs between a stored sweep's spec and one submitted under its name. A sweep is one experiment: a
/// resubmission may grow the grid (every value it had stays), change max_attempts, and change the settings
/// that decide only how much memory a candidate needs, not what it computes (<see cref="MemorySettings"/>),
/// and nothing else.
/// </summary>
public static class SweepSpecDiff
{
    static readonly string MaxAttempts = SweepSpecFields.SnakeCase(nameof(SweepSpec.MaxAttempts));
    static readonly string Grid = SweepSpecFields.SnakeCase(nameof(SweepSpec.Grid));

    /// <summary>
    /// Settings that lower a candidate's memory need without changing what it computes (gradient accumulation
    /// over smaller micro-batches, recomputed activations, a smaller evaluation batch): a candidate that ran out of
    /// memory is resubmitted with one of them changed. An unfinished candidate's healing starts afresh under the
    /// new settings (its input record changes).
    /// </summary>
    public static readonly IReadOnlyList<string> MemorySettings =
    [
        Path(nameof(SweepSpec.Train), nameof(Settings.TrainSettings.MicroBatch)),
        Path(nameof(SweepSpec.Train), nameof(Settings.TrainSettings.ActivationCheckpointing)),
        Path(nameof(SweepSpec.Eval), nameof(Settings.EvalSettings.BatchSize)),
    ];

    static string Path(string section, string field) => $"{SweepSpecFields.SnakeCase(section)}.{SweepSpecFields.SnakeCase(field)}";

    /// <summary>The <see cref="MemorySettings"/> whose value differs.</summary>
    public static IReadOnlyList<SpecDifference> MemoryChanges(SweepSpec existing, SweepSpec submitted) =>
        Between(existing, submitted).Where(d => MemorySettings.Contains(d.Field)).ToList();

    /// <summary>Every field whose value differs, in the spec's field order.</summary>
    public static IReadOnlyList<SpecDifference> Between(SweepSpec existing, SweepSpec submitted) =>
        SweepSpecWriter.Values(existing).Zip(SweepSpecWriter.Values(submitted))
            .Where(pair => pair.First.Text != pair.Second.Text)
            .Select(pair => new SpecDifference(pair.First.Path, pair.First.Text, pair.Second.Text))
            .ToList();

    /// <summary>The differences a resubmission may not make: all but max_attempts, memory settings and grid lists that keep every value they had.</summary>
    public static IReadOnlyList<SpecDifference> Refused(SweepSpec existing, SweepSpec submitted) =>
        Between(existing, submitted)
            .Where(d => d.Field != MaxAttempts && !MemorySettings.Contains(d.Field) && !GridGrows(d.Field, existing.Grid, submitted.Grid)).ToList();

    /// <summary>The one-line refusal of <paramref name="submitted"/>, or null when it may replace <paramref name="existing"/>.</summary>
    public static string? Refusal(SweepSpec existing, SweepSpec submitted) =>
        Refused(existing, submitted) is { Count: > 0 } refused ? Describe(existing.Name, refused) : null;

    /// <summary>
    /// "sweep 'x' already exists with train.lr 0.0003; this spec says 0.001; ..." naming every field, and what to do.
    /// </summary>
    public static string Describe(string sweep, IReadOnlyList<SpecDifference> differences)
    {
        var existing = string.Join(", ", differences.Select(d => $"{d.Field} {d.Existing}"));
        var submitted = differences.Count == 1 ? differences[0].Submitted
            : string.Join(", ", differences.Select(d => $"{d.Field} {d.Submitted}"));
        return $"sweep '{sweep}' already exists with {existing}; this spec says {submitted}; "
               + $"submit it under another name, or change only grid (whose lists may gain values), max_attempts and {string.Join(", ", MemorySettings)}";
    }

    static bool GridGrows(string field, GridSpec existing, GridSpec submitted)
    {
        if (!field.StartsWith(Grid + ".", StringComparison.Ordinal)) return false;
        var list = SweepSpecFields.Of(typeof(GridSpec)).Single(f => $"{Grid}.{f.Name}" == field);
        var after = ((IEnumerable)list.ValueIn(submitted)!).Cast<object>().ToList();
        return ((IEnumerable)list.ValueIn(existing)!).Cast<object>().All(after.Contains);
    }
}
