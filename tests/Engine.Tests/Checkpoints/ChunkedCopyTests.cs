using LayerChop.Engine.Checkpoints;
using TorchSharp;
using static LayerChop.Engine.Tests.Checkpoints.CheckpointTestSupport;

namespace LayerChop.Engine.Tests.Checkpoints;

/// <summary>Tests that change <see cref="TensorBytes.ChunkBytes"/> run alone, after the parallel ones.</summary>
[CollectionDefinition(nameof(ChunkBytesCollection), DisableParallelization = true)]
public sealed class ChunkBytesCollection;

[Collection(nameof(ChunkBytesCollection))]
public sealed class ChunkedCopyTests : IDisposable
{
    private readonly TempFolder _temp = new();
    private readonly int _savedChunkBytes = TensorBytes.ChunkBytes;

    public void Dispose()
    {
        TensorBytes.ChunkBytes = _savedChunkBytes;
        _temp.Dispose();
    }

    [Fact]
    public void SettingBytesOnNarrowViewOfFlattenedTensor_WritesIntoParentTensor()
    {
        using var parent = torch.zeros(4, 5);
        using var flat = parent.view(-1);
        using var part = flat.narrow(0, 7, 6);
        float[] values = [1, 2, 3, 4, 5, 6];
        byte[] raw = values.SelectMany(BitConverter.GetBytes).ToArray();

        part.bytes = raw;

        float[] all = parent.data<float>().ToArray();
        for (int i = 0; i < all.Length; i++)
            Assert.Equal(i is >= 7 and < 13 ? values[i - 7] : 0f, all[i]);
        // And reading bytes from a narrow view gives just that slice.
        using var other = flat.narrow(0, 8, 2);
        Assert.Equal(raw[4..12], other.bytes.ToArray());
    }

    [Theory]
    [InlineData("F32", 12)]   // 3 elements a chunk, 35 elements: 12 chunks, the last one short
    [InlineData("BF16", 5)]   // chunk size not a multiple of the element size: rounds down to 2 elements
    [InlineData("F64", 3)]    // chunk smaller than one element: one element a chunk
    [InlineData("BOOL", 8)]
    public void ChunkedWriteAndRead_RoundTripTensorSplitIntoSeveralChunks(string dtype, int chunkBytes)
    {
        using var original = RandomBitsTensor(dtype, [7, 5], seed: chunkBytes);
        byte[] expected = Bytes(original);
        Assert.True(expected.Length > 3 * chunkBytes);
        string path = _temp.File("chunked.safetensors");
        TensorBytes.ChunkBytes = chunkBytes;

        using var before = torch.ones(3);
        SafeTensorsWriter.Write(path, [new("a", before), new("t", original)]);
        using var file = SafeTensorsFile.Open(path);
        using var read = file.Read("t");

        Assert.Equal(expected, Bytes(read));
        Assert.Equal(new long[] { 7, 5 }, read.shape);
    }

    [Fact]
    public void ChunkedRead_OfFileWrittenInOneChunk_IsBitExact()
    {
        using var original = RandomBitsTensor("F16", [9, 11], seed: 5);
        string path = _temp.File("one.safetensors");
        SafeTensorsWriter.Write(path, [new("t", original)]);

        TensorBytes.ChunkBytes = 14;
        using var file = SafeTensorsFile.Open(path);
        using var read = file.Read("t");

        Assert.Equal(Bytes(original), Bytes(read));
    }
}
