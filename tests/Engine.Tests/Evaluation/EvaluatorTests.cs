using System.Text.Json.Nodes;
using LayerChop.Engine.Evaluation;

namespace LayerChop.Engine.Tests.Evaluation;

public class ContinuationTaskTests
{
    static readonly string[] Documents = Enumerable.Range(0, 6)
        .Select(d => string.Join(" ", Enumerable.Range(0, 30 + 5 * d).Select(w => $"d{d}w{w}")))
        .ToArray();

    static readonly ContinuationOptions Small = new() { ContextWords = 10, ContinuationWords = 4, Choices = 4, Seed = 7 };

    [Fact]
    public void Each_question_asks_for_the_true_next_words_among_passages_of_other_documents()
    {
        var docs = ContinuationTask.Build(Documents, Small);
        Assert.Equal(Documents.Length, docs.Count);
        for (int d = 0; d < docs.Count; d++)
        {
            var doc = docs[d];
            Assert.Equal(4, doc.Choices.Count);
            var context = doc.Requests[0].Context;
            var words = context.Split(' ');
            Assert.Equal(10, words.Length);
            Assert.All(words, w => Assert.StartsWith($"d{d}w", w));
            // The gold choice is what follows the passage in its own document.
            int last = int.Parse(words[^1].Split('w')[1]);
            Assert.Equal(string.Join(" ", Enumerable.Range(last + 1, 4).Select(w => $"d{d}w{w}")), doc.Choices[doc.Gold]);
            // The others come from other documents, each a different one.
            var sources = doc.Choices.Where((_, i) => i != doc.Gold).Select(c => c.Split('w')[0]).ToList();
            Assert.DoesNotContain($"d{d}", sources);
            Assert.Equal(3, sources.Distinct().Count());
            Assert.All(doc.Requests, r => Assert.Equal(context, r.Context));
            Assert.Equal(doc.Choices.Select(c => " " + c), doc.Requests.Select(r => r.Continuation));
        }
    }

    [Fact]
    public void Questions_are_deterministic_from_the_seed()
    {
        var a = ContinuationTask.Build(Documents, Small);
        var b = ContinuationTask.Build(Documents, Small);
        var c = ContinuationTask.Build(Documents, Small with { Seed = 8 });
        Assert.Equal(a.SelectMany(d => d.Requests), b.SelectMany(d => d.Requests));
        Assert.Equal(a.Select(d => d.Gold), b.Select(d => d.Gold));
        Assert.NotEqual(a.SelectMany(d => d.Requests), c.SelectMany(d => d.Requests));
        Assert.Equal(2, ContinuationTask.Build(Documents, Small, limit: 2).Count);
    }

    [Fact]
    public void Too_few_documents_is_a_clear_error()
    {
        var e = Assert.Throws<LayerChopException>(() => ContinuationTask.Build(Documents[..3], Small));
        Assert.Contains("needs at least one document of 14 words or more and 4 documents of 4 words or more", e.Message);
    }
}

public class EvaluatorTests
{
    [Fact]
    public void A_tiny_model_is_evaluated_end_to_end_on_task_files_with_progress_and_json()
    {
        var dir = TestModels.TempFolder();
        File.WriteAllLines(Path.Combine(dir, "piqa.jsonl"), Enumerable.Range(0, 5).Select(i =>
            $$"""{"goal": "Goal {{i}}", "sol1": "first way {{i}}", "sol2": "second", "label": {{i % 2}}}"""));
        File.WriteAllLines(Path.Combine(dir, "lambada_openai.jsonl"), ["""{"text": "one two three"}""", """{"text": "four five six seven"}"""]);
        File.WriteAllLines(Path.Combine(dir, "continuation.jsonl"), Enumerable.Range(0, 5).Select(d =>
            new JsonObject { ["text"] = string.Join(" ", Enumerable.Range(0, 70).Select(w => $"w{d}{w}")) }.ToJsonString()));
        using var model = TestModels.Random(TestModels.Llama());
        var progress = new List<EvaluationProgress>();
        var results = Evaluator.Run(model, new ByteTokenizer(), "piqa,lambada_openai,continuation", dir, new EvaluationOptions
        {
            Limit = 4,
            Scorer = new ScorerOptions { BatchSize = 3 },
            Progress = progress.Add,
            PerplexityPath = Path.Combine(dir, "lambada_openai.jsonl"),
        });
        Assert.Equal(["piqa", "lambada_openai", "continuation"], results.Tasks.Select(t => t.Task));
        Assert.Equal([4, 2, 4], results.Tasks.Select(t => t.N));
        long total = 4 * 2 + 2 + 4 * 4;
        var taskProgress = progress.Where(p => p.Task != "perplexity").ToList();
        Assert.All(taskProgress, p => Assert.Equal(total, p.Total));
        Assert.Equal(total, taskProgress[^1].Done);
        Assert.True(taskProgress.Zip(taskProgress.Skip(1)).All(p => p.First.Done <= p.Second.Done));
        Assert.NotNull(results.HeldOut);
        Assert.True(results.HeldOut!.Perplexity > 1);

        var json = JsonNode.Parse(results.ToJson())!;
        Assert.Equal(3, json["tasks"]!.AsObject().Count);
        Assert.NotNull(json["tasks"]!["lambada_openai"]!["perplexity"]);
        double average = (results.Tasks[0].AccNorm!.Value + results.Tasks[1].Acc + results.Tasks[2].AccNorm!.Value) / 3;
        Assert.Equal(average, json["average"]!.GetValue<double>(), 12);
    }

    [Fact]
    public void Every_tasks_rows_are_checked_before_anything_is_scored()
    {
        var dir = TestModels.TempFolder();
        File.WriteAllText(Path.Combine(dir, "piqa.jsonl"), """{"goal": "g", "sol1": "a", "sol2": "b", "label": 0}""");
        File.WriteAllText(Path.Combine(dir, "boolq.jsonl"), """{"question": "q", "passage": "p"}""");
        var scorer = new FakeScorer(new ByteTokenizer(), new Dictionary<string, double>());
        var e = Assert.Throws<LayerChopException>(() =>
            Evaluator.Run(scorer, new ByteTokenizer(), EvalTasks.Resolve("piqa,boolq"), dir));
        Assert.Contains("boolq.jsonl row 1: missing field \"label\"", e.Message);
        Assert.Empty(scorer.Seen);
    }

    [Fact]
    public void A_row_too_long_for_the_model_is_named_by_its_task_file_and_row_before_anything_is_scored()
    {
        var dir = TestModels.TempFolder();
        File.WriteAllLines(Path.Combine(dir, "lambada_openai.jsonl"),
            ["""{"text": "one two three"}""", $$"""{"text": "four {{string.Join(" ", Enumerable.Repeat("x", 3))}}{{new string('y', 40)}}"}"""]);
        using var model = TestModels.Random(TestModels.Llama());
        var e = Assert.Throws<LayerChopException>(() => Evaluator.Run(model, new ByteTokenizer(), "lambada_openai", dir,
            new EvaluationOptions { Scorer = new ScorerOptions { MaxLength = 16 } }));
        Assert.Contains("task lambada_openai, ", e.Message);
        Assert.Matches(@"lambada_openai\.jsonl row 2: a continuation of \d+ tokens, more than the model's context of 16", e.Message);
    }
}
