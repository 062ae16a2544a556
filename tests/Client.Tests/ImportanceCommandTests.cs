using System.Text.Json;
using Xunit;

namespace LayerChop.Client.Tests;

/// <summary>The measured chop strategies and `model importance`, through the real binary.</summary>
public class ImportanceCommandTests(TinyModel tiny) : IClassFixture<TinyModel>
{
    static string Corpus(string content = "")
    {
        var path = Path.Combine(LayerChopProcess.TempFolder(), "corpus.txt");
        File.WriteAllText(path, content.Length > 0 ? content
            : string.Concat(Enumerable.Range(0, 60).Select(i => $"Calibration sentence number {i} says something plain.\n")));
        return path;
    }

    static void AssertOneLineError(RunResult r, string expected) => LayerChopProcess.AssertOneLineError(r, expected);

    RunResult Chop(string strategy, string remove, string output, params string[] more) =>
        LayerChopProcess.Run(["chop", tiny.Folder, "--strategy", strategy, "--remove", remove, "--out", output, .. more]);

    [Theory]
    [InlineData("block-influence", "layer", 6, 1)]
    [InlineData("angular", "block_start", 5, 1)]
    [InlineData("perplexity", "layer", 6, 4)]
    [InlineData("iterative", "layer", 6, 7)]
    public void Chop_with_a_criterion_reports_its_scores_and_cost_as_json(string criterion, string scoresBy, int scoreCount, int passes)
    {
        var corpus = Corpus();
        var output = Path.Combine(LayerChopProcess.TempFolder(), "chopped");
        var r = Chop(criterion, "2", output, "--calib", corpus, "--calib-sequences", "4", "--calib-seq-len", "32", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        var root = doc.RootElement;
        var removed = root.GetProperty("removed").EnumerateArray().Select(e => e.GetInt32()).ToList();
        Assert.Equal(2, removed.Count);
        Assert.DoesNotContain(0, removed);
        Assert.DoesNotContain(5, removed);
        Assert.Equal(4, root.GetProperty("kept").GetArrayLength());
        Assert.Equal(criterion, root.GetProperty("criterion").GetString());
        Assert.Equal(scoresBy, root.GetProperty("scores_by").GetString());
        Assert.Equal(scoreCount, root.GetProperty("scores").GetArrayLength());
        Assert.Equal(passes, root.GetProperty("forward_passes").GetInt32());
        Assert.Equal(4, root.GetProperty("calibration").GetProperty("sequences").GetInt32());
        Assert.True(root.GetProperty("params_after").GetInt64() < root.GetProperty("params_before").GetInt64());
        var inspect = LayerChopProcess.Run("model", "inspect", output, "--json");
        Assert.Equal(4, JsonDocument.Parse(inspect.Stdout).RootElement.GetProperty("layers").GetInt32());

        // The same corpus gives the same scores and the same choice.
        var again = Chop(criterion, "2", Path.Combine(LayerChopProcess.TempFolder(), "chopped"),
            "--calib", corpus, "--calib-sequences", "4", "--calib-seq-len", "32", "--json");
        using var second = JsonDocument.Parse(again.Stdout);
        Assert.Equal(root.GetProperty("scores").ToString(), second.RootElement.GetProperty("scores").ToString());
        Assert.Equal(removed, second.RootElement.GetProperty("removed").EnumerateArray().Select(e => e.GetInt32()));
    }

    [Fact]
    public void Allow_ends_lets_a_criterion_remove_the_first_and_last_layer()
    {
        var output = Path.Combine(LayerChopProcess.TempFolder(), "chopped");
        var r = Chop("block-influence", "5", output, "--allow-ends", "--calib", Corpus(), "--calib-sequences", "2", "--calib-seq-len", "16", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(5, JsonDocument.Parse(r.Stdout).RootElement.GetProperty("removed").GetArrayLength());
    }

    [Fact]
    public void Model_importance_prints_every_criterion_per_layer()
    {
        var corpus = Corpus();
        var r = LayerChopProcess.Run("model", "importance", tiny.Folder, "--calib", corpus, "--calib-sequences", "4", "--calib-seq-len", "32", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        var layers = doc.RootElement.GetProperty("layers").EnumerateArray().ToList();
        Assert.Equal([0, 1, 2, 3, 4, 5], layers.Select(l => l.GetProperty("layer").GetInt32()));
        foreach (var layer in layers)
        {
            Assert.InRange(layer.GetProperty("block_influence").GetDouble(), 0.0, 2.0);
            Assert.InRange(layer.GetProperty("angular_k1").GetDouble(), 0.0, 1.0);
            Assert.True(layer.GetProperty("perplexity_without").GetDouble() > 1.0);
        }
        Assert.True(doc.RootElement.GetProperty("perplexity").GetDouble() > 1.0);
        Assert.Equal(8, doc.RootElement.GetProperty("forward_passes").GetInt32());

        var table = LayerChopProcess.Run("model", "importance", tiny.Folder, "--calib", corpus, "--calib-sequences", "4", "--calib-seq-len", "32");
        Assert.True(table.ExitCode == 0, table.Stderr);
        Assert.Contains("block_influence", table.Stdout);
        Assert.Contains("perplexity_without", table.Stdout);
        Assert.Contains("full model perplexity", table.Stdout);
        var help = LayerChopProcess.Run("model", "importance", "--help");
        Assert.Contains("angular_k1", help.Stdout);
    }

    [Theory]
    [InlineData("too-many", "K must be between 1 and 4")]
    [InlineData("empty-corpus", "is empty")]
    [InlineData("small-corpus", "gives 2 sequences of 128 tokens but 32 were asked for")]
    [InlineData("longer-than-context", "calibration sequences of 300 tokens are longer than the model's context of 256")]
    [InlineData("no-calib", "give --calib PATH")]
    [InlineData("missing-corpus", "does not exist")]
    [InlineData("calib-for-placement", "--calib only applies to")]
    [InlineData("allow-ends-for-placement", "--allow-ends only applies to")]
    public void Bad_calibration_input_is_one_clear_line_and_writes_nothing(string problem, string expected)
    {
        var output = Path.Combine(LayerChopProcess.TempFolder(), "chopped");
        string corpus = Corpus();
        var r = problem switch
        {
            "too-many" => Chop("perplexity", "5", output, "--calib", corpus),
            "empty-corpus" => Chop("angular", "2", output, "--calib", Corpus("\n\n")),
            "small-corpus" => Chop("iterative", "2", output, "--calib", Corpus(string.Concat(Enumerable.Repeat("word ", 60)))),
            "longer-than-context" => Chop("block-influence", "2", output, "--calib", corpus, "--calib-seq-len", "300"),
            "no-calib" => Chop("block-influence", "2", output),
            "missing-corpus" => Chop("block-influence", "2", output, "--calib", "/nonexistent/corpus.jsonl"),
            "calib-for-placement" => Chop("middle", "2", output, "--calib", corpus),
            "allow-ends-for-placement" => Chop("middle", "2", output, "--allow-ends"),
            _ => throw new ArgumentException(problem),
        };
        AssertOneLineError(r, expected);
        Assert.False(Directory.Exists(output), "a failed chop must leave no output folder");
    }

    [Fact]
    public void Model_importance_refuses_an_empty_corpus_in_one_line()
    {
        AssertOneLineError(LayerChopProcess.Run("model", "importance", tiny.Folder, "--calib", Corpus(" ")), "is empty");
        AssertOneLineError(LayerChopProcess.Run("model", "importance", tiny.Folder), "--calib");
    }
}
