using System.Text.Json;
using LayerChop.Engine.Modeling;
using static TorchSharp.torch;

namespace LayerChop.Engine.Checkpoints;

/// <summary>
/// Logits another implementation computed for a model folder, kept beside it to check LayerChop's forward pass
/// against (a parity check). The file is safetensors: <c>input_ids</c> (I64, (B, T)), <c>logits</c> (F32,
/// (B, T, V)) computed in float32, and optionally <c>logits_bf16</c> (F32, (B, T, V)): the same implementation run
/// in bfloat16, whose distance to <c>logits</c> is that implementation's own bf16 error and so the yardstick for
/// LayerChop's. Metadata says what produced it (<c>source</c>).
/// </summary>
public static class ReferenceLogits
{
    public const string FileName = "reference.safetensors";

    /// <summary>LayerChop's bf16 logits pass when their error is at most this multiple of the reference's own bf16
    /// error plus <see cref="Bf16Slack"/>.</summary>
    public const double Bf16ErrorRatio = 2.0;
    public const double Bf16Slack = 1e-3;
    public const double Fp32Tolerance = 1e-4;

    /// <summary>Writes a reference file of this model's float32 logits for <paramref name="inputIds"/> (B, T).</summary>
    public static void Write(string path, CausalLM model, Tensor inputIds, string source)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logits = model.Forward(inputIds.to(model.Device)).to(ScalarType.Float32).cpu();
        SafeTensorsWriter.Write(path, [new("input_ids", inputIds.to(ScalarType.Int64).cpu()), new("logits", logits)],
            new Dictionary<string, string> { ["source"] = source });
    }

    /// <summary>Runs <paramref name="model"/> on the reference's inputs and measures how far its logits are from the reference's.</summary>
    public static ParityResult Compare(CausalLM model, string referencePath)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var file = SafeTensorsFile.Open(referencePath);
        foreach (var name in new[] { "input_ids", "logits" })
            if (!file.Contains(name)) throw new LayerChopException($"{referencePath}: no '{name}' tensor; not a reference logits file");
        var ids = file.Read("input_ids").to(ScalarType.Int64);
        var expected = file.Read("logits").to(ScalarType.Float32);
        var actual = model.Forward(ids.to(model.Device)).to(ScalarType.Float32).cpu();
        if (!actual.shape.SequenceEqual(expected.shape))
            throw new LayerChopException($"{referencePath}: reference logits are ({string.Join(", ", expected.shape)}), the model gives ({string.Join(", ", actual.shape)})");
        double? referenceBf16Error = file.Contains("logits_bf16")
            ? (file.Read("logits_bf16").to(ScalarType.Float32) - expected).abs().max().item<float>() : null;
        var diff = (actual - expected).abs();
        long agree = actual.argmax(-1).eq(expected.argmax(-1)).sum().item<long>();
        return new ParityResult(
            file.Metadata.GetValueOrDefault("source", "unknown"), DTypes.TorchName(model.DType), model.Device.type.ToString().ToLowerInvariant(),
            diff.max().item<float>(), diff.mean().item<float>(), expected.abs().max().item<float>(),
            agree / (double)(ids.shape[0] * ids.shape[1]), referenceBf16Error);
    }
}

/// <param name="MaxAbsDiff">max |LayerChop - reference| over all logits.</param>
/// <param name="ArgmaxAgreement">fraction of positions whose top token is the same.</param>
/// <param name="ReferenceBf16Error">max |reference in bf16 - reference in f32|, when the file has it.</param>
public sealed record ParityResult(string Source, string DType, string Device, double MaxAbsDiff, double MeanAbsDiff, double MaxAbsLogit,
    double ArgmaxAgreement, double? ReferenceBf16Error)
{
    /// <summary>The bar this run is held to: <see cref="ReferenceLogits.Fp32Tolerance"/> in float32; in bf16, a
    /// multiple of the reference's own bf16 error (null when the file has no bf16 run to measure it by).</summary>
    public double? Tolerance => DType == "float32" ? ReferenceLogits.Fp32Tolerance
        : ReferenceBf16Error is double e ? ReferenceLogits.Bf16ErrorRatio * e + ReferenceLogits.Bf16Slack : null;

    public bool? Passed => Tolerance is double t ? MaxAbsDiff <= t : null;

    public string ToJson(string model) => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["model"] = model, ["source"] = Source, ["dtype"] = DType, ["device"] = Device, ["max_abs_diff"] = MaxAbsDiff, ["mean_abs_diff"] = MeanAbsDiff,
        ["max_abs_logit"] = MaxAbsLogit, ["argmax_agreement"] = ArgmaxAgreement, ["reference_bf16_error"] = ReferenceBf16Error,
        ["tolerance"] = Tolerance, ["passed"] = Passed,
    });
}
