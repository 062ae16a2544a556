using TorchSharp;
using TorchSharp.Modules;
using static LayerChop.Engine.Scalars;
using static TorchSharp.torch;

namespace LayerChop.Engine.Modeling;

/// <summary>Embeddings, the decoder layers and the final norm: Hugging Face's "model." prefix.</summary>
public sealed class DecoderStack : nn.Module
{
    public readonly TokenEmbedding embed_tokens;
    public readonly ModuleList<DecoderLayer> layers;
    public readonly RmsNorm norm;

    public DecoderStack(ModelConfig c, ScalarType dtype, Device device) : base("DecoderStack")
    {
        embed_tokens = new TokenEmbedding(c.VocabSize, c.HiddenSize, dtype, device);
        layers = new ModuleList<DecoderLayer>(Enumerable.Range(0, c.NumLayers).Select(_ => new DecoderLayer(c, dtype, device)).ToArray());
        norm = new RmsNorm(c.HiddenSize, c.RmsNormEps, dtype, device);
        RegisterComponents();
    }
}

/// <summary>
/// A Llama-family decoder-only language model. Module and parameter names are those of Hugging Face's
/// LlamaForCausalLM (model.layers.N.self_attn.q_proj.weight, lm_head.weight, ...), so the state dict maps
/// one to one onto checkpoint tensors.
/// </summary>
public sealed class CausalLM : nn.Module
{
    public readonly DecoderStack model;
    public readonly Dense? lm_head;                            // null when tied to the embedding
    readonly Rotary rotary;

    public ModelConfig Config { get; }
    public ScalarType DType { get; }
    public Device Device { get; }

    public CausalLM(ModelConfig config, ScalarType dtype, Device device) : base("CausalLM")
    {
        Config = config; DType = dtype; Device = device;
        model = new DecoderStack(config, dtype, device);
        lm_head = config.TieWordEmbeddings ? null : new Dense(config.HiddenSize, config.VocabSize, false, dtype, device);
        rotary = new Rotary(config, device);
        RegisterComponents();
    }

    public int NumLayers => model.layers.Count;

    /// <summary>Next-token logits (B, T, V) for ids (B, T).</summary>
    /// <param name="cache">when given, ids continue the cached positions and their keys/values are appended.</param>
    /// <param name="skipLayers">layers to run as identities (the model as if they were removed).</param>
    /// <param name="layerOutputs">when given, receives each layer's output (B, T, C) by layer index, and the
    /// embeddings (the first layer's input) under index -1; the tensors belong to the caller's dispose scope.</param>
    public Tensor Forward(Tensor ids, KvCache? cache = null, IReadOnlySet<int>? skipLayers = null,
        IDictionary<int, Tensor>? layerOutputs = null)
    {
        using var h = Hidden(ids, cache, skipLayers, layerOutputs);
        return Project(h);                                                                    // (B, T, V)
    }

    /// <summary>Logits (..., V) of final hidden states (..., C): the language-model head (or the tied embedding).</summary>
    public Tensor Project(Tensor hidden) => nn.functional.linear(hidden, lm_head?.weight ?? model.embed_tokens.weight);

    /// <summary>Final hidden states (B, T, C), after the last norm.</summary>
    public Tensor Hidden(Tensor ids, KvCache? cache = null, IReadOnlySet<int>? skipLayers = null,
        IDictionary<int, Tensor>? layerOutputs = null)
    {
        using var scope = NewDisposeScope();
        long t = ids.shape[1], past = cache?.Length ?? 0;
        if (past + t > Config.MaxPositionEmbeddings)
            throw new LayerChopException($"sequence of {past + t} positions exceeds the model's context of {Config.MaxPositionEmbeddings} (max_position_embeddings)");
        var (cos, sin) = rotary.Get(past, t, DType);
        // New queries attend to every cached position and causally among themselves; null = plain causal over ids
        // (or, for one new token, everything cached).
        // Positions are built only when a mask needs them, not for every decoded token.
        Tensor? queryPos = null, keyPos = null;
        void Positions()
        {
            queryPos ??= Arange(past, past + t, 1, Device).unsqueeze(1);                        // (T, 1)
            keyPos ??= Arange(0, past + t, 1, Device).unsqueeze(0);                            // (1, S)
        }
        Tensor? mask = null;
        if (past > 0 && t > 1) { Positions(); mask = keyPos! <= queryPos!; }                   // (T, S)
        // A sliding window also hides keys at or before query - window (only matters past the window's length).
        Tensor? Windowed(int window)
        {
            if (past + t <= window) return mask;
            Positions();
            using var size = window.ToScalar();
            return (keyPos! <= queryPos!).logical_and(keyPos! > queryPos! - size);            // (T, S)
        }
        var h = Layers(ids, cos, sin, mask, Windowed, cache, skipLayers, layerOutputs);
        cache?.Advance(t);
        return h.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Final hidden states (B, T, C) for sequences whose tokens carry explicit positions and an explicit attention
    /// mask: several sequences can share one row (for example a context followed by several continuations that
    /// each see the context but not one another), so shared tokens are computed once.
    /// </summary>
    /// <param name="ids">(B, T) token ids.</param>
    /// <param name="positions">(B, T) int64 rotary position of each token, each below max_position_embeddings.</param>
    /// <param name="mask">(B, T, T) boolean, true where query t may attend to key s. Every row needs at least one
    /// true entry (give padding tokens their own diagonal), or attention yields NaN.</param>
    public Tensor Hidden(Tensor ids, Tensor positions, Tensor mask, IReadOnlySet<int>? skipLayers = null)
    {
        using var scope = NewDisposeScope();
        if (positions.numel() > 0)
        {
            long last = positions.max().item<long>();
            if (last >= Config.MaxPositionEmbeddings)
                throw new LayerChopException($"position {last} exceeds the model's context of {Config.MaxPositionEmbeddings} (max_position_embeddings)");
        }
        var (cos, sin) = rotary.At(positions, DType);                                        // (B, 1, T, D)
        // Sliding windows count positions, as they would be in each sequence alone.
        Tensor Windowed(int window)
        {
            using var size = window.ToScalar();
            return mask.logical_and(positions.unsqueeze(1) > positions.unsqueeze(2) - size).unsqueeze(1); // (B, 1, T, T)
        }
        var h = Layers(ids, cos, sin, mask.unsqueeze(1), Windowed, null, skipLayers, null);  // mask (B, 1, T, T)
        return h.MoveToOuterDisposeScope();
    }

    /// <param name="windowed">the mask of a layer with a sliding window of the given size.</param>
    Tensor Layers(Tensor ids, Tensor cos, Tensor sin, Tensor? mask, Func<int, Tensor?> windowed, KvCache? cache,
        IReadOnlySet<int>? skipLayers, IDictionary<int, Tensor>? layerOutputs)
    {
        var h = model.embed_tokens.Forward(ids);                                              // (B, T, C)
        if (layerOutputs is not null) layerOutputs[-1] = h.MoveToOuterDisposeScope();
        var windowMasks = new Dictionary<int, Tensor?>();
        for (int i = 0; i < model.layers.Count; i++)
        {
            if (skipLayers is not null && skipLayers.Contains(i)) continue;
            var layerMask = mask;
            if (Config.AttentionWindow(i) is int window)
            {
                if (!windowMasks.TryGetValue(window, out layerMask)) windowMasks[window] = layerMask = windowed(window);
            }
            h = model.layers[i].Forward(h, cos, sin, layerMask, cache, i);
            if (layerOutputs is not null) layerOutputs[i] = h.MoveToOuterDisposeScope();
        }
        return model.norm.Forward(h);
    }

    /// <summary>
    /// The training pass with activation checkpointing: backpropagates the loss of token ids (B, T) through the
    /// model keeping only each decoder layer's input between the forward and the backward pass, not the
    /// activations inside the layers. The layers first run without a graph; <paramref name="headBackward"/> gets
    /// the final hidden states (B, T, C, after the last norm) as a leaf that requires grad, computes the loss,
    /// backpropagates it into that leaf and the head's weights, and returns the loss' value. Then each layer,
    /// last first, is run again from its kept input, now with a graph, and backpropagated with the gradient of
    /// its output; the gradient of its input goes on to the layer below, and finally into the embedding.
    /// Every operation is the one the plain pass computes, so the gradients are the same to float rounding.
    /// </summary>
    public double RecomputingBackward(Tensor ids, Func<Tensor, double> headBackward)
    {
        long t = ids.shape[1];
        var inputs = new List<Tensor>(NumLayers);
        var (cos, sin) = rotary.Get(0, t, DType);
        using var cosScope = cos;
        using var sinScope = sin;
        var windowMasks = new Dictionary<int, Tensor?>();
        Tensor? MaskOf(int layer)
        {
            if (Config.AttentionWindow(layer) is not int window || t <= window) return null;
            if (!windowMasks.TryGetValue(window, out var m))
            {
                using var scope = NewDisposeScope();
                using var size = window.ToScalar();
                var queryPos = Arange(0, t, 1, Device).unsqueeze(1);                          // (T, 1)
                var keyPos = Arange(0, t, 1, Device).unsqueeze(0);                            // (1, S)
                m = (keyPos <= queryPos).logical_and(keyPos > queryPos - size).MoveToOuterDisposeScope(); // (T, S)
                windowMasks[window] = m;
            }
            return m;
        }
        try
        {
            Tensor final;
            using (no_grad())
            {
                var h = model.embed_tokens.Forward(ids);                                      // (B, T, C)
                for (int i = 0; i < NumLayers; i++)
                {
                    inputs.Add(h);
                    h = model.layers[i].Forward(h, cos, sin, MaskOf(i), null, i);
                }
                final = h;
            }
            Tensor upstream;
            double loss;
            using (var scope = NewDisposeScope())
            {
                var last = final.requires_grad_(true);
                var normed = model.norm.Forward(last);
                using var normedLeaf = normed.detach().requires_grad_(true);
                loss = headBackward(normedLeaf);
                normed.backward([normedLeaf.grad!]);
                upstream = last.grad!.detach().clone().MoveToOuterDisposeScope();
            }
            final.Dispose();
            for (int i = NumLayers - 1; i >= 0; i--)
            {
                using var scope = NewDisposeScope();
                var input = inputs[i].requires_grad_(true);
                var output = model.layers[i].Forward(input, cos, sin, MaskOf(i), null, i);
                output.backward([upstream]);
                upstream.Dispose();
                upstream = input.grad!.detach().clone().MoveToOuterDisposeScope();
                input.Dispose();
            }
            if (model.embed_tokens.weight.requires_grad)                                    // frozen when healing by LoRA
                using (var scope = NewDisposeScope())
                {
                    var embedded = model.embed_tokens.Forward(ids);
                    embedded.backward([upstream]);
                }
            upstream.Dispose();
            return loss;
        }
        finally
        {
            foreach (var input in inputs) input.Dispose();
            foreach (var m in windowMasks.Values) m?.Dispose();
        }
    }

    public KvCache NewCache() => new(NumLayers);

    /// <summary>Parameters in HF tensor-name order, as a checkpoint stores them.</summary>
    public IEnumerable<(string Name, Parameter Parameter)> NamedWeights() =>
        named_parameters().Select(p => (p.name, p.parameter));

    /// <summary>
    /// Random initialisation as transformers does it for a fresh Llama: normal(0, std) for matrices and
    /// embeddings, zero biases, unit norm weights. Deterministic for a seed on CPU.
    /// </summary>
    public void InitializeRandom(long seed, double std = 0.02)
    {
        using var noGrad = no_grad();
        var generator = new Generator((ulong)seed, Device);
        using var one = 1.0.ToScalar();
        foreach (var (name, p) in NamedWeights())
        {
            if (name.EndsWith("norm.weight", StringComparison.Ordinal)) p.fill_(one);
            else if (name.EndsWith(".bias", StringComparison.Ordinal)) p.zero_();
            else p.normal_(0.0, std, generator);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) rotary.Dispose();
        base.Dispose(disposing);
    }
}
