namespace LayerChop.Engine.Evaluation;

public sealed record ContinuationOptions
{
    /// <summary>Choices per question: the true continuation and Choices - 1 passages from other documents.</summary>
    public int Choices { get; init; } = 4;

    /// <summary>Words of the passage the model is given.</summary>
    public int ContextWords { get; init; } = 48;

    /// <summary>Words of each continuation, the true one and the distractors alike.</summary>
    public int ContinuationWords { get; init; } = 16;

    public ulong Seed { get; init; }
}

/// <summary>
/// A zero-shot task for corpora without labelled tasks: each held-out document long enough gives one question,
/// a passage of <see cref="ContinuationOptions.ContextWords"/> words at a random offset, whose true next
/// <see cref="ContinuationOptions.ContinuationWords"/> words must be told apart from equally long passages of
/// other documents. Words are whitespace-separated and rejoined with single spaces; requests are
/// (passage, " " + choice), scored as any multiple-choice task. Everything random comes from the seed, so the
/// questions are the same on every run and machine. Documents are read as <see cref="TextDocumentTask"/> says.
/// Paper metric: acc_norm (the choices differ in length, as HellaSwag's endings do).
/// </summary>
public sealed class ContinuationTask(ContinuationOptions options) : TextDocumentTask
{
    public const string TaskName = "continuation";

    public override string Name => TaskName;
    public override string PaperMetric => MetricNames.AccNorm;
    public ContinuationOptions Options => options;

    public override IReadOnlyList<TaskDoc> Build(IReadOnlyList<string> documents, int? limit, string origin) =>
        Build(documents, options, limit, origin);

    /// <exception cref="LayerChopException">too few documents, or options out of range.</exception>
    public static IReadOnlyList<TaskDoc> Build(IReadOnlyList<string> documents, ContinuationOptions options, int? limit = null, string origin = TaskName)
    {
        if (options.Choices < 2) throw new LayerChopException($"the continuation task needs at least 2 choices, not {options.Choices}");
        if (options.ContextWords < 1 || options.ContinuationWords < 1)
            throw new LayerChopException("the continuation task needs at least one context word and one continuation word");
        if (limit is < 1) throw new LayerChopException($"limit must be at least 1, not {limit}");
        int c = options.ContextWords, k = options.ContinuationWords, n = options.Choices;
        var words = documents.Select(d => d.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)).ToArray();
        var pool = Enumerable.Range(0, words.Length).Where(i => words[i].Length >= k).ToArray();
        var sources = Enumerable.Range(0, words.Length).Where(i => words[i].Length >= c + k).ToArray();
        if (sources.Length == 0 || pool.Length < n)
            throw new LayerChopException($"{origin}: the continuation task needs at least one document of {c + k} words or more and {n} documents of {k} words or more; found {sources.Length} and {pool.Length} among {documents.Count}");

        var random = new SplitMix64(options.Seed);
        var docs = new List<TaskDoc>();
        foreach (int source in sources)
        {
            if (docs.Count == limit) break;
            var w = words[source];
            int start = random.Next(w.Length - (c + k) + 1);
            var context = string.Join(' ', w, start, c);
            var truth = string.Join(' ', w, start + c, k);
            var others = new List<int>();
            while (others.Count < n - 1)
            {
                int pick = pool[random.Next(pool.Length)];
                if (pick != source && !others.Contains(pick)) others.Add(pick);
            }
            var choices = new List<string>();
            foreach (int other in others)
            {
                var o = words[other];
                choices.Add(string.Join(' ', o, random.Next(o.Length - k + 1), k));
            }
            int gold = random.Next(n);
            choices.Insert(gold, truth);
            docs.Add(new TaskDoc($"{origin} document {source + 1}", choices.Select(ch => new TextRequest(context, " " + ch)).ToArray(), choices, gold));
        }
        return docs;
    }
}
