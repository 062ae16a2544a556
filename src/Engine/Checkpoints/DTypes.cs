using static TorchSharp.torch;

namespace LayerChop.Engine.Checkpoints;

/// <summary>Model weight dtypes as the command line and Hugging Face's torch_dtype name them.</summary>
public static class DTypes
{
    public static ScalarType Parse(string name) => name.ToLowerInvariant() switch
    {
        "f32" or "fp32" or "float32" or "float" => ScalarType.Float32,
        "bf16" or "bfloat16" => ScalarType.BFloat16,
        "f16" or "fp16" or "float16" or "half" => ScalarType.Float16,
        _ => throw new LayerChopException($"unknown dtype '{name}'; use f32, bf16 or f16"),
    };

    public static string TorchName(ScalarType t) => t switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Float16 => "float16",
        _ => throw new LayerChopException($"dtype {t} is not a model weight dtype; use f32, bf16 or f16"),
    };
}
