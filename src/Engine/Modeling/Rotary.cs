using TorchSharp;
using static LayerChop.Engine.Scalars;
using static TorchSharp.torch;

namespace LayerChop.Engine.Modeling;

/// <summary>
/// Rotary position embeddings in Hugging Face's rotate_half layout: the two halves of each head are the
/// real and imaginary parts, so checkpoints trained with transformers fit without permuting weights.
/// Frequencies are computed in float32 exactly as transformers computes them, including llama3 scaling.
/// </summary>
public sealed class Rotary : IDisposable
{
    readonly Tensor invFreq;                                   // (D/2,) float32 on the model's device
    Tensor cos, sin;                                           // (capacity, D) float32 tables
    long capacity;

    public Rotary(ModelConfig c, Device device)
    {
        using var cpuFreq = InverseFrequencies(c);
        invFreq = cpuFreq.to(device);
        capacity = 0;
        cos = empty(0); sin = empty(0);
    }

    public static Tensor InverseFrequencies(ModelConfig c)
    {
        using var scope = NewDisposeScope();
        using var dim = c.HeadDim.ToScalar();
        var exponents = Arange(0, c.HeadDim, 2).to(ScalarType.Float32) / dim;
        var inv = pow(c.RopeTheta, exponents).reciprocal();   // 1 / theta^(2i/D)
        using var factor = c.RopeFactor.ToScalar();
        var result = c.RopeScaling switch
        {
            RopeScalingKind.Linear => inv / factor,
            RopeScalingKind.Llama3 => Llama3(c, inv, factor),
            _ => inv,
        };
        return result.MoveToOuterDisposeScope();
    }

    // Long wavelengths are slowed down by `factor`, short ones kept, the band between interpolated smoothly
    // (Llama 3.1's recipe).
    static Tensor Llama3(ModelConfig c, Tensor inv, Scalar factor)
    {
        double lowFreqWavelen = c.RopeOriginalMaxPositions / c.RopeLowFreqFactor;
        double highFreqWavelen = c.RopeOriginalMaxPositions / c.RopeHighFreqFactor;
        using Scalar twoPi = (2 * Math.PI).ToScalar(), low = lowFreqWavelen.ToScalar(), high = highFreqWavelen.ToScalar(),
            originalMax = c.RopeOriginalMaxPositions.ToScalar(), lowFactor = c.RopeLowFreqFactor.ToScalar(),
            band = (c.RopeHighFreqFactor - c.RopeLowFreqFactor).ToScalar();
        var wavelen = twoPi / inv;
        var llama = where(wavelen > low, inv / factor, inv);
        var smooth = (originalMax / wavelen - lowFactor) / band;
        var smoothed = (OneMinus(smooth) * llama / factor).add(smooth * llama, One);
        var medium = (wavelen >= high).logical_and(wavelen <= low);
        return where(medium, smoothed, llama);
    }

    /// <summary>cos and sin for positions start..start+length-1, each (length, D) in the given dtype.</summary>
    public (Tensor Cos, Tensor Sin) Get(long start, long length, ScalarType dtype)
    {
        long needed = start + length;
        if (needed > capacity) Grow(Math.Max(needed, Math.Max(64, capacity * 2)));
        using var c = cos.narrow(0, start, length);
        using var s = sin.narrow(0, start, length);
        return (c.to(dtype), s.to(dtype));
    }

    /// <summary>cos and sin at arbitrary positions (B, T) int64, each (B, 1, T, D) in the given dtype (broadcast over heads).</summary>
    public (Tensor Cos, Tensor Sin) At(Tensor positions, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        long needed = positions.numel() == 0 ? 0 : positions.max().item<long>() + 1;
        if (needed > capacity || capacity == 0) Grow(Math.Max(needed, Math.Max(64, capacity * 2)));
        long b = positions.shape[0], t = positions.shape[1], d = cos.shape[1];
        var flat = positions.reshape(-1).to(cos.device);
        var c = cos.index_select(0, flat).view(b, 1, t, d).to(dtype);
        var s = sin.index_select(0, flat).view(b, 1, t, d).to(dtype);
        return (c.MoveToOuterDisposeScope(), s.MoveToOuterDisposeScope());
    }

    void Grow(long newCapacity)
    {
        using var scope = NewDisposeScope();
        var positions = Arange(0, newCapacity, 1, invFreq.device).to(ScalarType.Float32);
        var freqs = outer(positions, invFreq);                 // (T, D/2)
        var emb = cat([freqs, freqs], -1);                     // (T, D)
        cos.Dispose(); sin.Dispose();
        // The tables outlive whichever forward pass grew them: keep them out of every dispose scope.
        cos = emb.cos().DetachFromDisposeScope();
        sin = emb.sin().DetachFromDisposeScope();
        capacity = newCapacity;
    }

    /// <summary>x (B, H, T, D) rotated: x*cos + rotate_half(x)*sin.</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        long half = x.shape[^1] / 2;
        var x1 = x.narrow(-1, 0, half);
        var x2 = x.narrow(-1, half, half);
        var rotated = cat([x2.neg(), x1], -1);
        return (x * cos).add(rotated * sin, One).MoveToOuterDisposeScope();
    }

    public void Dispose() { invFreq.Dispose(); cos.Dispose(); sin.Dispose(); }
}
