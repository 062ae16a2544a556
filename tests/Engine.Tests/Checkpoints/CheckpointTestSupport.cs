using System.Buffers.Binary;
using System.Text;
using TorchSharp;

namespace LayerChop.Engine.Tests.Checkpoints;

/// <summary>A fresh folder under the temp directory, deleted on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "layerchop-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

internal static class CheckpointTestSupport
{
    public static readonly string[] AllDTypes = ["F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL"];

    public static torch.ScalarType ScalarType(string code) => code switch
    {
        "F32" => torch.ScalarType.Float32,
        "F16" => torch.ScalarType.Float16,
        "BF16" => torch.ScalarType.BFloat16,
        "F64" => torch.ScalarType.Float64,
        "I64" => torch.ScalarType.Int64,
        "I32" => torch.ScalarType.Int32,
        "I16" => torch.ScalarType.Int16,
        "I8" => torch.ScalarType.Int8,
        "U8" => torch.ScalarType.Byte,
        "BOOL" => torch.ScalarType.Bool,
        _ => throw new ArgumentException(code),
    };

    /// <summary>
    /// A tensor whose bytes are random bit patterns (for float types this includes NaNs with payloads,
    /// infinities, subnormals and negative zero), so a byte comparison catches any value conversion.
    /// </summary>
    public static torch.Tensor RandomBitsTensor(string code, long[] shape, int seed)
    {
        var tensor = torch.empty(shape, ScalarType(code));
        int bytes = checked((int)(tensor.numel() * tensor.ElementSize));
        var data = new byte[bytes];
        new Random(seed).NextBytes(data);
        if (code == "BOOL")
            for (int i = 0; i < data.Length; i++) data[i] &= 1;
        tensor.bytes = data;
        return tensor;
    }

    public static byte[] Bytes(torch.Tensor tensor)
    {
        using var contiguous = tensor.contiguous();
        return contiguous.bytes.ToArray();
    }

    /// <summary>A safetensors file built by hand: 8-byte length prefix, header text, data.</summary>
    public static byte[] RawFile(string header, byte[]? data = null, ulong? declaredHeaderLength = null)
    {
        byte[] headerBytes = Encoding.UTF8.GetBytes(header);
        data ??= [];
        var file = new byte[8 + headerBytes.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, declaredHeaderLength ?? (ulong)headerBytes.Length);
        headerBytes.CopyTo(file, 8);
        data.CopyTo(file, 8 + headerBytes.Length);
        return file;
    }
}
