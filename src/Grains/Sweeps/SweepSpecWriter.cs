using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using LayerChop.Interfaces;

namespace LayerChop.Grains.Sweeps;

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

    // The spec as (snake_case key, value) pairs in the order of the docs; a section is a list of pairs, and a
    // null value is an optional field left out.
    static IReadOnlyList<(string, object?)> Fields(SweepSpec spec) =>
    [
        ("name", spec.Name),
        ("base_model", spec.BaseModel),
        ("data", spec.Data),
        ("text_field", spec.TextField),
        ("eval", new List<(string, object?)>
        {
            ("tasks", spec.Eval.Tasks),
            ("task_dir", spec.Eval.TaskDir),
            ("limit", spec.Eval.Limit),
            ("perplexity", spec.Eval.Perplexity),
        }),
        ("grid", new List<(string, object?)>
        {
            ("remove", spec.Grid.Remove),
            ("strategy", spec.Grid.Strategy),
            ("heal_tokens", spec.Grid.HealTokens),
            ("heal_method", spec.Grid.HealMethod),
            ("seed", spec.Grid.Seed),
        }),
        ("train", new List<(string, object?)>
        {
            ("seq_len", spec.Train.SeqLen),
            ("batch_tokens", spec.Train.BatchTokens),
            ("micro_batch", spec.Train.MicroBatch),
            ("lr", spec.Train.Lr),
            ("warmup_steps", spec.Train.WarmupSteps),
            ("min_lr_ratio", spec.Train.MinLrRatio),
            ("checkpoint_every", spec.Train.CheckpointEvery),
            ("optimizer_warmup_steps", spec.Train.OptimizerWarmupSteps),
        }),
        ("device", spec.Device.ToString().ToLowerInvariant()),
        ("max_attempts", spec.MaxAttempts),
        ("output", spec.Output),
        ("latency", new List<(string, object?)>
        {
            ("prompt_tokens", spec.Latency.PromptTokens),
            ("new_tokens", spec.Latency.NewTokens),
        }),
    ];

    static void WriteJson(Utf8JsonWriter json, string key, object? value)
    {
        switch (value)
        {
            case null: break;
            case string s: json.WriteString(key, s); break;
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
