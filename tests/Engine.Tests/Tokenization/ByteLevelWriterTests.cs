using System.Text.Json;
using LayerChop.Engine.Tokenization;
using Xunit;

namespace LayerChop.Engine.Tests.Tokenization;

public sealed class ByteLevelWriterTests
{
    private const string Training =
        "The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs away quickly.\n" +
        "Tokenizers split text into tokens, and byte-level BPE never meets an unknown character.\n" +
        "日本語のテキストも、絵文字😀も、そのまま往復する。";

    private static readonly string[] Samples =
    [
        "",
        "Hello world",
        "The quick brown fox jumps over the lazy dog.",
        "  leading and trailing spaces  ",
        "tabs\tnewlines\r\n\n and NUL \0 bytes",
        "日本語のテキスト 中文 한국어",
        "emoji 😀🎉👩‍👩‍👧 𠮷 𝐀𝐁𝐂",
        "<|begin_of_text|>literal specials<|end_of_text|>",
    ];

    [Theory]
    [InlineData(258, null)]
    [InlineData(258, Training)]
    [InlineData(300, "")]
    [InlineData(400, Training)]
    public void Written_tokenizer_reloads_and_round_trips(int vocabSize, string? training)
    {
        string folder = TempFolder.Create();
        try
        {
            TextTokenizer.WriteByteLevel(folder, vocabSize, training);
            Assert.True(File.Exists(Path.Combine(folder, "tokenizer.json")));
            Assert.True(File.Exists(Path.Combine(folder, "tokenizer_config.json")));

            TextTokenizer tok = TextTokenizer.Load(folder);
            Assert.InRange(tok.VocabSize, 258, vocabSize);
            Assert.Equal(256, tok.BosId);
            Assert.Equal(257, tok.EosId);
            Assert.True(tok.AddBos);
            foreach (string s in Samples)
            {
                IReadOnlyList<int> ids = tok.Encode(s);
                Assert.All(ids, id => Assert.InRange(id, 0, tok.VocabSize - 1));
                Assert.Equal(s, tok.Decode(ids));
                Assert.Equal([256, .. ids], tok.Encode(s, addSpecial: true));
            }
            if (string.IsNullOrEmpty(training) || vocabSize == 258)
            {
                // No merges: one token per UTF-8 byte, id = byte value.
                Assert.Equal(258, tok.VocabSize);
                Assert.Equal(new[] { 0x48, 0x69, 0xF0, 0x9F, 0x98, 0x80 }, tok.Encode("Hi😀"));
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Training_learns_merges_up_to_the_vocab_size_deterministically()
    {
        string a = TempFolder.Create(), b = TempFolder.Create();
        try
        {
            TextTokenizer.WriteByteLevel(a, 300, Training);
            TextTokenizer.WriteByteLevel(b, 300, Training);
            Assert.Equal(File.ReadAllBytes(Path.Combine(a, "tokenizer.json")), File.ReadAllBytes(Path.Combine(b, "tokenizer.json")));

            TextTokenizer tok = TextTokenizer.Load(a);
            Assert.Equal(300, tok.VocabSize); // the training text has enough repeated pairs for 42 merges
            // Merges make frequent words shorter than their bytes.
            Assert.True(tok.Encode(" the fox").Count < " the fox".Length);

            using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(a, "tokenizer.json")));
            JsonElement model = doc.RootElement.GetProperty("model");
            Assert.Equal("BPE", model.GetProperty("type").GetString());
            Assert.Equal(42, model.GetProperty("merges").GetArrayLength());
            Assert.Equal(300, model.GetProperty("vocab").GetPropertyCount());
            Assert.Equal(0, model.GetProperty("vocab").GetProperty("Ā").GetInt32());   // byte 0x00
            Assert.Equal(32, model.GetProperty("vocab").GetProperty("Ġ").GetInt32());  // byte 0x20, space
            Assert.Equal("ByteLevel", doc.RootElement.GetProperty("pre_tokenizer").GetProperty("type").GetString());
            Assert.Equal("ByteLevel", doc.RootElement.GetProperty("decoder").GetProperty("type").GetString());
            Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("normalizer").ValueKind);
            Assert.Equal("1.0", doc.RootElement.GetProperty("version").GetString());
        }
        finally
        {
            Directory.Delete(a, recursive: true);
            Directory.Delete(b, recursive: true);
        }
    }

    [Fact]
    public void Training_on_a_larger_text_is_fast_and_round_trips()
    {
        var words = new[] { "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "日本", "語", "😀" };
        var rng = new Random(7);
        string text = string.Join(" ", Enumerable.Range(0, 50_000).Select(_ => words[rng.Next(words.Length)] + rng.Next(100)));
        string folder = TempFolder.Create();
        try
        {
            TextTokenizer.WriteByteLevel(folder, 2000, text);
            TextTokenizer tok = TextTokenizer.Load(folder);
            Assert.InRange(tok.VocabSize, 300, 2000);
            string sample = text[..2000];
            Assert.Equal(sample, tok.Decode(tok.Encode(sample)));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(257)]
    public void Vocab_size_below_258_is_rejected(int vocabSize)
    {
        string folder = Path.Combine(Path.GetTempPath(), "layerchop-tok-never-" + Guid.NewGuid().ToString("N"));
        Assert.Throws<ArgumentException>(() => TextTokenizer.WriteByteLevel(folder, vocabSize, Training));
        Assert.False(Directory.Exists(folder));
    }
}
