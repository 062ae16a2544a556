using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using LayerChop.Engine;
using LayerChop.Engine.Checkpoints;
using LayerChop.Engine.Chopping;
using LayerChop.Engine.Evaluation;
using LayerChop.Engine.Modeling;
using LayerChop.Settings;

namespace LayerChop.Specs;

/// <summary>
/// Everything that can be known wrong about a spec before work starts: values out of range, unknown strategies,
/// tasks and healing methods, and, with the filesystem, the base model, its layer count and context against the
/// grid and the training settings, and every input file. A sweep of many GPU-hours must not fail in its last
/// candidate's evaluation because a task file was missing.
/// </summary>
public static partial class SweepSpecValidator
{
    /// <summary>Checks a spec built in code or received by a grain (the reader runs the same checks).</summary>
    /// <exception cref="SweepSpecException">every problem found.</exception>
    public static void Validate(SweepSpec spec, bool checkFiles = true)
    {
        var problems = new SpecProblems();
        Check(spec, checkFiles, problems);
        problems.ThrowIfAny(spec.Name.Length > 0 ? $"sweep {spec.Name}" : "sweep spec");
    }

    /// <summary>
    /// What a valid spec may not mean to say, each in one line for the user to read at submit: held-out text that
    /// is the healing corpus, a warm-up longer than a healing run, placements that remove the same layers of this
    /// base model (their candidates compute the same thing). Reads the base model's config.json.
    /// </summary>
    public static IReadOnlyList<string> Warnings(SweepSpec spec)
    {
        var warnings = new List<string>();
        if (spec.Eval.Perplexity is { } heldOut && spec.Data.FirstOrDefault(d => Overlap(d, heldOut)) is { } corpus)
            warnings.Add($"eval.perplexity {heldOut} is healing data ({corpus}): the perplexity is not measured on held-out text");
        var healed = spec.Grid.HealTokens.Where(t => t > 0).ToList();
        if (healed.Count > 0 && spec.Train.BatchTokens > 0)
        {
            long shortest = healed.Min() / spec.Train.BatchTokens;
            if (spec.Train.WarmupSteps >= shortest)
                warnings.Add($"train.warmup_steps {spec.Train.WarmupSteps} is not shorter than the shortest healing run ({CandidateConfig.FormatTokens(healed.Min())} tokens = {shortest} steps of {spec.Train.BatchTokens} tokens): its learning rate never reaches its peak");
        }
        int layers;
        try { layers = ModelConfig.Load(spec.BaseModel).NumLayers; }
        catch (LayerChopException) { return warnings; }
        foreach (int k in spec.Grid.Remove.Where(k => k > 0).Distinct())
        {
            var same = spec.Grid.Strategy.Where(s => ChopSettings.Names.Contains(s))
                .Select(s => (Strategy: s, Layers: Removed(s, k, layers)))
                .Where(p => p.Layers is not null)
                .GroupBy(p => string.Join(",", p.Layers!))
                .Where(g => g.Count() > 1);
            foreach (var group in same)
                warnings.Add($"grid.strategy: {string.Join(" and ", group.Select(p => p.Strategy))} remove the same layers ({group.Key}) of this {layers}-layer base model at remove {k}: their candidates compute the same thing");
        }
        return warnings;
    }

    static IReadOnlyList<int>? Removed(string strategy, int k, int layers)
    {
        try { return ChopStrategy.From(ChopStrategy.ParseSettings(strategy, k)) is { } s and not Engine.Chopping.Importance.DataDrivenStrategy ? s.LayersToRemove(layers) : null; }
        catch (LayerChopException) { return null; }
    }

    /// <summary>Whether one path is the other or lies inside it.</summary>
    static bool Overlap(string a, string b)
    {
        string A = Path.GetFullPath(a).TrimEnd('/') + "/", B = Path.GetFullPath(b).TrimEnd('/') + "/";
        return A.StartsWith(B, StringComparison.Ordinal) || B.StartsWith(A, StringComparison.Ordinal);
    }

    internal static void Check(SweepSpec spec, bool checkFiles, SpecProblems problems)
    {
        CheckFields(spec, problems);
        if (checkFiles) CheckFiles(spec, problems);
    }

    static void CheckFields(SweepSpec spec, SpecProblems problems)
    {
        if (spec.Name.Length == 0) problems.Add("name", "name is required");
        else if (!NamePattern().IsMatch(spec.Name))
            problems.Add("name", $"name '{spec.Name}' may hold only letters, digits, '.', '_' and '-' (at most 64, starting with a letter or digit): it names grains and folders");
        if (spec.BaseModel.Length == 0) problems.Add("base_model", "base_model is required");
        CheckList(problems, "data", spec.Data, (field, path) => path.Length == 0 ? $"{field} is empty" : null);
        if (spec.TextField.Length == 0) problems.Add("text_field", "text_field must not be empty");

        CheckList(problems, "eval.tasks", spec.Eval.Tasks, (field, task) =>
        {
            try
            {
                EvalTasks.Resolve(task);
                return null;
            }
            catch (LayerChopException)
            {
                var known = EvalTasks.Names.Append(EvalTasks.PaperSuite).ToList();
                var hint = Suggestions.Closest(task, known) is { } close ? $"did you mean {close}? " : "";
                return $"{field}: unknown task '{task}'; {hint}known tasks: {string.Join(", ", known)} (paper = {string.Join(", ", EvalTasks.Paper)})";
            }
        });
        if (spec.Eval.TaskDir.Length == 0) problems.Add("eval.task_dir", "eval.task_dir is required");
        if (spec.Eval.Limit is < 1) problems.Add("eval.limit", $"eval.limit must be at least 1, got {spec.Eval.Limit}");
        if (spec.Eval.Perplexity is { Length: 0 }) problems.Add("eval.perplexity", "eval.perplexity is an empty path; leave it out for no perplexity");
        if (spec.Eval.BatchSize < 1) problems.Add("eval.batch_size", $"eval.batch_size must be at least 1, got {spec.Eval.BatchSize}");
        if (spec.Eval.Seed < 0) problems.Add("eval.seed", $"eval.seed must not be negative, got {spec.Eval.Seed}");
        if (spec.Eval.PerplexityStride is < 1) problems.Add("eval.perplexity_stride", $"eval.perplexity_stride must be at least 1, got {spec.Eval.PerplexityStride}");

        var grid = spec.Grid;
        CheckList(problems, "grid.remove", grid.Remove, (field, k) => k < 0 ? $"{field}: cannot remove {k} layers; use 0 for the unchopped baseline" : null);
        CheckList(problems, "grid.strategy", grid.Strategy, CheckStrategy);
        CheckList(problems, "grid.heal_tokens", grid.HealTokens, (field, n) => n < 0 ? $"{field}: {n} healing tokens; use 0 for no healing" : null);
        CheckList(problems, "grid.heal_method", grid.HealMethod, (field, method) => HealMethods.Names.Contains(method) ? null
            : $"{field}: heal_method '{method}' is not one of {string.Join(", ", HealMethods.Names)}"
              + (Suggestions.Closest(method, HealMethods.Names) is { } close ? $"; did you mean {close}?" : ""));
        CheckList(problems, "grid.seed", grid.Seed, (_, _) => null);

        var train = spec.Train;
        if (train.SeqLen < 2) problems.Add("train.seq_len", $"train.seq_len must be at least 2, got {train.SeqLen}");
        else if (train.BatchTokens < train.SeqLen || train.BatchTokens % train.SeqLen != 0)
            problems.Add("train.batch_tokens", $"train.batch_tokens {train.BatchTokens} must be a positive multiple of train.seq_len {train.SeqLen}");
        else if (train.MicroBatch < 0 || (train.MicroBatch > 0 && train.BatchTokens / train.SeqLen % train.MicroBatch != 0))
            problems.Add("train.micro_batch", $"train.micro_batch {train.MicroBatch} must divide the {train.BatchTokens / train.SeqLen} sequences of a step (batch_tokens / seq_len), or be 0 to let the trainer choose");
        if (!(train.Lr > 0)) problems.Add("train.lr", $"train.lr must be positive, got {Number(train.Lr)}");
        if (train.WarmupSteps < 0) problems.Add("train.warmup_steps", $"train.warmup_steps must not be negative, got {train.WarmupSteps}");
        if (!(train.MinLrRatio is >= 0 and <= 1)) problems.Add("train.min_lr_ratio", $"train.min_lr_ratio must be between 0 and 1, got {Number(train.MinLrRatio)}");
        if (train.CheckpointEvery < 1) problems.Add("train.checkpoint_every", $"train.checkpoint_every must be at least 1, got {train.CheckpointEvery}");
        if (train.OptimizerWarmupSteps < 0) problems.Add("train.optimizer_warmup_steps", $"train.optimizer_warmup_steps must not be negative, got {train.OptimizerWarmupSteps}");
        if (!(train.WeightDecay >= 0)) problems.Add("train.weight_decay", $"train.weight_decay must not be negative, got {Number(train.WeightDecay)}");
        if (!(train.Beta1 is >= 0 and < 1)) problems.Add("train.beta1", $"train.beta1 must be at least 0 and below 1, got {Number(train.Beta1)}");
        if (!(train.Beta2 is >= 0 and < 1)) problems.Add("train.beta2", $"train.beta2 must be at least 0 and below 1, got {Number(train.Beta2)}");
        if (!(train.GradClip >= 0)) problems.Add("train.grad_clip", $"train.grad_clip must not be negative (0: off), got {Number(train.GradClip)}");
        if (train.KeepCheckpoints < 1) problems.Add("train.keep_checkpoints", $"train.keep_checkpoints must be at least 1, got {train.KeepCheckpoints}");
        if (train.HeldoutPerMille is < 0 or > 1000) problems.Add("train.heldout_per_mille", $"train.heldout_per_mille must be between 0 and 1000, got {train.HeldoutPerMille}");
        if (train.ValSequences < 0) problems.Add("train.val_sequences", $"train.val_sequences must not be negative, got {train.ValSequences}");
        if (train.Precision is not ("fp32" or "bf16")) problems.Add("train.precision", $"train.precision '{train.Precision}' is not one of fp32, bf16");
        if (!(train.DistillWeight >= 0)) problems.Add("train.distill_weight", $"train.distill_weight must not be negative, got {Number(train.DistillWeight)}");
        if (!(train.DistillTemperature > 0)) problems.Add("train.distill_temperature", $"train.distill_temperature must be positive, got {Number(train.DistillTemperature)}");
        if (!(train.DistillHiddenWeight >= 0)) problems.Add("train.distill_hidden_weight", $"train.distill_hidden_weight must not be negative, got {Number(train.DistillHiddenWeight)}");

        CheckList(problems, "lora.targets", spec.Lora.Targets, (field, target) => LoraSettings.TargetProblem(target) is { } problem ? $"{field}: {problem}" : null);

        if (!Enum.IsDefined(spec.Device)) problems.Add("device", $"device {(int)spec.Device} is not one of cpu, cuda, auto");
        if (spec.MaxAttempts < 1) problems.Add("max_attempts", $"max_attempts must be at least 1, got {spec.MaxAttempts}");
        if (spec.Output.Length == 0) problems.Add("output", "output must not be empty");
        if (spec.Latency.PromptTokens < 1) problems.Add("latency.prompt_tokens", $"latency.prompt_tokens must be at least 1, got {spec.Latency.PromptTokens}");
        if (spec.Latency.NewTokens < 1) problems.Add("latency.new_tokens", $"latency.new_tokens must be at least 1, got {spec.Latency.NewTokens}");
        if (!Enum.IsDefined(spec.Retention)) problems.Add("retention", $"retention {(int)spec.Retention} is not one of final, all");
        CheckRanges(spec, "", SweepSpecFields.Top, problems);
    }

    /// <summary>
    /// Every number against its field's [Range] (each item of a list of numbers too), after the checks above, whose
    /// more specific words win: a value past what the engine runs is refused here, not by a worker hours later.
    /// </summary>
    static void CheckRanges(object record, string path, IReadOnlyList<SpecField> fields, SpecProblems problems)
    {
        foreach (var field in fields)
        {
            var name = path.Length == 0 ? field.Name : $"{path}.{field.Name}";
            var value = field.ValueIn(record);
            if (field.Fields is { } inner)
            {
                if (value is not null) CheckRanges(value, name, inner, problems);
                continue;
            }
            if (field.Property.GetCustomAttribute<RangeAttribute>() is not { } range) continue;
            if (value is System.Collections.IEnumerable items and not string)
            {
                int i = 0;
                foreach (var item in items) CheckRange($"{name}[{i++}]", item, range, problems);
            }
            else if (value is not null) CheckRange(name, value, range, problems);
        }
    }

    static void CheckRange(string field, object value, RangeAttribute range, SpecProblems problems)
    {
        double number = Convert.ToDouble(value, CultureInfo.InvariantCulture);
        double min = Convert.ToDouble(range.Minimum, CultureInfo.InvariantCulture), max = Convert.ToDouble(range.Maximum, CultureInfo.InvariantCulture);
        bool inside = (range.MinimumIsExclusive ? number > min : number >= min) && (range.MaximumIsExclusive ? number < max : number <= max);
        if (inside) return;
        string low = $"{(range.MinimumIsExclusive ? "above" : "at least")} {Bound(min)}";
        string high = max >= long.MaxValue ? "" : $" and {(range.MaximumIsExclusive ? "below" : "at most")} {Bound(max)}";
        problems.Add(field, $"{field} must be {low}{high}, got {Convert.ToString(value, CultureInfo.InvariantCulture)}");
    }

    static string Bound(double value) => value.ToString(value == Math.Floor(value) && Math.Abs(value) < 1e15 ? "0" : "R", CultureInfo.InvariantCulture);

    static string? CheckStrategy(string field, string strategy)
    {
        if (ChopSettings.Names.Contains(strategy)) return null;
        if (ChopSettings.IsLayerList(strategy))
            return ChopSettings.TryParse(strategy, null, out _, out var error) ? null : $"{field}: {error}";
        var hint = Suggestions.Closest(strategy, ChopSettings.Names) is { } close ? $"did you mean {close}? " : "";
        return $"{field}: unknown strategy '{strategy}'; {hint}valid: {ChopSettings.DescribeForms()}";
    }

    static void CheckFiles(SweepSpec spec, SpecProblems problems)
    {
        if (spec.BaseModel.Length > 0 && !problems.Has("base_model"))
        {
            if (!Directory.Exists(spec.BaseModel))
                problems.Add("base_model", $"base_model: no such folder {spec.BaseModel}");
            else
            {
                try
                {
                    CheckAgainstModel(spec, ModelConfig.Load(spec.BaseModel), problems);
                    ModelFolder.CheckLoadable(spec.BaseModel);
                }
                catch (LayerChopException e)
                {
                    problems.Add("base_model", $"base_model: {e.Message}");
                }
            }
        }

        if (spec.Output.Length > 0 && SweepOutput.Refusal(spec.Output, spec.Name) is { } taken) problems.Add("output", taken);
        else if (spec.Output.Length > 0 && NearestExisting(spec.Output) is { } existing && !Directory.Exists(existing))
            problems.Add("output", $"output: {existing} is a file, so the sweep's folder {spec.Output} cannot be made there");

        for (int i = 0; i < spec.Data.Count; i++)
            if (spec.Data[i].Length > 0 && !File.Exists(spec.Data[i]) && !Directory.Exists(spec.Data[i]))
                problems.Add($"data[{i}]", $"data[{i}]: no such file or folder {spec.Data[i]}");

        if (spec.Eval.Perplexity is { Length: > 0 } heldout && !File.Exists(heldout) && !Directory.Exists(heldout))
            problems.Add("eval.perplexity", $"eval.perplexity: no such file or folder {heldout}");

        if (spec.Eval.TaskDir.Length > 0 && !problems.Has("eval.task_dir"))
        {
            if (!Directory.Exists(spec.Eval.TaskDir))
                problems.Add("eval.task_dir", $"eval.task_dir: no such folder {spec.Eval.TaskDir}");
            else
                CheckTaskData(spec.Eval, problems);
        }
    }

    static string? NearestExisting(string path)
    {
        for (var p = Path.GetFullPath(path); p is not null; p = Path.GetDirectoryName(p))
            if (File.Exists(p) || Directory.Exists(p)) return p;
        return null;
    }

    static void CheckAgainstModel(SweepSpec spec, ModelConfig model, SpecProblems problems)
    {
        int layers = model.NumLayers, context = model.MaxPositionEmbeddings;
        // K only matters for named strategies; an explicit list says how many layers go itself.
        if (spec.Grid.Strategy.Any(s => !ChopSettings.IsLayerList(s)))
        {
            for (int i = 0; i < spec.Grid.Remove.Count; i++)
            {
                int k = spec.Grid.Remove[i];
                if (k > 0 && k > layers - 2)
                    problems.Add($"grid.remove[{i}]", layers < 3
                        ? $"grid.remove[{i}]: the base model has {layers} layers and cannot be chopped: the first and last layer are always kept"
                        : $"grid.remove[{i}]: cannot remove {k} of the base model's {layers} layers: the first and last layer are always kept, so remove must be at most {layers - 2}");
            }
        }
        for (int i = 0; i < spec.Grid.Strategy.Count; i++)
        {
            var strategy = spec.Grid.Strategy[i];
            if (!ChopSettings.IsLayerList(strategy) || problems.Has($"grid.strategy[{i}]")) continue;
            try
            {
                ChopStrategy.From(ChopStrategy.ParseSettings(strategy, null)).LayersToRemove(layers);
            }
            catch (LayerChopException e)
            {
                problems.Add($"grid.strategy[{i}]", $"grid.strategy[{i}]: {e.Message}");
            }
        }
        if (spec.Train.SeqLen > context)
            problems.Add("train.seq_len", $"train.seq_len {spec.Train.SeqLen} is longer than the base model's context of {context} (max_position_embeddings)");
        long latencyTokens = (long)spec.Latency.PromptTokens + spec.Latency.NewTokens;
        if (latencyTokens > context)
            problems.Add("latency", $"latency: prompt_tokens + new_tokens ({latencyTokens}) exceed the base model's context of {context}");
    }

    // Each task's files are located now, exactly as the evaluator will locate them.
    static void CheckTaskData(EvalSettings eval, SpecProblems problems)
    {
        for (int i = 0; i < eval.Tasks.Count; i++)
        {
            var field = $"eval.tasks[{i}]";
            if (problems.Has(field)) continue;
            try
            {
                foreach (var task in EvalTasks.Resolve(eval.Tasks[i])) task.CheckData(eval.TaskDir);
            }
            catch (LayerChopException e)
            {
                problems.Add(field, $"{field}: {e.Message}");
            }
        }
    }

    // Empty lists and repeated values are reported for the list; each item's own problem for the item.
    static void CheckList<T>(SpecProblems problems, string field, IReadOnlyList<T> values, Func<string, T, string?> check)
    {
        if (problems.Has(field)) return;
        if (values.Count == 0)
        {
            problems.Add(field, $"{field} is empty; give at least one value");
            return;
        }
        var seen = new HashSet<T>();
        for (int i = 0; i < values.Count; i++)
        {
            var itemField = $"{field}[{i}]";
            if (check(itemField, values[i]) is { } message) problems.Add(itemField, message);
            else if (!seen.Add(values[i])) problems.Add(itemField, $"{itemField}: {values[i]} is listed twice in {field}");
        }
    }

    static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}
