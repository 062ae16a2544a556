using System.Collections;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Parquet.Serialization;

namespace LayerChop.Engine.Evaluation;

/// <summary>
/// One Hugging Face dataset row, with the file and row it came from so that every complaint about it can name
/// them. Row numbers start at 1; in a JSONL file the row number is the line number.
/// </summary>
public sealed class TaskRow(JsonObject fields, string file, int number)
{
    public JsonObject Fields { get; } = fields;
    public string File { get; } = file;
    public int Number { get; } = number;

    public string Origin => $"{File} row {Number}";

    public LayerChopException Error(string problem) => new($"{Origin}: {problem}");

    /// <summary>A field by name; a dotted name reaches into nested objects ("choices.text").</summary>
    public JsonNode Field(string name)
    {
        JsonNode? node = Fields;
        foreach (var part in name.Split('.'))
        {
            if (node is not JsonObject obj || !obj.TryGetPropertyValue(part, out node) || node is null)
                throw Error($"missing field \"{name}\"");
        }
        return node!;
    }

    public bool Has(string name)
    {
        JsonNode? node = Fields;
        foreach (var part in name.Split('.'))
            if (node is not JsonObject obj || !obj.TryGetPropertyValue(part, out node) || node is null) return false;
        return true;
    }

    public string String(string name) =>
        Field(name) is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw Error($"field \"{name}\" is not a string");

    /// <summary>An integer field, or a string holding one (Hugging Face stores some labels as "0", "1", ...).</summary>
    public int Int(string name)
    {
        if (Field(name) is JsonValue v)
        {
            // Parsed JSON and values built from Parquet's int32/int64/double columns alike: go through the JSON text.
            if (v.GetValueKind() == JsonValueKind.Number)
            {
                var text = v.ToJsonString();
                if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i)) return i;
                if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d == Math.Floor(d) && Math.Abs(d) < int.MaxValue) return (int)d;
            }
            if (v.TryGetValue<string>(out var s) && int.TryParse(s.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed)) return parsed;
        }
        throw Error($"field \"{name}\" is not an integer");
    }

    public bool Bool(string name) =>
        Field(name) is JsonValue v && v.TryGetValue<bool>(out var b) ? b : throw Error($"field \"{name}\" is not true or false");

    public IReadOnlyList<string> Strings(string name)
    {
        if (Field(name) is not JsonArray array) throw Error($"field \"{name}\" is not a list");
        var list = new List<string>(array.Count);
        foreach (var item in array)
        {
            if (item is JsonValue v && v.TryGetValue<string>(out var s)) list.Add(s);
            else throw Error($"field \"{name}\" holds something other than strings");
        }
        return list;
    }
}

/// <summary>Reads dataset rows from JSON Lines (.jsonl, one object per line) or Parquet (.parquet) files.</summary>
public static class DatasetFiles
{
    public static readonly IReadOnlyList<string> Extensions = [".jsonl", ".parquet"];

    public static IEnumerable<TaskRow> Read(string file)
    {
        if (!System.IO.File.Exists(file)) throw new LayerChopException($"{file}: file not found");
        return Path.GetExtension(file).ToLowerInvariant() switch
        {
            ".jsonl" => ReadJsonLines(file),
            ".parquet" => ReadParquet(file),
            _ => throw new LayerChopException($"{file}: not a dataset file (expected .jsonl or .parquet)"),
        };
    }

    static IEnumerable<TaskRow> ReadJsonLines(string file)
    {
        int number = 0;
        foreach (var line in System.IO.File.ReadLines(file))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonNode? node;
            try { node = JsonNode.Parse(line); }
            catch (JsonException e) { throw new LayerChopException($"{file} row {number}: not valid JSON ({FirstLine(e.Message)})"); }
            if (node is not JsonObject obj) throw new LayerChopException($"{file} row {number}: not a JSON object");
            yield return new TaskRow(obj, file, number);
        }
    }

    static IEnumerable<TaskRow> ReadParquet(string file)
    {
        IList<Dictionary<string, object>> data;
        try
        {
            using var stream = System.IO.File.OpenRead(file);
            data = ParquetSerializer.DeserializeUntypedAsync(stream).GetAwaiter().GetResult().Data;
        }
        catch (Exception e) when (e is not LayerChopException and not OutOfMemoryException)
        {
            throw new LayerChopException($"{file}: not a readable Parquet file ({FirstLine(e.Message)})");
        }
        for (int i = 0; i < data.Count; i++)
            yield return new TaskRow((JsonObject)ToJson(data[i])!, file, i + 1);
    }

    /// <summary>Parquet values (strings, numbers, lists, structs) as JSON nodes, so tasks read one representation.</summary>
    static JsonNode? ToJson(object? value) => value switch
    {
        null => null,
        string s => JsonValue.Create(s),
        ReadOnlyMemory<char> m => JsonValue.Create(m.ToString()),
        ReadOnlyMemory<byte> b => JsonValue.Create(System.Text.Encoding.UTF8.GetString(b.Span)),
        byte[] b => JsonValue.Create(System.Text.Encoding.UTF8.GetString(b)),
        bool b => JsonValue.Create(b),
        sbyte or byte or short or ushort or int => JsonValue.Create(Convert.ToInt32(value, CultureInfo.InvariantCulture)),
        uint or long or ulong => JsonValue.Create(Convert.ToInt64(value, CultureInfo.InvariantCulture)),
        float or double or decimal => JsonValue.Create(Convert.ToDouble(value, CultureInfo.InvariantCulture)),
        Half h => JsonValue.Create((double)h),
        IDictionary<string, object> d => new JsonObject(d.Select(kv => KeyValuePair.Create(kv.Key, ToJson(kv.Value)))),
        IEnumerable e => new JsonArray(e.Cast<object?>().Select(ToJson).ToArray()),
        IFormattable f => JsonValue.Create(f.ToString(null, CultureInfo.InvariantCulture)),
        _ => JsonValue.Create(value.ToString()),
    };

    internal static string FirstLine(string message) =>
        message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? message;
}
