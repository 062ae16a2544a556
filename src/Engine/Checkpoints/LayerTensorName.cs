using System.Text.RegularExpressions;

namespace LayerChop.Engine.Checkpoints;

/// <summary>Checkpoint names of decoder-layer tensors, "model.layers.N.rest": the one place that reads and writes N.</summary>
public static partial class LayerTensorName
{
    [GeneratedRegex(@"^model\.layers\.(\d+)\.(.+)$")]
    private static partial Regex Pattern();

    /// <returns>false for tensors outside the decoder layers (embedding, final norm, head).</returns>
    public static bool TryParse(string name, out int layer, out string rest)
    {
        var match = Pattern().Match(name);
        layer = match.Success ? int.Parse(match.Groups[1].Value) : -1;
        rest = match.Success ? match.Groups[2].Value : "";
        return match.Success;
    }

    public static string Format(int layer, string rest) => $"model.layers.{layer}.{rest}";
}
