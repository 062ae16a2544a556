namespace LayerChop.Worker;

/// <summary>
/// Host-wide turn-taking between the workers of one machine, so that a CPU latency figure is taken while no
/// other LayerChop worker computes on the host. Every worker holds the gate shared while it computes and lets
/// go of it between steps (<see cref="Yield"/>); a latency measurement holds it exclusively, so it starts once
/// every other worker has finished its current step and the others wait at their next step until it ends.
/// Two lock files under a host-local folder (LAYERCHOP_HOST_LOCKS, else the temp folder) carry it with
/// flock(2), which the kernel releases when a process dies, so a killed worker never leaves the gate closed.
/// A turnstile lock in front of the shared one stops a stream of short steps from starving the measurement.
/// </summary>
public sealed class HostComputeGate : IDisposable
{
    readonly FileLock turnstile, compute;
    bool holdsShared;

    HostComputeGate(string folder)
    {
        Directory.CreateDirectory(folder);
        turnstile = Open(Path.Combine(folder, "turnstile.lock"));
        compute = Open(Path.Combine(folder, "compute.lock"));
    }

    /// <summary>The folder of this host's lock files.</summary>
    public static string Folder => Environment.GetEnvironmentVariable("LAYERCHOP_HOST_LOCKS") is { Length: > 0 } dir
        ? dir : Path.Combine(Path.GetTempPath(), "layerchop-host");

    /// <summary>Opens the host's gate and holds it shared (this process computes).</summary>
    public static HostComputeGate EnterShared()
    {
        var gate = new HostComputeGate(Folder);
        gate.AcquireShared();
        return gate;
    }

    /// <summary>Between two steps: lets a waiting measurement go first, then holds the gate shared again.</summary>
    public void Yield()
    {
        if (!holdsShared) return;
        compute.Flock(FileLock.Unlock);
        holdsShared = false;
        AcquireShared();
    }

    /// <summary>Runs <paramref name="work"/> while no other worker on this host holds the gate; returns the time waited.</summary>
    public TimeSpan Exclusive(Action work)
    {
        bool wasShared = holdsShared;
        if (wasShared) { compute.Flock(FileLock.Unlock); holdsShared = false; }
        var waited = System.Diagnostics.Stopwatch.StartNew();
        turnstile.Flock(FileLock.Exclusive);
        try
        {
            compute.Flock(FileLock.Exclusive);
            waited.Stop();
            try { work(); }
            finally { compute.Flock(FileLock.Unlock); }
        }
        finally { turnstile.Flock(FileLock.Unlock); }
        if (wasShared) AcquireShared();
        return waited.Elapsed;
    }

    void AcquireShared()
    {
        // Pass the turnstile (blocked while a measurement waits or runs), then join the other computing workers.
        turnstile.Flock(FileLock.Shared);
        turnstile.Flock(FileLock.Unlock);
        compute.Flock(FileLock.Shared);
        holdsShared = true;
    }

    public void Dispose()
    {
        turnstile.Dispose();
        compute.Dispose();
    }

    static FileLock Open(string path)
    {
        try { return new FileLock(path); }
        catch (IOException e) { throw new IOException($"{e.Message}; set LAYERCHOP_HOST_LOCKS to a writable folder", e); }
    }
}
