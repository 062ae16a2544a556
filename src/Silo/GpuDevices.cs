using System.Diagnostics;
using System.Globalization;
using LayerChop.Engine;

namespace LayerChop.Silo;

/// <summary>Which GPUs of this host run workers, one worker pinned to each: `gpus` of the silo and `--gpus` of sweep run.</summary>
public static class GpuDevices
{
    /// <summary>
    /// The device indices <paramref name="text"/> names: auto (every GPU nvidia-smi lists), a count N (devices
    /// 0..N-1; 0: none, CPU slots run instead), or a list of indices, "0,2" or "[0,2]" ("[1]" for one device).
    /// </summary>
    /// <param name="source">how an error names the value: "--gpus two", "LAYERCHOP_GPUS=two".</param>
    public static IReadOnlyList<int> Select(string text, string source)
    {
        var value = text.Trim();
        if (value == "auto") return Enumerable.Range(0, CountVisible()).ToArray();
        bool bracketed = value.StartsWith('[') && value.EndsWith(']');
        if (!bracketed && !value.Contains(','))
            return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int count)
                ? Enumerable.Range(0, count).ToArray()
                : throw Bad(source);
        var items = (bracketed ? value[1..^1] : value).Split(',', StringSplitOptions.TrimEntries);
        var devices = new List<int>();
        foreach (var item in items)
        {
            if (!int.TryParse(item, NumberStyles.None, CultureInfo.InvariantCulture, out int device)) throw Bad(source);
            if (devices.Contains(device)) throw new LayerChopException($"{source}: device {device} is listed twice; give each GPU once");
            devices.Add(device);
        }
        return devices;
    }

    /// <summary>
    /// The devices, when this host has each of them (nvidia-smi lists it); otherwise one line saying how many it
    /// has: a worker pinned to a GPU that is not there would fail every candidate it took.
    /// </summary>
    public static IReadOnlyList<int> RequireVisible(IReadOnlyList<int> devices, string source)
    {
        if (devices.Count == 0) return devices;
        int visible = CountVisible();
        if (devices.Max() >= visible)
            throw new LayerChopException(visible == 0
                ? $"{source}: this host has no GPU (nvidia-smi lists none); leave the GPUs out (0) to run on CPU slots"
                : $"{source}: this host has {visible} GPU(s), devices 0 to {visible - 1}; name only those");
        return devices;
    }

    static LayerChopException Bad(string source) =>
        new($"{source}: give auto, a number of GPUs, or device indices like 0,2");

    /// <summary>GPUs nvidia-smi lists; 0 on a host without it.</summary>
    public static int CountVisible()
    {
        try
        {
            var info = new ProcessStartInfo("nvidia-smi", "-L") { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(info)!;
            var lines = process.StandardOutput.ReadToEnd().Split('\n').Count(l => l.StartsWith("GPU ", StringComparison.Ordinal));
            process.WaitForExit();
            return process.ExitCode == 0 ? lines : 0;
        }
        catch (System.ComponentModel.Win32Exception) { return 0; }      // no nvidia-smi: a CPU host
    }
}
