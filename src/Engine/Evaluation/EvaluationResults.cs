using System.Text.Json;
using System.Text.Json.Nodes;

namespace LayerChop.Engine.Evaluation;

/// <summary>
/// One task's scores. Standard errors are those of the mean (sample standard deviation / sqrt(n)), null when
/// n &lt; 2. <see cref="AccNorm"/> is null for tasks without it (winogrande, boolq, lambada_openai);
/// <see cref="Perplexity"/> is set for log-likelihood tasks (lambada_openai: exp(-mean per-document
/// log-likelihood of the target word), the harness's aggregation).
/// </summary>
public sealed record TaskResult(string Task, int N, string PaperMetric, double Acc, double? AccStderr,
    double? AccNorm = null, double? AccNormStderr = null, double? Perplexity = null,
    double? AccMutualInfo = null, double? AccMutualInfoStderr = null)
{
    /// <summary>The value of the paper metric.</summary>
    public double PaperValue => PaperMetric switch
    {
        MetricNames.AccNorm => AccNorm ?? throw new InvalidOperationException($"{Task} has no acc_norm"),
        MetricNames.AccMutualInfo => AccMutualInfo ?? throw new InvalidOperationException($"{Task} has no acc_mutual_info"),
        _ => Acc,
    };
}

/// <summary>
/// Results of an evaluation. JSON (stable, for scripts):
/// <code>
/// {"tasks": {"piqa": {"acc": 0.62, "acc_stderr": 0.011, "acc_norm": 0.63, "acc_norm_stderr": 0.011, "n": 1838,
///                     "paper_metric": "acc_norm"}, ...,
///            "lambada_openai": {..., "acc_norm": null, "acc_norm_stderr": null, "perplexity": 25.1}},
///  "average": 0.55,
///  "perplexity": {"perplexity": 21.3, "nll": 12345.6, "tokens": 5000, "documents": 10}}
/// </code>
/// "average" is the mean over tasks of each task's paper metric (null without tasks); "perplexity" is present
/// only when held-out perplexity was measured; a task's "perplexity" only for log-likelihood tasks. Numbers that
/// are undefined (a standard error of one document) are "NaN", an overflowing perplexity "Infinity"; null means
/// the metric does not apply to the task.
/// </summary>
public sealed record EvaluationResults(IReadOnlyList<TaskResult> Tasks, PerplexityResult? HeldOut = null)
{
    public double? Average => Tasks.Count == 0 ? null : Tasks.Average(t => t.PaperValue);

    public JsonObject ToJsonObject()
    {
        var tasks = new JsonObject();
        foreach (var t in Tasks)
        {
            var entry = new JsonObject
            {
                ["acc"] = Number(t.Acc),
                ["acc_stderr"] = Number(t.AccStderr),
                ["acc_norm"] = Number(t.AccNorm),
                ["acc_norm_stderr"] = Number(t.AccNormStderr),
                ["n"] = t.N,
                ["paper_metric"] = t.PaperMetric,
            };
            if (t.Perplexity is not null) entry["perplexity"] = Number(t.Perplexity);
            if (t.AccMutualInfo is not null)
            {
                entry["acc_mutual_info"] = Number(t.AccMutualInfo);
                entry["acc_mutual_info_stderr"] = Number(t.AccMutualInfoStderr);
            }
            tasks[t.Task] = entry;
        }
        var root = new JsonObject { ["tasks"] = tasks, ["average"] = Number(Average) };
        if (HeldOut is not null)
            root["perplexity"] = new JsonObject
            {
                ["perplexity"] = Number(HeldOut.Perplexity),
                ["nll"] = Number(HeldOut.NegativeLogLikelihood),
                ["tokens"] = HeldOut.Tokens,
                ["documents"] = HeldOut.Documents,
            };
        return root;
    }

    public string ToJson(bool indented = true) => ToJsonObject().ToJsonString(indented ? LayerChop.Settings.JsonFormat.Indented : LayerChop.Settings.JsonFormat.Line);

    // A value that is not finite stays what it is ("NaN", "Infinity"); null means not applicable.
    static JsonNode? Number(double? value) => value is double v ? JsonValue.Create(v) : null;
}
