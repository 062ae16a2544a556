using System.Buffers;
using Microsoft.Win32.SafeHandles;
using TorchSharp;

namespace LayerChop.Engine.Checkpoints;

/// <summary>
/// Moves raw tensor bytes between files and TorchSharp tensors in bounded chunks. A span handed to
/// <c>Tensor.bytes</c> holds at most 2 GB, and a whole large tensor should never sit in managed memory
/// twice, so both directions go through <c>narrow</c> views of the flattened tensor, one chunk at a time.
/// </summary>
internal static class TensorBytes
{
    /// <summary>Largest chunk copied at once, in bytes. Tests lower it to force many chunks.</summary>
    internal static int ChunkBytes = 64 << 20;

    /// <summary>
    /// Fills the contiguous CPU tensor <paramref name="target"/> from <paramref name="byteLength"/> bytes of
    /// the file at <paramref name="fileOffset"/>.
    /// </summary>
    public static void ReadInto(torch.Tensor target, int elementSize, SafeFileHandle file, long fileOffset, long byteLength, string path)
    {
        if (byteLength == 0) return;
        long totalElements = byteLength / elementSize;
        long chunkElements = Math.Max(1, ChunkBytes / elementSize);
        int bufferBytes = (int)Math.Min(chunkElements * elementSize, byteLength);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(bufferBytes);
        try
        {
            using var flat = target.view(-1);
            for (long start = 0; start < totalElements; start += chunkElements)
            {
                long count = Math.Min(chunkElements, totalElements - start);
                var span = buffer.AsSpan(0, (int)(count * elementSize));
                ReadExactly(file, span, fileOffset + start * elementSize, path);
                using var part = flat.narrow(0, start, count);
                part.bytes = span;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Writes the bytes of the contiguous CPU tensor <paramref name="source"/> to <paramref name="stream"/>.</summary>
    public static void WriteFrom(torch.Tensor source, int elementSize, Stream stream)
    {
        long totalElements = source.numel();
        if (totalElements == 0) return;
        long chunkElements = Math.Max(1, ChunkBytes / elementSize);
        using var flat = source.view(-1);
        for (long start = 0; start < totalElements; start += chunkElements)
        {
            long count = Math.Min(chunkElements, totalElements - start);
            using var part = flat.narrow(0, start, count);
            stream.Write(part.bytes);
        }
    }

    private static void ReadExactly(SafeFileHandle file, Span<byte> destination, long offset, string path)
    {
        while (!destination.IsEmpty)
        {
            int read = RandomAccess.Read(file, destination, offset);
            if (read <= 0)
                throw new CheckpointFormatException($"{path}: unexpected end of file at byte {offset}; the file was truncated or changed after it was opened");
            destination = destination[read..];
            offset += read;
        }
    }
}
