using TorchSharp;

namespace LayerChop.Engine.Checkpoints;

/// <summary>Maps safetensors dtype codes to TorchSharp scalar types and element sizes.</summary>
internal static class SafeTensorsDTypes
{
    private static readonly (string Code, torch.ScalarType Type, int Size)[] Table =
    [
        ("F32", torch.ScalarType.Float32, 4),
        ("F16", torch.ScalarType.Float16, 2),
        ("BF16", torch.ScalarType.BFloat16, 2),
        ("F64", torch.ScalarType.Float64, 8),
        ("I64", torch.ScalarType.Int64, 8),
        ("I32", torch.ScalarType.Int32, 4),
        ("I16", torch.ScalarType.Int16, 2),
        ("I8", torch.ScalarType.Int8, 1),
        ("U8", torch.ScalarType.Byte, 1),
        ("BOOL", torch.ScalarType.Bool, 1),
    ];

    /// <summary>The supported codes, for error messages.</summary>
    public static string SupportedList { get; } = string.Join(", ", Table.Select(e => e.Code));

    public static bool TryFromCode(string code, out torch.ScalarType type, out int size)
    {
        foreach (var e in Table)
        {
            if (e.Code == code)
            {
                type = e.Type;
                size = e.Size;
                return true;
            }
        }
        type = default;
        size = 0;
        return false;
    }

    public static bool TryFromScalarType(torch.ScalarType type, out string code, out int size)
    {
        foreach (var e in Table)
        {
            if (e.Type == type)
            {
                code = e.Code;
                size = e.Size;
                return true;
            }
        }
        code = "";
        size = 0;
        return false;
    }

    public static torch.ScalarType ToScalarType(string code) =>
        TryFromCode(code, out var type, out _) ? type : throw new ArgumentException($"unsupported safetensors dtype '{code}'", nameof(code));

    public static int ElementSize(string code) =>
        TryFromCode(code, out _, out var size) ? size : throw new ArgumentException($"unsupported safetensors dtype '{code}'", nameof(code));
}
