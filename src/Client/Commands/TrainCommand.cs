using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text.Json;
using LayerChop.Client.Rendering;
using LayerChop.Engine.Chopping;
using LayerChop.Engine.Training;
using LayerChop.Settings;

namespace LayerChop.Client.Commands;

public static class TrainCommand
{
    public static Command Create()
    {
        var defaults = new TrainSettings();
        var dir = new Argument<string>("DIR") { Description = "Model folder to heal (usually a chopped model)" };
        var data = new Option<string[]>("--data") { Description = "Training corpus: JSONL (.jsonl, .jsonl.gz, .jsonl.zst), text (.txt), token files (.bin, .npy), or folders of them", Required = true, AllowMultipleArgumentsPerToken = true };
        var tokens = new Option<long>("--tokens") { Description = "Training tokens (rounded up to whole steps)", Required = true };
        var output = new Option<string>("--out") { Description = "Run folder: checkpoints during training, the healed model when done", Required = true };
        var resume = new Option<bool>("--resume") { Description = "Continue from the newest complete checkpoint in --out" };
        var json = new Option<bool>("--json") { Description = "JSON lines on stdout: one per step, then a final {\"done\":true,...}" };
        var textField = Cli.TextFieldOption();
        var seqLen = new Option<int>("--seq-len") { Description = "Tokens per training sequence", DefaultValueFactory = _ => defaults.SeqLen };
        var batchTokens = new Option<int>("--batch-tokens") { Description = "Tokens per optimizer step (multiple of --seq-len)", DefaultValueFactory = _ => defaults.BatchTokens };
        var microBatch = new Option<int>("--micro-batch") { Description = "Sequences per forward pass; gradient accumulation covers the rest of a step (default: the largest divisor up to 8)", DefaultValueFactory = _ => defaults.MicroBatch };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate", DefaultValueFactory = _ => defaults.Lr };
        var warmup = new Option<int>("--warmup-steps") { Description = "Linear warm-up steps before cosine decay", DefaultValueFactory = _ => defaults.WarmupSteps };
        var minLr = new Option<double>("--min-lr-ratio") { Description = "Floor of the cosine decay, as a fraction of the peak", DefaultValueFactory = _ => defaults.MinLrRatio };
        var weightDecay = new Option<double>("--weight-decay") { Description = "AdamW weight decay on matrices", DefaultValueFactory = _ => defaults.WeightDecay };
        var decayEmbeddings = new Option<bool>("--decay-embeddings") { Description = "Also decay the token embedding", DefaultValueFactory = _ => defaults.DecayEmbeddings };
        var gradClip = new Option<double>("--grad-clip") { Description = "Clip the global gradient norm (0: off)", DefaultValueFactory = _ => defaults.GradClip };
        var seed = new Option<long>("--seed") { Description = "Data order seed", DefaultValueFactory = _ => 1 };
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "Steps between checkpoints", DefaultValueFactory = _ => defaults.CheckpointEvery };
        var keep = new Option<int>("--keep-checkpoints") { Description = "Checkpoints to keep", DefaultValueFactory = _ => defaults.KeepCheckpoints };
        var heldout = new Option<int>("--heldout-per-mille") { Description = "Documents held out for validation, per thousand", DefaultValueFactory = _ => defaults.HeldoutPerMille };
        var valSequences = new Option<int>("--val-sequences") { Description = "Held-out sequences for the final validation loss", DefaultValueFactory = _ => defaults.ValSequences };
        var precision = new Option<string>("--precision") { Description = "fp32, or bf16 (bf16 compute with fp32 master weights and optimizer state)", DefaultValueFactory = _ => defaults.Precision };
        var device = Cli.DeviceOption();
        var checkpointing = new Option<bool>("--activation-checkpointing") { Description = "Recompute each decoder layer in the backward pass instead of keeping its activations: much less memory for about a third more compute, the same gradients", DefaultValueFactory = _ => defaults.ActivationCheckpointing };
        var teacher = new Option<string?>("--teacher") { Description = "Distill from this (unchopped) model instead of plain continued pretraining (implies --heal-method distill)" };
        var distillWeight = new Option<double>("--distill-weight") { Description = "Weight of KL(teacher || student)", DefaultValueFactory = _ => defaults.DistillWeight };
        var distillTemperature = new Option<double>("--distill-temperature") { Description = "Softmax temperature for distillation", DefaultValueFactory = _ => defaults.DistillTemperature };
        var distillHidden = new Option<double>("--distill-hidden-weight") { Description = "Weight of hidden-state MSE at mapped layers (0: off)", DefaultValueFactory = _ => defaults.DistillHiddenWeight };
        var healing = new HealMethodOptions();
        var chop = new Option<string?>("--chop") { Description = "Chop inside the run: DIR is the unchopped model and these layers go (a strategy as for 'layerchop chop')" };
        var chopRemove = new Option<int?>("--chop-remove") { Description = "K for --chop" };
        var optimizerWarmup = new Option<int>("--optimizer-warmup-steps") { Description = "Steps on the unchopped model at learning rate 0 before --chop, so AdamW's moments start filled (the paper uses 500)", DefaultValueFactory = _ => defaults.OptimizerWarmupSteps };

        var command = new Command("train", "Heal a model with continued pretraining (or distillation, or LoRA), resumable to the bit")
        {
            dir, data, tokens, output, resume, json, textField, seqLen, batchTokens, microBatch, lr, warmup, minLr, weightDecay,
            decayEmbeddings, gradClip, seed, checkpointEvery, keep, heldout, valSequences, precision, device,
            teacher, distillWeight, distillTemperature, distillHidden, chop, chopRemove, optimizerWarmup,
        };
        command.Options.Add(checkpointing);
        foreach (var option in healing.All) command.Options.Add(option);
        command.SetAction(p => Cli.Run(() =>
        {
            var (method, lora) = healing.Read(p, teacher: p.GetValue(teacher) is not null);
            var options = new TrainOptions
            {
                Data = p.GetValue(data)!, Tokens = p.GetValue(tokens), TextField = p.GetValue(textField)!,
                Settings = new TrainSettings
                {
                    SeqLen = p.GetValue(seqLen), BatchTokens = p.GetValue(batchTokens), MicroBatch = p.GetValue(microBatch),
                    Lr = p.GetValue(lr), WarmupSteps = p.GetValue(warmup), MinLrRatio = p.GetValue(minLr),
                    WeightDecay = p.GetValue(weightDecay), DecayEmbeddings = p.GetValue(decayEmbeddings), GradClip = p.GetValue(gradClip),
                    CheckpointEvery = p.GetValue(checkpointEvery), KeepCheckpoints = p.GetValue(keep),
                    HeldoutPerMille = p.GetValue(heldout), ValSequences = p.GetValue(valSequences), Precision = p.GetValue(precision)!,
                    OptimizerWarmupSteps = p.GetValue(optimizerWarmup), DistillWeight = p.GetValue(distillWeight),
                    DistillTemperature = p.GetValue(distillTemperature), DistillHiddenWeight = p.GetValue(distillHidden),
                    ActivationCheckpointing = p.GetValue(checkpointing),
                },
                Seed = p.GetValue(seed), Device = p.GetValue(device)!, Teacher = p.GetValue(teacher),
                Method = method, Lora = lora,
                Chop = p.GetValue(chop) is { } chopText ? ChopStrategy.ParseSettings(chopText, p.GetValue(chopRemove)) : null,
            };
            bool asJson = p.GetValue(json);
            using var stop = new CancellationTokenSource();
            void RequestStop(PosixSignalContext context) { context.Cancel = true; stop.Cancel(); }
            using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, RequestStop);
            using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, RequestStop);

            var observer = new ConsoleTrainingObserver(asJson);
            TrainResult result;
            try { result = new Trainer(p.GetValue(dir)!, p.GetValue(output)!, options, observer).Run(p.GetValue(resume), stop.Token); }
            finally { observer.Finish(); }
            if (!result.Completed)
            {
                Console.Error.WriteLine($"stopped at step {result.Steps}; checkpoint saved. Run the same command with --resume to continue.");
                return Cli.Interrupted;
            }
            if (asJson)
                Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object?>
                {
                    ["done"] = true, ["steps"] = result.Steps, ["tokens"] = result.Tokens,
                    ["final_loss"] = result.FinalLoss, ["val_loss"] = result.ValLoss,
                }));
            else
                Console.Error.WriteLine($"done: {result.Steps} steps, {result.Tokens:N0} tokens, final loss {result.FinalLoss:0.0000}, validation loss {result.ValLoss:0.0000}; healed model in {result.OutputFolder}");
            return 0;
        }));
        return command;
    }
}

/// <summary>
/// A live progress line for people (stderr; a plain line every 10 s when stderr is not a terminal), or one JSON
/// object per step for machines (stdout).
/// </summary>
sealed class ConsoleTrainingObserver(bool json) : ITrainingObserver
{
    readonly LiveBlock progress = new(plainEvery: TimeSpan.FromSeconds(10));
    readonly LiveBlock corpus = new(plainEvery: null, liveEvery: TimeSpan.FromSeconds(0.2));

    public void OnMessage(string message) { Finish(); progress.Message(message); }

    public void OnStep(StepReport r)
    {
        if (json)
        {
            Cli.WriteJsonLine(new Dictionary<string, object>
            {
                ["step"] = r.Step, ["tokens"] = r.Tokens, ["loss"] = r.Loss, ["lr"] = r.Lr, ["tokens_per_s"] = Math.Round(r.TokensPerSecond, 1),
            });
            return;
        }
        var remaining = r.Step == 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(r.Elapsed.TotalSeconds / Math.Max(1, r.Step - FirstStep + 1) * (r.TotalSteps - r.Step));
        progress.Show([$"{Bar.Of(r.Step, r.TotalSteps, 24)} step {r.Step}/{r.TotalSteps}  loss {r.Loss:0.0000}  lr {r.Lr:0.00e+0}  {r.TokensPerSecond:N0} tok/s  ETA {remaining:hh\\:mm\\:ss}"],
            important: r.Step == r.TotalSteps);
    }

    long FirstStep { get; set; } = 1;

    public void OnStart(long startStep, long totalSteps, long tokensPerStep) => FirstStep = startStep + 1;

    public void OnCheckpoint(long step, string folder) { }

    public void OnCorpusProgress(LayerChop.Engine.Data.CorpusProgress p)
    {
        if (json) return;
        double percent = p.TotalBytes > 0 ? 100.0 * p.BytesRead / p.TotalBytes : 0;
        corpus.Show([$"tokenizing corpus: {percent:0}%  {p.Documents:N0} documents  {p.Tokens:N0} tokens"]);
    }

    /// <summary>Leave the progress lines drawn so far where they are; what follows goes below them.</summary>
    public void Finish()
    {
        progress.End();
        corpus.End();
    }
}
