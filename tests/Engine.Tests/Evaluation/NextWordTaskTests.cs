using LayerChop.Engine.Checkpoints;
using LayerChop.Engine.Evaluation;
using LayerChop.Engine.Tests.Training;
using LayerChop.Engine.Tokenization;
using LayerChop.Engine.Training;

namespace LayerChop.Engine.Tests.Evaluation;

public class NextWordTaskTests
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
            var context = doc.Requests[0].Context.Split(' ');
            Assert.Equal(3, context.Length);
            var source = words.Single(w => string.Join(' ', w).Contains(string.Join(' ', context)));
            int at = Array.IndexOf(source, context[^1]) + 1;
            Assert.Equal(source[at], doc.Choices[doc.Gold]);                        // the word that follows
            Assert.Equal(4, doc.Choices.Distinct(StringComparer.OrdinalIgnoreCase).Count());
            Assert.All(doc.Choices, c => Assert.Contains(c, pool));                 // distractors: words at task positions
            Assert.All(doc.Requests, r => Assert.StartsWith(" ", r.Continuation));
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
    public void Too_few_different_words_is_one_clear_error()
    {
        var e = Assert.Throws<LayerChopException>(() => new NextWordTask(Small).Build(["a a a a a a a a"], null, "tiny.jsonl"));
        Assert.Contains("tiny.jsonl", e.Message);
        Assert.Contains("at least 4 different words", e.Message);
    }

    [Fact]
    public void A_briefly_trained_tiny_model_answers_far_above_chance_and_a_random_one_does_not()
    {
        var corpus = TrainingSetup.BrownJsonl(60);
        var train = Path.Combine(TestModels.TempFolder(), "train.jsonl");
        var heldOut = Path.Combine(TestModels.TempFolder(), "next_word.jsonl");
        File.WriteAllLines(train, File.ReadLines(corpus).Take(50));
        File.WriteAllLines(heldOut, File.ReadLines(corpus).Skip(50));
        var random = TrainingSetup.NewModel(layers: 2, hidden: 64, seed: 3, vocab: 512);
        var trained = Path.Combine(TestModels.TempFolder(), "trained");
        var options = TrainingSetup.Options(train, steps: 600) with { SeqLen = 64, BatchTokens = 1024, MicroBatch = 8, Lr = 1e-2, WarmupSteps = 10 };
        new Trainer(random, trained, options, new StopAt(-1, new())).Run(resume: false);

        const int questions = 400;
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
        Assert.True(Math.Abs(before - chance) < 2.5 * stderr, $"random model {before:0.000}, chance {chance} ± {stderr:0.000}");
        Assert.True(after > chance + 5 * stderr, $"trained model {after:0.000}, chance {chance} ± {stderr:0.000}");
    }
}
