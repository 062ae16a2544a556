using LayerChop.Settings;
using TorchSharp;
using TorchSharp.Modules;
using static LayerChop.Engine.Scalars;
using static TorchSharp.torch;

namespace LayerChop.Engine.Modeling;

/// <summary>
/// LoRA's low-rank update of a frozen linear layer W (out, in): scale * x A^T B^T, with A (rank, in) drawn from
/// U(-1/sqrt(in), 1/sqrt(in)) (PEFT's Kaiming-uniform with a = sqrt(5)) and B (out, rank) zero, so an adapter
/// just attached changes nothing the model computes. LoRA healing trains A and B only, then merges W += scale * B A.
/// </summary>
public sealed class LoraAdapter : nn.Module
{
    public readonly Parameter lora_A;                          // (r, in)
    public readonly Parameter lora_B;                          // (out, r)
    readonly Scalar scale;                                     // held for the module's life (see Scalars)

    LoraAdapter(Tensor a, long outFeatures, double scale, ScalarType dtype, Device device) : base("LoraAdapter")
    {
        lora_A = new Parameter(empty(a.shape, dtype, device));
        lora_B = new Parameter(zeros([outFeatures, a.shape[0]], dtype, device));
        using (no_grad()) lora_A.copy_(a);
        this.scale = scale.ToScalar();
        RegisterComponents();
    }

    public Tensor Forward(Tensor x)                            // (..., in) -> (..., out)
    {
        using var down = nn.functional.linear(x, lora_A);      // (..., r)
        using var up = nn.functional.linear(down, lora_B);     // (..., out)
        return up.mul(scale);
    }

    /// <summary>W + scale * B A, computed in float32 and returned in W's dtype.</summary>
    Tensor Merged(Tensor weight)
    {
        using var scope = NewDisposeScope();
        var update = lora_B.to(ScalarType.Float32).matmul(lora_A.to(ScalarType.Float32)).mul(scale);   // (out, in)
        return weight.to(ScalarType.Float32).add(update, One).to(weight.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Freezes every weight of <paramref name="model"/> and attaches an adapter to each targeted linear layer of every
    /// decoder layer, in the model's dtype and on its device. A is drawn on the CPU from <paramref name="seed"/>, layer
    /// by layer in the model's order, so every device starts from the same adapters.
    /// </summary>
    /// <returns>the adapters' parameters by name, <c>model.layers.N.self_attn.q_proj.lora_A.weight</c> (PEFT's names
    /// without its <c>base_model.model.</c> prefix): all that trains.</returns>
    public static IReadOnlyList<(string Name, Parameter Parameter)> Attach(CausalLM model, LoraSettings lora, long seed)
    {
        if (lora.Targets.Select(LoraSettings.TargetProblem).OfType<string>().FirstOrDefault() is { } problem)
            throw new ArgumentException($"LoRA target {problem}", nameof(lora));
        foreach (var (_, p) in model.NamedWeights()) p.requires_grad = false;
        using var generator = new Generator((ulong)seed, CPU);
        var trained = new List<(string, Parameter)>();
        foreach (var (name, layer) in Linear(model).Where(l => lora.Targets.Contains(l.Name[(l.Name.LastIndexOf('.') + 1)..])))
        {
            if (layer.Adapter is not null) throw new InvalidOperationException($"{name} already has a LoRA adapter");
            long inFeatures = layer.weight.shape[1];
            using var a = empty([lora.Rank, inFeatures], ScalarType.Float32, CPU);
            a.uniform_(-1 / Math.Sqrt(inFeatures), 1 / Math.Sqrt(inFeatures), generator);
            var adapter = new LoraAdapter(a, layer.weight.shape[0], lora.Scale, model.DType, model.Device);
            layer.Adapter = adapter;
            trained.Add(($"{name}.lora_A.weight", adapter.lora_A));
            trained.Add(($"{name}.lora_B.weight", adapter.lora_B));
        }
        return trained;
    }

    /// <summary>
    /// Folds every attached adapter into its layer, W += scale * B A (in float32, stored in W's dtype), and disposes
    /// it: the model then computes what it computed with its adapters, up to rounding, with Hugging Face's tensors only.
    /// Its weights stay frozen.
    /// </summary>
    public static void Merge(CausalLM model)
    {
        using var noGrad = no_grad();
        foreach (var (_, layer) in Linear(model))
        {
            if (layer.Adapter is not { } adapter) continue;
            using (var merged = adapter.Merged(layer.weight)) layer.weight.copy_(merged);
            layer.Adapter = null;
            adapter.Dispose();
        }
    }

    /// <summary>The linear layers of the decoder layers, by module name (model.layers.N.mlp.up_proj), in the model's order.</summary>
    static IEnumerable<(string Name, Dense Layer)> Linear(CausalLM model) =>
        model.named_modules()
            .Where(m => m.module is Dense && m.name.StartsWith("model.layers.", StringComparison.Ordinal))
            .Select(m => (m.name, (Dense)m.module));

    protected override void Dispose(bool disposing)
    {
        if (disposing) scale.Dispose();
        base.Dispose(disposing);
    }
}
