using static TorchSharp.torch;

namespace LayerChop.Engine.Modeling;

/// <summary>
/// Keys and values of every past position, per layer, so decoding one more token costs one token of work.
/// Storage is preallocated and doubles when full; views returned to attention cover the filled part only.
/// </summary>
public sealed class KvCache : IDisposable
{
    readonly Tensor?[] keys, values;                           // per layer: (B, KV, capacity, D)
    long capacity;

    public KvCache(int layers) { keys = new Tensor?[layers]; values = new Tensor?[layers]; }

    /// <summary>Positions already stored (the same for every layer once a forward pass is complete).</summary>
    public long Length { get; private set; }

    /// <summary>Stores k, v (B, KV, T, D) for a layer at positions Length.. and returns all keys and values so far.</summary>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor k, Tensor v)
    {
        long t = k.shape[2], needed = Length + t;
        if (keys[layer] is null || needed > keys[layer]!.shape[2])
        {
            long newCapacity = Math.Max(needed, Math.Max(capacity, 16) * 2);
            keys[layer] = Grow(keys[layer], k, newCapacity);
            values[layer] = Grow(values[layer], v, newCapacity);
            capacity = Math.Max(capacity, newCapacity);
        }
        using (var kSlot = keys[layer]!.narrow(2, Length, t)) kSlot.copy_(k);
        using (var vSlot = values[layer]!.narrow(2, Length, t)) vSlot.copy_(v);
        return (keys[layer]!.narrow(2, 0, needed), values[layer]!.narrow(2, 0, needed));
    }

    /// <summary>Called by the model once every layer has appended this step's positions.</summary>
    public void Advance(long tokens) => Length += tokens;

    Tensor Grow(Tensor? old, Tensor like, long newCapacity)
    {
        // Storage outlives the forward pass that grew it: keep it out of every dispose scope.
        var fresh = zeros([like.shape[0], like.shape[1], newCapacity, like.shape[3]], like.dtype, like.device).DetachFromDisposeScope();
        if (old is not null)
        {
            using var filled = old.narrow(2, 0, Length);
            using var slot = fresh.narrow(2, 0, Length);
            slot.copy_(filled);
            old.Dispose();
        }
        return fresh;
    }

    public void Dispose()
    {
        foreach (var t in keys) t?.Dispose();
        foreach (var t in values) t?.Dispose();
    }
}
