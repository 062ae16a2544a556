using System.Text.Json.Nodes;
using LayerChop.Engine.Evaluation;

namespace LayerChop.Engine.Tests.Evaluation;

/// <summary>
/// One sample row per task, turned into requests; the expected strings are written out by hand from the
/// harness's task definitions (doc_to_text, doc_to_choice, doc_to_target, target delimiter " ").
/// </summary>
public class TaskPromptTests
{
    internal static TaskDoc Build(string task, string json) =>
        EvalTasks.FindHarnessTask(task)!.Build(new TaskRow((JsonObject)JsonNode.Parse(json)!, $"{task}.jsonl", 1));

    static void AssertRequests(TaskDoc doc, params (string Context, string Continuation)[] expected)
    {
        Assert.Equal(expected.Select(e => new TextRequest(e.Context, e.Continuation)), doc.Requests);
    }

    [Fact]
    public void Piqa_asks_the_goal_as_a_question_and_scores_each_solution()
    {
        var doc = Build("piqa", """{"goal": "How do I open a jar?", "sol1": "Twist the lid.", "sol2": "Freeze the jar.", "label": 0}""");
        AssertRequests(doc,
            ("Question: How do I open a jar?\nAnswer:", " Twist the lid."),
            ("Question: How do I open a jar?\nAnswer:", " Freeze the jar."));
        Assert.Equal(["Twist the lid.", "Freeze the jar."], doc.Choices);
        Assert.Equal(0, doc.Gold);
    }

    [Fact]
    public void Hellaswag_joins_activity_label_and_context_and_capitalizes_ctx_b()
    {
        var doc = Build("hellaswag", """
            {"activity_label": "Removing ice from car", "ctx_a": "The man scrapes the window.", "ctx_b": "then",
             "endings": [", he drives away.", ", the car melts.", ", a dog sings.", ", it snows upward."], "label": "0"}
            """);
        const string query = "Removing ice from car: The man scrapes the window. Then";
        AssertRequests(doc, (query, " , he drives away."), (query, " , the car melts."), (query, " , a dog sings."), (query, " , it snows upward."));
        Assert.Equal(0, doc.Gold);
    }

    [Fact]
    public void Hellaswag_preprocessing_removes_wikihow_brackets_as_the_harness_does()
    {
        var doc = Build("hellaswag", """
            {"activity_label": "Home and Garden", "ctx_a": "[header] How to grow tomatoes [title] Pick a sunny spot.",
             "ctx_b": "MAKE sure the soil drains [step] well.",
             "endings": ["[substeps] Water daily.", "Add compost  [title] Mulch.", " plant them in winter. ", "x"], "label": "2"}
            """);
        // capitalize() lowers the rest of ctx_b; " [title]" becomes ". "; [..] vanish; double spaces collapse once.
        const string query = "Home and Garden: How to grow tomatoes. Pick a sunny spot. Make sure the soil drains well.";
        Assert.Equal(query, doc.Requests[0].Context);
        // Stripping comes before bracket removal, so "[substeps] Water daily." keeps a leading space.
        Assert.Equal([" Water daily.", "Add compost . Mulch.", "plant them in winter.", "x"], doc.Choices);
        Assert.Equal("  Water daily.", doc.Requests[0].Continuation);
        Assert.Equal(2, doc.Gold);
    }

    [Theory]
    [InlineData("arc_easy")]
    [InlineData("arc_challenge")]
    public void Arc_asks_the_question_and_finds_the_answer_key_among_the_labels(string task)
    {
        var doc = Build(task, """
            {"id": "q1", "question": "Which gas do plants take in?",
             "choices": {"text": ["oxygen", "carbon dioxide", "helium"], "label": ["1", "2", "3"]}, "answerKey": "2"}
            """);
        const string context = "Question: Which gas do plants take in?\nAnswer:";
        AssertRequests(doc, (context, " oxygen"), (context, " carbon dioxide"), (context, " helium"));
        Assert.Equal(1, doc.Gold);
    }

    [Fact]
    public void Winogrande_scores_the_shared_rest_of_the_sentence_after_each_filled_in_option()
    {
        var doc = Build("winogrande", """
            {"sentence": "Sarah was a better surgeon than Maria so _ always got the harder cases.", "option1": "Sarah", "option2": "Maria", "answer": "2"}
            """);
        AssertRequests(doc,
            ("Sarah was a better surgeon than Maria so Sarah", " always got the harder cases."),
            ("Sarah was a better surgeon than Maria so Maria", " always got the harder cases."));
        Assert.Equal(["Sarah was a better surgeon than Maria so Sarah", "Sarah was a better surgeon than Maria so Maria"], doc.Choices);
        Assert.Equal(1, doc.Gold);
    }

    [Fact]
    public void Boolq_puts_the_passage_before_the_question_and_answers_no_or_yes()
    {
        var doc = Build("boolq", """{"question": "is the sky blue", "passage": "The sky looks blue by day.", "idx": 0, "label": 1}""");
        const string context = "The sky looks blue by day.\nQuestion: is the sky blue?\nAnswer:";
        AssertRequests(doc, (context, " no"), (context, " yes"));
        Assert.Equal(1, doc.Gold);
    }

    [Fact]
    public void Openbookqa_uses_the_bare_question_stem_and_a_stripped_answer_key()
    {
        var doc = Build("openbookqa", """
            {"id": "7-980", "question_stem": "The sun is responsible for",
             "choices": {"text": ["puppies learning tricks", "plants sprouting"], "label": ["A", "B"]}, "answerKey": " B"}
            """);
        AssertRequests(doc, ("The sun is responsible for", " puppies learning tricks"), ("The sun is responsible for", " plants sprouting"));
        Assert.Equal(1, doc.Gold);
    }

    [Fact]
    public void Sciq_puts_the_left_stripped_support_first_and_the_correct_answer_last()
    {
        var doc = Build("sciq", """
            {"question": "What do mesophiles prefer?", "distractor1": "ice", "distractor2": "lava", "distractor3": "vacuum",
             "correct_answer": "moderate temperatures", "support": "  Mesophiles grow best in moderate warmth. "}
            """);
        const string context = "Mesophiles grow best in moderate warmth. \nQuestion: What do mesophiles prefer?\nAnswer:";
        AssertRequests(doc, (context, " ice"), (context, " lava"), (context, " vacuum"), (context, " moderate temperatures"));
        Assert.Equal(3, doc.Gold);
    }

    [Fact]
    public void Lambada_scores_the_last_word_with_its_space_and_no_extra_delimiter()
    {
        var doc = Build("lambada_openai", """{"text": "He threw the ball to his dog"}""");
        AssertRequests(doc, ("He threw the ball to his", " dog"));
    }

    public static TheoryData<string, string> SampleRows => new()
    {
        { "piqa", """{"goal": "How do I open a jar?", "sol1": "Twist the lid.", "sol2": "Freeze the jar.", "label": 0}""" },
        { "hellaswag", """{"activity_label": "Cars", "ctx_a": "A man waxes a car.", "ctx_b": "he", "endings": [" polishes it.", "eats it."], "label": 0}""" },
        { "arc_easy", """{"question": "Which is a gas?", "choices": {"text": ["steam", "rock"], "label": ["A", "B"]}, "answerKey": "A"}""" },
        { "winogrande", """{"sentence": "The cup fell off the table because _ was wobbly.", "option1": "the cup", "option2": "the table", "answer": "2"}""" },
        { "boolq", """{"question": "is water wet", "passage": "Water is a liquid.", "label": 1}""" },
        { "openbookqa", """{"question_stem": "Plants need", "choices": {"text": ["light", "noise"], "label": ["A", "B"]}, "answerKey": "A"}""" },
        { "sciq", """{"question": "What is H2O?", "distractor1": "salt", "distractor2": "air", "distractor3": "gold", "correct_answer": "water", "support": ""}""" },
        { "lambada_openai", """{"text": "She opened the door and saw her cat"}""" },
    };

    [Theory]
    [MemberData(nameof(SampleRows))]
    public void Each_tasks_continuation_tokens_are_the_whole_encoding_minus_the_contexts_tokens(string task, string json)
    {
        var tokenizer = new WordTokenizer();                      // adds BOS by default, so contexts start with it
        foreach (var request in Build(task, json).Requests)
        {
            var encoded = RequestEncoder.Encode(tokenizer, request);
            var whole = tokenizer.Encode(request.Context + request.Continuation, addSpecial: true);
            Assert.Equal(whole, encoded.Context.Concat(encoded.Continuation));
            Assert.Equal("<s>" + request.Context.TrimEnd(), tokenizer.Decode(encoded.Context));
            // The continuation starts with its delimiter space, so it is exactly the continuation's own word pieces.
            Assert.StartsWith(" ", tokenizer.Decode(encoded.Continuation));
            Assert.Equal(request.Continuation, tokenizer.Decode(encoded.Continuation));
        }
    }

    [Fact]
    public void The_paper_suite_is_piqa_hellaswag_openbookqa_winogrande_sciq_arc_easy_with_the_papers_metrics()
    {
        var tasks = EvalTasks.Resolve("paper");
        Assert.Equal(["piqa", "hellaswag", "openbookqa", "winogrande", "sciq", "arc_easy"], tasks.Select(t => t.Name));
        Assert.Equal(["acc_norm", "acc_norm", "acc_norm", "acc", "acc", "acc"], tasks.Select(t => t.PaperMetric));
        Assert.Equal(["boolq", "piqa", "hellaswag"], EvalTasks.Resolve("boolq, piqa,paper").Take(3).Select(t => t.Name));
        Assert.Equal(7, EvalTasks.Resolve("boolq,paper,piqa").Count);
    }

    [Fact]
    public void Each_task_evaluates_the_split_the_harness_evaluates()
    {
        var splits = new[] { "piqa", "hellaswag", "arc_easy", "arc_challenge", "winogrande", "boolq", "openbookqa", "sciq", "lambada_openai" }
            .ToDictionary(n => n, n => EvalTasks.FindHarnessTask(n)!.Split);
        Assert.Equal("validation", splits["piqa"]);
        Assert.Equal("validation", splits["hellaswag"]);
        Assert.Equal("test", splits["arc_easy"]);
        Assert.Equal("test", splits["arc_challenge"]);
        Assert.Equal("validation", splits["winogrande"]);
        Assert.Equal("validation", splits["boolq"]);
        Assert.Equal("test", splits["openbookqa"]);
        Assert.Equal("test", splits["sciq"]);
        Assert.Equal("test", splits["lambada_openai"]);
        Assert.Equal("winogrande_xl", EvalTasks.FindHarnessTask("winogrande")!.Config);
    }
}
