using LayerChop.Engine.Evaluation;
using Parquet.Serialization;

namespace LayerChop.Engine.Tests.Evaluation;

public class TaskFileTests
{
    const string PiqaRow = """{"goal": "Open a jar", "sol1": "Twist the lid.", "sol2": "Freeze it.", "label": 0}""";

    static string Dir(params (string Path, string Text)[] files)
    {
        var dir = TestModels.TempFolder();
        foreach (var (path, text) in files)
        {
            var full = Path.Combine(dir, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, text);
        }
        return dir;
    }

    static LayerChopException LoadFails(string task, string dir)
    {
        var e = Assert.Throws<LayerChopException>(() => EvalTasks.Resolve(task)[0].Load(dir));
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    [Fact]
    public void An_unknown_task_name_is_one_clear_error_listing_the_known_tasks()
    {
        var e = Assert.Throws<LayerChopException>(() => EvalTasks.Resolve("piqa,mmlu"));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("unknown task \"mmlu\"", e.Message);
        Assert.Contains("hellaswag", e.Message);
        Assert.Contains("paper", e.Message);
    }

    [Fact]
    public void A_row_missing_a_field_is_one_error_naming_the_file_and_row()
    {
        var dir = Dir(("piqa.jsonl", PiqaRow + "\n" + """{"goal": "Open a jar", "sol1": "Twist.", "label": 1}""" + "\n"));
        var e = LoadFails("piqa", dir);
        Assert.Contains(Path.Combine(dir, "piqa.jsonl") + " row 2", e.Message);
        Assert.Contains("missing field \"sol2\"", e.Message);
    }

    [Fact]
    public void A_nested_field_missing_is_named_with_its_path()
    {
        var dir = Dir(("arc_easy.jsonl", """{"question": "Q?", "choices": {"label": ["A"]}, "answerKey": "A"}"""));
        var e = LoadFails("arc_easy", dir);
        Assert.Contains("arc_easy.jsonl row 1: missing field \"choices.text\"", e.Message);
    }

    [Fact]
    public void A_label_out_of_range_is_one_error_naming_the_file_and_row()
    {
        var dir = Dir(("piqa.jsonl", PiqaRow + "\n\n" + """{"goal": "g", "sol1": "a", "sol2": "b", "label": 2}"""));
        var e = LoadFails("piqa", dir);
        Assert.Contains("piqa.jsonl row 3: label 2 is out of range for 2 choices", e.Message);   // blank lines count as rows

        dir = Dir(("winogrande.jsonl", """{"sentence": "A _ b", "option1": "x", "option2": "y", "answer": "3"}"""));
        Assert.Contains("winogrande.jsonl row 1: label 3 is out of range", LoadFails("winogrande", dir).Message);

        dir = Dir(("arc_easy.jsonl", """{"question": "Q?", "choices": {"text": ["a", "b"], "label": ["A", "B"]}, "answerKey": "E"}"""));
        Assert.Contains("arc_easy.jsonl row 1: answerKey \"E\" is not one of the choice labels (A, B)", LoadFails("arc_easy", dir).Message);
    }

    [Fact]
    public void An_empty_file_is_one_error_naming_the_file()
    {
        var dir = Dir(("piqa.jsonl", "\n\n"));
        var e = LoadFails("piqa", dir);
        Assert.Contains(Path.Combine(dir, "piqa.jsonl"), e.Message);
        Assert.Contains("no rows", e.Message);
    }

    [Fact]
    public void Malformed_json_and_wrong_types_name_the_file_and_row()
    {
        var dir = Dir(("piqa.jsonl", PiqaRow + "\n{\"goal\": oops}\n"));
        Assert.Contains("piqa.jsonl row 2: not valid JSON", LoadFails("piqa", dir).Message);
        dir = Dir(("boolq.jsonl", """{"question": "q", "passage": "p", "label": "yes"}"""));
        Assert.Contains("boolq.jsonl row 1: field \"label\" is not an integer", LoadFails("boolq", dir).Message);
        dir = Dir(("piqa.jsonl", """{"goal": 5, "sol1": "a", "sol2": "b", "label": 0}"""));
        Assert.Contains("piqa.jsonl row 1: field \"goal\" is not a string", LoadFails("piqa", dir).Message);
    }

    [Fact]
    public void A_missing_task_file_says_which_names_are_looked_for()
    {
        var e = LoadFails("hellaswag", Dir());
        Assert.Contains("hellaswag.jsonl, hellaswag.parquet or a folder hellaswag/ holding validation.jsonl", e.Message);

        e = LoadFails("sciq", Dir(("sciq/validation.jsonl", "{}")));
        Assert.Contains("no test split for task sciq", e.Message);
    }

    [Fact]
    public void A_task_folder_is_read_from_the_harness_split_including_hugging_face_shards_in_name_order()
    {
        var dir = Dir(
            ("piqa/data/train-00000-of-00001.jsonl", """{"goal": "TRAIN", "sol1": "a", "sol2": "b", "label": 0}"""),
            ("piqa/data/validation-00001-of-00002.jsonl", """{"goal": "second", "sol1": "a", "sol2": "b", "label": 0}"""),
            ("piqa/data/validation-00000-of-00002.jsonl", """{"goal": "first", "sol1": "a", "sol2": "b", "label": 1}"""));
        var docs = EvalTasks.Resolve("piqa")[0].Load(dir);
        Assert.Equal(["Question: first\nAnswer:", "Question: second\nAnswer:"], docs.Select(d => d.Requests[0].Context));
        Assert.Single(EvalTasks.Resolve("piqa")[0].Load(dir, limit: 1));
    }

    [Fact]
    public void A_download_of_every_configuration_uses_the_harness_configuration_folder()
    {
        const string row = """{"sentence": "A _ b", "option1": "x", "option2": "y", "answer": "1"}""";
        var dir = Dir(("winogrande/winogrande_xl/validation-00000-of-00001.jsonl", row),
                      ("winogrande/winogrande_debiased/validation-00000-of-00001.jsonl", row + "\n" + row));
        Assert.Single(EvalTasks.Resolve("winogrande")[0].Load(dir));

        dir = Dir(("piqa/a/validation.jsonl", PiqaRow), ("piqa/b/validation.jsonl", PiqaRow));
        Assert.Contains("several folders", LoadFails("piqa", dir).Message);
    }

    // Hugging Face's ai2_arc rows: a struct column of two string lists.
    public sealed class ArcChoices
    {
        public List<string> text { get; set; } = [];
        public List<string> label { get; set; } = [];
    }

    public sealed class ArcRow
    {
        public string id { get; set; } = "";
        public string question { get; set; } = "";
        public ArcChoices choices { get; set; } = new();
        public string answerKey { get; set; } = "";
    }

    public sealed class PiqaRowRecord
    {
        public string goal { get; set; } = "";
        public string sol1 { get; set; } = "";
        public string sol2 { get; set; } = "";
        public long label { get; set; }
    }

    [Fact]
    public async Task Parquet_rows_with_nested_columns_read_like_their_json_lines()
    {
        var dir = TestModels.TempFolder();
        var rows = new[]
        {
            new ArcRow { id = "1", question = "Which is a gas?", choices = new() { text = ["steam", "rock"], label = ["A", "B"] }, answerKey = "A" },
            new ArcRow { id = "2", question = "Which is hot?", choices = new() { text = ["ice", "fire", "snow"], label = ["1", "2", "3"] }, answerKey = "2" },
        };
        Directory.CreateDirectory(Path.Combine(dir, "arc_easy", "ARC-Easy"));
        await using (var stream = File.Create(Path.Combine(dir, "arc_easy", "ARC-Easy", "test-00000-of-00001.parquet")))
            await ParquetSerializer.SerializeAsync(rows, stream);
        var docs = EvalTasks.Resolve("arc_easy")[0].Load(dir);
        Assert.Equal(2, docs.Count);
        Assert.Equal(new TextRequest("Question: Which is hot?\nAnswer:", " fire"), docs[1].Requests[1]);
        Assert.Equal(1, docs[1].Gold);
        Assert.Equal(3, docs[1].Choices.Count);
        Assert.EndsWith("test-00000-of-00001.parquet row 2", docs[1].Origin);
    }

    [Fact]
    public async Task Parquet_rows_missing_a_field_name_the_file_and_row()
    {
        var dir = TestModels.TempFolder();
        await using (var stream = File.Create(Path.Combine(dir, "piqa.parquet")))
            await ParquetSerializer.SerializeAsync(new[] { new PiqaRowRecord { goal = "g", sol1 = "a", sol2 = "b", label = 5 } }, stream);
        var message = LoadFails("piqa", dir).Message;
        Assert.True(message.Contains("piqa.parquet row 1: label 5 is out of range for 2 choices"), message);
        File.WriteAllText(Path.Combine(dir, "hellaswag.parquet"), "not parquet");
        Assert.Contains("hellaswag.parquet: not a readable Parquet file", LoadFails("hellaswag", dir).Message);
    }

    [Fact]
    public void A_task_given_as_both_jsonl_and_parquet_is_ambiguous()
    {
        var dir = Dir(("piqa.jsonl", PiqaRow), ("piqa.parquet", ""));
        Assert.Contains("keep one", LoadFails("piqa", dir).Message);
    }
}
