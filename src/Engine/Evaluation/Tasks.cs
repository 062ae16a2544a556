using System.Text.RegularExpressions;

namespace LayerChop.Engine.Evaluation;

public enum TaskKind
{
    /// <summary>One request per choice; acc = argmax of log-likelihood, acc_norm = argmax of log-likelihood per character.</summary>
    MultipleChoice,
    /// <summary>One request per document; acc = the target is the greedy continuation, plus perplexity of the target.</summary>
    Loglikelihood,
}

/// <summary>
/// One document of a task as log-likelihood requests: for multiple choice, one request per choice (or, for
/// partial scoring, one context per option with a shared continuation) and the index of the right one.
/// <see cref="Choices"/> are the strings whose lengths acc_norm divides by (the harness's doc_to_choice).
/// </summary>
public sealed record TaskDoc(string Origin, IReadOnlyList<TextRequest> Requests, IReadOnlyList<string> Choices, int Gold);

public static class MetricNames
{
    public const string Acc = "acc";
    public const string AccNorm = "acc_norm";
    /// <summary>The harness's acc_mutual_info: argmax of log P(choice | context) - log P(choice | empty context).</summary>
    public const string AccMutualInfo = "acc_mutual_info";
}

/// <summary>A zero-shot task: where its documents come from and how each becomes requests.</summary>
public abstract class EvalTask
{
    public abstract string Name { get; }

    /// <summary>The metric the Just CHOP paper reports for the task ("acc" or "acc_norm"), averaged across tasks.</summary>
    public abstract string PaperMetric { get; }

    public virtual TaskKind Kind => TaskKind.MultipleChoice;

    /// <summary>Whether acc_norm is one of the task's metrics (the harness's metric_list).</summary>
    public virtual bool ReportsAccNorm => Kind == TaskKind.MultipleChoice;

    /// <summary>
    /// Whether acc_mutual_info is one of the task's metrics: then each document's requests are its choices after
    /// the context, followed by the same choices after an empty context (<see cref="Unconditional"/>).
    /// </summary>
    public virtual bool ReportsAccMutualInfo => false;

    /// <summary>The harness's unconditional request for acc_mutual_info: the choice after an empty context.</summary>
    public static TextRequest Unconditional(TextRequest request) => new("", request.Continuation);

    /// <summary>The task's documents, the first <paramref name="limit"/> when given (as the harness's --limit).</summary>
    /// <exception cref="LayerChopException">missing files, no rows, or a malformed row (naming file and row).</exception>
    public abstract IReadOnlyList<TaskDoc> Load(string taskDir, int? limit = null);

    /// <summary>Finds the task's data files in <paramref name="taskDir"/> as <see cref="Load"/> will, without reading them.</summary>
    /// <exception cref="LayerChopException">no data, or ambiguous data.</exception>
    public abstract void CheckData(string taskDir);

    /// <summary>A multiple-choice document: each request is (context, " " + choice), the harness's default target delimiter.</summary>
    public static TaskDoc MultipleChoice(TaskRow row, string context, IReadOnlyList<string> choices, int gold)
    {
        CheckGold(row, choices.Count, gold);
        return new TaskDoc(row.Origin, choices.Select(c => new TextRequest(context, " " + c)).ToArray(), choices, gold);
    }

    /// <summary>
    /// Partial scoring (the harness's multiple-input form, used by WinoGrande): one context per option and one
    /// shared continuation, " " + target; the choices are the contexts.
    /// </summary>
    public static TaskDoc PartialScoring(TaskRow row, IReadOnlyList<string> contexts, string target, int gold)
    {
        CheckGold(row, contexts.Count, gold);
        return new TaskDoc(row.Origin, contexts.Select(c => new TextRequest(c, " " + target)).ToArray(), contexts, gold);
    }

    static void CheckGold(TaskRow row, int choices, int gold)
    {
        if (choices == 0) throw row.Error("no choices");
        if (gold < 0 || gold >= choices) throw row.Error($"label {gold} is out of range for {choices} choices");
    }
}

/// <summary>A task from lm-evaluation-harness: a Hugging Face dataset split and the harness's prompt for a row.</summary>
public sealed class HarnessTask(string name, string split, string? config, string paperMetric, Func<TaskRow, TaskDoc> build,
    TaskKind kind = TaskKind.MultipleChoice, bool reportsAccNorm = true) : EvalTask
{
    public override string Name => name;
    public override string PaperMetric => paperMetric;
    public override TaskKind Kind => kind;
    public override bool ReportsAccNorm => kind == TaskKind.MultipleChoice && reportsAccNorm;

    /// <summary>The split the harness evaluates (validation or test).</summary>
    public string Split => split;

    /// <summary>The Hugging Face configuration the harness loads, if any (a sub-folder name to prefer).</summary>
    public string? Config => config;

    /// <summary>The requests of one row, with the harness's prompt and preprocessing.</summary>
    public TaskDoc Build(TaskRow row) => build(row);

    public override void CheckData(string taskDir) => TaskFiles.Locate(taskDir, name, split, config);

    public override IReadOnlyList<TaskDoc> Load(string taskDir, int? limit = null)
    {
        if (limit is < 1) throw new LayerChopException($"limit must be at least 1, not {limit}");
        var files = TaskFiles.Locate(taskDir, name, split, config);
        var docs = new List<TaskDoc>();
        foreach (var file in files)
        {
            foreach (var row in DatasetFiles.Read(file))
            {
                if (docs.Count == limit) return docs;
                docs.Add(build(row));
            }
        }
        if (docs.Count == 0) throw new LayerChopException($"{string.Join(", ", files)}: no rows for task {name}");
        return docs;
    }
}

/// <summary>The tasks LayerChop knows, by the harness's names, and the paper's suite.</summary>
public static class EvalTasks
{
    /// <summary>The Just CHOP paper's zero-shot suite, selectable as "paper".</summary>
    public static readonly IReadOnlyList<string> Paper = ["piqa", "hellaswag", "openbookqa", "winogrande", "sciq", "arc_easy"];

    public const string PaperSuite = "paper";

    // Paper metrics: acc_norm for piqa, hellaswag, openbookqa; acc for winogrande, sciq, arc_easy (the paper's
    // choice). For the rest: arc_challenge acc_norm (what leaderboards report for it), boolq and lambada_openai
    // acc (their only accuracy metric in the harness); the built-in tasks name their own.
    static readonly HarnessTask[] Harness =
    [
        new("piqa", "validation", null, MetricNames.AccNorm,
            r => EvalTask.MultipleChoice(r, $"Question: {r.String("goal")}\nAnswer:", [r.String("sol1"), r.String("sol2")], r.Int("label"))),
        new("hellaswag", "validation", null, MetricNames.AccNorm, Hellaswag),
        new("arc_easy", "test", "ARC-Easy", MetricNames.Acc, Arc),
        new("arc_challenge", "test", "ARC-Challenge", MetricNames.AccNorm, Arc),
        new("winogrande", "validation", "winogrande_xl", MetricNames.Acc, Winogrande, reportsAccNorm: false),
        new("boolq", "validation", null, MetricNames.Acc, BoolQ, reportsAccNorm: false),
        new("openbookqa", "test", "main", MetricNames.AccNorm,
            r => EvalTask.MultipleChoice(r, r.String("question_stem"), r.Strings("choices.text"),
                LabelIndex(r, r.Strings("choices.label"), PythonText.LStrip(r.String("answerKey"))))),
        new("sciq", "test", null, MetricNames.Acc,
            r => EvalTask.MultipleChoice(r, $"{PythonText.LStrip(r.String("support"))}\nQuestion: {r.String("question")}\nAnswer:",
                [r.String("distractor1"), r.String("distractor2"), r.String("distractor3"), r.String("correct_answer")], 3)),
        new("lambada_openai", "test", null, MetricNames.Acc, Lambada, TaskKind.Loglikelihood),
    ];

    /// <summary>Every task name, harness tasks first, then the built-in tasks made from plain documents.</summary>
    public static IReadOnlyList<string> Names { get; } =
        Harness.Select(t => t.Name).Append(NextWordTask.TaskName).Append(ContinuationTask.TaskName).ToArray();

    public static HarnessTask? FindHarnessTask(string name) => Harness.FirstOrDefault(t => t.Name == name);

    /// <summary>
    /// Tasks named by a comma-separated list ("piqa,boolq"); "paper" stands for the paper's suite. Order is kept
    /// and repeats dropped. <paramref name="seed"/> seeds the questions of the built-in document tasks, which read
    /// their documents' text from <paramref name="textField"/> of JSONL lines.
    /// </summary>
    /// <exception cref="LayerChopException">an unknown name, or nothing named.</exception>
    public static IReadOnlyList<EvalTask> Resolve(string spec, ulong seed = 0, string textField = "text")
    {
        var names = new List<string>();
        foreach (var raw in spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var name = raw.ToLowerInvariant();
            if (name == PaperSuite) names.AddRange(Paper);
            else if (Names.Contains(name)) names.Add(name);
            else throw new LayerChopException($"unknown task \"{raw}\"; known tasks: {string.Join(", ", Names)}, or {PaperSuite} ({string.Join(", ", Paper)})");
        }
        if (names.Count == 0) throw new LayerChopException($"no task named; known tasks: {string.Join(", ", Names)}, or {PaperSuite}");
        return names.Distinct().Select(n => n switch
        {
            ContinuationTask.TaskName => new ContinuationTask(new ContinuationOptions { Seed = seed }) { TextField = textField },
            NextWordTask.TaskName => new NextWordTask(new NextWordOptions { Seed = seed }) { TextField = textField },
            _ => (EvalTask)FindHarnessTask(n)!,
        }).ToList();
    }

    /// <summary>HellaSwag's cleanup of WikiHow artifacts: strip, " [title]" to ". ", drop [bracketed] text, collapse double spaces once.</summary>
    public static string HellaswagPreprocess(string text)
    {
        text = PythonText.Strip(text);
        text = text.Replace(" [title]", ". ", StringComparison.Ordinal);
        text = BracketPattern.Replace(text, "");
        return text.Replace("  ", " ", StringComparison.Ordinal);
    }

    static readonly Regex BracketPattern = new(@"\[.*?\]", RegexOptions.CultureInvariant);

    static TaskDoc Hellaswag(TaskRow r)
    {
        var context = r.String("ctx_a") + " " + PythonText.Capitalize(r.String("ctx_b"));
        var query = HellaswagPreprocess(r.String("activity_label") + ": " + context);
        var choices = r.Strings("endings").Select(HellaswagPreprocess).ToArray();
        return EvalTask.MultipleChoice(r, query, choices, r.Int("label"));
    }

    static TaskDoc Arc(TaskRow r) =>
        EvalTask.MultipleChoice(r, $"Question: {r.String("question")}\nAnswer:", r.Strings("choices.text"),
            LabelIndex(r, r.Strings("choices.label"), r.String("answerKey")));

    static int LabelIndex(TaskRow r, IReadOnlyList<string> labels, string answerKey)
    {
        int index = labels.ToList().IndexOf(answerKey);
        return index >= 0 ? index : throw r.Error($"answerKey \"{answerKey}\" is not one of the choice labels ({string.Join(", ", labels)})");
    }

    static TaskDoc Winogrande(TaskRow r)
    {
        var sentence = r.String("sentence");
        int blank = sentence.IndexOf('_');
        if (blank < 0) throw r.Error("field \"sentence\" has no blank (_)");
        var answer = r.Field("answer").ToString().Trim();
        int gold = answer switch
        {
            "1" => 0,
            "2" => 1,
            _ => throw r.Error($"label {answer} is out of range for 2 choices (answer must be \"1\" or \"2\")"),
        };
        var contexts = new[] { sentence[..blank] + r.String("option1"), sentence[..blank] + r.String("option2") };
        return EvalTask.PartialScoring(r, contexts, PythonText.Strip(sentence[(blank + 1)..]), gold);
    }

    static TaskDoc BoolQ(TaskRow r)
    {
        // super_glue's boolq has label 0 (False) / 1 (True); google/boolq's answer true/false is accepted too.
        int label = r.Has("label") || !r.Has("answer") ? r.Int("label") : (r.Bool("answer") ? 1 : 0);
        return EvalTask.MultipleChoice(r, $"{r.String("passage")}\nQuestion: {r.String("question")}?\nAnswer:", ["no", "yes"], label);
    }

    static TaskDoc Lambada(TaskRow r)
    {
        var words = r.String("text").Split(' ');
        var context = string.Join(' ', words[..^1]);
        var target = " " + words[^1];
        return new TaskDoc(r.Origin, [new TextRequest(context, target)], [target], 0);
    }
}
