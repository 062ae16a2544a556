using LayerChop.Engine.Data;
using LayerChop.Engine.Tests.Checkpoints;
using static LayerChop.Engine.Tests.Data.DataTestFiles;

namespace LayerChop.Engine.Tests.Data;

public class ShuffleTests
{
    [Fact]
    public void SplitMix64MatchesTheReferenceOutputs()
    {
        // Outputs of Vigna's reference C implementation: the order of data must not change between releases.
        var zero = new SplitMix64(0);
        Assert.Equal(0xE220A8397B1DCDAFUL, zero.Next());
        Assert.Equal(0x6E789E6AA1B965F4UL, zero.Next());
        Assert.Equal(0x06C45D188009454FUL, zero.Next());
        var other = new SplitMix64(1234567);
        Assert.Equal(6457827717110365317UL, other.Next());
        Assert.Equal(3203168211198807973UL, other.Next());
    }

    [Fact]
    public void PermutationIsPinned()
    {
        // Computed once by an independent implementation of the same algorithm.
        Assert.Equal([8, 3, 6, 5, 4, 0, 9, 2, 1, 7], SplitMix64.Permutation(10, 42));
        Assert.Equal([3, 1, 8, 2, 6, 7, 0, 9, 5, 4], SplitMix64.Permutation(10, SplitMix64.EpochSeed(7, 0)));
        Assert.Equal([6, 8, 0, 5, 9, 1, 3, 2, 4, 7], SplitMix64.Permutation(10, SplitMix64.EpochSeed(7, 1)));
    }

    [Fact]
    public void NextBelowStaysBelowItsBound()
    {
        var random = new SplitMix64(5);
        var seen = new int[3];
        for (int i = 0; i < 3000; i++)
            seen[random.NextBelow(3)]++;
        Assert.All(seen, count => Assert.InRange(count, 850, 1150));
    }

    [Fact]
    public void SameSeedGivesTheSameOrderAndAnotherSeedAnother()
    {
        using var temp = new TempFolder();
        using var corpus = Open(temp, [WriteJsonl(temp.File("d.jsonl"), NumberedDocuments(40))]);
        var first = Batches(new SequenceLoader(corpus, 16, seed: 42), 4, 8);
        var again = Batches(new SequenceLoader(corpus, 16, seed: 42), 4, 8);
        var other = Batches(new SequenceLoader(corpus, 16, seed: 43), 4, 8);
        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
    }

    [Fact]
    public void EveryTrainingSampleIsSeenExactlyOncePerEpochAndEpochsDifferInOrder()
    {
        using var temp = new TempFolder();
        // Distinct ids make each window's first token tell which sample it is.
        const int seqLen = 8;
        uint[] ids = Enumerable.Range(1000, 8 * 50 + 1).Select(i => (uint)i).ToArray();
        string path = WriteBin(temp.File("ids.u32.bin"), ids, 4);
        using var corpus = TokenCorpus.Open(new CorpusOptions([path], HeldoutPerMille: 0, CacheDir: temp.File(".cache")), new ByteTextEncoder(vocabSize: 5000));
        var loader = new SequenceLoader(corpus, seqLen, seed: 9);
        Assert.Equal(50, loader.SamplesPerEpoch);

        // A batch size that does not divide the epoch, so batches straddle epoch boundaries.
        var rows = Batches(loader, 100 / 7 + 1, 7).SelectMany(batch => batch).Take(100).ToList();
        var samples = rows.Select(row =>
        {
            Assert.Equal(Enumerable.Range(0, seqLen + 1).Select(k => row[0] + k), row);
            return (int)(row[0] - 1000) / seqLen;
        }).ToList();
        var epoch0 = samples.Take(50).ToList();
        var epoch1 = samples.Skip(50).ToList();
        Assert.Equal(Enumerable.Range(0, 50), epoch0.Order());
        Assert.Equal(Enumerable.Range(0, 50), epoch1.Order());
        Assert.NotEqual(epoch0, epoch1);
        Assert.NotEqual(Enumerable.Range(0, 50), epoch0);
    }
}
