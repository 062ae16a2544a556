using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace LayerChop.Specs;

/// <summary>
/// Writes a spec back in the form the reader takes, every field explicit (defaults included): what a sweep
/// folder keeps as the record of what ran, and what <c>sweep status</c> can show. Reading the output gives an
/// equal spec.
/// </summary>
public static class SweepSpecWriter
{
    static readonly JsonWriterOptions JsonOptions = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string ToJson(SweepSpec spec)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, JsonOptions))
        {
            json.WriteStartObject();
            foreach (var (key, value) in Fields(spec))
            {
                if (value is IReadOnlyList<(string, object?)> section)
                {
                    json.WriteStartObject(key);
                    foreach (var (innerKey, innerValue) in section)
                        WriteJson(json, innerKey, innerValue);
                    json.WriteEndObject();
                }
                else WriteJson(json, key, value);
            }
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    public static string ToYaml(SweepSpec spec)
    {
        var text = new StringBuilder();
        foreach (var (key, value) in Fields(spec))
        {
            if (value is IReadOnlyList<(string, object?)> section)
            {
                text.Append(key).Append(":\n");
                foreach (var (innerKey, innerValue) in section)
                    if (innerValue is not null)
                        text.Append("  ").Append(innerKey).Append(": ").Append(Yaml(innerValue)).Append('\n');
            }
            else if (value is not null)
                text.Append(key).Append(": ").Append(Yaml(value)).Append('\n');
        }
        return text.ToString();
    }

    // The spec as (snake_case key, value) pairs in field order (see SweepSpecFields); a section is a list of
    // pairs, an enum its snake_case name, and a null value an optional field left out.
    static IReadOnlyList<(string, object?)> Fields(object record) =>
        SweepSpecFields.Of(record.GetType()).Select(field => (field.Name, field.ValueIn(record) switch
        {
            { } section when field.Fields is not null => Fields(section),
            Enum value => SweepSpecFields.EnumText(value),
            var value => value,
        })).ToList();

    /// <summary>Every plain field's path (train.lr, data) and its value as the YAML form writes it ("none" when
    /// left out), in field order: what <see cref="SweepSpecDiff"/> compares.</summary>
    internal static IReadOnlyList<(string Path, string Text)> Values(SweepSpec spec) =>
        Fields(spec).SelectMany(pair => pair.Item2 is IReadOnlyList<(string, object?)> section
            ? section.Select(inner => ($"{pair.Item1}.{inner.Item1}", Text(inner.Item2)))
            : [(pair.Item1, Text(pair.Item2))]).ToList();

    static string Text(object? value) => value is null ? "none" : Yaml(value);

    static void WriteJson(Utf8JsonWriter json, string key, object? value)
    {
        switch (value)
        {
            case null: break;
            case string s: json.WriteString(key, s); break;
            case bool b: json.WriteBoolean(key, b); break;
            case int i: json.WriteNumber(key, i); break;
            case long l: json.WriteNumber(key, l); break;
            case double d: json.WritePropertyName(key); json.WriteRawValue(Number(d)); break;
            case System.Collections.IEnumerable list:
                json.WriteStartArray(key);
                foreach (var item in list)
                {
                    switch (item)
                    {
                        case string s: json.WriteStringValue(s); break;
                        case int i: json.WriteNumberValue(i); break;
                        case long l: json.WriteNumberValue(l); break;
                        default: throw new InvalidOperationException($"no JSON form for {item?.GetType().Name} in {key}");
                    }
                }
                json.WriteEndArray();
                break;
            default: throw new InvalidOperationException($"no JSON form for {value.GetType().Name} in {key}");
        }
    }

    static string Yaml(object value) => value switch
    {
        string s => Quote(s),
        bool b => b ? "true" : "false",
        int i => i.ToString(CultureInfo.InvariantCulture),
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => Number(d),
        System.Collections.IEnumerable list => "[" + string.Join(", ", list.Cast<object>().Select(Yaml)) + "]",
        _ => throw new InvalidOperationException($"no YAML form for {value.GetType().Name}"),
    };

    // A JSON string is a valid YAML double-quoted scalar, so one escaping serves both formats.
    static string Quote(string s) => JsonSerializer.Serialize(s, new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    // Round-trip formatting that both readers parse as a number ("0.0003", "3E-05", "2" for a whole value).
    static string Number(double d) => d.ToString("R", CultureInfo.InvariantCulture);
}
