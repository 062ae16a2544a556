using LayerChop.Engine.Data;
using LayerChop.Engine.Tests.Checkpoints;
using static LayerChop.Engine.Tests.Data.DataTestFiles;

namespace LayerChop.Engine.Tests.Data;

public class CacheTests
{
    [Fact]
    public void CacheIsReusedWhenNothingChanged()
    {
        using var temp = new TempFolder();
        string path = WriteJsonl(temp.File("d.jsonl"), NumberedDocuments(50));
        string fingerprint;
        using (var first = Open(temp, [path], heldoutPerMille: 20))
        {
            Assert.False(first.ReusedCache);
            fingerprint = first.Fingerprint;
        }
        using var second = Open(temp, [path], heldoutPerMille: 20);
        Assert.True(second.ReusedCache);
        Assert.Equal(fingerprint, second.Fingerprint);
        Assert.Equal(Tokens(NumberedDocuments(50).Where((_, i) => i % 50 != 0)), TrainTokens(second));
    }

    [Fact]
    public void CacheIsRebuiltWhenASourceFileChanges()
    {
        using var temp = new TempFolder();
        string path = WriteJsonl(temp.File("d.jsonl"), NumberedDocuments(50));
        using (var first = Open(temp, [path])) { }

        var changed = NumberedDocuments(51);
        WriteJsonl(path, changed);
        using var rebuilt = Open(temp, [path]);
        Assert.False(rebuilt.ReusedCache);
        Assert.Equal(Tokens(changed), TrainTokens(rebuilt));
        Assert.Single(Directory.GetFiles(rebuilt.CacheFolder, "train-*.u32"));
    }

    [Fact]
    public void TouchingASourceRebuildsButKeepsTheFingerprint()
    {
        using var temp = new TempFolder();
        string path = WriteJsonl(temp.File("d.jsonl"), NumberedDocuments(50));
        string fingerprint;
        using (var first = Open(temp, [path]))
            fingerprint = first.Fingerprint;
        File.SetLastWriteTimeUtc(path, File.GetLastWriteTimeUtc(path).AddMinutes(1));
        using var rebuilt = Open(temp, [path]);
        Assert.False(rebuilt.ReusedCache);
        Assert.Equal(fingerprint, rebuilt.Fingerprint);
    }

    [Fact]
    public void CacheIsRebuiltForAnotherTokenizerFieldOrSplit()
    {
        using var temp = new TempFolder();
        string path = temp.File("d.jsonl");
        File.WriteAllText(path, string.Concat(NumberedDocuments(50).Select(d => $"{{\"text\":\"{d}\",\"other\":\"x {d}\"}}\n")));
        string cache = temp.File(".cache");
        using var baseline = TokenCorpus.Open(new CorpusOptions([path], CacheDir: cache), Bytes);
        using var tokenizer = TokenCorpus.Open(new CorpusOptions([path], CacheDir: cache), new ByteTextEncoder(vocabSize: 300));
        using var field = TokenCorpus.Open(new CorpusOptions([path], TextField: "other", CacheDir: cache), Bytes);
        using var split = TokenCorpus.Open(new CorpusOptions([path], HeldoutPerMille: 100, CacheDir: cache), Bytes);
        Assert.All(new[] { tokenizer, field, split }, c => Assert.False(c.ReusedCache));
        Assert.Equal(4, new[] { baseline, tokenizer, field, split }.Select(c => c.CacheFolder).Distinct().Count());
        Assert.Equal(3, new[] { baseline, field, split }.Select(c => c.Fingerprint).Distinct().Count());
    }

    [Fact]
    public void FingerprintDependsOnContentNotOnPaths()
    {
        using var temp = new TempFolder();
        string a = WriteJsonl(temp.File("a.jsonl"), NumberedDocuments(20));
        string b = WriteJsonl(temp.File("b.jsonl"), NumberedDocuments(20));
        string c = WriteJsonl(temp.File("c.jsonl"), NumberedDocuments(21));
        using var first = Open(temp, [a], heldoutPerMille: 10);
        using var copy = Open(temp, [b], heldoutPerMille: 10);
        using var other = Open(temp, [c], heldoutPerMille: 10);
        Assert.NotEqual(first.CacheFolder, copy.CacheFolder);
        Assert.Equal(first.Fingerprint, copy.Fingerprint);
        Assert.NotEqual(first.Fingerprint, other.Fingerprint);
    }

    [Fact]
    public async Task CorpusOpenedTwiceAtOnceIsBuiltOnce()
    {
        using var temp = new TempFolder();
        string path = WriteJsonl(temp.File("d.jsonl"), NumberedDocuments(4000));
        using var start = new Barrier(2);
        var opening = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            start.SignalAndWait();
            return Open(temp, [path], heldoutPerMille: 10);
        })).ToArray();
        var corpora = await Task.WhenAll(opening);
        try
        {
            Assert.Single(corpora, c => !c.ReusedCache);
            Assert.Equal(corpora[0].Fingerprint, corpora[1].Fingerprint);
            Assert.Equal(TrainTokens(corpora[0]), TrainTokens(corpora[1]));
        }
        finally
        {
            foreach (var corpus in corpora)
                corpus.Dispose();
        }
    }

    [Fact]
    public void CacheLivesInAFolderUnderCacheDirWithAManifest()
    {
        using var temp = new TempFolder();
        string path = WriteJsonl(temp.File("d.jsonl"), ["x"]);
        using var corpus = Open(temp, [path]);
        Assert.StartsWith(Path.GetFullPath(temp.File(".cache")), corpus.CacheFolder);
        Assert.True(File.Exists(Path.Combine(corpus.CacheFolder, "manifest.json")));
    }
}
