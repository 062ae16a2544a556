using LayerChop.Engine.Modeling;
using TorchSharp;
using static LayerChop.Engine.Scalars;
using static TorchSharp.torch;

namespace LayerChop.Engine.Training;

public static class Losses
{
    /// <summary>The most bytes of float32 logits held at once where logits are computed in slices of tokens (the
    /// healing loss, evaluation's scored tokens): a 128K vocabulary gets 523-token slices.</summary>
    public const long LogitsSliceBytes = 256L << 20;

    /// <summary>Tokens per slice of logits for a vocabulary of <paramref name="vocab"/> within <paramref name="bytes"/>.</summary>
    public static long SliceTokens(long vocab, long bytes = LogitsSliceBytes) => Math.Max(1, bytes / (vocab * sizeof(float)));

    /// <summary>Mean cross-entropy of next-token prediction, computed in float32.</summary>
    public static Tensor NextTokenLoss(Tensor logits, Tensor targets)          // (B, T, V), (B, T)
    {
        using var scope = NewDisposeScope();
        var flat = logits.reshape(-1, logits.shape[^1]).to(ScalarType.Float32);
        return nn.functional.cross_entropy(flat, targets.reshape(-1)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The language-model head and loss of final hidden states (B, T, C), backpropagated a slice of
    /// <paramref name="chunk"/> tokens at a time: each slice's logits (chunk, V) are computed, turned into its share
    /// of the mean loss (next-token cross-entropy, plus <paramref name="distillWeight"/> times the distillation
    /// term when a teacher is given) and backpropagated, divided by <paramref name="parts"/> (the micro-batches of
    /// a step), before the next slice is computed. <paramref name="hidden"/> is a leaf that gets the gradient.
    /// One slice computes exactly what <see cref="NextTokenLoss"/> does. Returns the mean loss.
    /// </summary>
    public static double HeadBackward(CausalLM model, Tensor hidden, Tensor targets, CausalLM? teacher, Tensor? teacherHidden,
        double temperature, Scalar distillWeight, long chunk, Scalar parts)
    {
        long b = hidden.shape[0], t = hidden.shape[1], c = hidden.shape[2], n = b * t;
        using var flat = hidden.reshape(n, c);
        using var flatTargets = targets.reshape(n);
        using var flatTeacher = teacherHidden?.reshape(n, c);
        bool whole = chunk >= n;
        using Scalar tokens = n.ToScalar();
        double total = 0;
        for (long start = 0; start < n; start += chunk)
        {
            using var scope = NewDisposeScope();
            long size = Math.Min(chunk, n - start);
            var logits = model.Project(flat.narrow(0, start, size)).to(ScalarType.Float32);      // (chunk, V)
            var slice = flatTargets.narrow(0, start, size);
            var loss = whole ? nn.functional.cross_entropy(logits, slice)
                : nn.functional.cross_entropy(logits, slice, reduction: nn.Reduction.Sum) / tokens;
            if (teacher is not null)
            {
                Tensor teacherLogits;
                using (no_grad()) teacherLogits = teacher.Project(flatTeacher!.narrow(0, start, size));
                var distill = whole ? Distillation(logits, teacherLogits, temperature) : DistillationSum(logits, teacherLogits, temperature) / tokens;
                loss = loss.add(distillWeight * distill, One);
            }
            (loss / parts).backward();
            total += loss.item<float>();
        }
        return total;
    }

    /// <summary>T^2 * KL(teacher || student) summed over the rows of (N, V) logits.</summary>
    static Tensor DistillationSum(Tensor student, Tensor teacher, double temperature)
    {
        using var scope = NewDisposeScope();
        using Scalar tau = temperature.ToScalar(), tauSquared = (temperature * temperature).ToScalar();
        var s = nn.functional.log_softmax(student.to(ScalarType.Float32) / tau, -1);
        var t = nn.functional.log_softmax(teacher.to(ScalarType.Float32) / tau, -1);
        return ((t.exp() * (t - s)).sum() * tauSquared).MoveToOuterDisposeScope();
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
