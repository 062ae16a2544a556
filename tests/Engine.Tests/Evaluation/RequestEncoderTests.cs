using LayerChop.Engine.Evaluation;
using LayerChop.Engine.Tests.Data;

namespace LayerChop.Engine.Tests.Evaluation;

public class RequestEncoderTests
{
    static (string[] Context, string[] Continuation) Pieces(WordTokenizer t, TokenRequest r) =>
        (r.Context.Select(i => t.Decode([i])).ToArray(), r.Continuation.Select(i => t.Decode([i])).ToArray());

    [Fact]
    public void Trailing_whitespace_of_the_context_moves_to_the_continuation()
    {
        var t = new WordTokenizer();
        var (context, continuation) = Pieces(t, RequestEncoder.Encode(t, new TextRequest("Answer: ", "yes"), AddBos.False));
        Assert.Equal(["Answer:"], context);
        Assert.Equal([" yes"], continuation);

        (context, continuation) = Pieces(t, RequestEncoder.Encode(t, new TextRequest("Answer:\n \n", " yes"), AddBos.False));
        Assert.Equal(["Answer:"], context);
        Assert.Equal(["\n \n yes"], continuation);
    }

    [Fact]
    public void Continuation_tokens_are_the_whole_encoding_after_the_contexts_token_count_not_the_continuation_encoded_alone()
    {
        // encode("The ca") = [The, " ca"]; encode("The cat sat") = [The, " cat", " sat"]: the harness keeps
        // whole[2:] = [" sat"], even though the continuation "t sat" alone would encode to [t, " sat"].
        var t = new WordTokenizer();
        var (context, continuation) = Pieces(t, RequestEncoder.Encode(t, new TextRequest("The ca", "t sat"), AddBos.False));
        Assert.Equal(["The", " ca"], context);
        Assert.Equal([" sat"], continuation);
    }

    [Fact]
    public void An_empty_context_becomes_the_bos_token_or_eos_without_bos()
    {
        var bytes = new ByteTokenizer();
        var r = RequestEncoder.Encode(bytes, new TextRequest("", " hi"));
        Assert.Equal([256], r.Context);
        Assert.Equal([(int)' ', 'h', 'i'], r.Continuation);

        r = RequestEncoder.Encode(new ByteTokenizer(bos: null), new TextRequest("", "hi"));
        Assert.Equal([257], r.Context);

        var e = Assert.Throws<LayerChopException>(() => RequestEncoder.Encode(new ByteTokenizer(bos: null, eos: null), new TextRequest("", "hi")));
        Assert.Contains("neither a BOS nor an EOS", e.Message);
    }

    [Fact]
    public void An_empty_context_whose_continuation_starts_with_the_prefix_token_uses_that_token_as_context()
    {
        var t = new ByteTokenizer(bos: 'A');
        var r = RequestEncoder.Encode(t, new TextRequest("", "Ab"));
        Assert.Equal([(int)'A'], r.Context);
        Assert.Equal([(int)'b'], r.Continuation);
    }

    [Fact]
    public void Add_bos_auto_follows_the_tokenizer_true_always_adds_it_and_false_never()
    {
        // Harness v0.4.9.2+: tokenizer.encode(context) with the tokenizer's default special tokens, so BOS starts the
        // context when the tokenizer adds one; the continuation is still whole[len(context):], without BOS.
        var words = new WordTokenizer();                          // adds BOS (<s>) by default
        var auto = Pieces(words, RequestEncoder.Encode(words, new TextRequest("The ca", "t sat")));
        Assert.Equal(["<s>", "The", " ca"], auto.Context);
        Assert.Equal([" sat"], auto.Continuation);
        var never = Pieces(words, RequestEncoder.Encode(words, new TextRequest("The ca", "t sat"), AddBos.False));
        Assert.Equal(["The", " ca"], never.Context);
        Assert.Equal([" sat"], never.Continuation);

        var bytes = new ByteTextEncoder(eosId: 256);             // no BOS at all: auto adds nothing
        Assert.Equal("Q:"u8.ToArray().Select(b => (int)b), RequestEncoder.Encode(bytes, new TextRequest("Q:", " a")).Context);
        var e = Assert.Throws<LayerChopException>(() => RequestEncoder.CheckAddBos(bytes, AddBos.True));
        Assert.Contains("--add-bos true needs a BOS token", e.Message);

        var quiet = new ByteTokenizer(bos: 256);                  // true adds BOS whatever the tokenizer's default
        Assert.Equal([256, 'Q'], RequestEncoder.Encode(quiet, new TextRequest("Q", " a"), AddBos.True).Context);
    }

    [Fact]
    public void A_context_that_already_starts_with_bos_gets_no_second_one()
    {
        var t = new ByteTokenizer(bos: 'A');                      // the text "A" encodes to the BOS id itself
        Assert.Equal([(int)'A', 'B'], RequestEncoder.Encode(t, new TextRequest("AB", " c"), AddBos.True).Context);
        Assert.Equal([(int)'A', 'x', 'B'], RequestEncoder.Encode(t, new TextRequest("xB", " c"), AddBos.True).Context);
    }

    [Theory]
    [InlineData("auto", AddBos.Auto)]
    [InlineData("TRUE", AddBos.True)]
    [InlineData("false", AddBos.False)]
    public void Add_bos_values_parse_by_their_documented_names(string value, AddBos expected) =>
        Assert.Equal(expected, RequestEncoder.ParseAddBos(value));

    [Fact]
    public void A_continuation_swallowed_by_the_context_is_a_clear_error()
    {
        var t = new WordTokenizer();
        var e = Assert.Throws<LayerChopException>(() => RequestEncoder.Encode(t, new TextRequest("The", "")));
        Assert.Contains("encodes to no tokens", e.Message);
    }
}
