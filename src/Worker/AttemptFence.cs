using System.Globalization;
using System.Text.Json;
using LayerChop.Engine;
using LayerChop.Settings;

namespace LayerChop.Worker;

/// <summary>
/// The ownership of a candidate's folder by one attempt, and the rule that at most one worker of the candidate
/// runs at a time.
/// <list type="bullet">
/// <item>A worker claims the folder for its attempt when it starts (the <see cref="OwnerFile"/>, attempts only
/// move forward). Every checkpoint, model, evaluation or result is moved into place through
/// <see cref="Publish"/>, which reads the owner and moves under one exclusive lock: no move of a stale attempt
/// lands after a newer attempt claimed the folder.</item>
/// <item>A worker holds the folder's run lock for as long as it lives (the kernel drops it when the process dies,
/// killed or not). A newer attempt's worker claims the folder first, then waits for that lock; an older worker
/// watches the owner file (<see cref="WatchOwner"/>) and stops as soon as a newer attempt claims the folder. So
/// two attempts never compute at once, even when the cluster moved the candidate away from a silo that is cut
/// off but still running.</item>
/// <item>Each worker appends its own start and stop to <see cref="WorkerLogFile"/>: what ran where, when.</item>
/// </list>
/// </summary>
public sealed class AttemptFence : IPublishGate, IDisposable
{
    /// <summary>Holds the owning attempt's number.</summary>
    public const string OwnerFile = "attempt";
    /// <summary>One JSON line per worker start and stop (<see cref="WorkerRecord"/>).</summary>
    public const string WorkerLogFile = "workers.jsonl";
    const string LockFile = ".attempt.lock";
    const string RunLockFile = ".run.lock";
    /// <summary>How often a running worker looks at the owner file.</summary>
    public static readonly TimeSpan OwnerCheckEvery = TimeSpan.FromMilliseconds(500);

    readonly FileLock fileLock;
    readonly string folder;
    readonly string ownerPath;
    FileLock? runLock;
    Timer? watch;

    public int Attempt { get; }

    AttemptFence(string folder, int attempt)
    {
        this.folder = folder;
        ownerPath = Path.Combine(folder, OwnerFile);
        fileLock = new FileLock(Path.Combine(folder, LockFile));
        Attempt = attempt;
    }

    /// <summary>
    /// Makes <paramref name="attempt"/> the folder's owner, then waits until no older attempt's worker runs
    /// (<paramref name="waiting"/> is told once, with the older worker's last start record, when it has to wait).
    /// </summary>
    /// <exception cref="AttemptFencedException">a newer attempt owns the folder already, or claimed it while this one waited.</exception>
    public static AttemptFence Claim(string folder, int attempt, Action<WorkerRecord?>? waiting = null)
    {
        if (attempt < 1) throw new ArgumentOutOfRangeException(nameof(attempt), attempt, "attempts are numbered from 1");
        Directory.CreateDirectory(folder);
        var fence = new AttemptFence(folder, attempt);
        try
        {
            using (fence.fileLock.HoldExclusive())
            {
                int owner = fence.ReadOwner();
                if (owner > attempt) throw new AttemptFencedException(attempt, owner);
                if (owner != attempt)
                {
                    var temp = $"{fence.ownerPath}.{attempt}.{Guid.NewGuid():N}.tmp";
                    File.WriteAllText(temp, attempt.ToString(CultureInfo.InvariantCulture));
                    File.Move(temp, fence.ownerPath, overwrite: true);
                }
            }
            fence.runLock = new FileLock(Path.Combine(folder, RunLockFile));
            bool told = false;
            while (!fence.runLock.TryFlock(FileLock.Exclusive))
            {
                int owner = fence.ReadOwner();
                if (owner != attempt) throw new AttemptFencedException(attempt, owner);
                if (!told) { waiting?.Invoke(ReadWorkerLog(folder).LastOrDefault(r => r.Event == WorkerRecord.Start)); told = true; }
                Thread.Sleep(100);
            }
            return fence;
        }
        catch
        {
            fence.Dispose();
            throw;
        }
    }

    /// <summary>The attempt that owns <paramref name="folder"/>; 0 when none has claimed it.</summary>
    public static int Owner(string folder)
    {
        var path = Path.Combine(folder, OwnerFile);
        try
        {
            return File.Exists(path) && int.TryParse(File.ReadAllText(path).Trim(), out int n) ? n : 0;
        }
        catch (FileNotFoundException) { return 0; }
    }

    int ReadOwner() => Owner(folder);

    public void Publish(Action commit)
    {
        using (fileLock.HoldExclusive())
        {
            int owner = ReadOwner();
            if (owner != Attempt) throw new AttemptFencedException(Attempt, owner);
            commit();
        }
    }

    /// <summary>Calls <paramref name="fenced"/> (once, on a timer thread) when a newer attempt claims the folder.</summary>
    public void WatchOwner(Action<int> fenced)
    {
        int done = 0;
        watch = new Timer(_ =>
        {
            int owner = ReadOwner();
            if (owner != Attempt && Interlocked.Exchange(ref done, 1) == 0) fenced(owner);
        }, null, OwnerCheckEvery, OwnerCheckEvery);
    }

    /// <summary>Appends this worker's start or stop to the folder's worker log.</summary>
    public WorkerRecord Record(string what, string? where = null, int? exitCode = null)
    {
        var record = new WorkerRecord
        {
            Attempt = Attempt, Event = what, Pid = Environment.ProcessId, Where = where, Utc = DateTime.UtcNow, ExitCode = exitCode,
        };
        File.AppendAllText(Path.Combine(folder, WorkerLogFile), JsonSerializer.Serialize(record, JsonFormat.Line) + "\n");
        return record;
    }

    /// <summary>The worker log of <paramref name="folder"/>, in the order written (a torn last line is skipped).</summary>
    public static IReadOnlyList<WorkerRecord> ReadWorkerLog(string folder)
    {
        var path = Path.Combine(folder, WorkerLogFile);
        if (!File.Exists(path)) return [];
        var records = new List<WorkerRecord>();
        foreach (var line in File.ReadLines(path))
        {
            try { if (JsonSerializer.Deserialize<WorkerRecord>(line, JsonFormat.Line) is { } r) records.Add(r); }
            catch (JsonException) { }
        }
        return records;
    }

    public void Dispose()
    {
        watch?.Dispose();
        runLock?.Dispose();
        fileLock.Dispose();
    }
}

/// <summary>One line of a candidate folder's worker log: a worker of an attempt started or stopped.</summary>
public sealed record WorkerRecord
{
    public const string Start = "start", Stop = "stop";

    public int Attempt { get; init; }
    /// <summary><see cref="Start"/> (written once the worker holds the folder's run lock) or <see cref="Stop"/>.</summary>
    public string Event { get; init; } = "";
    public int Pid { get; init; }
    /// <summary>The silo and slot that started it; null for a worker run by hand.</summary>
    public string? Where { get; init; }
    public DateTime Utc { get; init; }
    public int? ExitCode { get; init; }
}

/// <summary>A newer attempt owns the candidate's folder; the work of this one must not be published.</summary>
public sealed class AttemptFencedException(int attempt, int owner)
    : Exception($"attempt {attempt} no longer owns the candidate's folder: attempt {owner} does")
{
    public int Attempt { get; } = attempt;
    public int Owner { get; } = owner;
}
