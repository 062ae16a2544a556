using System.Diagnostics;
using System.Globalization;

namespace LayerChop.Worker;

/// <summary>
/// How much memory a worker slot has: a GPU slot its device's total memory as the driver reports it
/// (nvidia-smi), a CPU slot a share of the host's RAM or what the silo's configuration gives it. A free slot
/// takes only work that the memory plan says it can hold, and each worker is told its slot's memory
/// (<see cref="Variable"/>), so that running out of it is reported against that figure.
/// </summary>
public static class SlotMemory
{
    /// <summary>The variable that gives a worker its slot's memory in bytes; set by the silo that starts it.</summary>
    public const string Variable = "LAYERCHOP_SLOT_MEMORY";

    /// <summary>
    /// The memory of each slot: slot i of a GPU silo has device <paramref name="devices"/>[i]'s total memory, a CPU
    /// slot <paramref name="cpuSlotGib"/> GiB, by default the host's RAM divided by <paramref name="cpuSlots"/>.
    /// Null where it cannot be told (a device nvidia-smi does not list, a host without /proc/meminfo): such a slot
    /// takes any work.
    /// </summary>
    public static IReadOnlyList<long?> ForSlots(IReadOnlyList<int> devices, int cpuSlots, double? cpuSlotGib = null)
    {
        if (devices.Count > 0)
        {
            var totals = GpuTotals();
            return devices.Select(d => totals.TryGetValue(d, out long bytes) ? bytes : (long?)null).ToArray();
        }
        long? each = cpuSlotGib is { } gib ? (long)(gib * Engine.Memory.MemoryUnits.GiB) : HostBytes() / Math.Max(1, cpuSlots);
        return Enumerable.Repeat(each, Math.Max(0, cpuSlots)).ToArray();
    }

    /// <summary>The host's RAM (MemTotal of /proc/meminfo); null where there is none.</summary>
    public static long? HostBytes() => File.Exists(MemInfo) ? ParseMemTotal(File.ReadAllText(MemInfo)) : null;

    const string MemInfo = "/proc/meminfo";

    /// <summary>MemTotal of a /proc/meminfo text ("MemTotal:       24567890 kB") in bytes; null when it has none.</summary>
    public static long? ParseMemTotal(string meminfo)
    {
        foreach (var line in meminfo.Split('\n'))
        {
            if (!line.StartsWith("MemTotal:", StringComparison.Ordinal)) continue;
            var parts = line["MemTotal:".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && parts[1] == "kB" && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out long kib))
                return kib * 1024;
        }
        return null;
    }

    /// <summary>Every GPU's total memory in bytes by device index, as nvidia-smi lists them; empty on a host without it.</summary>
    public static IReadOnlyDictionary<int, long> GpuTotals()
    {
        try
        {
            var info = new ProcessStartInfo("nvidia-smi", "--query-gpu=index,memory.total --format=csv,noheader,nounits")
            {
                RedirectStandardOutput = true, RedirectStandardError = true,
            };
            using var process = Process.Start(info)!;
            var text = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 ? ParseGpuTotals(text) : new Dictionary<int, long>();
        }
        catch (System.ComponentModel.Win32Exception) { return new Dictionary<int, long>(); }   // no nvidia-smi: a CPU host
    }

    /// <summary>
    /// The output of <c>nvidia-smi --query-gpu=index,memory.total --format=csv,noheader,nounits</c>, one
    /// "INDEX, MIB" line per device, as bytes by device index; lines that are not such a pair are left out.
    /// </summary>
    public static IReadOnlyDictionary<int, long> ParseGpuTotals(string csv)
    {
        var totals = new Dictionary<int, long>();
        foreach (var line in csv.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var fields = line.Split(',', StringSplitOptions.TrimEntries);
            if (fields.Length == 2 && int.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out int index)
                && long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out long mib))
                totals[index] = mib * 1024 * 1024;
        }
        return totals;
    }

    /// <summary>
    /// This worker's memory: what its silo said (<see cref="Variable"/>); run by hand, the host's RAM on the CPU,
    /// or the total memory of the first GPU CUDA_VISIBLE_DEVICES names (device 0 when it names none).
    /// </summary>
    public static long? OfThisWorker(bool cuda)
    {
        if (long.TryParse(Environment.GetEnvironmentVariable(Variable), NumberStyles.None, CultureInfo.InvariantCulture, out long given)) return given;
        if (!cuda) return HostBytes();
        var visible = Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES")?.Split(',')[0];
        int device = int.TryParse(visible, NumberStyles.None, CultureInfo.InvariantCulture, out int d) ? d : 0;
        return GpuTotals().TryGetValue(device, out long bytes) ? bytes : null;
    }

    /// <summary>A slot's memory for people: in GiB, or "unknown".</summary>
    public static string Describe(long? bytes) => bytes is { } b ? Engine.Memory.MemoryUnits.Gib(b) : "unknown";
}
