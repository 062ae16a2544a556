using LayerChop.Engine.Data;
using LayerChop.Engine.Tests.Checkpoints;
using static LayerChop.Engine.Tests.Data.DataTestFiles;

namespace LayerChop.Engine.Tests.Data;

public class HeldoutTests
{
    [Theory]
    [InlineData(10, 10)]
    [InlineData(3, 3)]
    [InlineData(1, 1)]
    [InlineData(0, 0)]
    [InlineData(1000, 1000)]
    public void HeldoutRuleHoldsOutThatManyPerThousandIncludingTheFirst(int perMille, int expected)
    {
        var held = Enumerable.Range(0, 1000).Where(i => TokenCorpus.IsHeldout(i, perMille)).ToList();
        Assert.Equal(expected, held.Count);
        if (perMille > 0)
            Assert.Equal(0, held[0]);
        Assert.Equal(held.Select(i => i + 1000), Enumerable.Range(1000, 1000).Where(i => TokenCorpus.IsHeldout(i, perMille)));
    }

    [Fact]
    public void HeldoutDocumentsNeverAppearInTrainingSamples()
    {
        using var temp = new TempFolder();
        var documents = NumberedDocuments(300);
        using var corpus = Open(temp, [WriteJsonl(temp.File("d.jsonl"), documents)], heldoutPerMille: 10);
        Assert.Equal(3, corpus.HeldoutDocuments);

        var loader = new SequenceLoader(corpus, 32, seed: 5);
        var rowsBySample = new SortedDictionary<long, long[]>();
        for (long position = 0; position < loader.SamplesPerEpoch; position++)
        {
            long sample = loader.SampleAt(0, position);
            using var batch = loader.NextBatch(1);
            rowsBySample[sample] = Rows(batch)[0];
        }
        // Windows overlap by one token, so the epoch's samples in sample order spell out the training stream.
        string sampled = Decode(rowsBySample[0].Take(1).Concat(rowsBySample.Values.SelectMany(row => row.Skip(1))));
        string train = Decode(TrainTokens(corpus).Select(t => (long)t));
        string heldout = Decode(HeldoutTokens(corpus).Select(t => (long)t));
        Assert.StartsWith(sampled, train);
        Assert.True(train.Length - sampled.Length < 32);
        for (int i = 0; i < documents.Length; i++)
        {
            bool isHeldout = i % 100 == 0;
            Assert.Equal(isHeldout, heldout.Contains(documents[i]));
            Assert.Equal(!isHeldout, train.Contains(documents[i]));
            if (isHeldout)
                Assert.DoesNotContain($"<doc{i:D5}>", sampled);
        }
    }

    [Fact]
    public void OneDocumentCorpusTrainsOnItsOnlyDocument()
    {
        using var temp = new TempFolder();
        using var corpus = Open(temp, [WriteJsonl(temp.File("d.jsonl"), ["just one document here"])], heldoutPerMille: 10);
        Assert.Equal(Tokens(["just one document here"]), TrainTokens(corpus));
        Assert.Equal(0, corpus.HeldoutTokens);
        Assert.Equal(0, corpus.HeldoutDocuments);
        Assert.Empty(new SequenceLoader(corpus, 4, seed: 1).HeldoutBatches(2, 100));
    }

    [Fact]
    public void HeldoutBatchesAreFixedUnshuffledAndCapped()
    {
        using var temp = new TempFolder();
        using var corpus = Open(temp, [WriteJsonl(temp.File("d.jsonl"), NumberedDocuments(200))], heldoutPerMille: 100);
        const int seqLen = 8;
        var loader = new SequenceLoader(corpus, seqLen, seed: 1);
        long available = loader.HeldoutSamples;
        Assert.True(available > 20);
        uint[] heldout = HeldoutTokens(corpus);
        long[] Window(long sample) => heldout.Skip((int)(sample * seqLen)).Take(seqLen + 1).Select(t => (long)t).ToArray();

        List<long[][]> Read(int batchSize, int max) =>
            loader.HeldoutBatches(batchSize, max).Select(b => { using (b) return Rows(b); }).ToList();

        var all = Read(4, int.MaxValue).SelectMany(b => b).ToList();
        Assert.Equal(available, all.Count);
        for (int i = 0; i < all.Count; i++)
            Assert.Equal(Window(i), all[i]);

        var capped = Read(4, 10);
        Assert.Equal([4, 4, 2], capped.Select(b => b.Length));
        Assert.Equal(capped, Read(4, 10));
        var cappedRows = capped.SelectMany(b => b).ToList();
        Assert.Equal(Window(0), cappedRows[0]);
        // Spread over the whole held-out split, not its first ten windows.
        Assert.Equal(Window(9 * available / 10), cappedRows[9]);

        var cursor = loader.Cursor;
        Read(4, 10);
        Assert.Equal(cursor, loader.Cursor);
    }
}
