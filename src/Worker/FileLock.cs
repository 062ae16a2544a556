using System.Runtime.InteropServices;

namespace LayerChop.Worker;

/// <summary>
/// An advisory lock on a file with flock(2), held through a plain descriptor: the kernel releases it when the
/// process dies, so a killed process never leaves it held. Not a FileStream: .NET takes advisory locks of its
/// own when it opens a file, which would collide with these. On NFSv4, Linux carries flock over the network.
/// </summary>
public sealed class FileLock : IDisposable
{
    public const int Shared = 1, Exclusive = 2, Unlock = 8;
    readonly int fd;
    readonly string path;

    public FileLock(string path)
    {
        this.path = path;
        fd = open(path, OpenReadWrite | OpenCreate | OpenCloseOnExec, 0x1B6);   // rw-rw-rw-
        if (fd < 0) throw new IOException($"cannot open the lock file {path} (errno {Marshal.GetLastPInvokeError()})");
    }

    /// <summary>Takes (<see cref="Shared"/>, <see cref="Exclusive"/>) or drops (<see cref="Unlock"/>) the lock, waiting as long as it takes.</summary>
    public void Flock(int operation)
    {
        while (flock(fd, operation) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno != 4) throw new IOException($"flock on {path} failed (errno {errno})");   // 4: EINTR, try again
        }
    }

    /// <summary>Takes the lock if nobody holds it in a conflicting way; false (at once) when someone does.</summary>
    public bool TryFlock(int operation)
    {
        while (flock(fd, operation | NonBlocking) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno == WouldBlock) return false;
            if (errno != 4) throw new IOException($"flock on {path} failed (errno {errno})");
        }
        return true;
    }

    const int NonBlocking = 4, WouldBlock = 11;   // Linux LOCK_NB, EWOULDBLOCK

    /// <summary>Holds the lock exclusively until the returned value is disposed.</summary>
    public IDisposable HoldExclusive()
    {
        Flock(Exclusive);
        return new Release(this);
    }

    sealed class Release(FileLock owner) : IDisposable
    {
        int done;
        public void Dispose() { if (Interlocked.Exchange(ref done, 1) == 0) owner.Flock(Unlock); }
    }

    public void Dispose() => close(fd);   // closing the descriptor releases the lock

    const int OpenReadWrite = 2, OpenCreate = 0x40, OpenCloseOnExec = 0x80000;   // Linux O_RDWR, O_CREAT, O_CLOEXEC

    [DllImport("libc", SetLastError = true)]
    static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, int mode);

    [DllImport("libc", SetLastError = true)]
    static extern int flock(int fd, int operation);

    [DllImport("libc", SetLastError = true)]
    static extern int close(int fd);
}
