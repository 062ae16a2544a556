using System.Globalization;

namespace LayerChop.SweepBench;

/// <summary>Summaries of a set of timings (milliseconds unless said otherwise).</summary>
static class Stats
{
    /// <summary>The nearest-rank percentile (p in 0..100) of the values.</summary>
    public static double Percentile(IEnumerable<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0) return double.NaN;
        int rank = (int)Math.Ceiling(p / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    public static double Median(IEnumerable<double> values) => Percentile(values, 50);

    /// <summary>"mean M, median D, max X" with the unit after each: milliseconds to 0.1, seconds to 0.01.</summary>
    public static string MeanMedianMax(IReadOnlyCollection<double> values, string unit = "ms")
    {
        if (values.Count == 0) return "none";
        string format = unit == "s" ? "0.00" : "0.0";
        string F(double v) => v.ToString(format, CultureInfo.InvariantCulture) + " " + unit;
        return $"mean {F(values.Average())}, median {F(Median(values))}, max {F(values.Max())} (n={values.Count})";
    }

    /// <summary>"p50 A, p99 B, mean C, max D" for latencies measured in milliseconds.</summary>
    public static string Latency(IReadOnlyCollection<double> ms) =>
        Invariant($"p50 {Percentile(ms, 50):0.000} ms, p99 {Percentile(ms, 99):0.000} ms, mean {ms.Average():0.000} ms, max {ms.Max():0.000} ms (n={ms.Count})");

    public static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// CPU time the rest of the machine used while a measurement ran: busy time from /proc/stat less that of this process
/// and of the processes named, to tell figures taken on a quiet machine from disturbed ones.
/// </summary>
sealed class OthersCpu(params int[] alsoMine)
{
    readonly int[] mine = [Environment.ProcessId, .. alsoMine];
    double? start;

    public OthersCpu Start() { start = Others(); return this; }

    public double Seconds => Math.Max(0, Others() - (start ?? 0));

    double Others() => BusySeconds() - mine.Sum(ProcessSeconds);

    // /proc times are in clock ticks (USER_HZ), 100 per second on Linux.
    static double BusySeconds()
    {
        // "cpu  user nice system idle iowait irq softirq steal ..."
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8).Select(long.Parse).ToArray();
        return (fields.Sum() - fields[3] - fields[4]) / 100.0;
    }

    static double ProcessSeconds(int pid) => ProcStat.Fields(pid) is { } f ? (long.Parse(f[11]) + long.Parse(f[12])) / 100.0 : 0;
}

/// <summary>/proc/PID/stat of a process.</summary>
static class ProcStat
{
    /// <summary>
    /// The fields after "pid (comm) ": [0] state, [1] ppid, ... [11] utime, [12] stime; null when there is no such process.
    /// </summary>
    public static string[]? Fields(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (IOException) { return null; }
    }
}
