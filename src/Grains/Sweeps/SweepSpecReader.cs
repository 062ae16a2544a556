using System.Globalization;
using LayerChop.Engine;
using LayerChop.Interfaces;

namespace LayerChop.Grains.Sweeps;

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
    static readonly string[] TopFields = ["name", "base_model", "data", "text_field", "eval", "grid", "train", "device", "max_attempts", "output", "latency"];
    static readonly string[] EvalFields = ["tasks", "task_dir", "limit", "perplexity"];
    static readonly string[] GridFields = ["remove", "strategy", "heal_tokens", "heal_method", "seed"];
    static readonly string[] TrainFields = ["seq_len", "batch_tokens", "micro_batch", "lr", "warmup_steps", "min_lr_ratio", "checkpoint_every", "optimizer_warmup_steps"];
    static readonly string[] LatencyFields = ["prompt_tokens", "new_tokens"];

    static readonly (string Section, string[] Fields)[] Sections =
        [("", TopFields), ("eval", EvalFields), ("grid", GridFields), ("train", TrainFields), ("latency", LatencyFields)];

    /// <summary>Reads and checks the spec file at <paramref name="path"/>.</summary>
    /// <param name="checkFiles">false skips everything that reads the filesystem (the base model's config.json
    /// and the limits it sets, data, task and held-out files): for specs written for another machine.</param>
    /// <exception cref="LayerChopException">the file cannot be read, or a <see cref="SweepSpecException"/>.</exception>
    public static SweepSpec Load(string path, bool checkFiles = true)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new LayerChopException($"{path}: no such spec file");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LayerChopException($"{path}: cannot read the spec ({e.Message})");
        }
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
        if (root is not SpecMap)
        {
            problems.Add("", $"a spec is a mapping of fields ({string.Join(", ", TopFields)}), not {Describe(root)}");
            return new SweepSpec();
        }
        var top = new Section((SpecMap)root, "", TopFields, problems, lines);
        var defaults = new SweepSpec();

        string name = top.Text("name", required: true) ?? "";
        string baseModel = top.Text("base_model", required: true) ?? "";
        var data = top.Items("data", required: true, (node, path) => top.StringItem(node, path)) ?? [];
        string textField = top.Text("text_field") ?? defaults.TextField;

        var eval = new EvalSpec();
        if (top.Sub("eval", EvalFields, required: true) is { } e)
        {
            eval = new EvalSpec
            {
                Tasks = e.Items("tasks", required: true, (node, path) => e.StringItem(node, path)) ?? [],
                TaskDir = e.Text("task_dir", required: true) ?? "",
                Limit = e.Int("limit"),
                Perplexity = e.Text("perplexity"),
            };
        }

        var grid = new GridSpec { Remove = [], Strategy = [], HealTokens = [] };
        if (top.Sub("grid", GridFields, required: true) is { } g)
        {
            grid = new GridSpec
            {
                Remove = g.Items("remove", required: true, (node, path) => g.IntItem(node, path)) ?? [],
                Strategy = g.Items("strategy", required: true, (node, path) => g.StringItem(node, path)) ?? [],
                HealTokens = g.Items("heal_tokens", required: true, (node, path) => g.LongItem(node, path)) ?? [],
                HealMethod = g.Items("heal_method", required: false, (node, path) => g.StringItem(node, path)) ?? grid.HealMethod,
                Seed = g.Items("seed", required: false, (node, path) => g.LongItem(node, path)) ?? grid.Seed,
            };
        }

        var train = defaults.Train;
        if (top.Sub("train", TrainFields, required: false) is { } t)
        {
            train = new TrainSpec
            {
                SeqLen = t.Int("seq_len") ?? train.SeqLen,
                BatchTokens = t.Int("batch_tokens") ?? train.BatchTokens,
                MicroBatch = t.Int("micro_batch") ?? train.MicroBatch,
                Lr = t.Double("lr") ?? train.Lr,
                WarmupSteps = t.Int("warmup_steps") ?? train.WarmupSteps,
                MinLrRatio = t.Double("min_lr_ratio") ?? train.MinLrRatio,
                CheckpointEvery = t.Int("checkpoint_every") ?? train.CheckpointEvery,
                OptimizerWarmupSteps = t.Int("optimizer_warmup_steps") ?? train.OptimizerWarmupSteps,
            };
        }

        var latency = defaults.Latency;
        if (top.Sub("latency", LatencyFields, required: false) is { } l)
        {
            latency = new LatencySpec
            {
                PromptTokens = l.Int("prompt_tokens") ?? latency.PromptTokens,
                NewTokens = l.Int("new_tokens") ?? latency.NewTokens,
            };
        }

        var device = defaults.Device;
        if (top.Text("device") is { } deviceText)
        {
            device = deviceText.ToLowerInvariant() switch
            {
                "auto" => SweepDevice.Auto,
                "cpu" => SweepDevice.Cpu,
                "cuda" => SweepDevice.Cuda,
                _ => Fail(device, "device", $"device '{deviceText}' is not one of cpu, cuda, auto"),
            };
        }

        int maxAttempts = top.Int("max_attempts") ?? defaults.MaxAttempts;
        string output = top.Text("output") ?? Path.Combine("sweeps", name);

        string Resolve(string path) => path.Length == 0 ? path : Path.GetFullPath(Path.Combine(baseFolder, path));
        return new SweepSpec
        {
            Name = name,
            BaseModel = Resolve(baseModel),
            Data = data.Select(Resolve).ToArray(),
            TextField = textField,
            Eval = eval with { TaskDir = Resolve(eval.TaskDir), Perplexity = eval.Perplexity is { } p ? Resolve(p) : null },
            Grid = grid,
            Train = train,
            Device = device,
            MaxAttempts = maxAttempts,
            Output = Resolve(output),
            Latency = latency,
        };

        T Fail<T>(T fallback, string field, string message)
        {
            problems.Add(field, message);
            return fallback;
        }
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

        public Section(SpecMap map, string path, string[] known, SpecProblems problems, Dictionary<string, int> lines)
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
        string Hint(string key, string[] known)
        {
            if (Suggestions.Closest(key, known) is { } close) return $"did you mean {close}?";
            foreach (var (section, sectionFields) in Sections)
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

        public Section? Sub(string key, string[] known, bool required)
        {
            var node = Value(key, required);
            if (node is null) return null;
            if (node is SpecMap map) return new Section(map, Field(key), known, problems, lines);
            problems.Add(Field(key), $"{Field(key)}: expected a mapping of {string.Join(", ", known)}, got {Describe(node)}");
            return null;
        }

        public string? Text(string key, bool required = false) =>
            Value(key, required) is { } node ? StringItem(node, Field(key)) : null;

        public int? Int(string key) => Value(key, false) is { } node ? IntItem(node, Field(key)) : null;

        public double? Double(string key) => Value(key, false) is { } node ? DoubleItem(node, Field(key)) : null;

        /// <summary>A list field; a single value stands for a list of one. Bad items are reported and left out.</summary>
        public IReadOnlyList<T>? Items<T>(string key, bool required, Func<SpecNode, string, T?> item) where T : struct =>
            ListOf<T>(key, required, (node, p) => item(node, p) is T value ? [value] : []);

        public IReadOnlyList<string>? Items(string key, bool required, Func<SpecNode, string, string?> item) =>
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

        public string? StringItem(SpecNode node, string field)
        {
            // A number is text too where text is expected (name: 2024); lists, mappings and booleans are not.
            if (node is SpecScalar { Kind: ScalarKind.String or ScalarKind.Number } s) return s.Text;
            problems.Add(field, $"{field}: expected text, got {Describe(node)}");
            return null;
        }

        public long? LongItem(SpecNode node, string field)
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

        public int? IntItem(SpecNode node, string field)
        {
            if (LongItem(node, field) is not long value) return null;
            if (value is >= int.MinValue and <= int.MaxValue) return (int)value;
            problems.Add(field, $"{field}: {value} is too large");
            return null;
        }

        public double? DoubleItem(SpecNode node, string field)
        {
            if (node is SpecScalar { Kind: ScalarKind.Number } s
                && double.TryParse(s.Text.Replace("_", "", StringComparison.Ordinal), NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
                return value;
            problems.Add(field, $"{field}: expected a number, got {Describe(node)}");
            return null;
        }
    }
}
