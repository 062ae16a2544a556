using System.CommandLine;
using LayerChop.Client.Rendering;
using LayerChop.Engine;
using LayerChop.Engine.Checkpoints;
using LayerChop.Engine.Chopping.Importance;
using LayerChop.Engine.Evaluation;
using LayerChop.Engine.Modeling;
using LayerChop.Engine.Tokenization;
using static TorchSharp.torch;

namespace LayerChop.Client.Commands;

public static class ModelCommands
{
    public static Command Create()
    {
        var model = new Command("model", "Create and describe model folders (Hugging Face layout: config.json, safetensors, tokenizer)");
        model.Subcommands.Add(Init());
        model.Subcommands.Add(Inspect());
        model.Subcommands.Add(Importance());
        return model;
    }

    static Command Init()
    {
        var arch = new Option<string>("--arch") { Description = "Model family", DefaultValueFactory = _ => "llama" };
        arch.AcceptOnlyFromAmong("llama");
        var layers = new Option<int>("--layers") { Description = "Number of decoder layers", Required = true };
        var hidden = new Option<int>("--hidden") { Description = "Hidden size", Required = true };
        var heads = new Option<int>("--heads") { Description = "Attention heads", Required = true };
        var kvHeads = new Option<int?>("--kv-heads") { Description = "Key/value heads (grouped-query attention); default: --heads" };
        var intermediate = new Option<int>("--intermediate") { Description = "MLP intermediate size", Required = true };
        var vocab = new Option<int>("--vocab") { Description = "Vocabulary size (at least 258: 256 bytes and BOS/EOS)", Required = true };
        var maxPositions = new Option<int>("--max-positions") { Description = "Context length (max_position_embeddings)", DefaultValueFactory = _ => 2048 };
        var tie = new Option<bool>("--tie-embeddings") { Description = "Share the embedding matrix with the output projection" };
        var seed = new Option<long>("--seed") { Description = "Random seed for the weights", DefaultValueFactory = _ => 0 };
        var dtype = new Option<string>("--dtype") { Description = "Stored weight dtype: f32, bf16 or f16", DefaultValueFactory = _ => "f32" };
        var tokenizerText = new Option<string?>("--tokenizer-text")
        {
            Description = "Documents to learn the byte-level BPE merges from, read like every corpus: a .txt file, a .jsonl file (\"text\" per line) or a folder of them " +
                          "(default: bytes only, 258 tokens; ids beyond the tokenizer are embedding rows that generation never picks)",
        };
        var output = new Option<string>("--out") { Description = "Output folder (must not exist or be empty)", Required = true };
        var json = Cli.JsonOption();
        var command = new Command("init", "Create a randomly initialised Llama-family model folder of a given shape, with a byte-level tokenizer")
        {
            arch, layers, hidden, heads, kvHeads, intermediate, vocab, maxPositions, tie, seed, dtype, tokenizerText, output, json,
        };
        command.SetAction(p => Cli.Run(() =>
        {
            string outDir = p.GetValue(output)!;
            UserFolder.RefuseTaken(outDir, "--out");
            int v = p.GetValue(vocab), h = p.GetValue(hidden), a = p.GetValue(heads);
            if (v < 258) throw new LayerChopException($"--vocab {v} is too small: the byte-level tokenizer needs 256 byte tokens plus BOS and EOS (258)");
            if (a <= 0 || h % a != 0) throw new LayerChopException($"--hidden {h} must be a positive multiple of --heads {a}");
            string? textPath = p.GetValue(tokenizerText);
            if (textPath is not null && !File.Exists(textPath) && !Directory.Exists(textPath))
                throw new LayerChopException($"--tokenizer-text {textPath}: no such file or folder");
            string? trainingText = textPath is null ? null : string.Join("\n", TextDocuments.Read(textPath));
            var storeDtype = DTypes.Parse(p.GetValue(dtype)!);

            // Token ids: 0..255 bytes, then BOS and EOS (the tokenizer's layout).
            var config = ModelConfig.CreateLlama(p.GetValue(layers), h, a, p.GetValue(kvHeads) ?? a, p.GetValue(intermediate), v,
                p.GetValue(maxPositions), p.GetValue(tie), DTypes.TorchName(storeDtype), bos: 256, eos: 257);
            ModelFolder.WriteAside(outDir, folder =>
            {
                TextTokenizer.WriteByteLevel(folder, v, trainingText);
                int tokens = TextTokenizer.Load(folder).VocabSize;
                if (tokens < v)
                    Console.Error.WriteLine($"note: the tokenizer has {tokens} tokens ({(textPath is null ? "no --tokenizer-text to learn merges from" : "the text gave no more merges")}); " +
                                            $"embedding rows {tokens}..{v - 1} have no token, and generate never picks them");
                using var m = new CausalLM(config, ScalarType.Float32, CPU);
                m.InitializeRandom(p.GetValue(seed));
                ModelFolder.Save(m, folder, storeDtype, tokenizerFrom: null);
            });
            var summary = ModelSummary.Read(outDir);
            if (p.GetValue(json)) Cli.WriteJson(SummaryJson(summary));
            else Console.WriteLine($"wrote {outDir}: {summary.Layers} layers, {Cli.Count(summary.Params)} parameters ({summary.DType})");
            return 0;
        }));
        return command;
    }

    static Command Inspect()
    {
        var dir = new Argument<string>("DIR") { Description = "Model folder" };
        var json = Cli.JsonOption();
        var command = new Command("inspect", "Show a model folder's architecture and sizes (counted from the stored tensors)") { dir, json };
        command.SetAction(p => Cli.Run(() =>
        {
            var s = ModelSummary.Read(p.GetValue(dir)!);
            if (p.GetValue(json)) { Cli.WriteJson(SummaryJson(s)); return 0; }
            new TextTable("", "").WithoutHeader()
                .AddRow("arch", s.Arch)
                .AddRow("layers", $"{s.Layers}" + (s.Layers == s.ConfigLayers ? ""
                    : $" stored; config.json says num_hidden_layers {s.ConfigLayers}, so the folder does not load until they agree"))
                .AddRow("hidden", s.Hidden)
                .AddRow("heads / kv heads", $"{s.Heads} / {s.KvHeads}")
                .AddRow("vocab", s.Vocab)
                .AddRow("params", $"{s.Params:N0} ({Cli.Count(s.Params)})")
                .AddRow("non-embedding params", $"{s.NonEmbeddingParams:N0} ({Cli.Count(s.NonEmbeddingParams)})")
                .AddRow("dtype", s.DType)
                .AddRow("bytes on disk", $"{s.BytesOnDisk:N0}")
                .Write();
            return 0;
        }));
        return command;
    }

    static Command Importance()
    {
        var dir = new Argument<string>("DIR") { Description = "Model folder" };
        var calibration = new CalibrationOptions();
        calibration.Path.Required = true;
        var json = Cli.JsonOption();
        json.Description = "Print JSON: {\"perplexity\": full model, \"layers\": [{\"layer\", \"block_influence\", \"angular_k1\", " +
                           "\"perplexity_without\"}, ...], \"forward_passes\", \"seconds\", \"calibration\": {\"path\", \"sequences\", \"seq_len\"}}";
        var command = new Command("importance",
            "Score every layer (first and last included) by each per-layer criterion on a calibration set, side by side; " +
            "lower means more removable. block_influence: 1 - cosine(input, output) over all tokens (the chop strategy block-influence). " +
            "angular_k1: arccos(cosine(input, output)) / pi on each sequence's last token (the chop strategy angular with K = 1). " +
            "perplexity_without: calibration perplexity with the layer removed (the chop strategy perplexity). " +
            "The iterative criterion has no per-layer score: chop with the strategy iterative.")
        {
            dir, json,
        };
        foreach (var option in calibration.All) command.Options.Add(option);
        command.SetAction(p => Cli.Run(() =>
        {
            string folder = p.GetValue(dir)!;
            var calib = calibration.Load(p, folder, "model importance");
            using var m = ModelFolder.Load(folder, DTypes.Parse(p.GetValue(calibration.DType)!));
            var report = LayerImportance.Measure(m, calib);
            if (p.GetValue(json))
            {
                Cli.WriteJson(new Dictionary<string, object>
                {
                    ["perplexity"] = report.Perplexity,
                    ["layers"] = report.Layers.Select(l => new Dictionary<string, object>
                    {
                        ["layer"] = l.Layer, ["block_influence"] = l.BlockInfluence, ["angular_k1"] = l.AngularK1,
                        ["perplexity_without"] = l.PerplexityWithout,
                    }).ToList(),
                    ["forward_passes"] = report.ForwardPasses,
                    ["seconds"] = Math.Round(report.WallTime.TotalSeconds, 3),
                    ["calibration"] = CalibrationOptions.Json(calib),
                });
                return 0;
            }
            var table = new TextTable("layer", "block_influence", "angular_k1", "perplexity_without")
                .RightAligned("layer", "block_influence", "angular_k1", "perplexity_without");
            foreach (var l in report.Layers)
                table.AddRow(l.Layer, l.BlockInfluence.ToString("0.000000"), l.AngularK1.ToString("0.000000"), l.PerplexityWithout.ToString("0.000"));
            table.Write();
            Console.WriteLine($"full model perplexity {report.Perplexity:0.000} on {calib.Count} x {calib.Length} calibration tokens; " +
                              $"{report.ForwardPasses} forward passes, {report.WallTime.TotalSeconds:0.00} s");
            return 0;
        }));
        return command;
    }

    public static object SummaryJson(ModelSummary s) => new Dictionary<string, object>
    {
        ["arch"] = s.Arch, ["layers"] = s.Layers, ["config_layers"] = s.ConfigLayers, ["hidden"] = s.Hidden, ["heads"] = s.Heads, ["kv_heads"] = s.KvHeads,
        ["vocab"] = s.Vocab, ["params"] = s.Params, ["non_embedding_params"] = s.NonEmbeddingParams, ["dtype"] = s.DType,
        ["bytes_on_disk"] = s.BytesOnDisk,
    };
}
