using System.Security.Cryptography;
using System.Text;
using LayerChop.Engine.Tokenization;

namespace LayerChop.Engine.Data;

/// <summary>
/// A hash that tells tokenizers apart, so a token cache is never reused with a different one. <see cref="ITextEncoder"/>
/// exposes no identity, so this hashes what can be observed: the type, vocabulary size, special ids, and the ids of
/// a probe text that exercises words, digits, whitespace runs, accents, CJK, emoji and special-token spellings. Two
/// tokenizers that agree on all of that are treated as the same.
/// </summary>
internal static class TokenizerIdentity
{
    private const string Probe =
        "LayerChop tokenizer probe: The quick brown fox jumps over 13 lazy dogs, 2,048 times!\n\n\t  indented\r\n" +
        "naïve café Ünïcödé straße 日本語のテキスト 🙂👍🏽 <|endoftext|> <|begin_of_text|> <s> </s> [CLS] ''``--";

    public static string Of(ITextEncoder tokenizer)
    {
        var text = new StringBuilder()
            .Append(tokenizer.GetType().FullName).Append('|')
            .Append(tokenizer.VocabSize).Append('|')
            .Append(tokenizer.BosId?.ToString() ?? "-").Append('|')
            .Append(tokenizer.EosId?.ToString() ?? "-").Append('|');
        foreach (int id in tokenizer.Encode(Probe, addSpecial: false))
            text.Append(id).Append(',');
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..32];
    }
}
