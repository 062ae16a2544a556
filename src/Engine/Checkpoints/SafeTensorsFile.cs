using System.Buffers.Binary;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;
using TorchSharp;

namespace LayerChop.Engine.Checkpoints;

/// <summary>
/// One .safetensors file. The layout is an 8-byte little-endian header length N, N bytes of UTF-8 JSON
/// (tensor name to dtype, shape and data_offsets, plus an optional "__metadata__" string map), then the data
/// buffer that the offsets point into. <see cref="Open"/> reads and validates the whole header; tensor data
/// is read only on <see cref="Read"/>, streamed from the file in chunks.
/// </summary>
public sealed class SafeTensorsFile : IDisposable
{
    /// <summary>Headers larger than this are refused (the reference implementation uses the same bound).</summary>
    internal const long MaxHeaderBytes = 100_000_000;

    private const string MetadataKey = "__metadata__";

    private readonly SafeFileHandle _file;
    private readonly long _dataStart;
    private readonly Dictionary<string, SafeTensorInfo> _byName;
    private readonly Dictionary<string, long[]> _shapes; // private copies: SafeTensorInfo.Shape is a mutable array

    private SafeTensorsFile(string path, SafeFileHandle file, long dataStart, IReadOnlyDictionary<string, string> metadata, List<SafeTensorInfo> tensors)
    {
        Path = path;
        _file = file;
        _dataStart = dataStart;
        Metadata = new System.Collections.ObjectModel.ReadOnlyDictionary<string, string>(metadata.ToDictionary(StringComparer.Ordinal));
        Tensors = tensors.AsReadOnly();
        _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        _shapes = tensors.ToDictionary(t => t.Name, t => t.Shape.ToArray(), StringComparer.Ordinal);
    }

    /// <summary>The path the file was opened with.</summary>
    public string Path { get; }

    /// <summary>The header's "__metadata__" entries (empty when the header has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensors in the order the header lists them.</summary>
    public IReadOnlyList<SafeTensorInfo> Tensors { get; }

    public bool Contains(string name) => _byName.ContainsKey(name);

    public SafeTensorInfo Info(string name) =>
        _byName.TryGetValue(name, out var info) ? info : throw new KeyNotFoundException($"{Path}: no tensor named '{name}'");

    /// <summary>
    /// A new CPU tensor with the stored dtype and shape, filled from the file in chunks of at most
    /// <see cref="TensorBytes.ChunkBytes"/> bytes. The caller owns (and disposes) it.
    /// </summary>
    public torch.Tensor Read(string name)
    {
        var info = Info(name);
        ObjectDisposedException.ThrowIf(_file.IsClosed, this);
        SafeTensorsDTypes.TryFromCode(info.DType, out var type, out int elementSize);
        var tensor = torch.empty(_shapes[name], type, torch.CPU);
        try
        {
            TensorBytes.ReadInto(tensor, elementSize, _file, _dataStart + info.Begin, info.ByteLength, Path);
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    public void Dispose() => _file.Dispose();

    /// <summary>Opens <paramref name="path"/> and validates its header; throws <see cref="CheckpointFormatException"/> when it is malformed.</summary>
    public static SafeTensorsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("safetensors data is little-endian; big-endian hosts are not supported");

        SafeFileHandle file;
        try
        {
            file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (FileNotFoundException)
        {
            throw new CheckpointFormatException($"{path}: file not found");
        }
        catch (DirectoryNotFoundException)
        {
            throw new CheckpointFormatException($"{path}: file not found (its folder does not exist)");
        }

        try
        {
            long fileLength = RandomAccess.GetLength(file);
            if (fileLength < 8)
                throw new CheckpointFormatException($"{path}: file is only {fileLength} bytes, shorter than the 8-byte header length that starts a safetensors file");

            Span<byte> prefix = stackalloc byte[8];
            ReadAll(file, prefix, 0, path);
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (headerLength > (ulong)(fileLength - 8))
                throw new CheckpointFormatException($"{path}: header length {headerLength} runs past the end of the file ({fileLength} bytes); the file is truncated or not safetensors");
            if (headerLength > MaxHeaderBytes)
                throw new CheckpointFormatException($"{path}: header length {headerLength} exceeds the {MaxHeaderBytes}-byte limit; the file is corrupt or not safetensors");

            var header = new byte[(int)headerLength];
            ReadAll(file, header, 8, path);
            long dataStart = 8 + (long)headerLength;
            long dataLength = fileLength - dataStart;

            var (metadata, tensors) = ParseHeader(header, dataLength, path);
            return new SafeTensorsFile(path, file, dataStart, metadata, tensors);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static (IReadOnlyDictionary<string, string>, List<SafeTensorInfo>) ParseHeader(byte[] header, long dataLength, string path)
    {
        // JsonDocument checks structure but decodes strings lazily, so bad UTF-8 would surface later as an
        // unrelated-looking exception; check the encoding first.
        if (!System.Text.Unicode.Utf8.IsValid(header))
            throw new CheckpointFormatException($"{path}: header is not valid UTF-8 text, so not valid JSON");

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header);
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException($"{path}: header is not valid JSON ({OneLine(e.Message)})");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new CheckpointFormatException($"{path}: header is a JSON {Kind(root.ValueKind)}, not an object of tensor entries");

            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var tensors = new List<SafeTensorInfo>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            bool sawMetadata = false;

            foreach (var property in root.EnumerateObject())
            {
                if (property.Name == MetadataKey)
                {
                    if (sawMetadata)
                        throw new CheckpointFormatException($"{path}: header has \"{MetadataKey}\" twice");
                    sawMetadata = true;
                    ParseMetadata(property.Value, metadata, path);
                    continue;
                }
                if (!seen.Add(property.Name))
                    throw new CheckpointFormatException($"{path}: tensor '{property.Name}' appears twice in the header");
                tensors.Add(ParseEntry(property.Name, property.Value, dataLength, path));
            }

            CheckNoOverlap(tensors, path);
            return (metadata, tensors);
        }
    }

    private static void ParseMetadata(JsonElement value, Dictionary<string, string> metadata, string path)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new CheckpointFormatException($"{path}: \"{MetadataKey}\" is a JSON {Kind(value.ValueKind)}, not an object of strings");
        foreach (var entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
                throw new CheckpointFormatException($"{path}: \"{MetadataKey}\" entry '{entry.Name}' is a JSON {Kind(entry.Value.ValueKind)}, not a string");
            metadata[entry.Name] = entry.Value.GetString()!;
        }
    }

    private static SafeTensorInfo ParseEntry(string name, JsonElement entry, long dataLength, string path)
    {
        string where = $"{path}: tensor '{name}'";
        if (entry.ValueKind != JsonValueKind.Object)
            throw new CheckpointFormatException($"{where} is a JSON {Kind(entry.ValueKind)}, not an object with dtype, shape and data_offsets");

        if (!entry.TryGetProperty("dtype", out var dtypeElement))
            throw new CheckpointFormatException($"{where} has no \"dtype\"");
        if (!entry.TryGetProperty("shape", out var shapeElement))
            throw new CheckpointFormatException($"{where} has no \"shape\"");
        if (!entry.TryGetProperty("data_offsets", out var offsetsElement))
            throw new CheckpointFormatException($"{where} has no \"data_offsets\"");

        if (dtypeElement.ValueKind != JsonValueKind.String)
            throw new CheckpointFormatException($"{where}: \"dtype\" is a JSON {Kind(dtypeElement.ValueKind)}, not a string");
        string dtype = dtypeElement.GetString()!;
        if (!SafeTensorsDTypes.TryFromCode(dtype, out _, out int elementSize))
            throw new CheckpointFormatException($"{where} has unknown dtype '{dtype}' (supported: {SafeTensorsDTypes.SupportedList})");

        if (shapeElement.ValueKind != JsonValueKind.Array)
            throw new CheckpointFormatException($"{where}: \"shape\" is a JSON {Kind(shapeElement.ValueKind)}, not an array of integers");
        var shape = new long[shapeElement.GetArrayLength()];
        int i = 0;
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out long d))
                throw new CheckpointFormatException($"{where}: \"shape\" entry {i} ({OneLine(dim.GetRawText())}) is not an integer");
            if (d < 0)
                throw new CheckpointFormatException($"{where}: \"shape\" has negative dimension {d} at index {i}");
            shape[i++] = d;
        }

        if (offsetsElement.ValueKind != JsonValueKind.Array || offsetsElement.GetArrayLength() != 2)
            throw new CheckpointFormatException($"{where}: \"data_offsets\" must be an array of two integers [begin, end]");
        long[] offsets = new long[2];
        i = 0;
        foreach (var o in offsetsElement.EnumerateArray())
        {
            if (o.ValueKind != JsonValueKind.Number || !o.TryGetInt64(out long v) || v < 0)
                throw new CheckpointFormatException($"{where}: \"data_offsets\" entry {i} ({OneLine(o.GetRawText())}) is not a non-negative integer");
            offsets[i++] = v;
        }
        long begin = offsets[0], end = offsets[1];
        if (begin > end)
            throw new CheckpointFormatException($"{where}: data_offsets begin {begin} is greater than end {end}");

        long expected;
        try
        {
            expected = elementSize;
            foreach (long d in shape) expected = checked(expected * d);
        }
        catch (OverflowException)
        {
            throw new CheckpointFormatException($"{where}: shape [{string.Join(", ", shape)}] is too large to address");
        }
        if (end - begin != expected)
            throw new CheckpointFormatException($"{where}: data_offsets [{begin}, {end}] span {end - begin} bytes but shape [{string.Join(", ", shape)}] of {dtype} needs {expected}");
        if (end > dataLength)
            throw new CheckpointFormatException($"{where}: data_offsets [{begin}, {end}] run past the end of the data buffer ({dataLength} bytes); the file is truncated");

        return new SafeTensorInfo(name, dtype, shape, begin, end);
    }

    /// <summary>
    /// Tensors must not share bytes. Holes between them are tolerated (the format says there should be none,
    /// but they do no harm to reading). Empty tensors occupy no bytes and so overlap nothing.
    /// </summary>
    private static void CheckNoOverlap(List<SafeTensorInfo> tensors, string path)
    {
        var byBegin = tensors.Where(t => t.End > t.Begin).OrderBy(t => t.Begin).ThenBy(t => t.End).ToList();
        for (int k = 1; k < byBegin.Count; k++)
        {
            var previous = byBegin[k - 1];
            var current = byBegin[k];
            if (current.Begin < previous.End)
                throw new CheckpointFormatException(
                    $"{path}: tensors '{previous.Name}' [{previous.Begin}, {previous.End}] and '{current.Name}' [{current.Begin}, {current.End}] overlap in the data buffer");
        }
    }

    private static void ReadAll(SafeFileHandle file, Span<byte> destination, long offset, string path)
    {
        while (!destination.IsEmpty)
        {
            int read = RandomAccess.Read(file, destination, offset);
            if (read <= 0)
                throw new CheckpointFormatException($"{path}: unexpected end of file at byte {offset} while reading the header");
            destination = destination[read..];
            offset += read;
        }
    }

    private static string Kind(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Null => "null",
        _ => "value",
    };

    internal static string OneLine(string text)
    {
        var flat = text.ReplaceLineEndings(" ");
        return flat.Length > 200 ? flat[..200] + "..." : flat;
    }
}
