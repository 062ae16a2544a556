using System.Globalization;
using LayerChop.Engine;
using LayerChop.Settings;

namespace LayerChop.Specs;

public enum SpecFormat { Yaml, Json }

/// <summary>
/// Reads a sweep spec (YAML or JSON, snake_case keys) and checks it completely before any work starts: syntax
/// (with the line), unknown keys (with a suggestion), types, then everything <see cref="SweepSpecValidator"/>
/// checks. Relative paths are taken from the spec file's folder and returned absolute, so the spec means the
/// same on every host that sees the same shared storage. Problems are thrown together as one
/// <see cref="SweepSpecException"/>.
/// </summary>
public static class SweepSpecReader
{
    /// <summary>Reads and checks the spec file at <paramref name="path"/>.</summary>
    /// <param name="checkFiles">false skips everything that reads the filesystem (the base model's config.json
    /// and the limits it sets, data, task and held-out files): for specs written for another machine.</param>
    /// <exception cref="LayerChopException">the file cannot be read, or a <see cref="SweepSpecException"/>.</exception>
    public static SweepSpec Load(string path, bool checkFiles = true)
    {
        string text = UserFile.ReadText(path, "spec file");
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        return Parse(text, DetectFormat(path, text), folder, path, checkFiles);
    }

    /// <summary>Reads and checks a spec given as text; relative paths are taken from <paramref name="baseFolder"/>.</summary>
    /// <param name="source">How messages name the spec (its path).</param>
    public static SweepSpec Parse(string text, SpecFormat format, string baseFolder, string source = "sweep spec", bool checkFiles = true)
    {
        var root = format == SpecFormat.Json ? SpecTree.ParseJson(text, source) : SpecTree.ParseYaml(text, source);
        var lines = new Dictionary<string, int>(StringComparer.Ordinal) { [""] = root.Line };
        var problems = new SpecProblems(lines);
        var spec = Build(root, problems, lines, Path.GetFullPath(baseFolder));
        if (problems.Items.Any(p => p.Field.Length == 0))       // not a mapping at all: nothing more to say
            problems.ThrowIfAny(source);
        SweepSpecValidator.Check(spec, checkFiles, problems);
        problems.ThrowIfAny(source);
        return spec;
    }

    /// <summary>.json is JSON and .yaml/.yml YAML; any other name is JSON when the text starts with '{'.</summary>
    public static SpecFormat DetectFormat(string path, string text)
    {
        var extension = Path.GetExtension(path).ToLowerInvariant();
        if (extension == ".json") return SpecFormat.Json;
        if (extension is ".yaml" or ".yml") return SpecFormat.Yaml;
        return text.TrimStart('\uFEFF', ' ', '\t', '\r', '\n').StartsWith('{') ? SpecFormat.Json : SpecFormat.Yaml;
    }

    static SweepSpec Build(SpecNode root, SpecProblems problems, Dictionary<string, int> lines, string baseFolder)
    {
        var topNames = SweepSpecFields.Names(SweepSpecFields.Top);
        if (root is not SpecMap)
        {
            problems.Add("", $"a spec is a mapping of fields ({string.Join(", ", topNames)}), not {Describe(root)}");
            return new SweepSpec();
        }
        var top = new Section((SpecMap)root, "", topNames, problems, lines);
        var spec = (SweepSpec)top.Record(typeof(SweepSpec));

        string Resolve(string path) => path.Length == 0 ? path : Path.GetFullPath(Path.Combine(baseFolder, path));
        return spec with
        {
            BaseModel = Resolve(spec.BaseModel),
            Data = spec.Data.Select(Resolve).ToArray(),
            Eval = spec.Eval with { TaskDir = Resolve(spec.Eval.TaskDir), Perplexity = spec.Eval.Perplexity is { } p ? Resolve(p) : null },
            Output = Resolve(top.Has("output") ? spec.Output : Path.Combine("sweeps", spec.Name)),
        };
    }

    static string Describe(SpecNode node) => node switch
    {
        SpecMap => "a mapping",
        SpecList => "a list",
        SpecScalar { Kind: ScalarKind.Null } => "nothing",
        SpecScalar { Kind: ScalarKind.String } s => $"'{s.Text}'",
        SpecScalar s => s.Text,
        _ => "something else",
    };

    /// <summary>
    /// One mapping of the spec being read. Creating it reports unknown and repeated keys; its getters convert a
    /// field, report a wrong type or a missing required field, and return null when the field is absent or bad.
    /// </summary>
    sealed class Section
    {
        readonly Dictionary<string, SpecEntry> fields = new(StringComparer.Ordinal);
        readonly string path;
        readonly SpecProblems problems;
        readonly Dictionary<string, int> lines;

        public Section(SpecMap map, string path, IReadOnlyList<string> known, SpecProblems problems, Dictionary<string, int> lines)
        {
            this.path = path;
            this.problems = problems;
            this.lines = lines;
            foreach (var entry in map.Entries)
            {
                var field = Field(entry.Key);
                lines.TryAdd(field, entry.Line);
                if (!known.Contains(entry.Key))
                {
                    lines[field] = entry.Line;
                    problems.Add(field, $"{field} is not a known field; {Hint(entry.Key, known)}");
                    // The field it was meant to be is not also reported as missing.
                    if (Suggestions.Closest(entry.Key, known) is { } meant) problems.Cover(Field(meant));
                }
                else if (!fields.TryAdd(entry.Key, entry))
                {
                    lines[field] = entry.Line;
                    problems.Add(field, $"{field} is given twice (lines {fields[entry.Key].Line} and {entry.Line}); keep one");
                }
            }
        }

        // A near miss in this section, or the exact name of a field that belongs to another section.
        string Hint(string key, IReadOnlyList<string> known)
        {
            if (Suggestions.Closest(key, known) is { } close) return $"did you mean {close}?";
            foreach (var (section, sectionFields) in SweepSpecFields.Sections)
                if (section != path && sectionFields.Contains(key))
                    return $"did you mean {(section.Length == 0 ? key : section + "." + key)}?";
            return $"known fields{(path.Length == 0 ? "" : " of " + path)}: {string.Join(", ", known)}";
        }

        string Field(string key) => path.Length == 0 ? key : $"{path}.{key}";

        // The value of a field; null when absent or written as null (both mean "use the default").
        SpecNode? Value(string key, bool required)
        {
            if (fields.TryGetValue(key, out var entry) && entry.Value is not SpecScalar { Kind: ScalarKind.Null })
                return entry.Value;
            if (required) problems.Add(Field(key), $"{Field(key)} is required");
            return null;
        }

        public Section? Sub(string key, IReadOnlyList<string> known, bool required)
        {
            var node = Value(key, required);
            if (node is null) return null;
            if (node is SpecMap map) return new Section(map, Field(key), known, problems, lines);
            problems.Add(Field(key), $"{Field(key)}: expected a mapping of {string.Join(", ", known)}, got {Describe(node)}");
            return null;
        }

        /// <summary>Whether the field is given a value (null, like absence, means "the default").</summary>
        public bool Has(string key) => fields.TryGetValue(key, out var entry) && entry.Value is not SpecScalar { Kind: ScalarKind.Null };

        /// <summary>The record of these fields: each one given converted to its property's type, the others at
        /// the record's defaults.</summary>
        public object Record(Type type)
        {
            var record = Activator.CreateInstance(type)!;
            foreach (var field in SweepSpecFields.Of(type))
                if (Read(field) is { } value) field.Property.SetValue(record, value);
            return record;
        }

        object? Read(SpecField field)
        {
            var (key, required) = (field.Name, field.Required);
            var type = Nullable.GetUnderlyingType(field.Type) ?? field.Type;
            if (field.Fields is { } inner)
                return Sub(key, SweepSpecFields.Names(inner), required) is { } section
                    ? section.Record(type) : null;
            if (type == typeof(string)) return Text(key, required);
            if (type == typeof(IReadOnlyList<string>)) return Items(key, required, StringItem);
            if (type == typeof(IReadOnlyList<int>)) return Items<int>(key, required, IntItem);
            if (type == typeof(IReadOnlyList<long>)) return Items<long>(key, required, LongItem);
            var node = Value(key, required);
            if (node is null) return null;
            if (type == typeof(int)) return IntItem(node, Field(key));
            if (type == typeof(long)) return LongItem(node, Field(key));
            if (type == typeof(double)) return DoubleItem(node, Field(key));
            if (type == typeof(bool)) return BoolItem(node, Field(key));
            if (type.IsEnum) return EnumItem(node, Field(key), type);
            throw new InvalidOperationException($"{Field(key)}: no spec form for {type.Name}");
        }

        string? Text(string key, bool required) =>
            Value(key, required) is { } node ? StringItem(node, Field(key)) : null;

        /// <summary>A list field; a single value stands for a list of one. Bad items are reported and left out.</summary>
        IReadOnlyList<T>? Items<T>(string key, bool required, Func<SpecNode, string, T?> item) where T : struct =>
            ListOf<T>(key, required, (node, p) => item(node, p) is T value ? [value] : []);

        IReadOnlyList<string>? Items(string key, bool required, Func<SpecNode, string, string?> item) =>
            ListOf<string>(key, required, (node, p) => item(node, p) is { } value ? [value] : []);

        IReadOnlyList<T>? ListOf<T>(string key, bool required, Func<SpecNode, string, T[]> item)
        {
            if (fields.TryGetValue(key, out var entry) && entry.Value is SpecScalar { Kind: ScalarKind.Null })
                return [];                                    // "seed:" with nothing: an empty list, reported as such
            var node = Value(key, required);
            if (node is null) return null;
            var field = Field(key);
            if (node is SpecMap)
            {
                problems.Add(field, $"{field}: expected a list, got a mapping");
                return null;
            }
            var items = node is SpecList list ? list.Items : [node];
            var values = new List<T>();
            for (int i = 0; i < items.Count; i++)
            {
                var itemField = node is SpecList ? $"{field}[{i}]" : field;
                lines.TryAdd(itemField, items[i].Line);
                values.AddRange(item(items[i], itemField));
            }
            return values;
        }

        string? StringItem(SpecNode node, string field)
        {
            // A number is text too where text is expected (name: 2024); lists, mappings and booleans are not.
            if (node is SpecScalar { Kind: ScalarKind.String or ScalarKind.Number } s) return s.Text;
            problems.Add(field, $"{field}: expected text, got {Describe(node)}");
            return null;
        }

        long? LongItem(SpecNode node, string field)
        {
            if (node is SpecScalar { Kind: ScalarKind.Number } s)
            {
                var text = s.Text.Replace("_", "", StringComparison.Ordinal);
                if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value)) return value;
                if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && d == Math.Floor(d)
                    && Math.Abs(d) < 9.2e18)
                    return (long)d;                           // 5e7 is an integer written in exponent form
            }
            problems.Add(field, $"{field}: expected a whole number, got {Describe(node)}");
            return null;
        }

        int? IntItem(SpecNode node, string field)
        {
            if (LongItem(node, field) is not long value) return null;
            if (value is >= int.MinValue and <= int.MaxValue) return (int)value;
            problems.Add(field, $"{field}: {value} is too large");
            return null;
        }

        bool? BoolItem(SpecNode node, string field)
        {
            if (node is SpecScalar { Kind: ScalarKind.Bool } s) return s.Text.Equals("true", StringComparison.OrdinalIgnoreCase);
            problems.Add(field, $"{field}: expected true or false, got {Describe(node)}");
            return null;
        }

        object? EnumItem(SpecNode node, string field, Type type)
        {
            if (StringItem(node, field) is not { } text) return null;
            var values = Enum.GetValues(type).Cast<Enum>().ToList();
            if (values.FirstOrDefault(v => SweepSpecFields.EnumText(v).Equals(text, StringComparison.OrdinalIgnoreCase)) is { } value) return value;
            problems.Add(field, $"{field} '{text}' is not one of {string.Join(", ", values.Select(SweepSpecFields.EnumText))}");
            return null;
        }

        double? DoubleItem(SpecNode node, string field)
        {
            if (node is SpecScalar { Kind: ScalarKind.Number } s
                && double.TryParse(s.Text.Replace("_", "", StringComparison.Ordinal), NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
                return value;
            problems.Add(field, $"{field}: expected a number, got {Describe(node)}");
            return null;
        }
    }
}
