using System.Text.Encodings.Web;
using System.Text.Json;
using TorchSharp;

namespace LayerChop.Engine.Checkpoints;

/// <summary>Writes .safetensors files.</summary>
public static class SafeTensorsWriter
{
    /// <summary>
    /// Writes <paramref name="tensors"/> to <paramref name="path"/> in the given order, with the optional
    /// "__metadata__" map. Tensors may have any supported dtype and live on any device: each one is moved to
    /// the CPU and made contiguous on its own, written in chunks, and released before the next, so at most one
    /// tensor's CPU copy exists at a time. The file is written as <c>path + ".tmp"</c> and renamed over
    /// <paramref name="path"/> only once complete. The caller keeps ownership of the tensors.
    /// </summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, torch.Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(tensors);
        WritePlanned(path, Plan(tensors), metadata);
    }

    /// <summary>
    /// Writes tensors that are produced one at a time while writing (read from another checkpoint, converted
    /// to another dtype): only their names, dtypes and shapes are needed up front for the header, and each
    /// produced tensor is disposed once written, so peak memory is one tensor whatever the file's size.
    /// </summary>
    public static void WriteStreaming(string path, IReadOnlyList<TensorSource> sources, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(sources);
        WritePlanned(path, Plan(sources), metadata);
    }

    /// <summary>A tensor about to be written, with its header fields worked out.</summary>
    internal sealed record Entry(string Name, Func<torch.Tensor> Produce, bool OwnsProduced, string DType, int ElementSize, long[] Shape, long ByteLength);

    internal static List<Entry> Plan(IReadOnlyList<TensorSource> sources)
    {
        var entries = new List<Entry>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var source in sources)
        {
            CheckName(source.Name, names);
            if (!SafeTensorsDTypes.TryFromScalarType(source.DType, out string code, out int size))
                throw new ArgumentException($"tensor '{source.Name}' has dtype {source.DType}, which safetensors cannot store here (supported: {SafeTensorsDTypes.SupportedList})", nameof(sources));
            long bytes = checked(source.Shape.Aggregate(1L, (a, b) => checked(a * b)) * size);
            entries.Add(new Entry(source.Name, source.Load, true, code, size, source.Shape, bytes));
        }
        return entries;
    }

    static void CheckName(string name, HashSet<string> names)
    {
        if (string.IsNullOrEmpty(name))
            throw new ArgumentException("a tensor name is empty", "tensors");
        if (name == "__metadata__")
            throw new ArgumentException("'__metadata__' is reserved by the safetensors format and cannot name a tensor", "tensors");
        if (!names.Add(name))
            throw new ArgumentException($"tensor '{name}' is given twice", "tensors");
    }

    /// <summary>Checks names and dtypes and works out each tensor's size, before anything touches the disk.</summary>
    internal static List<Entry> Plan(IEnumerable<KeyValuePair<string, torch.Tensor>> tensors)
    {
        var entries = new List<Entry>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
        {
            CheckName(name, names);
            ArgumentNullException.ThrowIfNull(tensor, $"tensor '{name}'");
            if (!SafeTensorsDTypes.TryFromScalarType(tensor.dtype, out string code, out int size))
                throw new ArgumentException($"tensor '{name}' has dtype {tensor.dtype}, which safetensors cannot store here (supported: {SafeTensorsDTypes.SupportedList})", nameof(tensors));
            long[] shape = tensor.shape;
            long bytes = checked(tensor.numel() * size);
            entries.Add(new Entry(name, () => tensor, false, code, size, shape, bytes));
        }
        return entries;
    }

    internal static void WritePlanned(string path, IReadOnlyList<Entry> entries, IReadOnlyDictionary<string, string>? metadata)
    {
        byte[] header = BuildHeader(entries, metadata);
        string temp = path + ".tmp";
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1 << 20))
            {
                Span<byte> prefix = stackalloc byte[8];
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
                stream.Write(prefix);
                stream.Write(header);
                foreach (var entry in entries)
                    WriteData(entry, stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    private static void WriteData(Entry entry, Stream stream)
    {
        if (entry.ByteLength == 0) return;
        // Every tensor made here (CPU copy, detached alias, contiguous copy) dies with the scope; the
        // caller's own tensor was made outside it and is left alone.
        var produced = entry.Produce();
        try
        {
            if (!produced.shape.SequenceEqual(entry.Shape) || !SafeTensorsDTypes.TryFromScalarType(produced.dtype, out string code, out _) || code != entry.DType)
                throw new InvalidOperationException($"tensor '{entry.Name}' was planned as {entry.DType} [{string.Join(",", entry.Shape)}] but produced {produced.dtype} [{string.Join(",", produced.shape)}]");
            WriteTensor(entry, produced, stream);
        }
        finally
        {
            if (entry.OwnsProduced) produced.Dispose();
        }
    }

    private static void WriteTensor(Entry entry, torch.Tensor tensor, Stream stream)
    {
        using var scope = torch.NewDisposeScope();
        var source = tensor.detach();
        if (source.device_type != DeviceType.CPU) source = source.cpu();
        if (!source.is_contiguous()) source = source.contiguous();
        long before = stream.Position;
        TensorBytes.WriteFrom(source, entry.ElementSize, stream);
        if (stream.Position - before != entry.ByteLength)
            throw new InvalidOperationException($"tensor '{entry.Name}' wrote {stream.Position - before} bytes, expected {entry.ByteLength}");
    }

    /// <summary>The JSON header, padded with spaces so that the data buffer starts on an 8-byte boundary.</summary>
    internal static byte[] BuildHeader(IReadOnlyList<Entry> entries, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is not null)
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata)
                    json.WriteString(key, value);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var entry in entries)
            {
                json.WriteStartObject(entry.Name);
                json.WriteString("dtype", entry.DType);
                json.WriteStartArray("shape");
                foreach (long d in entry.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + entry.ByteLength);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += entry.ByteLength;
            }
            json.WriteEndObject();
        }
        while (buffer.Length % 8 != 0) buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }
}
