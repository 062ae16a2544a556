namespace LayerChop.Grains.Workers;

/// <summary>How this silo runs workers.</summary>
public sealed class WorkerOptions
{
    /// <summary>Concurrent workers: GPUs found (or given with --gpus), else CPU slots.</summary>
    public int Slots { get; init; } = 1;
    public bool Gpu { get; init; }
    /// <summary>The command that starts the layerchop binary, e.g. ["dotnet", "/opt/layerchop/layerchop.dll"].</summary>
    public required IReadOnlyList<string> Command { get; init; }
    /// <summary>Torch threads per CPU worker (0: libtorch's default).</summary>
    public int CpuThreads { get; init; }

    /// <summary>The running layerchop binary, as a command that starts another copy of it.</summary>
    public static IReadOnlyList<string> CurrentBinary()
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
