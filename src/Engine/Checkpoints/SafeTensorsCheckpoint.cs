using System.Text.Encodings.Web;
using System.Text.Json;
using TorchSharp;

namespace LayerChop.Engine.Checkpoints;

/// <summary>
/// A model folder's weights in Hugging Face layout: either one <c>model.safetensors</c>, or shards named by
/// <c>model.safetensors.index.json</c>, whose "weight_map" routes each tensor name to its shard file.
/// When both exist the single file wins, as in Hugging Face transformers.
/// </summary>
public sealed class SafeTensorsCheckpoint : IDisposable
{
    public const string SingleFileName = "model.safetensors";
    public const string IndexFileName = "model.safetensors.index.json";

    private readonly List<SafeTensorsFile> _files;
    private readonly Dictionary<string, SafeTensorsFile> _route;
    private readonly List<string> _names;

    private SafeTensorsCheckpoint(List<SafeTensorsFile> files, Dictionary<string, SafeTensorsFile> route, List<string> names)
    {
        _files = files;
        _route = route;
        _names = names;
        Names = names.AsReadOnly();
    }

    /// <summary>Tensor names, in file order for a single file and in weight_map order for shards.</summary>
    public IReadOnlyCollection<string> Names { get; }

    public SafeTensorInfo Info(string name) => File(name).Info(name);

    /// <summary>A new CPU tensor with the stored dtype and shape; the caller owns it.</summary>
    public torch.Tensor Read(string name) => File(name).Read(name);

    public void Dispose()
    {
        foreach (var file in _files) file.Dispose();
    }

    private SafeTensorsFile File(string name) =>
        _route.TryGetValue(name, out var file) ? file : throw new KeyNotFoundException($"checkpoint has no tensor named '{name}'");

    /// <summary>
    /// Opens the weights in <paramref name="folder"/>. Throws <see cref="CheckpointFormatException"/> when the
    /// folder has neither a single file nor an index, when the index is malformed or names a missing shard,
    /// when the index routes a tensor to a shard that lacks it, or when any file is malformed.
    /// </summary>
    public static SafeTensorsCheckpoint Open(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        string single = Path.Combine(folder, SingleFileName);
        string index = Path.Combine(folder, IndexFileName);

        if (System.IO.File.Exists(single))
        {
            var file = SafeTensorsFile.Open(single);
            var names = file.Tensors.Select(t => t.Name).ToList();
            return new SafeTensorsCheckpoint([file], names.ToDictionary(n => n, _ => file, StringComparer.Ordinal), names);
        }
        if (!System.IO.File.Exists(index))
        {
            string why = Directory.Exists(folder) ? "has neither" : "does not exist, so it has neither";
            throw new CheckpointFormatException($"{folder}: folder {why} {SingleFileName} nor {IndexFileName}");
        }
        return OpenSharded(folder, index);
    }

    private static SafeTensorsCheckpoint OpenSharded(string folder, string index)
    {
        var weightMap = ReadWeightMap(index);
        var files = new List<SafeTensorsFile>();
        try
        {
            var byShard = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
            var route = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
            var names = new List<string>();
            foreach (var (name, shard) in weightMap)
            {
                if (!byShard.TryGetValue(shard, out var file))
                {
                    string shardPath = Path.Combine(folder, shard);
                    if (!System.IO.File.Exists(shardPath))
                        throw new CheckpointFormatException($"{index}: weight_map routes tensor '{name}' to shard '{shard}', which is not in the folder");
                    file = SafeTensorsFile.Open(shardPath);
                    files.Add(file);
                    byShard[shard] = file;
                }
                if (!file.Contains(name))
                    throw new CheckpointFormatException($"{index}: weight_map routes tensor '{name}' to shard '{shard}', but {file.Path} has no such tensor");
                route[name] = file;
                names.Add(name);
            }
            return new SafeTensorsCheckpoint(files, route, names);
        }
        catch
        {
            foreach (var file in files) file.Dispose();
            throw;
        }
    }

    private static List<KeyValuePair<string, string>> ReadWeightMap(string index)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(System.IO.File.ReadAllBytes(index));
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException($"{index}: not valid JSON ({SafeTensorsFile.OneLine(e.Message)})");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new CheckpointFormatException($"{index}: not a JSON object");
            if (!root.TryGetProperty("weight_map", out var map))
                throw new CheckpointFormatException($"{index}: has no \"weight_map\"");
            if (map.ValueKind != JsonValueKind.Object)
                throw new CheckpointFormatException($"{index}: \"weight_map\" is not an object of tensor name to shard file");

            var result = new List<KeyValuePair<string, string>>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var entry in map.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String)
                    throw new CheckpointFormatException($"{index}: weight_map entry '{entry.Name}' is not a file name string");
                string shard = entry.Value.GetString()!;
                // A shard is a plain file name in the same folder; anything else could reach outside it.
                if (shard.Length == 0 || shard != Path.GetFileName(shard) || shard is "." or ".." || shard.Contains('\\'))
                    throw new CheckpointFormatException($"{index}: weight_map entry '{entry.Name}' names '{shard}', which is not a plain file name in the folder");
                if (!seen.Add(entry.Name))
                    throw new CheckpointFormatException($"{index}: weight_map lists tensor '{entry.Name}' twice");
                result.Add(new(entry.Name, shard));
            }
            return result;
        }
    }

    /// <summary>
    /// Writes a folder's weights the way Hugging Face does: one <c>model.safetensors</c> when the tensors total at
    /// most <paramref name="maxShardBytes"/>, else shards <c>model-00001-of-0000N.safetensors</c> (tensors kept in
    /// the given order; a new shard starts when the next tensor would push the current one past the limit; a
    /// tensor larger than the limit gets a shard to itself) plus <c>model.safetensors.index.json</c>. Each file is
    /// written atomically; the <paramref name="metadata"/> goes into every file's header. Afterwards, stale
    /// <c>model*.safetensors</c> and index files that this write did not produce are removed from the folder.
    /// </summary>
    public static void Write(string folder, IEnumerable<KeyValuePair<string, torch.Tensor>> tensors, long maxShardBytes = 5_000_000_000, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentNullException.ThrowIfNull(tensors);
        WritePlanned(folder, SafeTensorsWriter.Plan(tensors), maxShardBytes, metadata);
    }

    /// <summary>
    /// As the other overload, for tensors produced one at a time while writing (see <see cref="TensorSource"/>):
    /// a folder of any size is written holding one tensor in memory at a time.
    /// </summary>
    public static void WriteStreaming(string folder, IReadOnlyList<TensorSource> sources, long maxShardBytes = 5_000_000_000, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentNullException.ThrowIfNull(sources);
        WritePlanned(folder, SafeTensorsWriter.Plan(sources), maxShardBytes, metadata);
    }

    private static void WritePlanned(string folder, List<SafeTensorsWriter.Entry> entries, long maxShardBytes, IReadOnlyDictionary<string, string>? metadata)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxShardBytes);
        Directory.CreateDirectory(folder);
        long total = entries.Sum(e => e.ByteLength);
        var produced = new HashSet<string>(StringComparer.Ordinal);

        if (total <= maxShardBytes)
        {
            SafeTensorsWriter.WritePlanned(Path.Combine(folder, SingleFileName), entries, metadata);
            produced.Add(SingleFileName);
        }
        else
        {
            var shards = new List<List<SafeTensorsWriter.Entry>>();
            var current = new List<SafeTensorsWriter.Entry>();
            long currentBytes = 0;
            foreach (var entry in entries)
            {
                if (current.Count > 0 && currentBytes + entry.ByteLength > maxShardBytes)
                {
                    shards.Add(current);
                    current = [];
                    currentBytes = 0;
                }
                current.Add(entry);
                currentBytes += entry.ByteLength;
            }
            if (current.Count > 0) shards.Add(current);

            var weightMap = new List<KeyValuePair<string, string>>();
            for (int i = 0; i < shards.Count; i++)
            {
                string name = $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
                SafeTensorsWriter.WritePlanned(Path.Combine(folder, name), shards[i], metadata);
                produced.Add(name);
                foreach (var entry in shards[i]) weightMap.Add(new(entry.Name, name));
            }
            WriteIndex(Path.Combine(folder, IndexFileName), total, weightMap);
            produced.Add(IndexFileName);
        }

        RemoveStale(folder, produced);
    }

    private static void WriteIndex(string path, long totalSize, List<KeyValuePair<string, string>> weightMap)
    {
        string temp = path + ".tmp";
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
                {
                    json.WriteStartObject();
                    json.WriteStartObject("metadata");
                    json.WriteNumber("total_size", totalSize);
                    json.WriteEndObject();
                    json.WriteStartObject("weight_map");
                    foreach (var (name, file) in weightMap) json.WriteString(name, file);
                    json.WriteEndObject();
                    json.WriteEndObject();
                }
                stream.WriteByte((byte)'\n');
                stream.Flush(flushToDisk: true);
            }
            System.IO.File.Move(temp, path, overwrite: true);
        }
        catch
        {
            try { System.IO.File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>Deletes weight files of an earlier write (model*.safetensors, model*.safetensors.index.json) that this write did not produce.</summary>
    private static void RemoveStale(string folder, HashSet<string> produced)
    {
        foreach (string path in Directory.EnumerateFiles(folder))
        {
            string name = Path.GetFileName(path);
            bool weights = name.StartsWith("model", StringComparison.Ordinal)
                && (name.EndsWith(".safetensors", StringComparison.Ordinal) || name.EndsWith(".safetensors.index.json", StringComparison.Ordinal));
            if (weights && !produced.Contains(name))
                System.IO.File.Delete(path);
        }
    }
}
