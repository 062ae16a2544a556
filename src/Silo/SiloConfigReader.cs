using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using LayerChop.Engine;
using LayerChop.Settings;

namespace LayerChop.Silo;

/// <summary>One field of <see cref="SiloConfig"/>: its key in the file, its environment variable, its description and its default (Orleans' own for a membership field).</summary>
/// <param name="Key">the file's key: "port", or "membership.probe_timeout_s" for a nested one.</param>
public sealed record SiloConfigField(string Key, string Variable, Type Type, string Description, object? Default)
{
    /// <summary>The key without its section: "probe_timeout_s".</summary>
    public string Name => Key[(Key.LastIndexOf('.') + 1)..];

    /// <summary>The section the key sits in ("membership"), or null for a top-level one.</summary>
    public string? Section => Key.Contains('.') ? Key[..Key.IndexOf('.')] : null;

    /// <summary>The type a value has once given (int for int?).</summary>
    public Type ValueType => Nullable.GetUnderlyingType(Type) ?? Type;
}

/// <summary>A value given on the command line: the field it sets, the value, and the flag as the user typed it.</summary>
public sealed record SiloConfigOverride(string Key, JsonNode Value, string Flag);

/// <summary>
/// A silo's configuration and where each of its values came from (a flag, a variable, the file, the default),
/// so that a bad value is named the way the user gave it.
/// </summary>
public sealed class LoadedSiloConfig(SiloConfig config, IReadOnlyDictionary<string, string> sources)
{
    public SiloConfig Config { get; } = config;

    /// <summary>"--port 0", "LAYERCHOP_PORT=0", "/etc/layerchop/silo.json: port 0" or "port 0 (the default)".</summary>
    public string Describe(string key, object? value) =>
        sources.TryGetValue(key, out var source)
            ? source.StartsWith("--", StringComparison.Ordinal) ? $"{source} {value}"
            : source.StartsWith(SiloConfigReader.Prefix, StringComparison.Ordinal) ? $"{source}={value}"
            : $"{source}: {key} {value}"
            : $"{key} {value} (the default)";

    /// <summary>Whether the value came from a command-line flag.</summary>
    public bool IsFlag(string key) => sources.TryGetValue(key, out var source) && source.StartsWith("--", StringComparison.Ordinal);
}

/// <summary>
/// Reads a <see cref="SiloConfig"/>: its JSON file, then an environment variable per field (LAYERCHOP_ and the
/// key in upper snake case), then command-line flags; a later source overrides an earlier one field by field.
/// The field list, names, variables and defaults all come from the record itself.
/// </summary>
public static class SiloConfigReader
{
    public const string Prefix = "LAYERCHOP_";

    /// <summary>The variable that names the configuration file when --config does not.</summary>
    public const string FileVariable = Prefix + "SILO_CONFIG";

    /// <summary>Every field, top-level ones first, in the record's order.</summary>
    public static readonly IReadOnlyList<SiloConfigField> Fields = FieldsOf(typeof(SiloConfig), new SiloConfig(), section: null).ToArray();

    static IEnumerable<SiloConfigField> FieldsOf(Type type, object defaults, string? section)
    {
        var nested = new List<SiloConfigField>();
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            string name = JsonFormat.Indented.PropertyNamingPolicy!.ConvertName(property.Name);
            string key = section is null ? name : $"{section}.{name}";
            string description = property.GetCustomAttribute<DescriptionAttribute>()?.Description
                                 ?? throw new InvalidOperationException($"{type.Name}.{property.Name} has no description");
            if (property.PropertyType == typeof(MembershipConfig))
            {
                nested.AddRange(FieldsOf(property.PropertyType, MembershipConfig.OrleansDefaults, key));
                continue;
            }
            yield return new SiloConfigField(key, Prefix + key.Replace('.', '_').ToUpperInvariant(), property.PropertyType, description, property.GetValue(defaults));
        }
        foreach (var field in nested) yield return field;
    }

    /// <summary>Sections of the file (keys whose value is an object of fields) and what each says.</summary>
    public static IReadOnlyDictionary<string, string> Sections { get; } = typeof(SiloConfig).GetProperties()
        .Where(p => p.PropertyType == typeof(MembershipConfig))
        .ToDictionary(p => JsonFormat.Indented.PropertyNamingPolicy!.ConvertName(p.Name), p => p.GetCustomAttribute<DescriptionAttribute>()!.Description);

    /// <summary>Reads the file (none when null), the variables <paramref name="environment"/> answers, and the flags.</summary>
    /// <exception cref="LayerChopException">a file that cannot be read or parsed, an unknown key, a value of the wrong kind.</exception>
    public static LoadedSiloConfig Read(string? file, Func<string, string?> environment, IEnumerable<SiloConfigOverride> flags)
    {
        var values = new Dictionary<string, JsonNode>(StringComparer.Ordinal);
        var sources = new Dictionary<string, string>(StringComparer.Ordinal);
        if (file is not null)
            foreach (var (field, node) in ReadFile(file))
            {
                values[field.Key] = Checked(field, node, $"{file}: {field.Key}");
                sources[field.Key] = file;
            }
        foreach (var field in Fields)
        {
            if (environment(field.Variable) is not { Length: > 0 } text) continue;
            values[field.Key] = FromText(field, text, $"{field.Variable}={text}");
            sources[field.Key] = field.Variable;
        }
        foreach (var flag in flags)
        {
            var field = Fields.Single(f => f.Key == flag.Key);
            values[field.Key] = Checked(field, flag.Value, flag.Flag);
            sources[field.Key] = flag.Flag;
        }

        var json = new JsonObject();
        foreach (var (key, node) in values)
        {
            var target = json;
            if (key.Split('.') is [var section, _])
                target = json[section] as JsonObject ?? (JsonObject)(json[section] = new JsonObject());
            target[key.Split('.')[^1]] = node.DeepClone();
        }
        return new LoadedSiloConfig(json.Deserialize<SiloConfig>(JsonFormat.Indented)!, sources);
    }

    /// <summary>The environment of this process.</summary>
    public static string? ProcessEnvironment(string name) => Environment.GetEnvironmentVariable(name);

    static IEnumerable<(SiloConfigField Field, JsonNode Node)> ReadFile(string file)
    {
        string text = UserFile.ReadText(file, "silo configuration file");
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new LayerChopException($"{file}: not valid JSON at line {e.LineNumber + 1}: {e.Message.Split(" Path:")[0]}");
        }
        if (root is not JsonObject top)
            throw new LayerChopException($"{file}: a silo configuration is a JSON object of fields ({string.Join(", ", TopKeys())})");
        var found = new List<(SiloConfigField, JsonNode)>();
        foreach (var (name, node) in top)
        {
            if (Sections.ContainsKey(name))
            {
                if (node is not JsonObject section)
                    throw new LayerChopException($"{file}: {name} is an object of fields ({string.Join(", ", Fields.Where(f => f.Section == name).Select(f => f.Name))})");
                foreach (var (inner, value) in section)
                    found.Add((Known($"{name}.{inner}", file), value ?? Null($"{name}.{inner}", file)));
                continue;
            }
            found.Add((Known(name, file), node ?? Null(name, file)));
        }
        return found;
    }

    static IEnumerable<string> TopKeys() => Fields.Where(f => f.Section is null).Select(f => f.Key).Concat(Sections.Keys);

    static SiloConfigField Known(string key, string file) =>
        Fields.FirstOrDefault(f => f.Key == key) ?? throw new LayerChopException(
            $"{file}: unknown field '{key}' (the fields are {string.Join(", ", key.Contains('.') ? Fields.Where(f => f.Key.Contains('.')).Select(f => f.Key) : TopKeys())})");

    static JsonNode Null(string key, string file) => throw new LayerChopException($"{file}: {key} is null: give a value or leave the field out");

    /// <summary>A value from the file or a flag, checked against its field's type.</summary>
    static JsonNode Checked(SiloConfigField field, JsonNode node, string source)
    {
        if (field.Key == "gpus")
            return node switch
            {
                JsonValue v when v.GetValueKind() == JsonValueKind.String => JsonValue.Create(v.GetValue<string>())!,
                JsonValue v when v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out int n) => JsonValue.Create(n.ToString(CultureInfo.InvariantCulture))!,
                JsonArray list when list.All(i => i is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out int _)) =>
                    JsonValue.Create("[" + string.Join(",", list.Select(i => i!.GetValue<int>())) + "]")!,
                _ => throw Wrong(source, node, "auto, a number of GPUs or a list of device indices"),
            };
        return FromText(field, node is JsonValue value && value.GetValueKind() == JsonValueKind.String
            ? value.GetValue<string>()
            : node.ToJsonString(), source, fromJson: node);
    }

    /// <summary>A value given as text (an environment variable), converted to its field's type.</summary>
    static JsonNode FromText(SiloConfigField field, string text, string source, JsonNode? fromJson = null)
    {
        var type = field.ValueType;
        if (type == typeof(string))
        {
            if (fromJson is not null && fromJson.GetValueKind() != JsonValueKind.String) throw Wrong(source, fromJson, "a string");
            return JsonValue.Create(text)!;
        }
        if (fromJson is not null && fromJson.GetValueKind() != JsonValueKind.Number) throw Wrong(source, fromJson, Kind(type));
        if (type == typeof(int) && int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int whole))
            return JsonValue.Create(whole)!;
        if (type == typeof(double) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double number) && double.IsFinite(number))
            return JsonValue.Create(number)!;
        throw Wrong(source, fromJson, Kind(type));
    }

    static string Kind(Type type) => type == typeof(int) ? "a whole number" : "a number";

    static LayerChopException Wrong(string source, JsonNode? node, string expected) =>
        new($"{source}{(node is null ? "" : " " + node.ToJsonString())}: give {expected}");
}
