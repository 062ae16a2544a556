using LayerChop.Engine.Modeling;
using static TorchSharp.torch;

namespace LayerChop.Engine.Evaluation;

/// <summary>Scores token requests: the summed log-probability of each continuation given its context.</summary>
public interface ILoglikelihoodScorer
{
    /// <summary>The most tokens one model input may hold; longer requests are truncated from the left.</summary>
    int MaxLength { get; }

    /// <summary>One result per request, in request order.</summary>
    /// <param name="onScored">called with the number of requests finished since the last call.</param>
    IReadOnlyList<Loglikelihood> Score(IReadOnlyList<TokenRequest> requests, Action<int>? onScored = null);
}

public sealed class ScorerOptions
{
    /// <summary>
    /// Rows per forward pass. With the shared context a row is one context with all of its continuations (a
    /// multiple-choice question); without it a row is one request, as in the harness.
    /// </summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>
    /// Compute a context shared by several requests once: the context and every continuation go into one row,
    /// each continuation attending to the context and to itself only. Off scores every request as its own row
    /// (the harness's way; for benchmarks and cross-checks). Scores agree up to float rounding.
    /// </summary>
    public bool SharedContext { get; init; } = true;

    /// <summary>Input length limit; the model's max_position_embeddings when null (never more than that).</summary>
    public int? MaxLength { get; init; }

    /// <summary>Layers run as identities: the model scored as if they were removed.</summary>
    public IReadOnlySet<int>? SkipLayers { get; init; }
}

/// <summary>
/// Log-likelihood scoring with a <see cref="CausalLM"/>, batched and equal (up to float rounding) to what
/// lm-evaluation-harness computes for a Hugging Face causal model:
/// the input is (context + continuation) without its last token, left-truncated to the last MaxLength + 1 tokens
/// when too long; log_softmax in float32; the continuation's log-probabilities are summed (here in double) and
/// it is greedy when every continuation token is the argmax at its position.
/// Rows are sorted longest first, right-padded per batch (causal attention keeps padding out of real positions)
/// and the results returned in request order. Requests whose (truncated) contexts are identical share one row
/// when <see cref="ScorerOptions.SharedContext"/> is on, so their context is computed once.
/// </summary>
public sealed class ModelScorer : ILoglikelihoodScorer
{
    readonly CausalLM model;
    readonly ScorerOptions options;

    public ModelScorer(CausalLM model, ScorerOptions? options = null)
    {
        this.model = model;
        this.options = options ?? new ScorerOptions();
        if (this.options.BatchSize < 1) throw new LayerChopException($"batch size must be at least 1, not {this.options.BatchSize}");
        int context = model.Config.MaxPositionEmbeddings;
        MaxLength = Math.Min(this.options.MaxLength ?? context, context);
        if (MaxLength < 1) throw new LayerChopException($"max length must be at least 1, not {MaxLength}");
    }

    public int MaxLength { get; }

    /// <summary>Forward passes run by this scorer so far (for benchmarks).</summary>
    public long ForwardPasses { get; private set; }

    /// <summary>Token positions fed to the model so far, padding included (for benchmarks).</summary>
    public long TokensProcessed { get; private set; }

    /// <summary>One row of a batch: a context and the continuations that follow it.</summary>
    sealed class Unit(int[] context)
    {
        public readonly int[] Context = context;
        public readonly List<int> Members = [];
        public int Length;                                     // input tokens of the row
    }

    public IReadOnlyList<Loglikelihood> Score(IReadOnlyList<TokenRequest> requests, Action<int>? onScored = null)
    {
        var results = new Loglikelihood[requests.Count];
        if (requests.Count == 0) return results;
        var continuations = new int[requests.Count][];
        var units = new List<Unit>();
        var byContext = new Dictionary<int[], Unit>(SequenceComparer.Instance);
        for (int i = 0; i < requests.Count; i++)
        {
            var (context, continuation) = Truncate(requests[i], i);
            continuations[i] = continuation;
            // A shared row grows with every continuation: past twice the context length, start a new row,
            // so the attention mask of a row (length squared) stays bounded whatever the number of requests
            // sharing a context (perplexity windows of many documents all start from BOS).
            if (!options.SharedContext || !byContext.TryGetValue(context, out var unit)
                || unit.Length + continuation.Length - 1 > 2 * MaxLength)
            {
                unit = new Unit(context) { Length = context.Length };
                units.Add(unit);
                if (options.SharedContext) byContext[context] = unit;
            }
            unit.Members.Add(i);
            unit.Length += continuation.Length - 1;           // the last continuation token is never an input
        }

        // Longest first (as the harness does): the first batch shows at once whether memory suffices,
        // and each batch holds rows of similar length, so little padding.
        var order = units.Select((u, i) => (u, i)).OrderByDescending(x => x.u.Length).ThenBy(x => x.i).Select(x => x.u).ToList();
        using var noGrad = no_grad();
        for (int start = 0; start < order.Count; start += options.BatchSize)
        {
            var batch = order.GetRange(start, Math.Min(options.BatchSize, order.Count - start));
            RunBatch(batch, continuations, results);
            onScored?.Invoke(batch.Sum(u => u.Members.Count));
        }
        return results;
    }

    /// <summary>The harness's left truncation: keep the last MaxLength + 1 tokens of context + continuation.</summary>
    (int[] Context, int[] Continuation) Truncate(TokenRequest request, int index)
    {
        if (request.Context.Length == 0 || request.Continuation.Length == 0)
            throw new LayerChopException($"request {index} has an empty {(request.Context.Length == 0 ? "context" : "continuation")}; both need at least one token");
        if (request.Continuation.Length > MaxLength)
            throw new LayerChopException($"request {index} has a continuation of {request.Continuation.Length} tokens, more than the model's context of {MaxLength}");
        int total = request.Context.Length + request.Continuation.Length;
        if (total <= MaxLength + 1) return (request.Context, request.Continuation);
        int keep = MaxLength + 1 - request.Continuation.Length;
        return (request.Context[^keep..], request.Continuation);
    }

    void RunBatch(List<Unit> batch, int[][] continuations, Loglikelihood[] results)
    {
        int rows = batch.Count, width = batch.Max(u => u.Length);
        bool packed = batch.Any(u => u.Members.Count > 1);
        var ids = new long[rows * width];
        var positions = packed ? new long[rows * width] : null;
        var mask = packed ? new bool[checked(rows * width * width)] : null;
        var gather = new List<long>();                         // flat (row * width + position) whose logits predict...
        var targets = new List<long>();                        // ...this token
        var spans = new List<(int Request, int First, int Count)>();

        for (int r = 0; r < rows; r++)
        {
            var unit = batch[r];
            int c = unit.Context.Length, rowBase = r * width;
            for (int t = 0; t < c; t++)
            {
                ids[rowBase + t] = unit.Context[t];
                if (packed)
                {
                    positions![rowBase + t] = t;
                    for (int s = 0; s <= t; s++) mask![(long)(rowBase + t) * width + s] = true;
                }
            }
            int offset = c;
            foreach (int request in unit.Members)
            {
                var cont = continuations[request];
                spans.Add((request, gather.Count, cont.Length));
                for (int j = 0; j < cont.Length; j++)
                {
                    // Token j is predicted by the position before it: the context's last token for j = 0.
                    gather.Add(rowBase + (j == 0 ? c - 1 : offset + j - 1));
                    targets.Add(cont[j]);
                }
                for (int k = 0; k < cont.Length - 1; k++)
                {
                    int q = offset + k;
                    ids[rowBase + q] = cont[k];
                    if (packed)
                    {
                        positions![rowBase + q] = c + k;
                        long maskRow = (long)(rowBase + q) * width;
                        for (int s = 0; s < c; s++) mask![maskRow + s] = true;            // the whole context
                        for (int s = offset; s <= q; s++) mask![maskRow + s] = true;      // itself, causally
                    }
                }
                offset += cont.Length - 1;
            }
            if (packed)
                for (int q = unit.Length; q < width; q++)
                    mask![(long)(rowBase + q) * width + q] = true;                         // padding sees itself only
        }

        float[] logProbs;
        bool[] greedy;
        using (var scope = NewDisposeScope())
        {
            var device = model.Device;
            var input = tensor(ids, [rows, width], ScalarType.Int64).to(device);
            var hidden = packed
                ? model.Hidden(input, tensor(positions!, [rows, width], ScalarType.Int64).to(device),
                    tensor(mask!, [rows, width, width]).to(device), options.SkipLayers)
                : model.Hidden(input, cache: null, skipLayers: options.SkipLayers);
            var picked = hidden.reshape(rows * width, hidden.shape[2]).index_select(0, tensor(gather.ToArray(), ScalarType.Int64).to(device));
            var wanted = tensor(targets.ToArray(), ScalarType.Int64).to(device);
            // The scored tokens' float32 log-probabilities a slice at a time: a long window of a large vocabulary
            // would otherwise hold (K, V) logits and their log-softmax whole. Each row is computed alone either way.
            long k = picked.shape[0], slice = Training.Losses.SliceTokens(model.Config.VocabSize);
            logProbs = new float[k];
            greedy = new bool[k];
            for (long start = 0; start < k; start += slice)
            {
                using var sliceScope = NewDisposeScope();
                long n = Math.Min(slice, k - start);
                var logits = model.Project(picked.narrow(0, start, n)).to(ScalarType.Float32);     // (n, V)
                var logp = nn.functional.log_softmax(logits, -1);
                var target = wanted.narrow(0, start, n);
                logp.gather(1, target.unsqueeze(1)).squeeze(1).cpu().data<float>().CopyTo(logProbs, (int)start);
                logp.argmax(-1).eq(target).cpu().data<bool>().CopyTo(greedy, (int)start);
            }
        }
        ForwardPasses++;
        TokensProcessed += (long)rows * width;

        foreach (var (request, first, count) in spans)
        {
            double sum = 0;
            bool all = true;
            for (int k = first; k < first + count; k++) { sum += logProbs[k]; all &= greedy[k]; }
            results[request] = new Loglikelihood(sum, all);
        }
    }

    sealed class SequenceComparer : IEqualityComparer<int[]>
    {
        public static readonly SequenceComparer Instance = new();
        public bool Equals(int[]? a, int[]? b) => a is not null && b is not null && a.AsSpan().SequenceEqual(b);
        public int GetHashCode(int[] a)
        {
            var h = new HashCode();
            h.AddBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan()));
            return h.ToHashCode();
        }
    }
}
