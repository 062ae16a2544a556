using LayerChop.Engine.Tokenization;
using Xunit;

namespace LayerChop.Engine.Tests.Tokenization;

public sealed class TokenizerLoadErrorTests
{
    private const string ValidModel =
        "\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, \"merges\": [\"a b\"]}";

    [Theory]
    [InlineData("{ not json", "not valid JSON")]
    [InlineData("[]", "not a JSON object")]
    [InlineData("""{"pre_tokenizer": {"type": "ByteLevel"}}""", "no \"model\"")]
    [InlineData("""{"decoder": {"type": "ByteLevel"}, "model": {"type": "BPE", "merges": []}}""", "model.vocab")]
    [InlineData("""{"decoder": {"type": "ByteLevel"}, "model": {"type": "BPE", "vocab": {"a": 0}}}""", "model.merges")]
    [InlineData("""{"decoder": {"type": "ByteLevel"}, "model": {"type": "BPE", "vocab": {"a": "zero"}, "merges": []}}""", "no valid id")]
    [InlineData("""{"decoder": {"type": "ByteLevel"}, "model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}}""", "not in model.vocab")]
    [InlineData("""{"decoder": {"type": "ByteLevel"}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["abc"]}}""", "two tokens")]
    [InlineData("""{"decoder": {"type": "ByteLevel"}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": [42]}}""", "neither")]
    [InlineData("""{"decoder": {"type": "ByteLevel"}, "added_tokens": [{"content": "<x>"}], "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}""", "added_tokens")]
    [InlineData("""{"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"}, "decoder": {"type": "ByteLevel"}, """ + ValidModel + "}", "regex")]
    [InlineData("""{"pre_tokenizer": {"type": "Whitespace"}, "decoder": {"type": "ByteLevel"}, """ + ValidModel + "}", "Whitespace")]
    [InlineData("""{"normalizer": {"type": "Lowercase"}, "pre_tokenizer": {"type": "ByteLevel"}, """ + ValidModel + "}", "Lowercase")]
    [InlineData("""{"pre_tokenizer": {"type": "ByteLevel"}, "model": {"type": "WordPiece", "vocab": {}}}""", "WordPiece")]
    public void Malformed_tokenizer_json_gives_one_line_naming_the_file(string json, string problem)
    {
        string folder = TempFolder.Create();
        try
        {
            File.WriteAllText(Path.Combine(folder, "tokenizer.json"), json);
            var e = Assert.Throws<TokenizerLoadException>(() => TextTokenizer.Load(folder));
            Assert.Contains(Path.Combine(folder, "tokenizer.json"), e.Message);
            Assert.Contains(problem, e.Message);
            Assert.DoesNotContain('\n', e.Message);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Valid_minimal_tokenizer_json_loads()
    {
        string folder = TempFolder.Create();
        try
        {
            File.WriteAllText(Path.Combine(folder, "tokenizer.json"),
                """{"pre_tokenizer": {"type": "ByteLevel"}, """ + ValidModel + "}");
            TextTokenizer tok = TextTokenizer.Load(folder);
            Assert.Equal(new[] { 2, 0 }, tok.Encode("aba"));
            Assert.Equal(3, tok.VocabSize);
            Assert.Null(tok.BosId);
            Assert.False(tok.AddBos);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Empty_or_missing_folder_and_bad_tokenizer_model_are_reported()
    {
        string folder = TempFolder.Create();
        try
        {
            var empty = Assert.Throws<TokenizerLoadException>(() => TextTokenizer.Load(folder));
            Assert.Contains("no tokenizer.json or tokenizer.model", empty.Message);

            var missing = Assert.Throws<TokenizerLoadException>(() => TextTokenizer.Load(Path.Combine(folder, "nope")));
            Assert.Contains("not found", missing.Message);

            File.WriteAllBytes(Path.Combine(folder, "tokenizer.model"), [0x0A, 0xFF, 0x01, 0x02]);
            var model = Assert.Throws<TokenizerLoadException>(() => TextTokenizer.Load(folder));
            Assert.Contains("tokenizer.model", model.Message);

            File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), "{ broken");
            var config = Assert.Throws<TokenizerLoadException>(() => TextTokenizer.Load(folder));
            Assert.Contains("tokenizer_config.json", config.Message);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
