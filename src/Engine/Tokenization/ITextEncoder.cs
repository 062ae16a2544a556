namespace LayerChop.Engine.Tokenization;

/// <summary>What data loading and evaluation need from a tokenizer: text to ids, ids to text, and the special ids.</summary>
public interface ITextEncoder
{
    int? BosId { get; }
    int? EosId { get; }
    int VocabSize { get; }
    /// <summary>Whether <see cref="Encode"/> with addSpecial prepends <see cref="BosId"/>: the tokenizer's own add-BOS default.</summary>
    bool AddBos { get; }
    /// <summary>Token ids of <paramref name="text"/>; with <paramref name="addSpecial"/>, BOS first when the tokenizer adds one.</summary>
    IReadOnlyList<int> Encode(string text, bool addSpecial = false);
    string Decode(IEnumerable<int> ids);
}
