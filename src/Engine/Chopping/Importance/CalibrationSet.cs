using System.Text.Json;
using LayerChop.Engine.Tokenization;
using LayerChop.Settings;

namespace LayerChop.Engine.Chopping.Importance;

/// <summary>
/// Token sequences of equal length that the importance criteria measure a model on. Loaded from a corpus by a
/// deliberately small reader: documents are tokenized in file order, joined with EOS between them, and cut into
/// consecutive sequences; the first <c>count</c> sequences are taken, so a fixed corpus always gives the same set.
/// </summary>
public sealed class CalibrationSet
{
    public const int DefaultSequences = 32;
    public const int DefaultLength = 128;

    /// <summary>The sequences, each exactly <see cref="Length"/> token ids.</summary>
    public IReadOnlyList<int[]> Sequences { get; }

    public int Length { get; }

    /// <summary>Where the tokens came from, for messages and records.</summary>
    public string Source { get; }

    public int Count => Sequences.Count;
    public long Tokens => (long)Count * Length;

    CalibrationSet(IReadOnlyList<int[]> sequences, int length, string source)
    {
        Sequences = sequences;
        Length = length;
        Source = source;
    }

    /// <summary>A set made of ready token sequences (tests, and the data pipeline later).</summary>
    public static CalibrationSet FromSequences(IReadOnlyList<int[]> sequences, string source = "token sequences")
    {
        if (sequences.Count == 0)
            throw new LayerChopException($"calibration set from {source} is empty: it needs at least one sequence");
        int length = sequences[0].Length;
        if (length < 2)
            throw new LayerChopException($"calibration sequences from {source} have {length} tokens; at least 2 are needed to predict one");
        if (sequences.Any(s => s.Length != length))
            throw new LayerChopException($"calibration sequences from {source} differ in length; all must have {length} tokens");
        return new CalibrationSet(sequences.Select(s => s.ToArray()).ToList(), length, source);
    }

    /// <summary>
    /// Reads <paramref name="path"/> as the trainer reads a corpus (<see cref="Data.Documents"/>: .txt, .jsonl,
    /// .jsonl.gz, .jsonl.zst files or folders of them, the text in <paramref name="textField"/>) and returns its
    /// first <paramref name="count"/> sequences of <paramref name="length"/> tokens. Reading stops as soon as
    /// enough tokens are in hand, so a large corpus costs only what is used.
    /// </summary>
    public static CalibrationSet Load(string path, ITextEncoder tokenizer, int count = DefaultSequences, int length = DefaultLength, string textField = TextCorpus.DefaultField)
    {
        if (count < 1) throw new LayerChopException($"--calib-sequences {count}: at least one sequence is needed");
        if (length < 2) throw new LayerChopException($"--calib-seq-len {length}: at least 2 tokens are needed to predict one");
        long needed = (long)count * length;
        var tokens = new List<int>();
        bool first = true;
        foreach (var document in Data.Documents.Read([path], textField))
        {
            if (string.IsNullOrWhiteSpace(document)) continue;
            // EOS marks document boundaries so no sequence reads as one text running into the next; a tokenizer
            // without EOS simply joins them.
            if (!first && tokenizer.EosId is int eos) tokens.Add(eos);
            first = false;
            tokens.AddRange(tokenizer.Encode(document, addSpecial: false));
            if (tokens.Count >= needed) break;
        }
        if (tokens.Count < length)
            throw new LayerChopException(tokens.Count == 0
                ? $"calibration corpus {path} is empty: it has no text"
                : $"calibration corpus {path} has {tokens.Count} tokens, fewer than one sequence of {length}; give more text or a smaller --calib-seq-len");
        int available = tokens.Count / length;
        if (available < count)
            throw new LayerChopException($"calibration corpus {path} gives {available} sequences of {length} tokens but {count} were asked for; give more text or a smaller --calib-sequences");
        var sequences = new List<int[]>(count);
        for (int i = 0; i < count; i++) sequences.Add(tokens.GetRange(i * length, length).ToArray());
        return new CalibrationSet(sequences, length, path);
    }
}
