using TorchSharp;
using static TorchSharp.torch;

namespace LayerChop.Engine;

/// <summary>
/// The rule for every Scalar the engine hands to TorchSharp: a Scalar passed to TorchSharp must stay referenced until
/// the call returns: TorchSharp frees it from a finalizer, which a GC can run during the native call (libtorch then
/// reads freed memory and fails its Scalar.h assert). Dispose scopes do not track Scalars. So no implicit conversions
/// (<c>x + eps</c>, <c>x.pow(2)</c>, <c>mul_(lr)</c>): constants are fields, per-call values
/// <c>using var s = value.ToScalar();</c>, converted from the C# type the implicit conversion would take.
/// TorchSharp's shorthands make such a temporary themselves: <c>x + y</c>, <c>add(s)</c> and <c>add_(s)</c> fill in
/// alpha 1, so the engine writes <c>add(y, One)</c>; <c>1 - x</c> is <see cref="OneMinus"/>. A Tensor temporary made
/// outside a dispose scope is exposed the same way.
/// </summary>
public static class Scalars
{
    /// <summary>1 as an int64 Scalar, the alpha TorchSharp's <c>+</c> and <c>add(s)</c> fill in.</summary>
    public static readonly Scalar One = 1.ToScalar();

    /// <summary>2 as an int64 Scalar (squares).</summary>
    public static readonly Scalar Two = 2.ToScalar();

    /// <summary>1 - x, computed as TorchSharp's <c>1 - x</c> operator computes it: -x + 1.</summary>
    public static Tensor OneMinus(Tensor x)
    {
        using var negated = x.negative();
        return negated.add(One, One);
    }

    /// <summary>int64 start, start + step, ... below stop, as <c>arange(start, stop, step, ScalarType.Int64, device)</c>.</summary>
    public static Tensor Arange(long start, long stop, long step, Device? device = null)
    {
        using Scalar from = start.ToScalar(), to = stop.ToScalar(), by = step.ToScalar();
        return arange(from, to, by, ScalarType.Int64, device);
    }
}
