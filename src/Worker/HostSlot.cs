namespace LayerChop.Worker;

/// <summary>
/// One worker per slot of a host (a GPU, or a CPU slot): a worker holds its slot's lock file, under the host's
/// lock folder (<see cref="HostComputeGate.Folder"/>), for as long as it lives. A silo that restarts after a crash
/// does not know the workers of its previous life; if one of them is still on its way out, the new worker of
/// that slot waits for it instead of sharing the GPU with it. The kernel drops the lock when a process dies.
/// </summary>
public static class HostSlot
{
    /// <summary>The variable that names a worker's slot on its host (e.g. "gpu-0", "cpu-10.0.0.11:11111-1"); set by the silo.</summary>
    public const string Variable = "LAYERCHOP_SLOT";

    /// <summary>
    /// Takes <paramref name="slot"/> (nothing when it is null: a worker run by hand) in the host's lock
    /// <paramref name="folder"/>, waiting while an earlier worker holds it; <paramref name="waiting"/> is told once.
    /// The slot is held until the returned lock is disposed or the process ends.
    /// </summary>
    public static FileLock? Hold(string? slot, string folder, Action<string> waiting)
    {
        if (slot is not { Length: > 0 }) return null;
        Directory.CreateDirectory(folder);
        var fileLock = new FileLock(Path.Combine(folder, $"slot-{slot}.lock"));
        bool told = false;
        while (!fileLock.TryFlock(FileLock.Exclusive))
        {
            if (!told) { waiting(slot); told = true; }
            Thread.Sleep(100);
        }
        return fileLock;
    }
}
