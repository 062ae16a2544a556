using System.Text.RegularExpressions;
using LayerChop.Engine.Data;
using LayerChop.Engine.Tests.Checkpoints;
using TextDocuments = LayerChop.Engine.Data.Documents;

namespace LayerChop.Engine.Tests.Data;

/// <summary>Runs only when tests/.data/brown holds the Brown Corpus (tests/fetch-test-data.sh puts it there).</summary>
public sealed class BrownFactAttribute : FactAttribute
{
    public BrownFactAttribute()
    {
        if (BrownCorpusTests.Folder is null)
            Skip = "tests/.data/brown is absent; run tests/fetch-test-data.sh";
    }
}

public class BrownCorpusTests
{
    /// <summary>tests/.data/brown of the checkout these tests were built from, or null.</summary>
    internal static readonly string? Folder = FindFolder();

    private static string? FindFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "tests", ".data", "brown");
            if (File.Exists(Path.Combine(candidate, "ca01")))
                return candidate;
        }
        return null;
    }

    [Fact]
    public void DetagStripsTagsAndUndoesTokenizedSpacing()
    {
        const string tagged =
            "\n\n\tThe/at jury/nn said/vbd ``/`` no/at evidence/nn ''/'' ,/, (/( 1-1/2/cd )/) and/or/cc Atlanta's/np$ term/nn-tl ./.\n" +
            "\tIt/pps ended/vbd --/-- quietly/rb !/. !/.\n\tAsk/vb Jr./np ./.\n\n\n\tNew/jj-hl paragraph/nn-hl ;/. ;/. Why/wrb ?/. ?/.\n";
        Assert.Equal(
            "The jury said \"no evidence\", (1-1/2) and/or Atlanta's term. It ended -- quietly! Ask Jr.\n\nNew paragraph; Why?",
            BrownCorpus.Detag(tagged));
    }

    [BrownFact]
    public void RealBrownCorpusReadsAsFiveHundredPlainTextDocuments()
    {
        var documents = BrownCorpus.Read(Folder!).ToList();
        Assert.Equal(500, documents.Count);
        Assert.Equal("ca01", documents[0].Id);
        Assert.Equal("news", documents[0].Category);
        Assert.Equal(15, documents.Select(d => d.Category).Distinct().Count());
        Assert.StartsWith(
            "The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election produced \"no evidence\" that any irregularities took place.",
            documents[0].Text);
        Assert.DoesNotContain(documents, d => d.Text.Contains(";;") || d.Text.Contains("??") || d.Text.Contains("Jr.."));
        var tag = new Regex(@"[A-Za-z]/(at|nn|vbd|in|jj|np)\b");
        Assert.All(documents, d => Assert.DoesNotMatch(tag, d.Text));
        long words = documents.Sum(d => (long)d.Text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.InRange(words, 900_000, 1_200_000);
    }

    [BrownFact]
    public void BrownCorpusFeedsTheLoaderAsJsonl()
    {
        using var temp = new TempFolder();
        string jsonl = temp.File("brown.jsonl");
        Assert.Equal(500, BrownCorpus.WriteJsonl(Folder!, jsonl));
        Assert.Equal(BrownCorpus.Read(Folder!).First().Text, TextDocuments.Read([jsonl]).First());

        using var corpus = TokenCorpus.Open(new CorpusOptions([jsonl], CacheDir: temp.File(".cache")), new ByteTextEncoder());
        Assert.Equal(500, corpus.Documents);
        Assert.Equal(5, corpus.HeldoutDocuments);
        var loader = new SequenceLoader(corpus, 256, seed: 1);
        using var batch = loader.NextBatch(4);
        Assert.Equal(new long[] { 4, 257 }, batch.shape);
        Assert.NotEmpty(loader.HeldoutBatches(8, 16));
    }
}
