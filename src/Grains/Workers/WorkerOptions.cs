using LayerChop.Worker;

namespace LayerChop.Grains.Workers;

/// <summary>How this silo runs workers.</summary>
public sealed class WorkerOptions
{
    /// <summary>Concurrent workers: one per device of <see cref="Devices"/>, else CPU slots.</summary>
    public int Slots { get; init; } = 1;
    /// <summary>The GPU each worker slot is pinned to (CUDA_VISIBLE_DEVICES): slot i runs on device Devices[i]. Empty: CPU slots.</summary>
    public IReadOnlyList<int> Devices { get; init; } = [];
    public bool Gpu => Devices.Count > 0;
    /// <summary>Each slot's memory in bytes (see <see cref="SlotMemory"/>): slot i takes only work the memory plan fits in
    /// SlotMemoryBytes[i]; null, or a slot past the list's end, where it is not known (such a slot takes any work).</summary>
    public IReadOnlyList<long?> SlotMemoryBytes { get; init; } = [];
    /// <summary>The command that starts the layerchop binary, e.g. ["dotnet", "/opt/layerchop/layerchop.dll"].</summary>
    public required IReadOnlyList<string> Command { get; init; }
    /// <summary>Torch threads per CPU worker (0: libtorch's default).</summary>
    public int CpuThreads { get; init; }
    /// <summary>Variables set in every worker's environment on top of the silo's own (e.g. LAYERCHOP_HOST_LOCKS).</summary>
    public IReadOnlyDictionary<string, string> WorkerEnvironment { get; init; } = new Dictionary<string, string>();

    /// <summary>The memory of slot <paramref name="slot"/> in bytes; null when it is not known.</summary>
    public long? MemoryOf(int slot) => slot < SlotMemoryBytes.Count ? SlotMemoryBytes[slot] : null;

    /// <summary>One worker per device of <paramref name="devices"/>, pinned to it; without devices, <paramref name="cpuSlots"/> CPU workers.</summary>
    /// <param name="command">what starts a worker; by default <see cref="LayerChopCommand"/>.</param>
    /// <param name="cpuSlotGib">each CPU slot's memory; by default the host's RAM divided by the slots (see <see cref="SlotMemory.ForSlots"/>).</param>
    public static WorkerOptions ForHost(IReadOnlyList<int> devices, int cpuSlots, int cpuThreads, IReadOnlyList<string>? command = null, double? cpuSlotGib = null) => new()
    {
        Slots = devices.Count > 0 ? devices.Count : cpuSlots, Devices = devices, CpuThreads = cpuThreads, Command = command ?? LayerChopCommand(),
        SlotMemoryBytes = SlotMemory.ForSlots(devices, cpuSlots, cpuSlotGib),
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
