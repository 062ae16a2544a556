using TorchSharp;
using TorchSharp.Modules;
using static LayerChop.Engine.Scalars;
using static TorchSharp.torch;

namespace LayerChop.Engine.Modeling;

// Small building blocks whose parameters are allocated uninitialised: a model loaded from a checkpoint
// is filled tensor by tensor from the file, so random initialisation would only cost time.

/// <summary>y = x W^T + b, with W stored (out, in) as in Hugging Face checkpoints; plus the low-rank update of an
/// attached <see cref="LoraAdapter"/> while LoRA healing trains one.</summary>
public sealed class Dense : nn.Module
{
    public readonly Parameter weight;
    public readonly Parameter? bias;

    /// <summary>The adapter LoRA healing attached (see <see cref="LoraAdapter.Attach"/>), owned by this layer. It is
    /// not a registered submodule: the model's parameters, and so every folder it is saved to, keep Hugging Face's
    /// names and shapes.</summary>
    public LoraAdapter? Adapter { get; internal set; }

    public Dense(long inFeatures, long outFeatures, bool hasBias, ScalarType dtype, Device device) : base("Dense")
    {
        weight = new Parameter(empty([outFeatures, inFeatures], dtype, device));
        bias = hasBias ? new Parameter(empty([outFeatures], dtype, device)) : null;
        RegisterComponents();
    }

    public Tensor Forward(Tensor x)
    {
        var y = nn.functional.linear(x, weight, bias);
        if (Adapter is null) return y;
        using (y)
        {
            using var update = Adapter.Forward(x);
            return y.add(update, One);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) Adapter?.Dispose();
        base.Dispose(disposing);
    }
}

public sealed class TokenEmbedding : nn.Module
{
    public readonly Parameter weight;                          // (V, C)

    public TokenEmbedding(long vocab, long hidden, ScalarType dtype, Device device) : base("TokenEmbedding")
    {
        weight = new Parameter(empty([vocab, hidden], dtype, device));
        RegisterComponents();
    }

    public Tensor Forward(Tensor ids)                          // (B, T) -> (B, T, C)
    {
        using var flat = ids.reshape(-1);
        using var rows = weight.index_select(0, flat);
        return rows.view(ids.shape[0], ids.shape[1], weight.shape[1]);
    }
}

/// <summary>RMSNorm computed in float32 whatever the model dtype, then scaled in the model dtype (as HF does).</summary>
public sealed class RmsNorm : nn.Module
{
    public readonly Parameter weight;
    readonly Scalar eps;                                       // held for the module's life (see Scalars)

    public RmsNorm(long hidden, double eps, ScalarType dtype, Device device) : base("RmsNorm")
    {
        weight = new Parameter(empty([hidden], dtype, device));
        this.eps = eps.ToScalar();
        RegisterComponents();
    }

    public Tensor Forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var xf = x.to(ScalarType.Float32);
        var variance = xf.pow(Two).mean([-1L], keepdim: true);
        var normed = xf * rsqrt(variance.add(eps, One));
        return (weight * normed.to(x.dtype)).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) eps.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>SwiGLU feed-forward: down(silu(gate(x)) * up(x)).</summary>
public sealed class SwiGluMlp : nn.Module
{
    public readonly Dense gate_proj, up_proj, down_proj;

    public SwiGluMlp(ModelConfig c, ScalarType dtype, Device device) : base("SwiGluMlp")
    {
        gate_proj = new Dense(c.HiddenSize, c.IntermediateSize, c.MlpBias, dtype, device);
        up_proj = new Dense(c.HiddenSize, c.IntermediateSize, c.MlpBias, dtype, device);
        down_proj = new Dense(c.IntermediateSize, c.HiddenSize, c.MlpBias, dtype, device);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x)
    {
        using var gate = gate_proj.Forward(x);
        using var act = nn.functional.silu(gate);
        using var up = up_proj.Forward(x);
        using var product = act * up;
        return down_proj.Forward(product);
    }
}
