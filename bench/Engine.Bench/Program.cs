using System.Diagnostics;
using LayerChop.Engine.Checkpoints;
using LayerChop.Engine.Data;
using LayerChop.Engine.Evaluation;
using LayerChop.Engine.Chopping.Importance;
using LayerChop.Engine.Modeling;
using LayerChop.Engine.Training;
using LayerChop.Bench;
using static TorchSharp.torch;

// Engine benchmarks whose figures go to bench/RESULTS.md. Each prints one result line.
//   layerchop-bench load DIR [f32|bf16]                 time to load a model folder, and peak resident memory
//   layerchop-bench forward L H A K I V BATCH SEQ [f32|bf16]   forward tokens/s (no grad) of a random model of that shape
//   layerchop-bench eval tiny|20m|L,H,A,K,I,V [QUESTIONS] [BATCH] [f32|bf16]
//                                                       multiple-choice scoring requests/s with and without the shared context,
//                                                       on synthetic questions (contexts 40-120 tokens, 4 choices of 8-32 tokens)
//   layerchop-bench importance [L H A K I V N T REMOVE [f32|bf16]]  cost of each layer-importance criterion on a random
//                                                     model (default L8 H384 A6/2 I1024 V8192, 32 x 128 tokens, remove 2)
//   layerchop-bench random-checkpoint CONFIG_DIR OUT  a checkpoint of CONFIG_DIR's config.json shape, bf16 normal(0, 0.02)
//                                                     values written tensor by tensor in 5 GB shards, with that config.json
//   layerchop-bench device|reference|parity|serve ...   device checks, parity and serving speed of model folders on
//                                                     any device (DeviceBench.cs; bench/gpu/run.sh calls them)
switch (args.FirstOrDefault())
{
    case "load":
        {
            var dtype = DTypes.Parse(args.ElementAtOrDefault(2) ?? "f32");
            long rssBefore = PeakRssKb();
            var clock = Stopwatch.StartNew();
            using var model = ModelFolder.Load(args[1], dtype);
            double seconds = clock.Elapsed.TotalSeconds;
            long bytes = Directory.EnumerateFiles(args[1], "*.safetensors").Sum(f => new FileInfo(f).Length);
            long paramBytes = model.NamedWeights().Sum(p => p.Parameter.numel() * p.Parameter.ElementSize);
            Console.WriteLine($"load {args[1]}: {bytes / 1e9:0.000} GB on disk, {DTypes.TorchName(dtype)} in memory {paramBytes / 1e9:0.000} GB, " +
                              $"{seconds:0.00} s ({bytes / 1e9 / seconds:0.00} GB/s), peak RSS {PeakRssKb() / 1e6:0.000} GB (before load {rssBefore / 1e6:0.000} GB)");
            break;
        }
    case "forward":
        {
            int[] n = args.Skip(1).Take(8).Select(int.Parse).ToArray();
            var dtype = DTypes.Parse(args.ElementAtOrDefault(9) ?? "f32");
            var config = ModelConfig.CreateLlama(n[0], n[1], n[2], n[3], n[4], n[5], maxPositions: Math.Max(2048, n[7]));
            using var model = new CausalLM(config, dtype, CPU);
            model.InitializeRandom(1);
            model.eval();
            using var ids = randint(0, n[5], [n[6], n[7]]);
            using var noGrad = no_grad();
            model.Forward(ids).Dispose();                                  // warm-up
            int reps = 0;
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed.TotalSeconds < 5 || reps < 3) { model.Forward(ids).Dispose(); reps++; }
            double perPass = clock.Elapsed.TotalSeconds / reps;
            Console.WriteLine($"forward L={n[0]} H={n[1]} heads={n[2]}/{n[3]} I={n[4]} V={n[5]} ({config.TotalParams / 1e6:0.0}M params, {DTypes.TorchName(dtype)}), " +
                              $"batch {n[6]} x seq {n[7]}, {get_num_threads()} threads: {perPass * 1000:0.0} ms/pass, {n[6] * n[7] / perPass:0} tokens/s");
            break;
        }
    case "train-step":
        {
            // Time the phases of one training step: forward + loss, backward, clipping, AdamW update.
            int[] n = args.Skip(1).Take(8).Select(int.Parse).ToArray();
            var config = ModelConfig.CreateLlama(n[0], n[1], n[2], n[3], n[4], n[5], maxPositions: Math.Max(2048, n[7] + 1));
            using var model = new CausalLM(config, ScalarType.Float32, CPU);
            model.InitializeRandom(1);
            model.train();
            using var optimizer = new AdamW(model.NamedWeights(), AdamW.DecayMatricesOnly);
            using var batch = randint(0, n[5], [n[6], n[7] + 1]);
            var times = new double[4];
            int reps = 0;
            var total = Stopwatch.StartNew();
            while (total.Elapsed.TotalSeconds < 10 || reps < 3)
            {
                using var scope = NewDisposeScope();
                var clock = Stopwatch.StartNew();
                optimizer.ZeroGrad();
                var loss = Losses.NextTokenLoss(model.Forward(batch.narrow(1, 0, n[7])), batch.narrow(1, 1, n[7]));
                loss.item<float>();
                times[0] += clock.Elapsed.TotalSeconds; clock.Restart();
                loss.backward();
                times[1] += clock.Elapsed.TotalSeconds; clock.Restart();
                optimizer.ClipGradNorm(1.0);
                times[2] += clock.Elapsed.TotalSeconds; clock.Restart();
                optimizer.Update(1e-4);
                times[3] += clock.Elapsed.TotalSeconds;
                reps++;
            }
            double step = times.Sum() / reps;
            Console.WriteLine($"train-step {config.TotalParams / 1e6:0.0}M params, batch {n[6]} x seq {n[7]}, {get_num_threads()} threads: " +
                $"{step * 1000:0} ms/step ({n[6] * n[7] / step:0} tokens/s): forward {times[0] / reps * 1000:0} ms, backward {times[1] / reps * 1000:0} ms, " +
                $"clip {times[2] / reps * 1000:0} ms, update {times[3] / reps * 1000:0} ms");
            break;
        }
    case "checkpoint":
        {
            // Write and restore a training checkpoint (fp32 weights + AdamW moments) of a model of this shape.
            int[] n = args.Skip(1).Take(6).Select(int.Parse).ToArray();
            var config = ModelConfig.CreateLlama(n[0], n[1], n[2], n[3], n[4], n[5]);
            using var model = new CausalLM(config, ScalarType.Float32, CPU);
            model.InitializeRandom(1);
            using var optimizer = new AdamW(model.NamedWeights(), AdamW.DecayMatricesOnly);
            var run = Path.Combine(Path.GetTempPath(), "layerchop-bench-checkpoint-" + Environment.ProcessId);
            var state = new TrainState { Step = 1, Tokens = 1, Cursor = new DataCursor(0, 0), OptionsKey = "", DataFingerprint = "", ModelShape = "", Losses = [] };
            var clock = Stopwatch.StartNew();
            TrainCheckpoint.Save(run, model, optimizer, state, keep: 1);
            double write = clock.Elapsed.TotalSeconds;
            var folder = TrainCheckpoint.Newest(run)!;
            long bytes = Directory.GetFiles(folder).Sum(f => new FileInfo(f).Length);
            clock.Restart();
            TrainCheckpoint.Restore(folder, optimizer, 1);
            double restore = clock.Elapsed.TotalSeconds;
            Directory.Delete(run, true);
            Console.WriteLine($"checkpoint {config.TotalParams / 1e6:0.0}M params: {bytes / 1e6:0.0} MB, write {write:0.000} s ({bytes / 1e9 / write:0.00} GB/s), restore {restore:0.000} s");
            break;
        }
    case "eval":
        {
            int[] shape = args.ElementAtOrDefault(1) switch
            {
                "tiny" => [4, 64, 4, 2, 128, 512],
                "20m" => [8, 384, 6, 2, 1024, 8192],
                string custom => custom.Split(',').Select(int.Parse).ToArray(),
                null => [4, 64, 4, 2, 128, 512],
            };
            int questions = int.Parse(args.ElementAtOrDefault(2) ?? "64");
            int batch = int.Parse(args.ElementAtOrDefault(3) ?? "16");
            var dtype = DTypes.Parse(args.ElementAtOrDefault(4) ?? "f32");
            var config = ModelConfig.CreateLlama(shape[0], shape[1], shape[2], shape[3], shape[4], shape[5], maxPositions: 2048);
            using var model = new CausalLM(config, dtype, CPU);
            model.InitializeRandom(1);
            model.eval();
            var requests = DeviceBench.SyntheticQuestions(shape[5], questions, new Random(1));
            new ModelScorer(model, new ScorerOptions { BatchSize = batch }).Score(requests.Take(8).ToList());   // warm-up
            // The modes alternate and each reports its best of `reps` runs: on a shared machine the minimum is the
            // figure least disturbed by other work.
            int reps = int.Parse(Environment.GetEnvironmentVariable("LAYERCHOP_BENCH_REPS") ?? "3");
            var best = new Dictionary<bool, (double Seconds, ModelScorer Scorer, IReadOnlyList<Loglikelihood> Scores)>();
            for (int rep = 0; rep < reps; rep++)
                foreach (bool shared in new[] { false, true })
                {
                    var scorer = new ModelScorer(model, new ScorerOptions { BatchSize = batch, SharedContext = shared });
                    var clock = Stopwatch.StartNew();
                    var scores = scorer.Score(requests);
                    double seconds = clock.Elapsed.TotalSeconds;
                    if (!best.TryGetValue(shared, out var b) || seconds < b.Seconds) best[shared] = (seconds, scorer, scores);
                }
            foreach (bool shared in new[] { false, true })
            {
                var (seconds, scorer, scores) = best[shared];
                double diff = scores.Zip(best[false].Scores).Max(p => Math.Abs(p.First.LogProb - p.Second.LogProb));
                Console.WriteLine($"eval {(shared ? "shared context    " : "context per choice")}: L={shape[0]} H={shape[1]} ({config.TotalParams / 1e6:0.00}M params, {DTypes.TorchName(dtype)}), " +
                                  $"{questions} questions x 4 choices, batch {batch}, {get_num_threads()} threads, best of {reps}: {requests.Count / seconds:0.0} requests/s " +
                                  $"({seconds:0.00} s, {scorer.ForwardPasses} passes, {scorer.TokensProcessed} token positions, max |diff| vs per-choice {diff:0.0e0})");
            }
            break;
        }
    case "random-checkpoint":
        {
            var config = ModelConfig.Load(args[1]);
            long h = config.HiddenSize, q = (long)config.NumHeads * config.HeadDim, kv = (long)config.NumKvHeads * config.HeadDim, inter = config.IntermediateSize;
            var shapes = new List<(string Name, long[] Shape)> { ("model.embed_tokens.weight", [config.VocabSize, h]) };
            for (int layer = 0; layer < config.NumLayers; layer++)
            {
                string p = $"model.layers.{layer}.";
                shapes.AddRange([(p + "self_attn.q_proj.weight", [q, h]), (p + "self_attn.k_proj.weight", [kv, h]), (p + "self_attn.v_proj.weight", [kv, h]),
                    (p + "self_attn.o_proj.weight", [h, q]), (p + "mlp.gate_proj.weight", [inter, h]), (p + "mlp.up_proj.weight", [inter, h]),
                    (p + "mlp.down_proj.weight", [h, inter]), (p + "input_layernorm.weight", [h]), (p + "post_attention_layernorm.weight", [h])]);
            }
            shapes.Add(("model.norm.weight", [h]));
            if (!config.TieWordEmbeddings) shapes.Add(("lm_head.weight", [config.VocabSize, h]));
            var generator = new Generator(1);
            var clock = Stopwatch.StartNew();
            Directory.CreateDirectory(args[2]);
            SafeTensorsCheckpoint.WriteStreaming(args[2], shapes.Select(s => new TensorSource(s.Name, ScalarType.BFloat16, s.Shape, () =>
            {
                using var values = randn(s.Shape, ScalarType.Float32, generator: generator);
                using var scaled = values.mul_(0.02);
                return scaled.to(ScalarType.BFloat16);
            })).ToList());
            File.Copy(Path.Combine(args[1], "config.json"), Path.Combine(args[2], "config.json"), overwrite: true);
            long bytes = Directory.EnumerateFiles(args[2], "*.safetensors").Sum(f => new FileInfo(f).Length);
            Console.WriteLine($"random-checkpoint {args[2]}: {shapes.Count} tensors, {bytes / 1e9:0.00} GB in {clock.Elapsed.TotalSeconds:0} s, peak RSS {PeakRssKb() / 1e6:0.000} GB");
            break;
        }
    case "importance":
        {
            int[] n = args.Length > 1 ? args.Skip(1).Take(9).Select(int.Parse).ToArray() : [8, 384, 6, 2, 1024, 8192, 32, 128, 2];
            var dtype = DTypes.Parse(args.ElementAtOrDefault(10) ?? "f32");
            var config = ModelConfig.CreateLlama(n[0], n[1], n[2], n[3], n[4], n[5], maxPositions: Math.Max(2048, n[7]));
            using var model = new CausalLM(config, dtype, CPU);
            model.InitializeRandom(1);
            model.eval();
            // Cost does not depend on what the tokens say, so uniformly random ids stand in for a corpus.
            var generator = new Generator(7);
            using var ids = randint(0, n[5], [n[6], n[7]], generator: generator);
            var calib = CalibrationSet.FromSequences(Enumerable.Range(0, n[6])
                .Select(s => ids[s].data<long>().Select(v => (int)v).ToArray()).ToList(), "random tokens");
            CalibrationMeasures.Perplexity(model, calib);                    // warm-up
            Console.WriteLine($"importance L={n[0]} H={n[1]} heads={n[2]}/{n[3]} I={n[4]} V={n[5]} ({config.TotalParams / 1e6:0.0}M params, " +
                              $"{DTypes.TorchName(dtype)}), calibration {n[6]} x {n[7]} tokens, remove {n[8]}, {get_num_threads()} threads");
            foreach (var name in DataDrivenStrategy.CriterionNames)
            {
                var result = DataDrivenStrategy.Create(name, n[8]).Select(model, calib);
                double seconds = result.WallTime.TotalSeconds;
                Console.WriteLine($"  {name,-16} removed [{string.Join(",", result.Removed)}]  {result.ForwardPasses,3} passes  {seconds,8:0.00} s  " +
                                  $"{seconds / result.ForwardPasses,6:0.00} s/pass");
            }
            var report = LayerImportance.Measure(model, calib);
            Console.WriteLine($"  {"model importance",-16} all layers      {report.ForwardPasses,3} passes  {report.WallTime.TotalSeconds,8:0.00} s  " +
                              $"{report.WallTime.TotalSeconds / report.ForwardPasses,6:0.00} s/pass");
            break;
        }
    case "device" or "reference" or "parity" or "serve":
        return DeviceBench.Run(args);
    default:
        Console.Error.WriteLine("usage: layerchop-bench load DIR [f32|bf16] | forward L H A K I V BATCH SEQ [f32|bf16] | train-step L H A K I V BATCH SEQ | checkpoint L H A K I V | eval tiny|20m|L,H,A,K,I,V [QUESTIONS] [BATCH] [f32|bf16] | importance [L H A K I V N T REMOVE [f32|bf16]] | device|reference|parity|serve ... (see DeviceBench.cs)");
        return 2;
}
return 0;

static long PeakRssKb()
{
    foreach (var line in File.ReadLines("/proc/self/status"))
        if (line.StartsWith("VmHWM:")) return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
    return -1;
}
