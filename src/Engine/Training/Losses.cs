using TorchSharp;
using static TorchSharp.torch;

namespace LayerChop.Engine.Training;

public static class Losses
{
    /// <summary>Mean cross-entropy of next-token prediction, computed in float32.</summary>
    public static Tensor NextTokenLoss(Tensor logits, Tensor targets)          // (B, T, V), (B, T)
    {
        using var scope = NewDisposeScope();
        var flat = logits.reshape(-1, logits.shape[^1]).to(ScalarType.Float32);
        return nn.functional.cross_entropy(flat, targets.reshape(-1)).MoveToOuterDisposeScope();
    }

    /// <summary>T^2 * KL(teacher || student) on temperature-softened distributions, averaged over tokens.</summary>
    public static Tensor Distillation(Tensor student, Tensor teacher, double temperature)
    {
        using var scope = NewDisposeScope();
        using Scalar tau = temperature.ToScalar(), tauSquared = (temperature * temperature).ToScalar();
        var s = nn.functional.log_softmax(student.to(ScalarType.Float32) / tau, -1);
        var t = nn.functional.log_softmax(teacher.to(ScalarType.Float32) / tau, -1);
        var kl = (t.exp() * (t - s)).sum(-1).mean();
        return (kl * tauSquared).MoveToOuterDisposeScope();
    }

    /// <summary>Mean squared error between student layer i's output and teacher layer map[i]'s output.</summary>
    public static Tensor HiddenMse(IReadOnlyDictionary<int, Tensor> student, IReadOnlyDictionary<int, Tensor> teacher, IReadOnlyList<int> map)
    {
        using var scope = NewDisposeScope();
        var terms = map.Select((t, i) => nn.functional.mse_loss(student[i].to(ScalarType.Float32), teacher[t].to(ScalarType.Float32))).ToList();
        return stack(terms).mean().MoveToOuterDisposeScope();
    }
}
