using System.Text;
using LayerChop.Engine.Tokenization;

namespace LayerChop.Engine.Tests.Data;

/// <summary>
/// A tokenizer for tests: each UTF-8 byte is its own id (0..255), EOS is 256. A larger vocabulary lets pre-tokenized
/// test files use ids that the text never produces.
/// </summary>
internal sealed class ByteTextEncoder(int eosId = 256, int vocabSize = 257) : ITextEncoder
{
    public int? BosId => null;
    public int? EosId { get; } = eosId;
    public int VocabSize { get; } = vocabSize;
    public bool AddBos => false;

    public IReadOnlyList<int> Encode(string text, bool addSpecial = false) =>
        Encoding.UTF8.GetBytes(text).Select(b => (int)b).ToArray();

    public string Decode(IEnumerable<int> ids) =>
        Encoding.UTF8.GetString(ids.Where(id => id < 256).Select(id => (byte)id).ToArray());
}
