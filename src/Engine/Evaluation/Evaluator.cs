using LayerChop.Engine.Modeling;
using LayerChop.Engine.Tokenization;
using LayerChop.Settings;

namespace LayerChop.Engine.Evaluation;

/// <summary>Requests scored so far over all tasks of a run, and the task being scored.</summary>
public readonly record struct EvaluationProgress(string Task, long Done, long Total);

public sealed class EvaluationOptions
{
    /// <summary>Only the first N documents of each task (as the harness's --limit).</summary>
    public int? Limit { get; init; }

    public ScorerOptions Scorer { get; init; } = new();

    /// <summary>Whether task contexts begin with BOS (<see cref="Evaluation.AddBos"/>; perplexity always has its prefix token).</summary>
    public AddBos AddBos { get; init; } = AddBos.Auto;

    /// <summary>Seed of the built-in document tasks' questions (next_word, continuation).</summary>
    public ulong Seed { get; init; }

    /// <summary>Held-out text (a .txt or .jsonl file, or a folder of them) whose perplexity is measured too.</summary>
    public string? PerplexityPath { get; init; }

    /// <summary>Sliding-window stride for held-out perplexity; the model's context (disjoint windows) when null.</summary>
    public int? PerplexityStride { get; init; }

    /// <summary>The field of a JSONL line that holds a document's text, for held-out text and the document tasks.</summary>
    public string TextField { get; init; } = TextCorpus.DefaultField;

    public Action<EvaluationProgress>? Progress { get; init; }
}

/// <summary>Zero-shot evaluation: tasks' documents to requests, requests to scores, scores to metrics.</summary>
public static class Evaluator
{
    /// <summary>Evaluates a model on the named tasks ("piqa,boolq", "paper") read from <paramref name="taskDir"/>.</summary>
    public static EvaluationResults Run(CausalLM model, ITextEncoder tokenizer, string tasks, string? taskDir, EvaluationOptions? options = null)
    {
        options ??= new EvaluationOptions();
        IReadOnlyList<EvalTask> resolved = string.IsNullOrWhiteSpace(tasks) ? [] : EvalTasks.Resolve(tasks, options.Seed, options.TextField);
        return Run(new ModelScorer(model, options.Scorer), tokenizer, resolved, taskDir, options);
    }

    /// <summary>
    /// Evaluates with any scorer. Every task's documents are read and encoded before anything is scored, so a bad
    /// row in the last task fails at once rather than after hours of scoring the others.
    /// </summary>
    public static EvaluationResults Run(ILoglikelihoodScorer scorer, ITextEncoder tokenizer, IReadOnlyList<EvalTask> tasks, string? taskDir,
        EvaluationOptions? options = null)
    {
        options ??= new EvaluationOptions();
        if (tasks.Count > 0 && taskDir is null) throw new LayerChopException("tasks need a task directory (--task-dir) holding their data files");
        RequestEncoder.CheckAddBos(tokenizer, options.AddBos);
        var prepared = new List<(EvalTask Task, IReadOnlyList<TaskDoc> Docs, List<TokenRequest> Requests)>();
        foreach (var task in tasks)
        {
            var docs = task.Load(taskDir!, options.Limit);
            prepared.Add((task, docs, Encode(tokenizer, docs, options.AddBos, scorer.MaxLength, task.Name)));
        }
        var heldOut = options.PerplexityPath is null ? null : TextDocuments.Read(options.PerplexityPath, options.TextField);

        long total = prepared.Sum(p => (long)p.Requests.Count), done = 0;
        var results = new List<TaskResult>();
        foreach (var (task, docs, requests) in prepared)
        {
            options.Progress?.Invoke(new EvaluationProgress(task.Name, done, total));
            var scores = scorer.Score(requests, n =>
            {
                done += n;
                options.Progress?.Invoke(new EvaluationProgress(task.Name, done, total));
            });
            results.Add(Aggregate(task, docs, scores));
        }
        PerplexityResult? perplexity = null;
        if (heldOut is not null)
            perplexity = Evaluation.Perplexity.Measure(scorer, tokenizer, heldOut, options.PerplexityStride,
                (d, t) => options.Progress?.Invoke(new EvaluationProgress("perplexity", d, t)));
        return new EvaluationResults(results, perplexity);
    }

    /// <summary>Every request of the documents, in document order, encoded as the harness does.</summary>
    /// <param name="maxLength">the scorer's context: a request whose continuation alone is longer cannot be scored,
    /// and is refused here, naming the task (<paramref name="task"/>) and the row it came from.</param>
    public static List<TokenRequest> Encode(ITextEncoder tokenizer, IReadOnlyList<TaskDoc> docs, AddBos addBos = AddBos.Auto, int? maxLength = null, string? task = null)
    {
        var requests = new List<TokenRequest>();
        string Where(TaskDoc doc) => task is null ? doc.Origin : $"task {task}, {doc.Origin}";
        foreach (var doc in docs)
        {
            foreach (var request in doc.Requests)
            {
                TokenRequest encoded;
                try { encoded = RequestEncoder.Encode(tokenizer, request, addBos); }
                catch (LayerChopException e) { throw new LayerChopException($"{Where(doc)}: {e.Message}"); }
                if (encoded.Continuation.Length > maxLength)
                    throw new LayerChopException($"{Where(doc)}: a continuation of {encoded.Continuation.Length} tokens, more than the model's context of {maxLength}; evaluate with a model of a longer context or leave the task out");
                requests.Add(encoded);
            }
        }
        return requests;
    }

    /// <summary>
    /// Metrics of a task from its scores (one per request, in document and request order): for multiple choice,
    /// acc and acc_norm with their standard errors; for log-likelihood tasks, acc (greedy) and perplexity.
    /// </summary>
    public static TaskResult Aggregate(EvalTask task, IReadOnlyList<TaskDoc> docs, IReadOnlyList<Loglikelihood> scores)
    {
        int expected = docs.Sum(d => d.Requests.Count);
        if (scores.Count != expected) throw new ArgumentException($"{scores.Count} scores for {expected} requests");
        var acc = new List<double>(docs.Count);
        var accNorm = new List<double>(docs.Count);
        var accMutualInfo = new List<double>(docs.Count);
        var logLikelihoods = new List<double>(docs.Count);
        int next = 0;
        foreach (var doc in docs)
        {
            var slice = Enumerable.Range(next, doc.Requests.Count).Select(i => scores[i]).ToArray();
            next += doc.Requests.Count;
            if (task.Kind == TaskKind.Loglikelihood)
            {
                acc.Add(slice[0].IsGreedy ? 1 : 0);
                logLikelihoods.Add(slice[0].LogProb);
            }
            else
            {
                var logProbs = slice.Select(s => s.LogProb).ToArray();
                int n = doc.Choices.Count;
                var (pred, predNorm) = Metrics.Predict(logProbs[..n], doc.Choices);       // the choices after the context
                acc.Add(pred == doc.Gold ? 1 : 0);
                accNorm.Add(predNorm == doc.Gold ? 1 : 0);
                if (task.ReportsAccMutualInfo)
                    accMutualInfo.Add(Metrics.PredictMutualInfo(logProbs[..n], logProbs[n..]) == doc.Gold ? 1 : 0);
            }
        }
        bool norm = task.ReportsAccNorm, mutualInfo = task.ReportsAccMutualInfo;
        return new TaskResult(task.Name, docs.Count, task.PaperMetric, Metrics.Mean(acc), Metrics.MeanStderr(acc),
            norm ? Metrics.Mean(accNorm) : null, norm ? Metrics.MeanStderr(accNorm) : null,
            task.Kind == TaskKind.Loglikelihood ? Metrics.Perplexity(logLikelihoods) : null,
            mutualInfo ? Metrics.Mean(accMutualInfo) : null, mutualInfo ? Metrics.MeanStderr(accMutualInfo) : null);
    }
}
