using System.Text.Json;
using Xunit;

namespace LayerChop.Client.Tests;

public class EvalCommandTests(TinyModel tiny) : IClassFixture<TinyModel>
{
    static readonly string[] PiqaRows =
    [
        """{"goal": "How do I open a jar?", "sol1": "Twist the lid.", "sol2": "Freeze the jar.", "label": 0}""",
        """{"goal": "How do I dry a shirt?", "sol1": "Hang it in the sun.", "sol2": "Put it in the sink.", "label": 0}""",
        """{"goal": "How do I cool soup?", "sol1": "Boil it longer.", "sol2": "Leave it on the counter.", "label": 1}""",
    ];

    static string TaskDir(string file, IEnumerable<string> lines)
    {
        var dir = LayerChopProcess.TempFolder();
        File.WriteAllLines(Path.Combine(dir, file), lines);
        return dir;
    }

    [Fact]
    public void Eval_json_reports_each_task_with_acc_acc_norm_their_stderr_n_and_the_average()
    {
        var dir = TaskDir("piqa.jsonl", PiqaRows);
        var r = LayerChopProcess.Run("eval", tiny.Folder, "--tasks", "piqa", "--task-dir", dir, "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var root = JsonDocument.Parse(r.Stdout).RootElement;
        var piqa = root.GetProperty("tasks").GetProperty("piqa");
        foreach (var key in new[] { "acc", "acc_stderr", "acc_norm", "acc_norm_stderr" })
            Assert.True(piqa.TryGetProperty(key, out _), key);
        Assert.Equal(3, piqa.GetProperty("n").GetInt32());
        double accNorm = piqa.GetProperty("acc_norm").GetDouble();
        Assert.Contains(new[] { 0.0, 1 / 3.0, 2 / 3.0, 1.0 }, v => Math.Abs(v - accNorm) < 1e-9);   // a fraction of 3 questions
        Assert.Equal(accNorm, root.GetProperty("average").GetDouble(), 9);   // piqa's paper metric is acc_norm

        var limited = LayerChopProcess.Run("eval", tiny.Folder, "--tasks", "piqa", "--task-dir", dir, "--limit", "2", "--json");
        Assert.Equal(2, JsonDocument.Parse(limited.Stdout).RootElement.GetProperty("tasks").GetProperty("piqa").GetProperty("n").GetInt32());
    }

    [Fact]
    public void Add_bos_takes_auto_true_or_false_and_anything_else_is_one_clear_line()
    {
        var dir = TaskDir("piqa.jsonl", PiqaRows);
        LayerChopProcess.AssertOneLineError(LayerChopProcess.Run("eval", tiny.Folder, "--tasks", "piqa", "--task-dir", dir, "--add-bos", "maybe"),
            "--add-bos must be auto, true or false");
        // The tiny model's tokenizer adds BOS by default: auto and true encode the same contexts, so score the same.
        var auto = LayerChopProcess.Run("eval", tiny.Folder, "--tasks", "piqa", "--task-dir", dir, "--json");
        var always = LayerChopProcess.Run("eval", tiny.Folder, "--tasks", "piqa", "--task-dir", dir, "--add-bos", "true", "--json");
        var never = LayerChopProcess.Run("eval", tiny.Folder, "--tasks", "piqa", "--task-dir", dir, "--add-bos", "false", "--json");
        Assert.True(never.ExitCode == 0, never.Stderr);
        Assert.Equal(auto.Stdout, always.Stdout);
    }

    [Fact]
    public void An_unknown_task_is_one_clear_line()
    {
        var r = LayerChopProcess.Run("eval", tiny.Folder, "--tasks", "piqa,trivia", "--task-dir", LayerChopProcess.TempFolder());
        LayerChopProcess.AssertOneLineError(r, "trivia");
    }

    [Fact]
    public void Eval_and_generate_on_cuda_without_a_gpu_say_so_in_one_line()
    {
        var dir = TaskDir("piqa.jsonl", PiqaRows);
        LayerChopProcess.AssertOneLineError(
            LayerChopProcess.Run("eval", tiny.Folder, "--tasks", "piqa", "--task-dir", dir, "--device", "cuda"), "--device cuda");
        LayerChopProcess.AssertOneLineError(LayerChopProcess.Run("generate", tiny.Folder, "--prompt", "a", "--device", "cuda"), "--device cuda");
        var onCpu = LayerChopProcess.Run("eval", tiny.Folder, "--tasks", "piqa", "--task-dir", dir, "--device", "auto", "--json");
        Assert.True(onCpu.ExitCode == 0, onCpu.Stderr);
    }

    [Fact]
    public void An_empty_task_file_is_one_clear_line_naming_the_file()
    {
        var r = LayerChopProcess.Run("eval", tiny.Folder, "--tasks", "piqa", "--task-dir", TaskDir("piqa.jsonl", []));
        LayerChopProcess.AssertOneLineError(r, "piqa.jsonl");
    }

    [Fact]
    public void A_label_out_of_range_is_one_clear_line_naming_the_file_and_row()
    {
        var rows = PiqaRows.Append("""{"goal": "How?", "sol1": "a", "sol2": "b", "label": 2}""");
        var r = LayerChopProcess.Run("eval", tiny.Folder, "--tasks", "piqa", "--task-dir", TaskDir("piqa.jsonl", rows));
        LayerChopProcess.AssertOneLineError(r, "piqa.jsonl");
        Assert.Contains("4", r.Stderr);
    }

    [Fact]
    public void A_row_missing_a_field_is_one_clear_line_naming_the_file_and_row()
    {
        var rows = new[] { PiqaRows[0], """{"goal": "How?", "sol1": "a", "label": 0}""" };
        var r = LayerChopProcess.Run("eval", tiny.Folder, "--tasks", "piqa", "--task-dir", TaskDir("piqa.jsonl", rows));
        LayerChopProcess.AssertOneLineError(r, "piqa.jsonl");
        Assert.Contains("sol2", r.Stderr);
    }
}
