using System.Text.Json;
using LayerChop.Engine.Data;
using LayerChop.Engine.Tests.Checkpoints;
using static LayerChop.Engine.Tests.Data.DataTestFiles;

namespace LayerChop.Engine.Tests.Data;

public class CursorTests
{
    [Fact]
    public void RestoredCursorReproducesTheNextBatchesAcrossAnEpochBoundary()
    {
        using var temp = new TempFolder();
        using var corpus = Open(temp, [WriteJsonl(temp.File("d.jsonl"), NumberedDocuments(12))]);
        var loader = new SequenceLoader(corpus, 32, seed: 11);
        long perEpoch = loader.SamplesPerEpoch;
        Assert.InRange(perEpoch, 5, 40);

        // Stop just short of the epoch's end, so the batches after the save straddle two epochs.
        int batchSize = 3;
        Batches(loader, (int)(perEpoch / batchSize) - 1, batchSize);
        string saved = JsonSerializer.Serialize(loader.Cursor);
        Assert.Equal(0, loader.Cursor.Epoch);
        var following = Batches(loader, 6, batchSize);
        Assert.True(loader.Cursor.Epoch >= 1);

        var restored = new SequenceLoader(corpus, 32, seed: 11, JsonSerializer.Deserialize<DataCursor>(saved));
        Assert.Equal(following, Batches(restored, 6, batchSize));
        Assert.Equal(loader.Cursor, restored.Cursor);
    }

    [Fact]
    public void CursorMovesToTheNextEpochWhenAnEpochEnds()
    {
        using var temp = new TempFolder();
        using var corpus = Open(temp, [WriteJsonl(temp.File("d.jsonl"), NumberedDocuments(12))]);
        var loader = new SequenceLoader(corpus, 32, seed: 1);
        for (long i = 0; i < loader.SamplesPerEpoch; i++)
            loader.NextBatch(1).Dispose();
        Assert.Equal(new DataCursor(1, 0), loader.Cursor);
    }

    [Fact]
    public void CursorRoundTripsThroughJson()
    {
        var cursor = new DataCursor(3, 12345678901);
        Assert.Equal(cursor, JsonSerializer.Deserialize<DataCursor>(JsonSerializer.Serialize(cursor)));
    }

    [Fact]
    public void CursorThatDoesNotFitTheCorpusIsRefused()
    {
        using var temp = new TempFolder();
        string path = WriteJsonl(temp.File("d.jsonl"), NumberedDocuments(12));
        using var corpus = Open(temp, [path]);
        long perEpoch = new SequenceLoader(corpus, 32, seed: 1).SamplesPerEpoch;
        var error = Assert.Throws<LayerChopException>(() => new SequenceLoader(corpus, 32, seed: 1, new DataCursor(0, perEpoch)));
        Assert.Contains(path, error.Message);
        Assert.Throws<LayerChopException>(() => new SequenceLoader(corpus, 32, seed: 1, new DataCursor(-1, 0)));
    }
}
