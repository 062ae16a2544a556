using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using LayerChop.Engine;
using LayerChop.Engine.Inference;
using LayerChop.Engine.Modeling;

namespace LayerChop.Worker;

/// <summary>
/// One latency figure: milliseconds per generated token in the decode phase of key/value-cached greedy
/// generation, over <see cref="Runs"/> timed runs after a warm-up run, as the median and the 10th-90th
/// percentile spread. <see cref="Shape"/> names the architecture it belongs to and <see cref="Device"/> the
/// hardware; <see cref="Exclusive"/> says no other LayerChop worker computed on the host meanwhile (CPU), or
/// that the timing was taken on the model's own GPU (every generated token is read back to the host, which
/// synchronizes the device).
/// </summary>
public sealed record LatencyFigure
{
    public required double MedianMsPerToken { get; init; }
    public required double P10MsPerToken { get; init; }
    public required double P90MsPerToken { get; init; }
    public required int Runs { get; init; }
    public required int PromptTokens { get; init; }
    public required int NewTokens { get; init; }
    public required string Shape { get; init; }
    public required string Device { get; init; }
    public required bool Exclusive { get; init; }
    /// <summary>How long the measurement waited for the other workers of the host to pause.</summary>
    public double WaitedSeconds { get; init; }
    public DateTime MeasuredUtc { get; init; }
}

/// <summary>Time per generated token for a fixed prompt and generation length on the model's device.</summary>
public static class LatencyMeter
{
    public const int DefaultRuns = 15;

    /// <summary>Samples of ms per decoded token, one per run, after one warm-up run.</summary>
    public static IReadOnlyList<double> Sample(CausalLM model, int promptTokens, int newTokens, int runs)
    {
        if (promptTokens < 1 || newTokens < 2) throw new LayerChopException("latency needs at least 1 prompt token and 2 new tokens");
        if (runs < 1) throw new LayerChopException("latency needs at least one timed run");
        int total = Math.Min(promptTokens + newTokens, model.Config.MaxPositionEmbeddings);
        promptTokens = Math.Max(1, Math.Min(promptTokens, total - 2));
        newTokens = total - promptTokens;
        // The same prompt for every candidate of a vocabulary: ids spread over the vocabulary, no tokenizer needed.
        var prompt = Enumerable.Range(0, promptTokens).Select(i => (int)((i * 7919L + 13) % model.Config.VocabSize)).ToList();
        Generation.Generate(model, prompt, newTokens);                            // warm-up
        return Enumerable.Range(0, runs).Select(_ => Generation.Generate(model, prompt, newTokens).MsPerToken).ToList();
    }

    /// <summary>The q-quantile of samples, interpolating linearly between order statistics (numpy's default).</summary>
    public static double Quantile(IReadOnlyList<double> samples, double q)
    {
        if (samples.Count == 0) throw new ArgumentException("no samples");
        var sorted = samples.Order().ToArray();
        double position = q * (sorted.Length - 1);
        int low = (int)Math.Floor(position);
        int high = Math.Min(low + 1, sorted.Length - 1);
        return sorted[low] + (position - low) * (sorted[high] - sorted[low]);
    }
}

/// <summary>
/// Latency figures shared by every candidate of a sweep: latency depends on the architecture and the
/// hardware, not on the weights, so it is measured once per (shape, device, prompt and generation length)
/// and every candidate of that shape reads the same figure. Figures are files in one folder of the sweep
/// (on storage every host sees); the first worker to need one measures it and publishes it with a
/// create-only rename, so two workers that measured at once still both report the one figure that won.
/// On the CPU the measurement holds the <see cref="HostComputeGate"/> exclusively.
/// </summary>
public static class LatencyBook
{
    static JsonSerializerOptions Json => LayerChop.Settings.JsonFormat.Indented;

    public static LatencyFigure GetOrMeasure(string folder, CausalLM model, int promptTokens, int newTokens,
        HostComputeGate? gate, int runs = LatencyMeter.DefaultRuns)
    {
        string shape = Shape(model.Config);
        string device = DeviceName(model.Device);
        string key = Hash($"{shape}|{device}|{promptTokens}|{newTokens}|{runs}");
        var path = Path.Combine(folder, $"{key}.json");
        if (Read(path) is { } known) return known;

        // Measured only when still missing once the host is quiet; whatever figure is published first is the one returned.
        LatencyFigure? measured = null;
        void Measure()
        {
            if (File.Exists(path)) return;
            var samples = LatencyMeter.Sample(model, promptTokens, newTokens, runs);
            measured = new LatencyFigure
            {
                MedianMsPerToken = LatencyMeter.Quantile(samples, 0.5), P10MsPerToken = LatencyMeter.Quantile(samples, 0.1),
                P90MsPerToken = LatencyMeter.Quantile(samples, 0.9), Runs = runs, PromptTokens = promptTokens, NewTokens = newTokens,
                Shape = shape, Device = device, Exclusive = model.Device.type == TorchSharp.DeviceType.CUDA || gate is not null,
                MeasuredUtc = DateTime.UtcNow,
            };
        }
        var waited = TimeSpan.Zero;
        if (model.Device.type == TorchSharp.DeviceType.CPU && gate is not null) waited = gate.Exclusive(Measure);
        else Measure();
        if (measured is not null) Publish(folder, path, measured with { WaitedSeconds = Math.Round(waited.TotalSeconds, 3) });
        return Read(path) ?? throw new LayerChopException($"{path}: latency figure could not be read back");
    }

    /// <summary>Create-only: when another worker published the figure first, theirs stays.</summary>
    static void Publish(string folder, string path, LatencyFigure figure)
    {
        Directory.CreateDirectory(folder);
        var staging = Path.Combine(folder, $".{Path.GetFileNameWithoutExtension(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        File.WriteAllText(staging, JsonSerializer.Serialize(figure, Json));
        try { File.Move(staging, path, overwrite: false); }
        catch (IOException) when (File.Exists(path)) { File.Delete(staging); }
    }

    static LatencyFigure? Read(string path) =>
        File.Exists(path) ? JsonSerializer.Deserialize<LatencyFigure>(File.ReadAllText(path), Json) : null;

    /// <summary>
    /// What the speed of a forward pass depends on: every interpreted config field except the token ids and the
    /// stored dtype (figures are taken in the dtype the model is loaded in, part of the device name).
    /// </summary>
    public static string Shape(ModelConfig config)
    {
        var compute = config with { Raw = new(), BosTokenId = null, EosTokenId = null, TorchDtype = "" };
        return $"{config.ModelType} L{config.NumLayers} H{config.HiddenSize} I{config.IntermediateSize} A{config.NumHeads}/{config.NumKvHeads} V{config.VocabSize} #" +
               Hash(JsonSerializer.Serialize(compute, Json))[..8];
    }

    /// <summary>The hardware a figure was taken on: the CPU model and torch threads, or the GPU's name.</summary>
    public static string DeviceName(TorchSharp.torch.Device device)
    {
        if (device.type == TorchSharp.DeviceType.CUDA) return "cuda: " + GpuName();
        string cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "cpu"
            : "cpu";
        return $"cpu: {cpu}, {TorchSharp.torch.get_num_threads()} threads, float32";
    }

    static string GpuName()
    {
        // The worker's one visible GPU (CUDA_VISIBLE_DEVICES pins it), as nvidia-smi names it.
        try
        {
            var info = new ProcessStartInfo("nvidia-smi", "--query-gpu=name --format=csv,noheader") { RedirectStandardOutput = true, RedirectStandardError = true };
            var visible = Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES");
            if (!string.IsNullOrEmpty(visible)) info.Arguments += $" --id={visible.Split(',')[0]}";
            using var p = Process.Start(info)!;
            var name = p.StandardOutput.ReadToEnd().Split('\n')[0].Trim();
            p.WaitForExit();
            return name.Length > 0 ? name + ", float32" : "gpu, float32";
        }
        catch (System.ComponentModel.Win32Exception) { return "gpu, float32"; }
    }

    static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
}
