using System.Runtime.InteropServices;

namespace LayerChop.Engine.Pipeline;

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
    const int LockShared = 1, LockExclusive = 2, Unlock = 8;
    readonly int turnstile, compute;
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
        Flock(compute, Unlock);
        holdsShared = false;
        AcquireShared();
    }

    /// <summary>Runs <paramref name="work"/> while no other worker on this host holds the gate; returns the time waited.</summary>
    public TimeSpan Exclusive(Action work)
    {
        bool wasShared = holdsShared;
        if (wasShared) { Flock(compute, Unlock); holdsShared = false; }
        var waited = System.Diagnostics.Stopwatch.StartNew();
        Flock(turnstile, LockExclusive);
        try
        {
            Flock(compute, LockExclusive);
            waited.Stop();
            try { work(); }
            finally { Flock(compute, Unlock); }
        }
        finally { Flock(turnstile, Unlock); }
        if (wasShared) AcquireShared();
        return waited.Elapsed;
    }

    void AcquireShared()
    {
        // Pass the turnstile (blocked while a measurement waits or runs), then join the other computing workers.
        Flock(turnstile, LockShared);
        Flock(turnstile, Unlock);
        Flock(compute, LockShared);
        holdsShared = true;
    }

    public void Dispose()
    {
        close(turnstile);   // closing the descriptors releases any lock they hold
        close(compute);
    }

    // Plain descriptors, not FileStream: .NET takes advisory locks of its own when it opens a file, which
    // would collide with the ones this gate holds.
    static int Open(string path)
    {
        int fd = open(path, OpenReadWrite | OpenCreate | OpenCloseOnExec, 0x1B6);   // rw-rw-rw-
        if (fd < 0) throw new IOException($"cannot open the host lock file {path} (errno {Marshal.GetLastPInvokeError()}); set LAYERCHOP_HOST_LOCKS to a writable folder");
        return fd;
    }

    static void Flock(int fd, int operation)
    {
        while (flock(fd, operation) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno != 4) throw new IOException($"flock on the host lock files in {Folder} failed (errno {errno})");   // 4: EINTR, try again
        }
    }

    const int OpenReadWrite = 2, OpenCreate = 0x40, OpenCloseOnExec = 0x80000;   // Linux O_RDWR, O_CREAT, O_CLOEXEC

    [DllImport("libc", SetLastError = true)]
    static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, int mode);

    [DllImport("libc", SetLastError = true)]
    static extern int flock(int fd, int operation);

    [DllImport("libc", SetLastError = true)]
    static extern int close(int fd);
}
