using System.Diagnostics;
using System.Text.Json;
using LayerChop.Engine.Checkpoints;
using LayerChop.Engine.Evaluation;
using LayerChop.Engine.Training;
using LayerChop.Worker;
using TorchSharp;
using static TorchSharp.torch;

namespace LayerChop.Bench;

/// <summary>
/// The device benchmarks bench/gpu/run.sh calls, on whatever device they are given (each prints one JSON line):
///   device [--device D]                                    the device works: a matmul, its speed
///   reference DIR OUT [--batch B] [--seq T]                LayerChop's own float32 logits of a model folder as a
///                                                          reference file (to check the parity plumbing itself)
///   parity DIR... [--device D] [--dtype T[,T]]            each model folder's logits against its reference.safetensors
///                                                          (another implementation's), in each dtype; exit 1 if any fails
///   serve DIR [--device D] [--dtype T] [--questions N] [--batch B] [--prompt P] [--new N] [--runs R]
///                                                          scoring requests/s and generation ms/token (median, p10,
///                                                          p90 of R runs) of a model folder
/// </summary>
static class DeviceBench
{
    public static int Run(string[] args)
    {
        var device = Trainer.ResolveDevice(Flag(args, "--device", "cpu"));
        var positional = Positional(args.Skip(1).ToArray());
        switch (args[0])
        {
            case "device": Print(DeviceCheck(device)); return 0;
            case "reference":
                {
                    using var model = ModelFolder.Load(positional[0]);
                    int batch = int.Parse(Flag(args, "--batch", "2")), seq = int.Parse(Flag(args, "--seq", "16"));
                    using var ids = randint(0, model.Config.VocabSize, [batch, seq], generator: new Generator(1));
                    ReferenceLogits.Write(positional[1], model, ids, "layerchop");
                    Print(new Dictionary<string, object?> { ["reference"] = positional[1], ["batch"] = batch, ["seq"] = seq });
                    return 0;
                }
            case "parity":
                {
                    bool allPassed = true;
                    foreach (var folder in positional)
                        foreach (var each in Flag(args, "--dtype", "f32").Split(','))
                        {
                            using var model = ModelFolder.Load(folder, DTypes.Parse(each), device);
                            var result = ReferenceLogits.Compare(model, Path.Combine(folder, ReferenceLogits.FileName));
                            Console.WriteLine(result.ToJson(folder));
                            allPassed &= result.Passed != false;
                        }
                    return allPassed ? 0 : 1;
                }
            case "serve": Print(Serve(positional[0], device, DTypes.Parse(Flag(args, "--dtype", "f32")), args)); return 0;
            default: return 2;
        }
    }

    static Dictionary<string, object?> DeviceCheck(Device device)
    {
        bool onCuda = device.type == DeviceType.CUDA;
        int n = onCuda ? 8192 : 512;
        var dtype = onCuda ? ScalarType.BFloat16 : ScalarType.Float32;
        // Every temporary is made in a dispose scope, which keeps it referenced until its native call is done.
        using var outer = NewDisposeScope();
        var a = randn([n, n], dtype, device);
        var b = randn([n, n], dtype, device);
        a.matmul(b).sum().item<float>();                                             // warm-up
        int reps = onCuda ? 20 : 3;
        var clock = Stopwatch.StartNew();
        using (var scope = NewDisposeScope())
        {
            Tensor? c = null;
            for (int i = 0; i < reps; i++) c = a.matmul(b);
            c!.sum().item<float>();                                                  // waits for the device
        }
        double seconds = clock.Elapsed.TotalSeconds / reps;
        // A small product checked against float64 on the CPU: the device computes, not only runs.
        var x = randn([64, 64], ScalarType.Float64);
        var y = randn([64, 64], ScalarType.Float64);
        double error = (x.to(ScalarType.Float32).to(device).matmul(y.to(ScalarType.Float32).to(device)).cpu().to(ScalarType.Float64) - x.matmul(y))
            .abs().max().item<double>();
        return new()
        {
            ["device"] = device.ToString(), ["cuda_available"] = cuda.is_available(), ["cuda_devices"] = cuda.is_available() ? cuda.device_count() : 0,
            ["matmul"] = new Dictionary<string, object?>
            {
                ["n"] = n, ["dtype"] = DTypes.TorchName(dtype), ["ms"] = seconds * 1000, ["tflops"] = 2.0 * n * n * n / seconds / 1e12,
                ["f32_64x64_max_abs_error"] = error,
            },
            ["torch_threads"] = get_num_threads(),
        };
    }

    static Dictionary<string, object?> Serve(string folder, Device device, ScalarType dtype, string[] args)
    {
        int questions = int.Parse(Flag(args, "--questions", "64")), batch = int.Parse(Flag(args, "--batch", "16"));
        int prompt = int.Parse(Flag(args, "--prompt", "128")), newTokens = int.Parse(Flag(args, "--new", "64"));
        using var model = ModelFolder.Load(folder, dtype, device);
        var requests = SyntheticQuestions(model.Config.VocabSize, questions, new Random(1));
        var scorer = new ModelScorer(model, new ScorerOptions { BatchSize = batch });
        scorer.Score(requests.Take(8).ToList());                                  // warm-up
        var clock = Stopwatch.StartNew();
        scorer.Score(requests);
        double seconds = clock.Elapsed.TotalSeconds;
        var latency = LatencyMeter.Sample(model, prompt, newTokens, int.Parse(Flag(args, "--runs", "5")));
        return new()
        {
            ["model"] = folder, ["layers"] = model.NumLayers, ["params"] = model.Config.TotalParams, ["dtype"] = DTypes.TorchName(dtype),
            ["device"] = device.ToString(), ["requests"] = requests.Count, ["batch"] = batch, ["requests_per_s"] = requests.Count / seconds,
            ["prompt_tokens"] = prompt, ["new_tokens"] = newTokens, ["latency_runs"] = latency.Count,
            ["ms_per_token"] = LatencyMeter.Quantile(latency, 0.5), ["ms_per_token_p10"] = LatencyMeter.Quantile(latency, 0.1),
            ["ms_per_token_p90"] = LatencyMeter.Quantile(latency, 0.9),
        };
    }

    /// <summary>Multiple-choice requests shaped like the paper's tasks: contexts of 40-120 tokens, 4 choices of 8-32.</summary>
    public static List<TokenRequest> SyntheticQuestions(int vocab, int questions, Random random)
    {
        int[] Tokens(int n) => Enumerable.Range(0, n).Select(_ => random.Next(vocab)).ToArray();
        var requests = new List<TokenRequest>();
        for (int q = 0; q < questions; q++)
        {
            var context = Tokens(random.Next(40, 121));
            for (int c = 0; c < 4; c++) requests.Add(new TokenRequest(context, Tokens(random.Next(8, 33))));
        }
        return requests;
    }

    static string Flag(string[] args, string name, string fallback)
    {
        int at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback;
    }

    static List<string> Positional(string[] args)
    {
        var list = new List<string>();
        for (int i = 0; i < args.Length; i++)
            if (args[i].StartsWith("--", StringComparison.Ordinal)) i++;
            else list.Add(args[i]);
        return list;
    }

    static void Print(object value) => Console.WriteLine(JsonSerializer.Serialize(value));
}
