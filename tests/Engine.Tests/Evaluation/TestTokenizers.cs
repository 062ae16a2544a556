using System.Text;
using System.Text.RegularExpressions;
using LayerChop.Engine.Tokenization;

namespace LayerChop.Engine.Tests.Evaluation;

/// <summary>One token per UTF-8 byte (ids 0..255), BOS 256, EOS 257 by default: fits the tiny test models' vocabulary of 300.</summary>
public sealed class ByteTokenizer(int? bos = 256, int? eos = 257) : ITextEncoder
{
    public int? BosId => bos;
    public int? EosId => eos;
    public int VocabSize => 258;
    public bool AddBos => bos is not null;

    public IReadOnlyList<int> Encode(string text, bool addSpecial = false)
    {
        var ids = Encoding.UTF8.GetBytes(text).Select(b => (int)b).ToList();
        if (addSpecial && BosId is int bos) ids.Insert(0, bos);
        return ids;
    }

    public string Decode(IEnumerable<int> ids) => Encoding.UTF8.GetString(ids.Where(i => i < 256).Select(i => (byte)i).ToArray());
}

/// <summary>
/// A GPT-2-like word tokenizer: leading whitespace belongs to the word after it ("Answer:", " yes"), so
/// encode(a + b) is not always encode(a) + encode(b), the case the harness's pair encoding is built for.
/// Ids are given in order of first appearance, starting at 2 (0 = BOS, 1 = EOS).
/// </summary>
public sealed partial class WordTokenizer : ITextEncoder
{
    readonly Dictionary<string, int> ids = [];
    readonly List<string> pieces = ["<s>", "</s>"];

    public int? BosId => 0;
    public int? EosId => 1;
    public int VocabSize => pieces.Count;
    public bool AddBos => true;

    public IReadOnlyList<string> Pieces(string text) => Piece().Matches(text).Select(m => m.Value).ToList();

    public IReadOnlyList<int> Encode(string text, bool addSpecial = false)
    {
        var result = new List<int>();
        if (addSpecial) result.Add(0);
        foreach (var piece in Pieces(text))
        {
            if (!ids.TryGetValue(piece, out int id)) { id = pieces.Count; ids[piece] = id; pieces.Add(piece); }
            result.Add(id);
        }
        return result;
    }

    public string Decode(IEnumerable<int> tokens) => string.Concat(tokens.Select(t => pieces[t]));

    [GeneratedRegex(@"\s*\S+|\s+")]
    private static partial Regex Piece();
}
