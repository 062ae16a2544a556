namespace LayerChop.Grains.Workers;

/// <summary>
/// The worker slots of this silo: one per GPU (a worker is pinned to its GPU through CUDA_VISIBLE_DEVICES),
/// or a number of CPU slots in CPU mode. A slot is held by exactly one worker process at a time.
/// </summary>
public sealed class WorkerSlots(WorkerOptions options)
{
    readonly SemaphoreSlim free = new(options.Slots, options.Slots);
    readonly object gate = new();
    readonly SortedSet<int> available = new(Enumerable.Range(0, options.Slots));

    public int Capacity => options.Slots;
    public int Free { get { lock (gate) return available.Count; } }
    public bool Gpu => options.Gpu;

    public async Task<Slot> AcquireAsync(CancellationToken cancel)
    {
        await free.WaitAsync(cancel);
        lock (gate)
        {
            int index = available.Min;
            available.Remove(index);
            return new Slot(this, index);
        }
    }

    void Release(int index)
    {
        lock (gate)
        {
            if (!available.Add(index)) throw new InvalidOperationException($"slot {index} released twice");
        }
        free.Release();
    }

    public sealed class Slot(WorkerSlots owner, int index) : IDisposable
    {
        int released;
        public int Index { get; } = index;
        public void Dispose() { if (Interlocked.Exchange(ref released, 1) == 0) owner.Release(Index); }
    }
}

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
