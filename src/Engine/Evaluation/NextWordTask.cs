namespace LayerChop.Engine.Evaluation;

public sealed record NextWordOptions
{
    /// <summary>Choices per question: the word that follows and Choices - 1 others.</summary>
    public int Choices { get; init; } = 4;

    /// <summary>Words of text before the blank.</summary>
    public int ContextWords { get; init; } = 32;

    /// <summary>Words between two candidate positions of a document, so questions of one document barely overlap.</summary>
    public int Stride { get; init; } = 16;

    public ulong Seed { get; init; }
}

/// <summary>
/// A zero-shot sanity task for corpora without labelled tasks: which word comes next? Each question is the
/// <see cref="NextWordOptions.ContextWords"/> words before a position of a held-out document, and the choices
/// are the word at that position and <see cref="NextWordOptions.Choices"/> - 1 words drawn at random from the
/// words at the candidate positions of all the task's documents (so with the corpus's own word frequencies),
/// each different from the others ignoring case. Positions are every <see cref="NextWordOptions.Stride"/>-th
/// word after the first context; a position counts only when its word is all letters (no attached
/// punctuation), and distractors are drawn from those words alone. Because the true word and the distractors
/// come from the same distribution, a model that ignores the context scores chance (1 / Choices) in
/// expectation: only using the context lifts the score. Questions are shuffled with the seed, so a limit takes
/// a sample spread over every document. Requests are (context, " " + word) for each choice, then ("", " " +
/// word) for each choice; the paper metric is the harness's acc_mutual_info (the word whose log-probability
/// the context raises most), which takes each word's own frequency out of the decision, so small models that
/// use their context show it. acc and acc_norm (the plain log-likelihood decisions) are reported too.
/// </summary>
public sealed class NextWordTask(NextWordOptions options) : TextDocumentTask
{
    public const string TaskName = "next_word";

    public override string Name => TaskName;
    public override string PaperMetric => MetricNames.AccMutualInfo;
    public override bool ReportsAccMutualInfo => true;
    public NextWordOptions Options => options;

    public override IReadOnlyList<TaskDoc> Build(IReadOnlyList<string> documents, int? limit, string origin)
    {
        int n = options.Choices, c = options.ContextWords, stride = options.Stride;
        if (n < 2) throw new LayerChopException($"the next-word task needs at least 2 choices, not {n}");
        if (c < 1 || stride < 1) throw new LayerChopException("the next-word task needs at least one context word and a stride of at least 1");
        if (limit is < 1) throw new LayerChopException($"limit must be at least 1, not {limit}");

        var words = documents.Select(d => d.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)).ToArray();
        var positions = new List<(int Doc, int Index)>();
        for (int d = 0; d < words.Length; d++)
            for (int i = c; i < words[d].Length; i += stride)
                if (IsWord(words[d][i])) positions.Add((d, i));
        var pool = positions.Select(p => words[p.Doc][p.Index]).ToArray();
        int distinct = pool.Distinct(StringComparer.OrdinalIgnoreCase).Count();
        if (positions.Count == 0 || distinct < n)
            throw new LayerChopException($"{origin}: the next-word task needs documents of more than {c} words with at least {n} different words at its positions; found {positions.Count} positions and {distinct} different words among {documents.Count} documents");

        var random = new SplitMix64(options.Seed);
        random.Shuffle(positions);
        var docs = new List<TaskDoc>();
        foreach (var (doc, index) in positions)
        {
            if (docs.Count == limit) break;
            var truth = words[doc][index];
            var choices = new List<string> { truth };
            while (choices.Count < n)
            {
                var pick = pool[random.Next(pool.Length)];
                if (!choices.Contains(pick, StringComparer.OrdinalIgnoreCase)) choices.Add(pick);
            }
            choices.RemoveAt(0);
            int gold = random.Next(n);
            choices.Insert(gold, truth);
            var context = string.Join(' ', words[doc], index - c, c);
            var conditional = choices.Select(ch => new TextRequest(context, " " + ch)).ToArray();
            docs.Add(new TaskDoc($"{origin} document {doc + 1} word {index + 1}", [.. conditional, .. conditional.Select(Unconditional)], choices, gold));
        }
        return docs;
    }

    static bool IsWord(string token) => token.All(char.IsLetter);
}
