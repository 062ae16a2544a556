using System.Globalization;

namespace LayerChop.Client.Rendering;

public static class Numbers
{
    /// <summary>A number as text; a non-finite one as what it is (nan, inf), never hidden.</summary>
    public static string Format(double? value, string format) => value switch
    {
        null => "-",
        double v when double.IsNaN(v) => "nan",
        double v when double.IsInfinity(v) => v > 0 ? "inf" : "-inf",
        double v => v.ToString(format, CultureInfo.InvariantCulture),
    };
}
