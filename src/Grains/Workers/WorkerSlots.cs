namespace LayerChop.Grains.Workers;

/// <summary>
/// The worker slots of this silo: one per GPU (a worker is pinned to its GPU through CUDA_VISIBLE_DEVICES),
/// or a number of CPU slots in CPU mode. It is the only authority over them: a slot is free, reserved for one
/// candidate (by a coordinator, for a short while, until the candidate claims it) or held by one candidate's
/// worker, never two. Disposing it (the silo stopping) kills the workers still attached.
/// </summary>
public sealed class WorkerSlots(WorkerOptions options, TimeProvider? clock = null) : IDisposable
{
    /// <summary>How long a reservation waits for its candidate before the slot is free again.</summary>
    public static readonly TimeSpan ReservationLifetime = TimeSpan.FromSeconds(30);

    readonly TimeProvider clock = clock ?? TimeProvider.System;
    readonly object gate = new();
    readonly Entry[] entries = Enumerable.Range(0, options.Slots).Select(_ => new Entry()).ToArray();

    sealed class Entry
    {
        public string? Holder;
        public bool Claimed;
        public DateTimeOffset ReservedUntil;
        public WorkerProcess? Worker;
    }

    public bool Gpu => options.Gpu;

    /// <summary>Slots neither held nor reserved.</summary>
    public int Free { get { lock (gate) { Expire(); return entries.Count(e => e.Holder is null); } } }

    /// <summary>Who holds or has reserved each slot (null: free).</summary>
    public IReadOnlyList<string?> Holders() { lock (gate) { Expire(); return entries.Select(e => e.Holder).ToArray(); } }

    /// <summary>
    /// Keeps a free slot for <paramref name="holder"/> for <see cref="ReservationLifetime"/>; returns its index,
    /// or null when none is free. A holder that already has a slot here gets that one.
    /// </summary>
    public int? TryReserve(string holder)
    {
        lock (gate)
        {
            Expire();
            int index = Array.FindIndex(entries, e => e.Holder == holder);
            if (index < 0) index = Array.FindIndex(entries, e => e.Holder is null);
            if (index < 0) return null;
            var entry = entries[index];
            entry.Holder = holder;
            if (!entry.Claimed) entry.ReservedUntil = clock.GetUtcNow() + ReservationLifetime;
            return index;
        }
    }

    /// <summary>Gives back a reservation that will not be used (a held slot is released by disposing it).</summary>
    public void CancelReservation(string holder)
    {
        lock (gate)
        {
            foreach (var e in entries)
                if (e.Holder == holder && !e.Claimed) e.Holder = null;
        }
    }

    /// <summary>
    /// The slot reserved for <paramref name="holder"/>, else any free one; null when every slot is held or
    /// reserved for someone else.
    /// </summary>
    public Slot? TryClaim(string holder)
    {
        lock (gate)
        {
            Expire();
            int index = Array.FindIndex(entries, e => e.Holder == holder && !e.Claimed);
            if (index < 0) index = Array.FindIndex(entries, e => e.Holder is null);
            if (index < 0) return null;
            entries[index].Holder = holder;
            entries[index].Claimed = true;
            return new Slot(this, index, holder);
        }
    }

    void Expire()
    {
        var now = clock.GetUtcNow();
        foreach (var e in entries)
            if (e.Holder is not null && !e.Claimed && e.ReservedUntil <= now) e.Holder = null;
    }

    void Attach(int index, WorkerProcess? worker) { lock (gate) entries[index].Worker = worker; }

    void Release(int index, string holder)
    {
        lock (gate)
        {
            var e = entries[index];
            if (e.Holder != holder || !e.Claimed) throw new InvalidOperationException($"slot {index} released by {holder}, which does not hold it");
            e.Holder = null; e.Claimed = false; e.Worker = null;
        }
    }

    /// <summary>The silo is stopping: no worker outlives it.</summary>
    public void Dispose()
    {
        WorkerProcess?[] workers;
        lock (gate) workers = entries.Select(e => e.Worker).ToArray();
        foreach (var w in workers) w?.Kill();
    }

    /// <summary>A held slot; disposing it frees the slot.</summary>
    public sealed class Slot(WorkerSlots owner, int index, string holder) : IDisposable
    {
        int released;
        public int Index { get; } = index;
        public string Holder { get; } = holder;

        /// <summary>Records the worker running in this slot, so that a stopping silo can kill it.</summary>
        public void Attach(WorkerProcess? worker) => owner.Attach(Index, worker);

        public void Dispose() { if (Interlocked.Exchange(ref released, 1) == 0) owner.Release(Index, Holder); }
    }
}
