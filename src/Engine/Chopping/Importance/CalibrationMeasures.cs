using LayerChop.Engine.Modeling;
using TorchSharp;
using static LayerChop.Engine.Scalars;
using static TorchSharp.torch;

namespace LayerChop.Engine.Chopping.Importance;

/// <summary>
/// Distances between hidden states measured in one pass: per layer, and per contiguous block of a given size.
/// </summary>
/// <param name="BlockInfluence">Per layer: 1 - cosine(input, output), averaged over every token (ShortGPT).</param>
/// <param name="Angular">Per block start l: arccos(cosine(input of l, input of l+BlockSize)) / pi on the last token
/// of each sequence, averaged over sequences (Gromov et al.). The input of layer L is the last layer's output.</param>
public sealed record HiddenStateScores(IReadOnlyList<double> BlockInfluence, IReadOnlyList<double> Angular, int BlockSize);

/// <summary>
/// The measurements every criterion is built from, each one pass of the model over the calibration set, in
/// batches small enough to bound memory. Everything is reduced in float64 so scores do not depend on the model's
/// compute dtype more than its forward pass does.
/// </summary>
public static class CalibrationMeasures
{
    // Elements of the largest per-batch tensor (the logits, or all layers' hidden states) that a batch may hold:
    // 2^25 float32 values, 128 MiB, whatever the model's size.
    const long BatchElementBudget = 1L << 25;

    // Held for the process's life (see Scalars).
    static readonly Scalar CosineMin = (-1.0).ToScalar(), CosineMax = 1.0.ToScalar(), Pi = Math.PI.ToScalar(), NormFloor = 1e-300.ToScalar();

    /// <summary>Throws a one-line LayerChopException when the calibration set cannot be run through the model.</summary>
    public static void CheckFits(CausalLM model, CalibrationSet calib)
    {
        CheckLength(model.Config, calib.Length);
        int vocab = model.Config.VocabSize;
        foreach (var sequence in calib.Sequences)
            foreach (int id in sequence)
                if (id < 0 || id >= vocab)
                    throw new LayerChopException($"calibration set from {calib.Source} has token id {id}, outside the model's vocabulary of {vocab}; was it tokenized with another model's tokenizer?");
    }

    /// <summary>Throws a one-line LayerChopException when sequences of <paramref name="length"/> tokens exceed the model's context.</summary>
    public static void CheckLength(ModelConfig config, int length)
    {
        if (length > config.MaxPositionEmbeddings)
            throw new LayerChopException($"calibration sequences of {length} tokens are longer than the model's context of {config.MaxPositionEmbeddings} (max_position_embeddings); use a smaller --calib-seq-len");
    }

    /// <summary>exp(mean next-token cross-entropy) over every prediction in the set, with <paramref name="skip"/> removed.</summary>
    public static double Perplexity(CausalLM model, CalibrationSet calib, IReadOnlySet<int>? skip = null)
    {
        CheckFits(model, calib);
        using var noGrad = no_grad();
        double nll = 0;
        long predictions = 0;
        foreach (var (start, count) in Batches(model, calib))
        {
            using var scope = NewDisposeScope();
            var ids = Ids(calib, start, count, model.Device);
            var logits = model.Forward(ids, skipLayers: skip);                       // (B, T, V)
            long v = logits.shape[2];
            var predicted = logits[.., ..^1, ..].reshape(-1, v).to(ScalarType.Float32);
            var targets = ids[.., 1..].reshape(-1);
            nll += nn.functional.cross_entropy(predicted, targets, reduction: nn.Reduction.Sum).to(ScalarType.Float64).item<double>();
            predictions += targets.shape[0];
        }
        return Math.Exp(nll / predictions);
    }

    /// <summary>
    /// Block influence of every layer and the angular distance of every block of <paramref name="blockSize"/>
    /// layers, from one pass that keeps each layer's output.
    /// </summary>
    public static HiddenStateScores HiddenStates(CausalLM model, CalibrationSet calib, int blockSize)
    {
        CheckFits(model, calib);
        int layers = model.NumLayers;
        if (blockSize < 1 || blockSize > layers)
            throw new ArgumentOutOfRangeException(nameof(blockSize), $"block size {blockSize} for {layers} layers");
        var influence = new double[layers];
        var angular = new double[layers - blockSize + 1];
        using var noGrad = no_grad();
        foreach (var (start, count) in Batches(model, calib))
        {
            using var scope = NewDisposeScope();
            var ids = Ids(calib, start, count, model.Device);
            var outputs = new Dictionary<int, Tensor>();
            model.Hidden(ids, layerOutputs: outputs);
            // outputs[i - 1] is the input of layer i (the embeddings under -1), outputs[i] its output.
            for (int i = 0; i < layers; i++)
                influence[i] += OneMinus(Cosine(outputs[i - 1], outputs[i])).sum().item<double>();
            for (int l = 0; l + blockSize <= layers; l++)
            {
                var before = outputs[l - 1][.., -1, ..];
                var after = outputs[l + blockSize - 1][.., -1, ..];
                angular[l] += (Cosine(before, after).clamp(CosineMin, CosineMax).arccos() / Pi).sum().item<double>();
            }
        }
        for (int i = 0; i < layers; i++) influence[i] /= calib.Tokens;
        for (int l = 0; l < angular.Length; l++) angular[l] /= calib.Count;
        return new HiddenStateScores(influence, angular, blockSize);
    }

    // Cosine similarity along the hidden dimension, in float64; a zero vector counts as orthogonal.
    static Tensor Cosine(Tensor a, Tensor b)
    {
        var x = a.to(ScalarType.Float64);
        var y = b.to(ScalarType.Float64);
        var dot = (x * y).sum(-1);
        var norms = x.norm(-1) * y.norm(-1);
        return dot / norms.clamp_min(NormFloor);
    }

    static Tensor Ids(CalibrationSet calib, int start, int count, Device device)
    {
        var flat = new long[(long)count * calib.Length];
        for (int s = 0; s < count; s++)
        {
            var sequence = calib.Sequences[start + s];
            for (int t = 0; t < sequence.Length; t++) flat[(long)s * calib.Length + t] = sequence[t];
        }
        return tensor(flat, [count, calib.Length], ScalarType.Int64).to(device);
    }

    // Fixed by the model's shape and the set alone, so the same inputs always meet the same batches.
    static IEnumerable<(int Start, int Count)> Batches(CausalLM model, CalibrationSet calib)
    {
        var c = model.Config;
        long perSequence = (long)calib.Length * Math.Max(c.VocabSize, (long)c.HiddenSize * (c.NumLayers + 1));
        int size = (int)Math.Clamp(BatchElementBudget / perSequence, 1, calib.Count);
        for (int start = 0; start < calib.Count; start += size)
            yield return (start, Math.Min(size, calib.Count - start));
    }
}
