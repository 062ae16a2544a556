using System.Diagnostics;
using System.Text.Json;
using Xunit;

namespace LayerChop.Client.Tests;

/// <summary>A tiny model and a real corpus (Brown, tags stripped) for training runs through the binary.</summary>
public sealed class TrainingInputs
{
    public string Model { get; }
    public string Corpus { get; }
    public string Work { get; } = LayerChopProcess.TempFolder();

    public TrainingInputs()
    {
        Model = Path.Combine(Work, "model");
        var r = LayerChopProcess.Run("model", "init", "--layers", "4", "--hidden", "32", "--heads", "4", "--kv-heads", "2",
            "--intermediate", "64", "--vocab", "300", "--seed", "9", "--max-positions", "64", "--out", Model);
        if (r.ExitCode != 0) throw new InvalidOperationException("model init failed: " + r.Stderr);
        Corpus = BrownTestCorpus.WriteJsonl(15, Path.Combine(Work, "brown.jsonl"));
    }
}

public class TrainCommandTests(TrainingInputs inputs) : IClassFixture<TrainingInputs>
{
    const int Steps = 24;

    string[] TrainArgs(string output, params string[] extra) => TrainArgs(output, 5, extra);

    string[] TrainArgs(string output, int checkpointEvery, params string[] extra) =>
    [
        "train", inputs.Model, "--data", inputs.Corpus, "--tokens", (Steps * 128).ToString(), "--seq-len", "32",
        "--batch-tokens", "128", "--micro-batch", "2", "--lr", "0.003", "--warmup-steps", "2", "--checkpoint-every", checkpointEvery.ToString(),
        "--out", output, "--json", .. extra,
    ];

    static double[] StepLosses(string stdout) => stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
        .Select(l => JsonDocument.Parse(l).RootElement).Where(e => e.TryGetProperty("step", out _))
        .Select(e => e.GetProperty("loss").GetDouble()).ToArray();

    static double[] RecordedLosses(string run) => JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "train_result.json")))
        .RootElement.GetProperty("losses").EnumerateArray().Select(e => e.GetDouble()).ToArray();

    string Straight()
    {
        lock (inputs)
        {
            var run = Path.Combine(inputs.Work, "straight");
            if (!File.Exists(Path.Combine(run, "config.json")))
            {
                var r = LayerChopProcess.Run(TrainArgs(run));
                Assert.True(r.ExitCode == 0, r.Stderr);
                var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
                var done = JsonDocument.Parse(lines[^1]).RootElement;
                Assert.True(done.GetProperty("done").GetBoolean());
                Assert.Equal(Steps, done.GetProperty("steps").GetInt32());
                Assert.Equal(Steps, StepLosses(r.Stdout).Length);
                Assert.Equal(StepLosses(r.Stdout), RecordedLosses(run));
            }
            return run;
        }
    }

    /// <summary>Starts a run and SIGKILLs it once <paramref name="killWhen"/> holds for its output so far.</summary>
    static void RunAndKill(string[] args, Func<string, string, bool> killWhen)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(LayerChopProcess.Dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        string output = args[Array.IndexOf(args, "--out") + 1];
        string? line;
        while ((line = process.StandardOutput.ReadLine()) is not null)
        {
            stdout.AppendLine(line);
            if (killWhen(stdout.ToString(), output)) { process.Kill(entireProcessTree: true); break; }
        }
        process.WaitForExit();
    }

    [Fact]
    public void Sigkill_right_after_a_checkpoint_then_resume_gives_bit_identical_weights_and_losses()
    {
        var straight = Straight();
        var run = Path.Combine(LayerChopProcess.TempFolder(), "killed");
        RunAndKill(TrainArgs(run), (_, output) => Directory.Exists(Path.Combine(output, "checkpoints", "step-00000010")));
        Assert.False(File.Exists(Path.Combine(run, "config.json")), "a killed run must not look like a finished model");

        var resumed = LayerChopProcess.Run(TrainArgs(run, "--resume"));
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.Contains("resuming from", resumed.Stderr);
        Assert.Equal(File.ReadAllBytes(Path.Combine(straight, "model.safetensors")), File.ReadAllBytes(Path.Combine(run, "model.safetensors")));
        Assert.Equal(RecordedLosses(straight), RecordedLosses(run));
    }

    [Fact]
    public void Sigkill_at_a_random_step_then_resume_gives_bit_identical_weights_and_losses()
    {
        var straight = Straight();
        int seed = Environment.TickCount;
        int killAt = new Random(seed).Next(1, Steps);
        var run = Path.Combine(LayerChopProcess.TempFolder(), "killed-random");
        RunAndKill(TrainArgs(run), (stdout, _) => StepLosses(stdout).Length >= killAt);

        // Killed before its first checkpoint, there is nothing to resume: --resume says so, and a plain rerun starts over.
        bool checkpointed = Directory.Exists(Path.Combine(run, "checkpoints"))
            && Directory.EnumerateDirectories(Path.Combine(run, "checkpoints"), "step-*").Any(d => File.Exists(Path.Combine(d, "state.json")));
        var resumed = LayerChopProcess.Run(TrainArgs(run, "--resume"));
        if (!checkpointed)
        {
            LayerChopProcess.AssertOneLineError(resumed, "no checkpoint to resume from");
            resumed = LayerChopProcess.Run(TrainArgs(run));
        }
        Assert.True(resumed.ExitCode == 0, $"killed at step {killAt} (seed {seed}): {resumed.Stderr}");
        Assert.Equal(File.ReadAllBytes(Path.Combine(straight, "model.safetensors")), File.ReadAllBytes(Path.Combine(run, "model.safetensors")));
        Assert.Equal(RecordedLosses(straight), RecordedLosses(run));
    }

    [Fact]
    public async Task Sigterm_writes_a_checkpoint_and_exits_so_that_resume_continues()
    {
        var run = Path.Combine(LayerChopProcess.TempFolder(), "terminated");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(LayerChopProcess.Dll);
        foreach (var a in TrainArgs(run, 1000)) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string? line;
        int steps = 0;
        while ((line = process.StandardOutput.ReadLine()) is not null)
            if (line.Contains("\"step\"") && ++steps == 3) { Process.Start("kill", ["-TERM", process.Id.ToString()]).WaitForExit(); break; }
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.Equal(130, process.ExitCode);
        Assert.Contains("--resume", await stderr);
        Assert.Single(Directory.GetDirectories(Path.Combine(run, "checkpoints"), "step-*"));
    }

    [Fact]
    public void A_missing_corpus_is_one_clear_line_and_leaves_no_output()
    {
        var run = Path.Combine(LayerChopProcess.TempFolder(), "run");
        var r = LayerChopProcess.Run("train", inputs.Model, "--data", "/nonexistent/corpus.jsonl", "--tokens", "256", "--seq-len", "32", "--batch-tokens", "128", "--out", run);
        LayerChopProcess.AssertOneLineError(r, "/nonexistent/corpus.jsonl");
        Assert.False(File.Exists(Path.Combine(run, "config.json")));
    }

    [Fact]
    public void An_empty_corpus_is_one_clear_line()
    {
        var empty = Path.Combine(LayerChopProcess.TempFolder(), "empty.jsonl");
        File.WriteAllText(empty, "");
        var run = Path.Combine(LayerChopProcess.TempFolder(), "run");
        var r = LayerChopProcess.Run("train", inputs.Model, "--data", empty, "--tokens", "256", "--seq-len", "32", "--batch-tokens", "128", "--out", run);
        LayerChopProcess.AssertOneLineError(r, "empty.jsonl");
        Assert.False(File.Exists(Path.Combine(run, "config.json")));
    }

    [Fact]
    public void A_sequence_longer_than_the_context_is_one_clear_line()
    {
        var run = Path.Combine(LayerChopProcess.TempFolder(), "run");
        var r = LayerChopProcess.Run("train", inputs.Model, "--data", inputs.Corpus, "--tokens", "256", "--seq-len", "128", "--batch-tokens", "256", "--out", run);
        LayerChopProcess.AssertOneLineError(r, "context of 64");
        Assert.False(Directory.Exists(run));
    }

    [Fact]
    public void Resuming_a_checkpoint_of_another_model_shape_is_one_clear_line()
    {
        var run = Path.Combine(LayerChopProcess.TempFolder(), "run");
        RunAndKill(TrainArgs(run), (_, output) => Directory.Exists(Path.Combine(output, "checkpoints", "step-00000005")));
        var other = Path.Combine(LayerChopProcess.TempFolder(), "other");
        LayerChopProcess.Run("model", "init", "--layers", "3", "--hidden", "32", "--heads", "4", "--intermediate", "64", "--vocab", "300", "--max-positions", "64", "--out", other);
        var args = TrainArgs(run, "--resume");
        args[1] = other;
        var r = LayerChopProcess.Run(args);
        LayerChopProcess.AssertOneLineError(r, "shape");
        Assert.False(File.Exists(Path.Combine(run, "config.json")));
    }

    [Fact]
    public void An_unwritable_out_fails_in_one_line_before_any_step()
    {
        // A folder cannot be created under a regular file, whoever runs the test.
        var file = Path.Combine(LayerChopProcess.TempFolder(), "a-file");
        File.WriteAllText(file, "");
        var underFile = Path.Combine(file, "run");
        var r = LayerChopProcess.Run(TrainArgs(underFile));
        LayerChopProcess.AssertOneLineError(r, $"--out {underFile}: cannot create or write the run folder");
        Assert.Equal("", r.Stdout);

        if (OperatingSystem.IsWindows() || Environment.IsPrivilegedProcess) return;   // root writes into read-only folders
        var readOnly = Path.Combine(LayerChopProcess.TempFolder(), "read-only");
        Directory.CreateDirectory(readOnly);
        File.SetUnixFileMode(readOnly, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
        var run = Path.Combine(readOnly, "run");
        r = LayerChopProcess.Run(TrainArgs(run));
        LayerChopProcess.AssertOneLineError(r, $"--out {run}: cannot create or write the run folder");
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public void Resume_with_a_changed_setting_names_the_setting_and_both_values()
    {
        var run = Path.Combine(LayerChopProcess.TempFolder(), "run");
        RunAndKill(TrainArgs(run), (_, output) => Directory.Exists(Path.Combine(output, "checkpoints", "step-00000005")));
        var args = TrainArgs(run, "--resume");
        args[Array.IndexOf(args, "--lr") + 1] = "0.001";
        var r = LayerChopProcess.Run(args);
        LayerChopProcess.AssertOneLineError(r,
            $"--resume: the checkpoint in {run} was trained with lr 0.003; this run says lr 0.001; resume with the same settings or use a new --out");
        Assert.False(File.Exists(Path.Combine(run, "config.json")));
    }

    [Fact]
    public void Resume_with_nothing_to_resume_is_refused_in_one_line()
    {
        var run = Path.Combine(LayerChopProcess.TempFolder(), "fresh");
        var r = LayerChopProcess.Run(TrainArgs(run, "--resume"));
        LayerChopProcess.AssertOneLineError(r, $"--resume: {run} holds no checkpoint to resume from; drop --resume to start a fresh run");
        Assert.False(Directory.Exists(run));
    }

    [Fact]
    public void Lora_healing_from_the_command_line_writes_a_plain_model_folder_recording_its_adapters()
    {
        var run = Path.Combine(LayerChopProcess.TempFolder(), "lora");
        var args = TrainArgs(run, "--heal-method", "lora", "--lora-rank", "4", "--lora-alpha", "8", "--lora-targets", "q_proj,v_proj", "--lora-lr", "0.001");
        args[Array.IndexOf(args, "--tokens") + 1] = (4 * 128).ToString();
        var r = LayerChopProcess.Run(args);
        Assert.True(r.ExitCode == 0, r.Stderr);

        var record = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "train_result.json"))).RootElement;
        Assert.Equal("lora", record.GetProperty("heal_method").GetString());
        Assert.Equal(0.001, record.GetProperty("lora").GetProperty("lr").GetDouble());
        var inspect = LayerChopProcess.Run("model", "inspect", run, "--json");
        var original = LayerChopProcess.Run("model", "inspect", inputs.Model, "--json");
        Assert.True(inspect.ExitCode == 0, inspect.Stderr);
        Assert.Equal(JsonDocument.Parse(original.Stdout).RootElement.GetProperty("params").GetInt64(),
            JsonDocument.Parse(inspect.Stdout).RootElement.GetProperty("params").GetInt64());
    }

    [Theory]
    [InlineData("--lora-targets q_proj,up_porj", "--lora-targets: 'up_porj' is not a linear layer of a decoder layer")]
    [InlineData("--lora-targets q_porj", "did you mean q_proj?")]
    [InlineData("--lora-rank 0", "--lora-rank must be at least 1, got 0")]
    [InlineData("--lora-lr 2", "--lora-lr must be above 0 and at most 1, got 2")]
    [InlineData("--teacher TEACHER", "--teacher distils, which is heal method distill; heal method lora learns from the corpus alone")]
    [InlineData("--distill", "--distill is heal method distill, but --heal-method says lora")]
    public void A_bad_lora_setting_is_refused_in_one_line_before_any_step(string flags, string saying)
    {
        var run = Path.Combine(LayerChopProcess.TempFolder(), "lora");
        var extra = flags.Replace("TEACHER", inputs.Model).Split(' ');
        var r = LayerChopProcess.Run(TrainArgs(run, ["--heal-method", "lora", .. extra]));
        LayerChopProcess.AssertOneLineError(r, saying);
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public void A_lora_flag_without_heal_method_lora_or_an_unknown_method_is_refused_in_one_line()
    {
        var run = Path.Combine(LayerChopProcess.TempFolder(), "lora");
        LayerChopProcess.AssertOneLineError(LayerChopProcess.Run(TrainArgs(run, "--lora-rank", "8")),
            "--lora-rank sets LoRA's adapters, but this run heals by pretrain: add --heal-method lora, or drop --lora-rank");
        LayerChopProcess.AssertOneLineError(LayerChopProcess.Run(TrainArgs(run, "--heal-method", "lorra")),
            "--heal-method 'lorra' is not one of pretrain, distill, lora");
        Assert.False(Directory.Exists(run));
    }
}
