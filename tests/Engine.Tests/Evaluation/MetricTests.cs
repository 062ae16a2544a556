using System.Text.Json.Nodes;
using LayerChop.Engine.Evaluation;

namespace LayerChop.Engine.Tests.Evaluation;

/// <summary>A scorer with known answers: the log-probability of a continuation is looked up by its text.</summary>
sealed class FakeScorer(ByteTokenizer tokenizer, IReadOnlyDictionary<string, double> logProbs, int maxLength = 1000) : ILoglikelihoodScorer
{
    public int MaxLength => maxLength;
    public List<TokenRequest> Seen { get; } = [];

    public IReadOnlyList<Loglikelihood> Score(IReadOnlyList<TokenRequest> requests, Action<int>? onScored = null)
    {
        Seen.AddRange(requests);
        var results = requests.Select(r => new Loglikelihood(logProbs[tokenizer.Decode(r.Continuation)], tokenizer.Decode(r.Continuation) == " greedy")).ToList();
        onScored?.Invoke(requests.Count);
        return results;
    }
}

public class MetricTests
{
    static TaskDoc Doc(int gold, params string[] choices) =>
        EvalTask.MultipleChoice(new TaskRow(new JsonObject(), "t.jsonl", 1), "Q:", choices, gold);

    static TaskResult Score(EvalTask task, IReadOnlyList<TaskDoc> docs, Dictionary<string, double> logProbs)
    {
        var tokenizer = new ByteTokenizer();
        var scorer = new FakeScorer(tokenizer, logProbs);
        var scores = scorer.Score(Evaluator.Encode(tokenizer, docs));
        return Evaluator.Aggregate(task, docs, scores);
    }

    [Fact]
    public void Acc_takes_the_highest_log_likelihood_and_acc_norm_the_highest_per_character_of_the_choice()
    {
        // " a": -2 (per char -2); " bbbb": -4 (per char -1). acc picks "a", acc_norm picks "bbbb".
        var logProbs = new Dictionary<string, double> { [" a"] = -2, [" bbbb"] = -4 };
        var piqa = EvalTasks.Resolve("piqa")[0];
        var pickLong = Score(piqa, [Doc(1, "a", "bbbb")], logProbs);
        Assert.Equal(0.0, pickLong.Acc);
        Assert.Equal(1.0, pickLong.AccNorm);
        var pickShort = Score(piqa, [Doc(0, "a", "bbbb")], logProbs);
        Assert.Equal(1.0, pickShort.Acc);
        Assert.Equal(0.0, pickShort.AccNorm);
        Assert.Null(pickShort.AccStderr);                       // one document: no standard error
    }

    [Fact]
    public void Acc_norm_divides_by_the_choice_length_not_the_continuation_with_its_delimiter()
    {
        // With the delimiter counted, -3/3 = -1 vs -5/5 = -1 would tie (first wins: "aa");
        // the harness divides by the choice alone: -3/2 = -1.5 vs -5/4 = -1.25, so "bbbb".
        var logProbs = new Dictionary<string, double> { [" aa"] = -3, [" bbbb"] = -5 };
        var result = Score(EvalTasks.Resolve("hellaswag")[0], [Doc(1, "aa", "bbbb")], logProbs);
        Assert.Equal(1.0, result.AccNorm);
    }

    [Fact]
    public void Acc_norm_counts_code_points_as_python_len_does_so_an_emoji_is_one_character()
    {
        // Python: len("😀😀") == 2, len("abc") == 3. -2.2 / 2 = -1.1 < -3 / 3 = -1.0, so the harness picks "abc".
        // Counting UTF-16 units (4) would give -0.55 and pick the emoji instead.
        var logProbs = new Dictionary<string, double> { [" 😀😀"] = -2.2, [" abc"] = -3 };
        var result = Score(EvalTasks.Resolve("hellaswag")[0], [Doc(1, "😀😀", "abc")], logProbs);
        Assert.Equal(1.0, result.AccNorm);
        Assert.Equal(1, Metrics.Predict([-2.2, -3], ["😀😀", "abc"]).PredNorm);
        Assert.Equal(2, PythonText.Len("😀😀"));
        Assert.Equal(4, PythonText.Len("e\u0301𝔸x"));               // a combining accent counts, as in Python
        Assert.Equal(1, PythonText.Len("\ud800"));                  // a lone surrogate is one code point
    }

    [Fact]
    public void Means_and_standard_errors_are_the_harness_mean_and_sample_stderr()
    {
        var logProbs = new Dictionary<string, double> { [" right"] = -1, [" wrong"] = -3, [" tie1"] = -2, [" tie2"] = -2 };
        var docs = new[]
        {
            Doc(0, "right", "wrong"), Doc(1, "wrong", "right"), Doc(0, "wrong", "right"), Doc(0, "tie1", "tie2"),
        };
        var result = Score(EvalTasks.Resolve("arc_easy")[0], docs, logProbs);
        // Correct: yes, yes, no, yes (a tie goes to the first choice): [1, 1, 0, 1].
        Assert.Equal(4, result.N);
        Assert.Equal(0.75, result.Acc, 12);
        // Sample std of [1,1,0,1] = sqrt(0.75 / 3) = 0.5; stderr = 0.5 / sqrt(4) = 0.25.
        Assert.Equal(0.25, result.AccStderr!.Value, 12);
        Assert.Equal(0.25, Metrics.MeanStderr([1, 1, 0, 1])!.Value, 12);
    }

    [Fact]
    public void Lambada_accuracy_is_greedy_match_and_perplexity_is_exp_of_minus_the_mean_document_log_likelihood()
    {
        var logProbs = new Dictionary<string, double> { [" greedy"] = -1, [" other"] = -3 };
        var lambada = EvalTasks.Resolve("lambada_openai")[0];
        var row1 = new TaskRow(new JsonObject { ["text"] = "a b greedy" }, "lambada_openai.jsonl", 1);
        var row2 = new TaskRow(new JsonObject { ["text"] = "a b other" }, "lambada_openai.jsonl", 2);
        var docs = new[] { EvalTasks.FindHarnessTask("lambada_openai")!.Build(row1), EvalTasks.FindHarnessTask("lambada_openai")!.Build(row2) };
        var result = Score(lambada, docs, logProbs);
        Assert.Equal(0.5, result.Acc, 12);
        Assert.Equal(Math.Exp(2.0), result.Perplexity!.Value, 9);
        Assert.Null(result.AccNorm);
    }

    [Fact]
    public void Winogrande_scores_each_filled_in_context_and_picks_the_likelier_shared_ending()
    {
        var tokenizer = new ByteTokenizer();
        var doc = TaskPromptTests.Build("winogrande", """{"sentence": "A or _ then.", "option1": "x", "option2": "y", "answer": "2"}""");
        var requests = Evaluator.Encode(tokenizer, [doc]);
        Assert.Equal(["A or x", "A or y"], requests.Select(r => tokenizer.Decode(r.Context)));
        Assert.All(requests, r => Assert.Equal(" then.", tokenizer.Decode(r.Continuation)));
        var result = Evaluator.Aggregate(EvalTasks.Resolve("winogrande")[0], [doc], [new(-5, false), new(-4, false)]);
        Assert.Equal(1.0, result.Acc);
        Assert.Null(result.AccNorm);
    }

    [Fact]
    public void The_average_is_the_mean_of_each_tasks_paper_metric()
    {
        var results = new EvaluationResults([
            new TaskResult("piqa", 10, "acc_norm", Acc: 0.5, AccStderr: 0.1, AccNorm: 0.7, AccNormStderr: 0.1),
            new TaskResult("winogrande", 10, "acc", Acc: 0.6, AccStderr: 0.1),
        ]);
        Assert.Equal((0.7 + 0.6) / 2, results.Average!.Value, 12);
    }

    [Fact]
    public void Results_json_has_every_task_with_acc_acc_norm_their_stderrs_and_n_and_the_average()
    {
        var results = new EvaluationResults([
            new TaskResult("piqa", 10, "acc_norm", 0.5, 0.1, 0.7, 0.12),
            new TaskResult("winogrande", 1, "acc", 1.0, null),
        ]);
        var json = JsonNode.Parse(results.ToJson())!.AsObject();
        var piqa = json["tasks"]!["piqa"]!.AsObject();
        Assert.Equal(0.5, piqa["acc"]!.GetValue<double>());
        Assert.Equal(0.1, piqa["acc_stderr"]!.GetValue<double>());
        Assert.Equal(0.7, piqa["acc_norm"]!.GetValue<double>());
        Assert.Equal(0.12, piqa["acc_norm_stderr"]!.GetValue<double>());
        Assert.Equal(10, piqa["n"]!.GetValue<int>());
        Assert.Equal("acc_norm", piqa["paper_metric"]!.GetValue<string>());
        var wino = json["tasks"]!["winogrande"]!.AsObject();
        Assert.True(wino.ContainsKey("acc_norm") && wino["acc_norm"] is null);
        Assert.True(wino.ContainsKey("acc_stderr") && wino["acc_stderr"] is null);
        Assert.Equal(0.85, json["average"]!.GetValue<double>(), 12);
        Assert.False(json.ContainsKey("perplexity"));
    }
}
