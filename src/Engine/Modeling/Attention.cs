using static LayerChop.Engine.Scalars;
using static TorchSharp.torch;

namespace LayerChop.Engine.Modeling;

/// <summary>
/// Causal self-attention with grouped-query key/value heads and rotary positions; with Qwen3's qk-norm, q and k
/// are RMS-normalised per head before rotary.
/// </summary>
public sealed class Attention : nn.Module
{
    public readonly Dense q_proj, k_proj, v_proj, o_proj;
    public readonly RmsNorm? q_norm, k_norm;                  // (D) weights, Qwen3 only
    readonly int heads, kvHeads, headDim;

    public Attention(ModelConfig c, ScalarType dtype, Device device) : base("Attention")
    {
        heads = c.NumHeads; kvHeads = c.NumKvHeads; headDim = c.HeadDim;
        q_proj = new Dense(c.HiddenSize, (long)heads * headDim, c.QkvBias, dtype, device);
        k_proj = new Dense(c.HiddenSize, (long)kvHeads * headDim, c.QkvBias, dtype, device);
        v_proj = new Dense(c.HiddenSize, (long)kvHeads * headDim, c.QkvBias, dtype, device);
        o_proj = new Dense((long)heads * headDim, c.HiddenSize, c.OutputBias, dtype, device);
        if (c.QkNorm)
        {
            q_norm = new RmsNorm(headDim, c.RmsNormEps, dtype, device);
            k_norm = new RmsNorm(headDim, c.RmsNormEps, dtype, device);
        }
        RegisterComponents();
    }

    /// <param name="x">(B, T, C)</param>
    /// <param name="mask">null for plain causal attention over x alone; else a boolean (T, S) or (B, 1, T, S) mask, true = may attend.</param>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask, KvCache? cache, int layer)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        var q = q_proj.Forward(x).view(b, t, heads, headDim);                      // (B, T, H, D)
        var k = k_proj.Forward(x).view(b, t, kvHeads, headDim);                    // (B, T, KV, D)
        if (q_norm is not null) { q = q_norm.Forward(q); k = k_norm!.Forward(k); }
        q = q.transpose(1, 2);                                                     // (B, H, T, D)
        k = k.transpose(1, 2);                                                     // (B, KV, T, D)
        var v = v_proj.Forward(x).view(b, t, kvHeads, headDim).transpose(1, 2);
        q = Rotary.Apply(q, cos, sin);
        k = Rotary.Apply(k, cos, sin);
        if (cache is not null) (k, v) = cache.Append(layer, k, v);                  // (B, KV, S, D)
        if (kvHeads != heads)
        {
            k = k.repeat_interleave(heads / kvHeads, dim: 1);                        // (B, H, S, D)
            v = v.repeat_interleave(heads / kvHeads, dim: 1);
        }
        bool causal = mask is null && t > 1;
        var y = nn.functional.scaled_dot_product_attention(q, k, v, mask, 0.0, causal); // (B, H, T, D)
        y = y.transpose(1, 2).contiguous().view(b, t, (long)heads * headDim);      // (B, T, H*D)
        return o_proj.Forward(y).MoveToOuterDisposeScope();
    }
}

public sealed class DecoderLayer : nn.Module
{
    public readonly Attention self_attn;
    public readonly SwiGluMlp mlp;
    public readonly RmsNorm input_layernorm, post_attention_layernorm;

    public DecoderLayer(ModelConfig c, ScalarType dtype, Device device) : base("DecoderLayer")
    {
        self_attn = new Attention(c, dtype, device);
        mlp = new SwiGluMlp(c, dtype, device);
        input_layernorm = new RmsNorm(c.HiddenSize, c.RmsNormEps, dtype, device);
        post_attention_layernorm = new RmsNorm(c.HiddenSize, c.RmsNormEps, dtype, device);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask, KvCache? cache, int layer)
    {
        using var scope = NewDisposeScope();
        var h = x.add(self_attn.Forward(input_layernorm.Forward(x), cos, sin, mask, cache, layer), One);
        var y = h.add(mlp.Forward(post_attention_layernorm.Forward(h)), One);
        return y.MoveToOuterDisposeScope();
    }
}
