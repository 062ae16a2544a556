using System.Diagnostics;
using LayerChop.Engine.Checkpoints;
using LayerChop.Engine.Chopping.Importance;
using LayerChop.Engine.Modeling;
using static TorchSharp.torch;

// Engine benchmarks whose figures go to bench/RESULTS.md. Each prints one result line.
//   layerchop-bench load DIR [f32|bf16]                 time to load a model folder, and peak resident memory
//   layerchop-bench forward L H A K I V BATCH SEQ [f32|bf16]   forward tokens/s (no grad) of a random model of that shape
//   layerchop-bench importance [L H A K I V N T REMOVE [f32|bf16]]  cost of each layer-importance criterion on a random
//                                                     model (default L8 H384 A6/2 I1024 V8192, 32 x 128 tokens, remove 2)
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
    default:
        Console.Error.WriteLine("usage: layerchop-bench load DIR [f32|bf16] | forward L H A K I V BATCH SEQ [f32|bf16] | importance [L H A K I V N T REMOVE [f32|bf16]]");
        return 2;
}
return 0;

static long PeakRssKb()
{
    foreach (var line in File.ReadLines("/proc/self/status"))
        if (line.StartsWith("VmHWM:")) return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
    return -1;
}
