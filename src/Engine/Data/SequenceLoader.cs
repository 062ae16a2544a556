using TorchSharp;

namespace LayerChop.Engine.Data;

/// <summary>
/// Training batches from a <see cref="TokenCorpus"/>: fixed-length windows, shuffled per epoch from a seed, with a
/// cursor that can be saved and restored exactly.
/// </summary>
/// <remarks>
/// Packing follows nanoGPT: sample i is the seqLen + 1 tokens starting at token i * seqLen of the training stream, so
/// inputs are its first seqLen tokens and targets the last seqLen, and consecutive windows share one token. Every
/// token but the first is thus a target exactly once per epoch, and documents run across window edges (separated by
/// EOS). There are (TrainTokens - 1) / seqLen samples per epoch; the tail that fills no window is left out.
/// <para>Epoch e visits the samples in a Fisher–Yates permutation seeded by mix(seed, e), generated with SplitMix64.
/// The permutation is the only per-epoch state held in memory, 4 bytes a sample (1/seqLen of the cache's size);
/// tokens are read from the memory-mapped cache as batches need them. Not thread-safe.</para>
/// </remarks>
public sealed class SequenceLoader
{
    private readonly TokenCorpus _corpus;
    private int[] _order = [];
    private int _orderEpoch = -1;
    private int _epoch;
    private long _position;

    public SequenceLoader(TokenCorpus corpus, int seqLen, long seed, DataCursor? start = null)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentOutOfRangeException.ThrowIfLessThan(seqLen, 1);
        _corpus = corpus;
        SeqLen = seqLen;
        Seed = seed;

        long needed = (long)seqLen + 1;
        if (corpus.TrainTokens < needed)
            throw new LayerChopException(
                $"corpus {corpus.Name} has {corpus.TrainTokens} training tokens; one sequence of seq_len {seqLen} needs {needed}");
        long samples = (corpus.TrainTokens - 1) / seqLen;
        if (samples > Array.MaxLength)
            throw new LayerChopException(
                $"corpus {corpus.Name} has {samples} samples of seq_len {seqLen} per epoch, more than one epoch's shuffle can hold ({Array.MaxLength}); use a longer seq_len");
        SamplesPerEpoch = samples;

        var cursor = start ?? DataCursor.Start;
        if (cursor.Epoch < 0 || cursor.Position < 0 || cursor.Position >= SamplesPerEpoch)
            throw new LayerChopException(
                $"data cursor (epoch {cursor.Epoch}, position {cursor.Position}) does not fit corpus {corpus.Name}, which has {SamplesPerEpoch} samples of seq_len {seqLen} per epoch; was it saved with other data or another seq_len?");
        _epoch = cursor.Epoch;
        _position = cursor.Position;
    }

    public int SeqLen { get; }

    public long Seed { get; }

    public long SamplesPerEpoch { get; }

    /// <summary>Held-out samples available, before any cap: (HeldoutTokens - 1) / seqLen, or 0 when too few tokens.</summary>
    public long HeldoutSamples => _corpus.HeldoutTokens > SeqLen ? (_corpus.HeldoutTokens - 1) / SeqLen : 0;

    /// <summary>Where the next batch starts. Always has Position &lt; SamplesPerEpoch: finishing an epoch moves to the next.</summary>
    public DataCursor Cursor => new(_epoch, _position);

    /// <summary>
    /// The next <paramref name="batchSize"/> samples as a (batchSize, seqLen + 1) int64 CPU tensor that the caller
    /// disposes. A batch that reaches the end of an epoch continues with the next epoch's order.
    /// </summary>
    public torch.Tensor NextBatch(int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        int width = SeqLen + 1;
        var batch = new long[(long)batchSize * width];
        var window = new uint[width];
        for (int row = 0; row < batchSize; row++)
        {
            long sample = SampleAt(_epoch, _position);
            ReadWindow(_corpus.Train, sample, window, batch.AsSpan(row * width, width));
            if (++_position == SamplesPerEpoch)
            {
                _epoch = checked(_epoch + 1);
                _position = 0;
            }
        }
        return torch.tensor(batch, [batchSize, width], torch.int64);
    }

    /// <summary>
    /// The held-out samples in batches of <paramref name="batchSize"/> (the last may be smaller), the same on every
    /// call: not shuffled, and when there are more than <paramref name="maxSamples"/>, that many spread evenly over
    /// the held-out stream rather than its first ones. Empty when the held-out split is shorter than one sample.
    /// Each tensor is (rows, seqLen + 1) int64 on the CPU; the caller disposes it.
    /// </summary>
    public IEnumerable<torch.Tensor> HeldoutBatches(int batchSize, int maxSamples)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(maxSamples);
        return HeldoutBatchesIterator(batchSize, maxSamples);
    }

    private IEnumerable<torch.Tensor> HeldoutBatchesIterator(int batchSize, int maxSamples)
    {
        long available = HeldoutSamples;
        long count = Math.Min(available, maxSamples);
        int width = SeqLen + 1;
        var window = new uint[width];
        for (long first = 0; first < count; first += batchSize)
        {
            int rows = (int)Math.Min(batchSize, count - first);
            var batch = new long[(long)rows * width];
            for (int row = 0; row < rows; row++)
            {
                long sample = (long)((Int128)(first + row) * available / count);
                ReadWindow(_corpus.Heldout, sample, window, batch.AsSpan(row * width, width));
            }
            yield return torch.tensor(batch, [rows, width], torch.int64);
        }
    }

    /// <summary>The training sample that epoch <paramref name="epoch"/> visits at <paramref name="position"/>.</summary>
    internal long SampleAt(int epoch, long position)
    {
        if (_orderEpoch != epoch)
        {
            _order = SplitMix64.Permutation((int)SamplesPerEpoch, SplitMix64.EpochSeed(Seed, epoch));
            _orderEpoch = epoch;
        }
        return _order[position];
    }

    private void ReadWindow(TokenCache cache, long sample, uint[] window, Span<long> row)
    {
        cache.Read(sample * SeqLen, window);
        for (int i = 0; i < window.Length; i++)
            row[i] = window[i];
    }
}
