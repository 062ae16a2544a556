namespace LayerChop.Engine.Pipeline;

/// <summary>
/// The ownership of a candidate's folder by one attempt. A worker claims the folder for its attempt when it
/// starts; from then on an older attempt's worker (on a silo the cluster declared dead, or slow to notice a
/// retry) can still compute, but every checkpoint, model, evaluation or result it would move into place is
/// refused: the owner file is read and the move done under one exclusive lock, so no move of a stale attempt
/// lands after a newer attempt claimed the folder. Work is written under temp names unique to the writer and
/// only renamed into place through <see cref="Publish"/>.
/// </summary>
public sealed class AttemptFence : IPublishGate, IDisposable
{
    /// <summary>Holds the owning attempt's number.</summary>
    public const string OwnerFile = "attempt";
    const string LockFile = ".attempt.lock";

    readonly FileLock fileLock;
    readonly string ownerPath;

    public int Attempt { get; }

    AttemptFence(string folder, int attempt)
    {
        ownerPath = Path.Combine(folder, OwnerFile);
        fileLock = new FileLock(Path.Combine(folder, LockFile));
        Attempt = attempt;
    }

    /// <summary>Makes <paramref name="attempt"/> the folder's owner (attempts only move forward).</summary>
    /// <exception cref="AttemptFencedException">a newer attempt owns the folder already.</exception>
    public static AttemptFence Claim(string folder, int attempt)
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
                    File.WriteAllText(temp, attempt.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    File.Move(temp, fence.ownerPath, overwrite: true);
                }
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
        return File.Exists(path) && int.TryParse(File.ReadAllText(path).Trim(), out int n) ? n : 0;
    }

    int ReadOwner() => Owner(Path.GetDirectoryName(ownerPath)!);

    public void Publish(Action commit)
    {
        using (fileLock.HoldExclusive())
        {
            int owner = ReadOwner();
            if (owner != Attempt) throw new AttemptFencedException(Attempt, owner);
            commit();
        }
    }

    public void Dispose() => fileLock.Dispose();
}

/// <summary>A newer attempt owns the candidate's folder; the work of this one must not be published.</summary>
public sealed class AttemptFencedException(int attempt, int owner)
    : Exception($"attempt {attempt} no longer owns the candidate's folder: attempt {owner} does")
{
    public int Attempt { get; } = attempt;
    public int Owner { get; } = owner;
}
