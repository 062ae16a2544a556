using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using LayerChop.Client.Rendering;
using LayerChop.Engine;
using LayerChop.Engine.Checkpoints;
using LayerChop.Engine.Evaluation;
using LayerChop.Engine.Tokenization;
using LayerChop.Engine.Training;
using LayerChop.Settings;

namespace LayerChop.Client.Commands;

public static class EvalCommand
{
    public static Command Create()
    {
        var defaults = new EvalSettings();
        var dir = new Argument<string>("DIR") { Description = "Model folder" };
        var tasks = new Option<string?>("--tasks")
        {
            Description = $"Comma-separated tasks: {string.Join(", ", EvalTasks.Names)}; or 'paper' for the Just CHOP suite ({string.Join(", ", EvalTasks.Paper)})",
        };
        var taskDir = new Option<string?>("--task-dir")
        {
            Description = "Folder of task data (Hugging Face rows): <task>.jsonl or <task>.parquet, or a folder <task>/ with the split the harness evaluates " +
                          "(<split>.jsonl, <split>.parquet or shards <split>-*.parquet; validation for piqa, hellaswag, winogrande, boolq; test for the others); " +
                          "the built-in next_word and continuation read held-out text: <task>.txt, <task>.jsonl (\"text\") or a folder <task>/",
        };
        var limit = new Option<int?>("--limit") { Description = "Only the first N documents of each task" };
        var batchSize = new Option<int>("--batch-size") { Description = "Rows per forward pass (a question with all its choices is one row)", DefaultValueFactory = _ => defaults.BatchSize };
        var noShared = new Option<bool>("--no-shared-context") { Description = "Score every choice with its own copy of the context (the harness's way; slower, same scores)" };
        var maxLength = new Option<int?>("--max-length") { Description = "Input token limit (default: the model's max_position_embeddings); longer inputs lose tokens on the left" };
        var perplexity = new Option<string?>("--perplexity") { Description = "Also measure token-level perplexity of held-out text, read as a healing corpus is: .txt, .jsonl, .jsonl.gz or .jsonl.zst files, or folders of them" };
        var textField = Cli.TextFieldOption();
        var stride = new Option<int?>("--stride") { Description = "Sliding-window stride for --perplexity (default: the context length, disjoint windows)" };
        var addBos = new Option<string>("--add-bos")
        {
            Description = "Whether task contexts begin with BOS: auto (the tokenizer's own default, as lm-evaluation-harness v0.4.9.2 and later), " +
                          "false (never, as the harness v0.4.0-v0.4.9.1), true (always)",
            DefaultValueFactory = _ => "auto",
        };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the built-in tasks' questions (next_word, continuation)", DefaultValueFactory = _ => (ulong)defaults.Seed };
        var dtype = new Option<string>("--dtype") { Description = "Compute dtype: f32, bf16 or f16", DefaultValueFactory = _ => "f32" };
        var device = Cli.DeviceOption();
        var json = Cli.JsonOption();
        var command = new Command("eval", "Zero-shot accuracy with lm-evaluation-harness prompts and scoring (acc, acc_norm), and held-out perplexity; progress on stderr")
        {
            dir, tasks, taskDir, limit, batchSize, noShared, maxLength, perplexity, stride, textField, addBos, seed, dtype, device, json,
        };
        command.SetAction(p => Cli.Run(() =>
        {
            string folder = p.GetValue(dir)!;
            string spec = p.GetValue(tasks) ?? "";
            string? heldOut = p.GetValue(perplexity);
            if (string.IsNullOrWhiteSpace(spec) && heldOut is null)
                throw new LayerChopException("nothing to evaluate: give --tasks (for example --tasks paper) and/or --perplexity");
            if (!string.IsNullOrWhiteSpace(spec) && p.GetValue(taskDir) is null)
                throw new LayerChopException("--tasks needs --task-dir, the folder holding the task data files");
            if (p.GetValue(limit) is < 1) throw new LayerChopException($"--limit must be at least 1, not {p.GetValue(limit)}");
            if (p.GetValue(batchSize) < 1) throw new LayerChopException($"--batch-size must be at least 1, not {p.GetValue(batchSize)}");
            var bos = RequestEncoder.ParseAddBos(p.GetValue(addBos)!);
            // Check the task names before the (slow) model load.
            if (!string.IsNullOrWhiteSpace(spec)) EvalTasks.Resolve(spec);

            var tokenizer = TextTokenizer.Load(folder);
            using var model = ModelFolder.Load(folder, DTypes.Parse(p.GetValue(dtype)!), Trainer.ResolveDevice(p.GetValue(device)!));
            var clock = Stopwatch.StartNew();
            var progress = new LiveBlock(plainEvery: TimeSpan.FromSeconds(10), liveEvery: TimeSpan.FromSeconds(0.2));
            var options = new EvaluationOptions
            {
                Limit = p.GetValue(limit),
                AddBos = bos,
                Scorer = new ScorerOptions
                {
                    BatchSize = p.GetValue(batchSize),
                    SharedContext = !p.GetValue(noShared),
                    MaxLength = p.GetValue(maxLength),
                },
                Seed = p.GetValue(seed),
                PerplexityPath = heldOut,
                PerplexityStride = p.GetValue(stride),
                TextField = p.GetValue(textField)!,
                Progress = e => progress.Show([$"{e.Task}: {e.Done}/{e.Total} requests ({clock.Elapsed.TotalSeconds:0} s)"], important: e.Done == e.Total),
            };
            var results = Evaluator.Run(model, tokenizer, spec, p.GetValue(taskDir), options);
            progress.End();
            Console.Error.WriteLine($"evaluated in {clock.Elapsed.TotalSeconds:0.0} s");
            if (p.GetValue(json)) Console.WriteLine(results.ToJson());
            else Table(results);
            return 0;
        }));
        return command;
    }

    /// <summary>One row per task with acc and acc_norm (± standard error), the paper metric marked *; the average and held-out perplexity below.</summary>
    public static void Table(EvaluationResults results, Spectre.Console.IAnsiConsole? console = null)
    {
        console ??= Terminal.Out;
        var table = new TextTable("task", "n", "acc", "acc_norm", "perplexity").RightAligned("n", "acc", "acc_norm", "perplexity");
        foreach (var t in results.Tasks)
        {
            table.AddRow(t.Task, t.N, Cell(t.Acc, t.AccStderr, t.PaperMetric == MetricNames.Acc),
                t.AccNorm is double norm ? Cell(norm, t.AccNormStderr, t.PaperMetric == MetricNames.AccNorm) : "-",
                t.Perplexity is double p ? p.ToString("0.00", CultureInfo.InvariantCulture) : "-");
            if (t.AccMutualInfo is double mi)
                table.AddRow("  acc_mutual_info", "", Cell(mi, t.AccMutualInfoStderr, t.PaperMetric == MetricNames.AccMutualInfo), "", "");
        }
        if (results.Average is double average)
            table.AddRow("average", "", average.ToString("0.0000", CultureInfo.InvariantCulture) + " ", "", "");
        if (table.RowCount > 0) table.Write(console);
        if (results.Average is not null) console.Profile.Out.Writer.WriteLine("average: the mean of the paper metrics, marked *");
        if (results.HeldOut is { } h)
            console.Profile.Out.Writer.WriteLine($"held-out perplexity {h.Perplexity.ToString("0.000", CultureInfo.InvariantCulture)} over {h.Tokens} tokens of {h.Documents} documents");
    }

    static string Cell(double value, double? stderr, bool paper) =>
        value.ToString("0.0000", CultureInfo.InvariantCulture) + " ± " +
        (stderr is double s ? s.ToString("0.0000", CultureInfo.InvariantCulture) : "-") + (paper ? "*" : " ");
}
