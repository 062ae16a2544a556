namespace LayerChop.Grains.Workers;

/// <summary>How this silo runs workers.</summary>
public sealed class WorkerOptions
{
    /// <summary>Concurrent workers: one per device of <see cref="Devices"/>, else CPU slots.</summary>
    public int Slots { get; init; } = 1;
    /// <summary>The GPU each worker slot is pinned to (CUDA_VISIBLE_DEVICES): slot i runs on device Devices[i]. Empty: CPU slots.</summary>
    public IReadOnlyList<int> Devices { get; init; } = [];
    public bool Gpu => Devices.Count > 0;
    /// <summary>The command that starts the layerchop binary, e.g. ["dotnet", "/opt/layerchop/layerchop.dll"].</summary>
    public required IReadOnlyList<string> Command { get; init; }
    /// <summary>Torch threads per CPU worker (0: libtorch's default).</summary>
    public int CpuThreads { get; init; }
    /// <summary>Variables set in every worker's environment on top of the silo's own (e.g. LAYERCHOP_HOST_LOCKS).</summary>
    public IReadOnlyDictionary<string, string> WorkerEnvironment { get; init; } = new Dictionary<string, string>();

    /// <summary>One worker per device of <paramref name="devices"/>, pinned to it; without devices, <paramref name="cpuSlots"/> CPU workers.</summary>
    /// <param name="command">what starts a worker; by default <see cref="LayerChopCommand"/>.</param>
    public static WorkerOptions ForHost(IReadOnlyList<int> devices, int cpuSlots, int cpuThreads, IReadOnlyList<string>? command = null) => new()
    {
        Slots = devices.Count > 0 ? devices.Count : cpuSlots, Devices = devices, CpuThreads = cpuThreads, Command = command ?? LayerChopCommand(),
    };

    /// <summary>The command that starts another layerchop process: `dotnet LAYERCHOP_WORKER_DLL` when that is set, else this binary.</summary>
    public static IReadOnlyList<string> LayerChopCommand() =>
        Environment.GetEnvironmentVariable("LAYERCHOP_WORKER_DLL") is { } dll ? ["dotnet", dll] : CurrentBinary();

    /// <summary>The running layerchop binary, as a command that starts another copy of it.</summary>
    static IReadOnlyList<string> CurrentBinary()
    {
        var process = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell which binary is running");
        var entry = System.Reflection.Assembly.GetEntryAssembly()?.Location;
        bool viaDotnet = Path.GetFileNameWithoutExtension(process) == "dotnet";
        if (!viaDotnet) return [process];
        if (entry is null || Path.GetFileName(entry) != "layerchop.dll")
            throw new InvalidOperationException("this process is not layerchop; give the worker command explicitly (LAYERCHOP_WORKER_DLL)");
        return [process, entry];
    }
}
