using System.Globalization;

namespace LayerChop.Client.Reports;

public enum Verdict { Higher, Lower, WithinNoise, Unknown }

/// <summary>How two measured scores compare, given their standard errors.</summary>
public readonly record struct Comparison(double Difference, double Stderr, Verdict Verdict)
{
    /// <summary>The difference in units of its standard error.</summary>
    public double Z => Difference / Stderr;

    /// <summary>
    /// The sign written between two scores a and b of an ordering, from this comparison of a with b: "=" when
    /// they are the same number, "&gt;" or "&lt;" when the difference is beyond noise, "≈" when it is within noise,
    /// "?" when there is no standard error to judge it by (see <see cref="SignsExplained"/>).
    /// </summary>
    public string Sign => Difference == 0 ? "=" : Verdict switch
    {
        Verdict.Higher => ">",
        Verdict.Lower => "<",
        Verdict.WithinNoise => "≈",
        _ => "?",
    };

    /// <summary>What the signs of <see cref="Sign"/> mean, for a reader.</summary>
    public const string SignsExplained =
        "Between two scores of an ordering, `>` means higher beyond noise, `≈` a difference within noise, `=` the same score, and `?` no standard error to judge by.";

    /// <summary>"+0.041 ± 0.016, 2.6 SE: higher beyond noise".</summary>
    public string Describe(string higher = "higher", string lower = "lower")
    {
        var inv = CultureInfo.InvariantCulture;
        string diff = Difference.ToString("+0.000;-0.000;0.000", inv);
        if (Verdict == Verdict.Unknown) return $"{diff}, no standard error to judge it by";
        string z = Math.Abs(Z).ToString("0.0", inv);
        string what = Verdict switch
        {
            Verdict.Higher => $"{higher}, beyond noise",
            Verdict.Lower => $"{lower}, beyond noise",
            _ => "within noise",
        };
        return $"{diff} ± {Stderr.ToString("0.000", inv)}, {z} SE: {what}";
    }
}

/// <summary>
/// The report's one rule for calling a difference: two scores a and b with standard errors sa and sb differ by
/// d = a - b with standard error sqrt(sa^2 + sb^2) (as for independent samples; candidates answer the same
/// questions, whose shared difficulty this leaves in, so the rule errs on the side of "within noise"). A
/// difference is called only when |d| is at least <see cref="Threshold"/> standard errors (about 95% two-sided);
/// otherwise it is "within noise". Without a standard error nothing is called.
/// </summary>
public static class NoiseRule
{
    public const double Threshold = 2.0;

    public static Comparison Compare(double a, double stderrA, double b, double stderrB)
    {
        double d = a - b, se = Math.Sqrt(stderrA * stderrA + stderrB * stderrB);
        if (!double.IsFinite(d) || !double.IsFinite(se) || se <= 0) return new Comparison(d, se, Verdict.Unknown);
        if (Math.Abs(d) < Threshold * se) return new Comparison(d, se, Verdict.WithinNoise);
        return new Comparison(d, se, d > 0 ? Verdict.Higher : Verdict.Lower);
    }
}
