using LayerChop.Engine.Evaluation;

namespace LayerChop.Engine.Tests.Evaluation;

public class RequestEncoderTests
{
    static (string[] Context, string[] Continuation) Pieces(WordTokenizer t, TokenRequest r) =>
        (r.Context.Select(i => t.Decode([i])).ToArray(), r.Continuation.Select(i => t.Decode([i])).ToArray());

    [Fact]
    public void Trailing_whitespace_of_the_context_moves_to_the_continuation()
    {
        var t = new WordTokenizer();
        var (context, continuation) = Pieces(t, RequestEncoder.Encode(t, new TextRequest("Answer: ", "yes")));
        Assert.Equal(["Answer:"], context);
        Assert.Equal([" yes"], continuation);

        (context, continuation) = Pieces(t, RequestEncoder.Encode(t, new TextRequest("Answer:\n \n", " yes")));
        Assert.Equal(["Answer:"], context);
        Assert.Equal(["\n \n yes"], continuation);
    }

    [Fact]
    public void Continuation_tokens_are_the_whole_encoding_after_the_contexts_token_count_not_the_continuation_encoded_alone()
    {
        // encode("The ca") = [The, " ca"]; encode("The cat sat") = [The, " cat", " sat"]: the harness keeps
        // whole[2:] = [" sat"], even though the continuation "t sat" alone would encode to [t, " sat"].
        var t = new WordTokenizer();
        var (context, continuation) = Pieces(t, RequestEncoder.Encode(t, new TextRequest("The ca", "t sat")));
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
    public void A_continuation_swallowed_by_the_context_is_a_clear_error()
    {
        var t = new WordTokenizer();
        var e = Assert.Throws<LayerChopException>(() => RequestEncoder.Encode(t, new TextRequest("The", "")));
        Assert.Contains("encodes to no tokens", e.Message);
    }
}
