using LayerChop.Engine.Chopping;
using Xunit;

namespace LayerChop.Engine.Tests.Chopping;

public class PlacementTests
{
    [Theory]
    [InlineData("input", 12, 4, new[] { 1, 2, 3, 4 })]
    [InlineData("output", 12, 4, new[] { 7, 8, 9, 10 })]
    [InlineData("middle", 12, 4, new[] { 4, 5, 6, 7 })]
    [InlineData("middle", 12, 5, new[] { 3, 4, 5, 6, 7 })]
    [InlineData("both", 12, 5, new[] { 1, 2, 3, 9, 10 })]
    [InlineData("both", 12, 1, new[] { 1 })]
    [InlineData("max-gap", 12, 4, new[] { 2, 4, 7, 9 })]
    [InlineData("max-gap", 32, 16, new[] { 1, 3, 5, 7, 9, 11, 13, 15, 16, 18, 20, 22, 24, 26, 28, 30 })]
    [InlineData("input", 4, 2, new[] { 1, 2 })]
    [InlineData("output", 4, 2, new[] { 1, 2 })]
    public void Placements_remove_exactly_the_layers_their_definition_names(string kind, int layers, int k, int[] expected)
    {
        Assert.Equal(expected, ChopStrategy.Parse(kind, k).LayersToRemove(layers));
    }

    [Theory]
    [InlineData("input")]
    [InlineData("output")]
    [InlineData("middle")]
    [InlineData("both")]
    [InlineData("max-gap")]
    public void Every_placement_keeps_the_first_and_last_layer_for_every_valid_k(string kind)
    {
        for (int l = 3; l <= 40; l++)
            for (int k = 1; k <= l - 2; k++)
            {
                var removed = ChopStrategy.Parse(kind, k).LayersToRemove(l);
                Assert.Equal(k, removed.Distinct().Count());
                Assert.DoesNotContain(0, removed);
                Assert.DoesNotContain(l - 1, removed);
            }
    }

    [Theory]
    [InlineData("input", 12, 0, "K must be between 1 and 10")]
    [InlineData("input", 12, 11, "K must be between 1 and 10")]
    [InlineData("middle", 2, 1, "cannot be chopped")]
    public void Impossible_k_is_refused(string kind, int layers, int k, string expected)
    {
        var e = Assert.Throws<LayerChopException>(() => ChopStrategy.Parse(kind, k).LayersToRemove(layers));
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData("layers:1,2,1", null, "listed twice")]
    [InlineData("layers:1,x", null, "'x' is not a layer index")]
    [InlineData("layers:1", 2, "--remove does not go with")]
    [InlineData("random", 2, "unknown strategy 'random'")]
    [InlineData("input", null, "needs --remove K")]
    public void Malformed_strategies_are_refused(string text, int? k, string expected)
    {
        var e = Assert.Throws<LayerChopException>(() => ChopStrategy.Parse(text, k));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Explicit_layers_may_include_the_first_and_last_but_must_exist()
    {
        Assert.Equal([0, 3, 5], ChopStrategy.Parse("layers:5,0,3", null).LayersToRemove(6));
        var e = Assert.Throws<LayerChopException>(() => ChopStrategy.Parse("layers:6", null).LayersToRemove(6));
        Assert.Contains("layers 0..5", e.Message);
    }
}
