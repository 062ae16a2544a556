using LayerChop.Engine.Data;
using LayerChop.Engine.Tests.Checkpoints;
using static LayerChop.Engine.Tests.Data.DataTestFiles;

namespace LayerChop.Engine.Tests.Data;

public class StreamingTests
{
    private sealed class Recorder : IProgress<CorpusProgress>
    {
        public List<CorpusProgress> Reports { get; } = [];
        public void Report(CorpusProgress value) => Reports.Add(value);
    }

    [Fact]
    public void CorpusMuchLargerThanABatchIsServedFromTheMemoryMappedCache()
    {
        using var temp = new TempFolder();
        // About 3 MB of text in two files; the cache holds 4 bytes a token, about 12 MB.
        var documents = Enumerable.Range(0, 3000).Select(i => $"<doc{i:D5}> " + string.Concat(Enumerable.Repeat($"line {i} of filler text. ", 40))).ToArray();
        string first = WriteJsonl(temp.File("part1.jsonl"), documents.Take(1500));
        string second = WriteJsonlZstd(temp.File("part2.jsonl.zst"), documents.Skip(1500));
        var progress = new Recorder();

        using var corpus = Open(temp, [first, second], heldoutPerMille: 10, progress: progress);
        long totalBytes = new FileInfo(first).Length + new FileInfo(second).Length;
        Assert.True(progress.Reports.Count >= 2);
        Assert.Equal(new CorpusProgress(totalBytes, totalBytes, 3000, corpus.TrainTokens + corpus.HeldoutTokens), progress.Reports[^1]);
        Assert.Equal(progress.Reports.Select(r => r.BytesRead).Order(), progress.Reports.Select(r => r.BytesRead));
        Assert.True(corpus.Train.IsMemoryMapped);
        Assert.True(corpus.Heldout.IsMemoryMapped);
        long cacheBytes = (corpus.TrainTokens + corpus.HeldoutTokens) * sizeof(uint);
        Assert.True(cacheBytes > 10_000_000);

        // Warm up the code paths (JIT, TorchSharp) so the measurement below counts only the loader's own data.
        using (var warm = new SequenceLoader(corpus, 128, seed: 1).NextBatch(8)) { }
        long before = GC.GetAllocatedBytesForCurrentThread();
        var loader = new SequenceLoader(corpus, 128, seed: 2);
        loader.NextBatch(8).Dispose();
        long started = GC.GetAllocatedBytesForCurrentThread() - before;
        // Starting an epoch costs its permutation, 4 bytes a sample, 1/128 of the cache here; never the corpus.
        Assert.True(started < cacheBytes / 50, $"starting allocated {started} bytes for a {cacheBytes}-byte cache");

        before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 50; i++)
            loader.NextBatch(8).Dispose();
        foreach (var batch in loader.HeldoutBatches(8, 64))
            batch.Dispose();
        long perBatch = (GC.GetAllocatedBytesForCurrentThread() - before) / 58;
        long batchBytes = 8 * 129 * sizeof(long);
        Assert.True(perBatch < 4 * batchBytes, $"each batch allocated {perBatch} bytes for {batchBytes} bytes of tokens");
    }
}
