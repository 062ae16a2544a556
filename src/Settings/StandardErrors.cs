namespace LayerChop.Settings;

/// <summary>How LayerChop combines standard errors, wherever a combined one is written (the sweep's results, an export's lineage).</summary>
public static class StandardErrors
{
    /// <summary>
    /// The standard error of the mean of independent estimates with these standard errors: sqrt(sum se^2) / count.
    /// NaN when there are none, or when any of them is NaN (undefined, as for a task of a single question).
    /// </summary>
    public static double OfMean(IReadOnlyCollection<double> stderrs) =>
        stderrs.Count == 0 ? double.NaN : Math.Sqrt(stderrs.Sum(se => se * se)) / stderrs.Count;
}
