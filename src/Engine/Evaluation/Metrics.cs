namespace LayerChop.Engine.Evaluation;

/// <summary>The harness's per-document metrics and their aggregation.</summary>
public static class Metrics
{
    /// <summary>
    /// Index of the highest log-likelihood (acc), and of the highest log-likelihood divided by the choice's length
    /// in characters (acc_norm). Ties go to the first, as numpy's argmax does. A character is a Unicode code point,
    /// what Python's len counts (the harness's completion_len): an emoji outside the Basic Multilingual Plane is
    /// one character, not the two UTF-16 units of a .NET string.
    /// </summary>
    public static (int Pred, int PredNorm) Predict(IReadOnlyList<double> logLikelihoods, IReadOnlyList<string> choices)
    {
        if (logLikelihoods.Count != choices.Count || choices.Count == 0)
            throw new ArgumentException($"{logLikelihoods.Count} log-likelihoods for {choices.Count} choices");
        int pred = 0, predNorm = 0;
        double best = double.NegativeInfinity, bestNorm = double.NegativeInfinity;
        for (int i = 0; i < choices.Count; i++)
        {
            double ll = logLikelihoods[i];
            double norm = ll / PythonText.Len(choices[i]);      // as numpy: an empty choice gives -inf
            if (i == 0 || ll > best) { best = ll; pred = i; }
            if (i == 0 || norm > bestNorm) { bestNorm = norm; predNorm = i; }
        }
        return (pred, predNorm);
    }

    /// <summary>
    /// The harness's acc_mutual_info decision: the index of the highest log P(choice | context) minus
    /// log P(choice | empty context). Ties go to the first.
    /// </summary>
    public static int PredictMutualInfo(IReadOnlyList<double> conditional, IReadOnlyList<double> unconditional)
    {
        if (conditional.Count != unconditional.Count || conditional.Count == 0)
            throw new ArgumentException($"{conditional.Count} conditional and {unconditional.Count} unconditional log-likelihoods");
        int pred = 0;
        for (int i = 1; i < conditional.Count; i++)
            if (conditional[i] - unconditional[i] > conditional[pred] - unconditional[pred]) pred = i;
        return pred;
    }

    public static double Mean(IReadOnlyList<double> values) => values.Count == 0 ? double.NaN : values.Average();

    /// <summary>Standard error of the mean: sample standard deviation (n - 1) over sqrt(n); null below two values.</summary>
    public static double? MeanStderr(IReadOnlyList<double> values)
    {
        int n = values.Count;
        if (n < 2) return null;
        double mean = values.Average();
        double variance = values.Sum(v => (v - mean) * (v - mean)) / (n - 1);
        return Math.Sqrt(variance) / Math.Sqrt(n);
    }

    /// <summary>The harness's perplexity aggregation for loglikelihood tasks: exp(-mean of per-document log-likelihoods).</summary>
    public static double Perplexity(IReadOnlyList<double> logLikelihoods) => Math.Exp(-Mean(logLikelihoods));
}
