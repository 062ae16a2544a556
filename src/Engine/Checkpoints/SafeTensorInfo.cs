namespace LayerChop.Engine.Checkpoints;

/// <summary>
/// One tensor entry of a safetensors header. <paramref name="DType"/> is the safetensors code ("F32", "BF16", ...);
/// <paramref name="Begin"/> and <paramref name="End"/> are byte offsets relative to the start of the data buffer.
/// </summary>
public sealed record SafeTensorInfo(string Name, string DType, long[] Shape, long Begin, long End)
{
    /// <summary>Bytes the tensor's data takes in the file (End - Begin).</summary>
    public long ByteLength => End - Begin;
}

/// <summary>
/// A tensor to write that is produced only when its turn comes: <see cref="Load"/> returns a new tensor of
/// exactly <see cref="DType"/> and <see cref="Shape"/>, which the writer disposes once written.
/// </summary>
public sealed record TensorSource(string Name, TorchSharp.torch.ScalarType DType, long[] Shape, Func<TorchSharp.torch.Tensor> Load);
