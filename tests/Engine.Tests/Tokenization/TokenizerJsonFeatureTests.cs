using LayerChop.Engine.Tokenization;
using Xunit;

namespace LayerChop.Engine.Tests.Tokenization;

/// <summary>Small hand-written tokenizer.json files for the variants that the real files in the tests do not cover.</summary>
public sealed class TokenizerJsonFeatureTests
{
    // Byte-level strings: "Ġ" is the space byte; "Ã©" are the two UTF-8 bytes of "é".
    private const string Vocab = """{"Ġ": 0, "h": 1, "i": 2, "Ġh": 3, "hi": 4, "Ã": 5, "©": 6, "Ã©": 7, "e": 8, "Ì": 9, "ģ": 10, "1": 11, "2": 12}""";

    private static TextTokenizer LoadJson(string json, string? config = null)
    {
        string folder = TempFolder.Create();
        try
        {
            File.WriteAllText(Path.Combine(folder, "tokenizer.json"), json);
            if (config is not null)
            {
                File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), config);
            }
            return TextTokenizer.Load(folder);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Merges_as_pairs_and_add_prefix_space()
    {
        TextTokenizer tok = LoadJson($$$"""
            {"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": true, "use_regex": true},
             "decoder": {"type": "ByteLevel"},
             "model": {"type": "BPE", "vocab": {{{Vocab}}}, "merges": [["Ġ", "h"], ["Ã", "©"]]}}
            """);
        Assert.Equal(new[] { 3, 2, 3, 2 }, tok.Encode("hi hi")); // " hi" " hi": the prefix space, then GPT-2's regex
        Assert.Equal(new[] { 0, 7 }, tok.Encode("é"));            // " é": the two bytes of "é" merged
        Assert.Equal(" hi hi", tok.Decode(tok.Encode("hi hi")));
    }

    [Fact]
    public void Nfc_normalizer_split_removed_inverted_and_added_tokens()
    {
        TextTokenizer tok = LoadJson($$$"""
            {"added_tokens": [{"id": 13, "content": "<eos>", "special": true, "lstrip": true}],
             "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFC"}]},
             "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                 {"type": "Split", "pattern": {"Regex": "\\p{L}+|\\p{N}"}, "behavior": "Removed", "invert": true},
                 {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]},
             "post_processor": {"type": "TemplateProcessing", "single": [{"Sequence": {"id": "A", "type_id": 0}}]},
             "decoder": {"type": "ByteLevel"},
             "model": {"type": "BPE", "ignore_merges": true, "vocab": {{{Vocab}}}, "merges": ["h i", "Ã ©"]}}
            """, config: """{"eos_token": "<eos>"}""");
        // "e\u0301" becomes "é" (NFC); the space before "12" is dropped (Removed + invert keeps only the matches);
        // " <eos>" takes its space along (lstrip).
        IReadOnlyList<int> ids = tok.Encode("hie\u0301 12 <eos>");
        Assert.Equal(new[] { 4, 7, 11, 12, 13 }, ids);
        Assert.Equal("hié12<eos>", tok.Decode(ids));
        Assert.Equal(13, tok.EosId);
        Assert.Null(tok.BosId);
        Assert.False(tok.AddBos);
        Assert.Equal(14, tok.VocabSize);
    }
}
