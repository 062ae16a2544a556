namespace LayerChop.Engine.Data;

/// <summary>
/// Sebastiano Vigna's SplitMix64 generator. Written out here, not taken from System.Random, so that a seed gives the
/// same data order on every .NET version and platform: resumed runs and published sweeps depend on it.
/// </summary>
internal struct SplitMix64(ulong seed)
{
    private const ulong Golden = 0x9E3779B97F4A7C15;

    private ulong _state = seed;

    public ulong Next()
    {
        _state += Golden;
        return Mix(_state);
    }

    /// <summary>Uniform in [0, <paramref name="bound"/>), without modulo bias (Lemire's multiply-and-reject).</summary>
    public ulong NextBelow(ulong bound)
    {
        ArgumentOutOfRangeException.ThrowIfZero(bound);
        ulong threshold = (0 - bound) % bound;
        while (true)
        {
            ulong high = Math.BigMul(Next(), bound, out ulong low);
            if (low >= threshold)
                return high;
        }
    }

    /// <summary>SplitMix64's output function: a bijective mix in which every input bit affects every output bit.</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }

    /// <summary>The seed of one epoch's shuffle, so that epochs differ from each other and from other seeds.</summary>
    public static ulong EpochSeed(long seed, int epoch) =>
        Mix(unchecked((ulong)seed) ^ Mix(unchecked((ulong)epoch + Golden)));

    /// <summary>A uniformly random permutation of 0..count-1 (Fisher–Yates, last position first).</summary>
    public static int[] Permutation(int count, ulong seed)
    {
        var order = new int[count];
        for (int i = 0; i < count; i++)
            order[i] = i;
        var random = new SplitMix64(seed);
        for (int i = count - 1; i > 0; i--)
        {
            int j = (int)random.NextBelow((ulong)i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }
}
