using TorchSharp;
using TorchSharp.Modules;
using static LayerChop.Engine.Scalars;
using static TorchSharp.torch;

namespace LayerChop.Engine.Training;

/// <summary>
/// AdamW with decoupled weight decay, written out so that its state is ours to checkpoint, remap when
/// layers are removed, and keep in float32 while the model computes in bfloat16 (TorchSharp has no autocast:
/// a model whose parameters are not float32 gets float32 master copies here, and each step writes the
/// updated master back into the parameter). The update is PyTorch's AdamW step, term for term.
/// </summary>
public sealed class AdamW : IDisposable
{
    public sealed class Slot(string name, Parameter parameter, Tensor master, bool decay) : IDisposable
    {
        public string Name { get; } = name;
        public Parameter Parameter { get; } = parameter;
        /// <summary>float32 weights the update is applied to; the parameter itself when it is float32.</summary>
        public Tensor Master { get; } = master;
        public bool Decay { get; } = decay;
        public Tensor ExpAvg { get; } = zeros_like(master).DetachFromDisposeScope();
        public Tensor ExpAvgSq { get; } = zeros_like(master).DetachFromDisposeScope();
        public bool OwnsMaster => !ReferenceEquals(Master, Parameter);

        public void Dispose()
        {
            ExpAvg.Dispose(); ExpAvgSq.Dispose();
            if (OwnsMaster) Master.Dispose();
        }
    }

    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Eps { get; }
    public double WeightDecay { get; }
    public long Step { get; set; }
    public IReadOnlyList<Slot> Slots => slots;
    readonly List<Slot> slots = [];
    readonly Scalar beta1, oneMinusBeta1, beta2, oneMinusBeta2, eps;     // held for the optimizer's life (see Scalars)

    /// <param name="decays">which parameters (by name) get weight decay.</param>
    public AdamW(IEnumerable<(string Name, Parameter Parameter)> parameters, Func<string, Parameter, bool> decays,
        double beta1 = 0.9, double beta2 = 0.95, double eps = 1e-8, double weightDecay = 0.1)
    {
        Beta1 = beta1; Beta2 = beta2; Eps = eps; WeightDecay = weightDecay;
        this.beta1 = beta1.ToScalar(); oneMinusBeta1 = (1 - beta1).ToScalar();
        this.beta2 = beta2.ToScalar(); oneMinusBeta2 = (1 - beta2).ToScalar();
        this.eps = eps.ToScalar();
        foreach (var (name, p) in parameters)
            slots.Add(new Slot(name, p, p.dtype == ScalarType.Float32 ? p : Float32Copy(p), decays(name, p)));
    }

    static Tensor Float32Copy(Parameter p)
    {
        using var detached = p.detach();
        return detached.to(ScalarType.Float32).DetachFromDisposeScope();
    }

    /// <summary>The default decay rule: matrices decay; norms, biases and the token embedding do not.</summary>
    public static bool DecayMatricesOnly(string name, Parameter p) =>
        p.dim() >= 2 && !name.Contains("embed_tokens", StringComparison.Ordinal);

    public void ZeroGrad()
    {
        foreach (var s in slots)
        {
            var grad = s.Parameter.grad;
            if (grad is not null) { grad.zero_(); }
        }
    }

    /// <summary>One update at learning rate <paramref name="lr"/> from the parameters' accumulated gradients.</summary>
    public void Update(double lr)
    {
        using var noGrad = no_grad();
        Step++;
        double bias1 = 1 - Math.Pow(Beta1, Step);
        double bias2 = 1 - Math.Pow(Beta2, Step);
        double stepSize = lr / bias1;
        double bias2Sqrt = Math.Sqrt(bias2);
        using Scalar decayFactor = (1 - lr * WeightDecay).ToScalar(), bias2Root = bias2Sqrt.ToScalar(), minusStepSize = (-stepSize).ToScalar();
        foreach (var s in slots)
        {
            using var scope = NewDisposeScope();
            var grad = s.Parameter.grad;
            if (grad is null) continue;
            var g = grad.dtype == ScalarType.Float32 ? grad : grad.to(ScalarType.Float32);
            if (s.Decay && WeightDecay != 0) s.Master.mul_(decayFactor);
            s.ExpAvg.mul_(beta1).add_(g, alpha: oneMinusBeta1);
            s.ExpAvgSq.mul_(beta2).addcmul_(g, g, value: oneMinusBeta2);
            var denom = s.ExpAvgSq.sqrt().div_(bias2Root).add_(eps, One);              // one temporary the size of the tensor
            s.Master.addcdiv_(s.ExpAvg, denom, value: minusStepSize);
            if (s.OwnsMaster) s.Parameter.copy_(s.Master);
        }
    }

    /// <summary>Scales gradients so their global L2 norm is at most <paramref name="maxNorm"/>; returns the norm before clipping.</summary>
    public double ClipGradNorm(double maxNorm)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        // Each gradient's square lives only inside its own scope: together they would be a float32 copy of every gradient.
        var squares = new List<Tensor>();
        foreach (var s in slots)
        {
            using var inner = NewDisposeScope();
            if (s.Parameter.grad is not { } g) continue;
            squares.Add(g.to(ScalarType.Float32).pow(Two).sum().MoveToOuterDisposeScope());
        }
        if (squares.Count == 0) return 0;
        double norm = Math.Sqrt(stack(squares).sum().item<float>());
        if (maxNorm > 0 && norm > maxNorm)
        {
            using var scale = (maxNorm / (norm + 1e-6)).ToScalar();
            foreach (var s in slots) s.Parameter.grad?.mul_(scale);
        }
        return norm;
    }

    public void Dispose()
    {
        foreach (var s in slots) s.Dispose();
        foreach (var scalar in new[] { beta1, oneMinusBeta1, beta2, oneMinusBeta2, eps }) scalar.Dispose();
    }
}
