using LayerChop.Engine.Data;
using LayerChop.Engine.Tests.Checkpoints;
using static LayerChop.Engine.Tests.Data.DataTestFiles;

namespace LayerChop.Engine.Tests.Data;

public class PackingTests
{
    [Fact]
    public void PackingPutsEosAfterEveryDocument()
    {
        using var temp = new TempFolder();
        using var corpus = Open(temp, [WriteJsonl(temp.File("d.jsonl"), ["ab", "cd", "e"])]);
        Assert.Equal(new uint[] { 'a', 'b', 256, 'c', 'd', 256, 'e', 256 }, TrainTokens(corpus));
        Assert.Equal(256u, corpus.Separator);
    }

    [Fact]
    public void SamplesAreWindowsOfSeqLenPlusOneTokensThatOverlapByOne()
    {
        using var temp = new TempFolder();
        using var corpus = Open(temp, [WriteJsonl(temp.File("d.jsonl"), NumberedDocuments(10))]);
        uint[] tokens = TrainTokens(corpus);
        const int seqLen = 16;
        var loader = new SequenceLoader(corpus, seqLen, seed: 3);
        Assert.Equal((tokens.Length - 1) / seqLen, loader.SamplesPerEpoch);

        for (long position = 0; position < loader.SamplesPerEpoch; position++)
        {
            long sample = loader.SampleAt(0, position);
            using var batch = loader.NextBatch(1);
            Assert.Equal(new long[] { 1, seqLen + 1 }, batch.shape);
            long[] expected = tokens.Skip((int)sample * seqLen).Take(seqLen + 1).Select(t => (long)t).ToArray();
            Assert.Equal(expected, Rows(batch)[0]);
        }
    }

    [Fact]
    public void BatchIsBatchSizeBySeqLenPlusOneInt64()
    {
        using var temp = new TempFolder();
        using var corpus = Open(temp, [WriteJsonl(temp.File("d.jsonl"), NumberedDocuments(10))]);
        using var batch = new SequenceLoader(corpus, 8, seed: 1).NextBatch(5);
        Assert.Equal(new long[] { 5, 9 }, batch.shape);
        Assert.Equal(TorchSharp.torch.ScalarType.Int64, batch.dtype);
    }
}
