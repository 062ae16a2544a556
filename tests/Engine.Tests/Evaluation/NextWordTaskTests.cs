using LayerChop.Engine.Checkpoints;
using LayerChop.Engine.Evaluation;
using LayerChop.Engine.Tests.Training;
using LayerChop.Engine.Tokenization;
using LayerChop.Engine.Training;

namespace LayerChop.Engine.Tests.Evaluation;

public class NextWordTaskTests(Xunit.Abstractions.ITestOutputHelper output)
{
    static readonly NextWordOptions Small = new() { Choices = 4, ContextWords = 3, Stride = 2, Seed = 11 };

    static readonly string[] Documents =
    [
        "one two three four, five six seven eight nine ten eleven twelve",
        "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu",
        "red orange yellow green blue indigo violet black white grey brown pink",
    ];

    [Fact]
    public void Each_question_asks_for_the_all_letter_word_after_its_context_among_words_of_the_task()
    {
        var docs = new NextWordTask(Small).Build(Documents, limit: null, origin: "t");
        var words = Documents.Select(d => d.Split(' ')).ToArray();
        var pool = new[] { 3, 5, 7, 9, 11 }.SelectMany(i => words.Select(w => w[i])).Where(w => w.All(char.IsLetter)).ToHashSet();
        // Positions 3, 5, 7, 9, 11 of each document; "four," carries punctuation, so document 1 gives 4 questions.
        Assert.Equal(14, docs.Count);
        foreach (var doc in docs)
        {
            // The choices after the context, then the same choices after an empty context (for acc_mutual_info).
            Assert.Equal(8, doc.Requests.Count);
            Assert.Equal(doc.Choices.Select(c => " " + c), doc.Requests.Take(4).Select(r => r.Continuation));
            Assert.Equal(doc.Choices.Select(c => " " + c), doc.Requests.Skip(4).Select(r => r.Continuation));
            Assert.All(doc.Requests.Skip(4), r => Assert.Equal("", r.Context));
            var context = doc.Requests[0].Context.Split(' ');
            Assert.Equal(3, context.Length);
            var source = words.Single(w => string.Join(' ', w).Contains(string.Join(' ', context)));
            int at = Array.IndexOf(source, context[^1]) + 1;
            Assert.Equal(source[at], doc.Choices[doc.Gold]);                        // the word that follows
            Assert.Equal(4, doc.Choices.Distinct(StringComparer.OrdinalIgnoreCase).Count());
            Assert.All(doc.Choices, c => Assert.Contains(c, pool));                 // distractors: words at task positions
        }
        Assert.DoesNotContain(docs, d => d.Choices.Contains("four,"));
    }

    [Fact]
    public void The_seed_fixes_the_questions_and_a_limit_samples_across_documents()
    {
        var task = new NextWordTask(Small);
        var a = task.Build(Documents, null, "t");
        Assert.Equal(a.Select(d => (d.Origin, d.Gold, string.Join("|", d.Choices))), task.Build(Documents, null, "t").Select(d => (d.Origin, d.Gold, string.Join("|", d.Choices))));
        Assert.NotEqual(a.Select(d => d.Origin), new NextWordTask(Small with { Seed = 12 }).Build(Documents, null, "t").Select(d => d.Origin));
        var limited = task.Build(Documents, 6, "t");
        Assert.Equal(a.Take(6).Select(d => d.Origin), limited.Select(d => d.Origin));
        Assert.True(limited.Select(d => d.Origin.Split(" word ")[0]).Distinct().Count() > 1);
        // Gold positions are spread over the choices, not always first.
        Assert.True(a.Select(d => d.Gold).Distinct().Count() > 1);
    }

    [Fact]
    public void Mutual_information_picks_the_word_the_context_raises_most_not_the_most_likely_one()
    {
        // Choice 0 is the likeliest after the context (-2) but likelier still without it (-1): the context lowered it.
        // Choice 2 is unlikely (-6) but the context raised it by 4 nats, more than any other.
        Assert.Equal(2, Metrics.PredictMutualInfo([-2.0, -5.0, -6.0, -9.0], [-1.0, -6.0, -10.0, -9.5]));
        Assert.Equal(0, Metrics.PredictMutualInfo([-3.0, -3.0], [-1.0, -1.0]));           // a tie goes to the first
        var task = new NextWordTask(Small);
        var doc = task.Build(Documents, 1, "t")[0];
        var scores = new Loglikelihood[] { new(-2, false), new(-5, false), new(-6, false), new(-9, false), new(-1, false), new(-6, false), new(-10, false), new(-9.5, false) };
        var result = Evaluator.Aggregate(task, [doc with { Gold = 2 }], scores);
        Assert.Equal(MetricNames.AccMutualInfo, result.PaperMetric);
        Assert.Equal(1.0, result.AccMutualInfo);
        Assert.Equal(0.0, result.Acc);                                                    // plain acc picked choice 0
        Assert.Equal(1.0, result.PaperValue);
    }

    [Fact]
    public void Too_few_different_words_is_one_clear_error()
    {
        var e = Assert.Throws<LayerChopException>(() => new NextWordTask(Small).Build(["a a a a a a a a"], null, "tiny.jsonl"));
        Assert.Contains("tiny.jsonl", e.Message);
        Assert.Contains("at least 4 different words", e.Message);
    }

    [Fact]
    public void A_briefly_trained_tiny_model_answers_far_above_chance_and_a_random_one_does_not()
    {
        var corpus = TrainingSetup.BrownJsonl(80);
        var train = Path.Combine(TestModels.TempFolder(), "train.jsonl");
        var heldOut = Path.Combine(TestModels.TempFolder(), "next_word.jsonl");
        File.WriteAllLines(train, File.ReadLines(corpus).Take(40));
        File.WriteAllLines(heldOut, File.ReadLines(corpus).Skip(40));
        var random = TrainingSetup.NewModel(layers: 2, hidden: 64, seed: 3, vocab: 512);
        var trained = Path.Combine(TestModels.TempFolder(), "trained");
        var options = TrainingSetup.Options(train, steps: 800);
        options = options with { Settings = options.Settings with { SeqLen = 64, BatchTokens = 1024, MicroBatch = 16, Lr = 1e-2, WarmupSteps = 20 } };
        new Trainer(random, trained, options, new StopAt(-1, new())).Run(resume: false);

        const int questions = 2000;
        double Accuracy(string model)
        {
            using var loaded = ModelFolder.Load(model);
            var result = Evaluator.Run(loaded, TextTokenizer.Load(model), NextWordTask.TaskName, Path.GetDirectoryName(heldOut), new EvaluationOptions { Limit = questions });
            var task = Assert.Single(result.Tasks);
            Assert.Equal(questions, task.N);
            return task.PaperValue;
        }
        double chance = 0.25, stderr = Math.Sqrt(chance * (1 - chance) / questions);
        double before = Accuracy(random), after = Accuracy(trained);
        output.WriteLine($"random {before:0.000}, trained {after:0.000}, chance {chance} ± {stderr:0.000}");
        Assert.True(Math.Abs(before - chance) < 2.5 * stderr, $"random model {before:0.000}, chance {chance} ± {stderr:0.000}");
        Assert.True(after > chance + 5 * stderr, $"trained model {after:0.000}, chance {chance} ± {stderr:0.000}");
    }
}
