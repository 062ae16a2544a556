using System.Text.Json;
using LayerChop.Engine.Checkpoints;
using LayerChop.Engine.Chopping;
using LayerChop.Engine.Chopping.Importance;
using static TorchSharp.torch;

namespace LayerChop.Engine.Tests.Importance;

public class ImportanceInputTests
{
    [Theory]
    [InlineData("block-influence", typeof(BlockInfluence))]
    [InlineData("angular", typeof(AngularDistance))]
    [InlineData("perplexity", typeof(OneShotPerplexity))]
    [InlineData("iterative", typeof(IterativePerplexity))]
    public void Criteria_parse_by_name_wherever_placements_do(string name, Type type)
    {
        var strategy = ChopStrategy.Parse(name, 3);
        Assert.IsType(type, strategy);
        Assert.Equal(name, strategy.Name);
        Assert.Equal(3, ((DataDrivenStrategy)strategy).Remove);
        Assert.False(((DataDrivenStrategy)strategy).AllowEnds);
        Assert.True(((DataDrivenStrategy)ChopStrategy.Parse(name, 3, allowEnds: true)).AllowEnds);
        Assert.Contains(name, ChopStrategy.Names);
        // Without a calibration set there is no answer, and asking says what is missing.
        Assert.Contains("--calib", Assert.Throws<LayerChopException>(() => strategy.LayersToRemove(8)).Message);
        Assert.Contains("needs --remove K", Assert.Throws<LayerChopException>(() => ChopStrategy.Parse(name, null)).Message);
    }

    [Fact]
    public void Allow_ends_is_refused_for_placements_and_explicit_lists()
    {
        Assert.Contains("--allow-ends only applies", Assert.Throws<LayerChopException>(() => ChopStrategy.Parse("middle", 2, allowEnds: true)).Message);
        Assert.Contains("--allow-ends only applies", Assert.Throws<LayerChopException>(() => ChopStrategy.Parse("layers:0", null, allowEnds: true)).Message);
    }

    [Theory]
    [InlineData("block-influence", 5, false, "K must be between 1 and 4")]
    [InlineData("angular", 5, false, "K must be between 1 and 4")]
    [InlineData("perplexity", 0, false, "K must be between 1 and 4")]
    [InlineData("iterative", 6, true, "K must be between 1 and 5")]
    [InlineData("angular", 6, true, "at least one must stay")]
    public void K_too_large_is_one_clear_line(string criterion, int k, bool allowEnds, string expected)
    {
        var config = TestModels.Llama(layers: 6);
        using var model = TestModels.Random(config);
        var calib = ImportanceModels.RandomTokens(config, 2, 8);
        var e = Assert.Throws<LayerChopException>(() => DataDrivenStrategy.Create(criterion, k, allowEnds).Select(model, calib));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Calibration_sequences_longer_than_the_context_are_one_clear_line()
    {
        var config = TestModels.Llama(layers: 4);   // max_position_embeddings 128
        using var model = TestModels.Random(config);
        var calib = ImportanceModels.RandomTokens(config, 1, 129);
        foreach (var criterion in DataDrivenStrategy.CriterionNames)
        {
            var e = Assert.Throws<LayerChopException>(() => DataDrivenStrategy.Create(criterion, 1).Select(model, calib));
            Assert.Contains("calibration sequences of 129 tokens are longer than the model's context of 128", e.Message);
        }
    }

    [Fact]
    public void Token_ids_outside_the_vocabulary_are_one_clear_line()
    {
        var config = TestModels.Llama(layers: 4, vocab: 300);
        using var model = TestModels.Random(config);
        var calib = CalibrationSet.FromSequences([[1, 2, 300, 4]]);
        var e = Assert.Throws<LayerChopException>(() => new BlockInfluence(1).Select(model, calib));
        Assert.Contains("token id 300, outside the model's vocabulary of 300", e.Message);
    }

    [Fact]
    public void Chopping_a_selection_removes_its_layers_and_records_its_scores()
    {
        var config = TestModels.Llama(layers: 6);
        using var model = ImportanceModels.WithIdentityLayers(config, [2, 4]);
        var source = TestModels.TempFolder();
        ModelFolder.Save(model, source, ScalarType.Float32, tokenizerFrom: null);
        var calib = ImportanceModels.RandomTokens(config, 4, 16);
        var selection = new BlockInfluence(2).Select(model, calib);
        var target = Path.Combine(TestModels.TempFolder(), "chopped");

        var result = Chopper.Chop(source, selection, target);

        Assert.Equal([2, 4], result.Removed);
        using var chopped = ModelFolder.Load(target);
        using var ids = TestModels.Ids(2, 16, config.VocabSize);
        using var noGrad = no_grad();
        using var expected = model.Forward(ids);   // identities removed: the same function
        using var actual = chopped.Forward(ids);
        Assert.True(TestModels.MaxAbsDiff(expected, actual) <= 1e-5);
        using var record = JsonDocument.Parse(File.ReadAllText(Path.Combine(target, "layerchop.json")));
        Assert.Equal("block-influence", record.RootElement.GetProperty("strategy").GetString());
        var importance = record.RootElement.GetProperty("importance");
        Assert.Equal("layer", importance.GetProperty("scores_by").GetString());
        Assert.Equal(selection.Scores.Select(s => s!.Value), importance.GetProperty("scores").EnumerateArray().Select(e => e.GetDouble()));
        // The plain-list overload removes what it is given.
        var other = Path.Combine(TestModels.TempFolder(), "other");
        Assert.Equal([0, 1], Chopper.Chop(source, [1, 0], other).Removed);
    }
}
