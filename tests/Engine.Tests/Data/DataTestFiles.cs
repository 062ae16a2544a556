using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using LayerChop.Engine.Data;
using LayerChop.Engine.Tests.Checkpoints;
using TorchSharp;
using ZstdSharp;

namespace LayerChop.Engine.Tests.Data;

/// <summary>Writes small corpora in every supported format, and reads back what a corpus holds.</summary>
internal static class DataTestFiles
{
    public static readonly ByteTextEncoder Bytes = new();

    /// <summary>Distinct documents, each naming its index so that a stray one is easy to spot.</summary>
    public static string[] NumberedDocuments(int count, int extraWords = 3) =>
        Enumerable.Range(0, count)
            .Select(i => $"<doc{i:D5}> " + string.Join(' ', Enumerable.Range(0, extraWords + i % 5).Select(w => $"w{(i * 7 + w) % 97}")))
            .ToArray();

    public static string JsonlLines(IEnumerable<string> documents, string field = "text") =>
        string.Concat(documents.Select(d => JsonSerializer.Serialize(new Dictionary<string, object> { ["id"] = 1, [field] = d }) + "\n"));

    public static string WriteJsonl(string path, IEnumerable<string> documents, string field = "text")
    {
        File.WriteAllText(path, JsonlLines(documents, field));
        return path;
    }

    public static string WriteJsonlGzip(string path, IEnumerable<string> documents)
    {
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        gzip.Write(Encoding.UTF8.GetBytes(JsonlLines(documents)));
        return path;
    }

    public static string WriteJsonlZstd(string path, IEnumerable<string> documents)
    {
        using var file = File.Create(path);
        using var zstd = new CompressionStream(file, level: 3);
        zstd.Write(Encoding.UTF8.GetBytes(JsonlLines(documents)));
        return path;
    }

    /// <summary>The token stream TokenCorpus makes of text documents with <see cref="Bytes"/>: each document's bytes, then EOS.</summary>
    public static uint[] Tokens(IEnumerable<string> documents) =>
        documents.SelectMany(d => Encoding.UTF8.GetBytes(d).Select(b => (uint)b).Append(256u)).ToArray();

    public static string WriteBin(string path, IReadOnlyList<uint> tokens, int elementSize)
    {
        File.WriteAllBytes(path, Pack(tokens, elementSize));
        return path;
    }

    public static string WriteNpy(string path, IReadOnlyList<uint> tokens, string descr, string? shape = null, int elementSize = 0)
    {
        if (elementSize == 0)
            elementSize = descr.EndsWith('2') ? 2 : 4;
        string dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape ?? $"({tokens.Count},)"}, }}";
        // NumPy pads the header with spaces and a newline so that the data starts on a 64-byte boundary.
        int unpadded = 10 + dict.Length + 1;
        string header = dict + new string(' ', (64 - unpadded % 64) % 64) + "\n";
        using var file = File.Create(path);
        file.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        Span<byte> length = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(length, (ushort)header.Length);
        file.Write(length);
        file.Write(Encoding.ASCII.GetBytes(header));
        file.Write(Pack(tokens, elementSize));
        return path;
    }

    private static byte[] Pack(IReadOnlyList<uint> tokens, int elementSize)
    {
        var bytes = new byte[tokens.Count * elementSize];
        for (int i = 0; i < tokens.Count; i++)
        {
            if (elementSize == 2)
                BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2 * i), checked((ushort)tokens[i]));
            else
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4 * i), tokens[i]);
        }
        return bytes;
    }

    public static TokenCorpus Open(TempFolder temp, IReadOnlyList<string> paths, int heldoutPerMille = 0, string field = "text", bool uint32Bin = false, IProgress<CorpusProgress>? progress = null) =>
        TokenCorpus.Open(new CorpusOptions(paths, field, heldoutPerMille, temp.File(".cache"), uint32Bin), Bytes, progress);

    public static uint[] TrainTokens(TokenCorpus corpus) => ReadAll(corpus.Train);

    public static uint[] HeldoutTokens(TokenCorpus corpus) => ReadAll(corpus.Heldout);

    private static uint[] ReadAll(TokenCache cache)
    {
        var tokens = new uint[cache.Count];
        cache.Read(0, tokens);
        return tokens;
    }

    public static long[][] Rows(torch.Tensor batch)
    {
        Assert.Equal(torch.ScalarType.Int64, batch.dtype);
        Assert.Equal(2, batch.dim());
        long width = batch.shape[1];
        long[] flat = batch.data<long>().ToArray();
        return Enumerable.Range(0, (int)batch.shape[0]).Select(r => flat.AsSpan((int)(r * width), (int)width).ToArray()).ToArray();
    }

    /// <summary>The next <paramref name="count"/> batches, as plain rows.</summary>
    public static List<long[][]> Batches(SequenceLoader loader, int count, int batchSize)
    {
        var batches = new List<long[][]>();
        for (int i = 0; i < count; i++)
        {
            using var batch = loader.NextBatch(batchSize);
            batches.Add(Rows(batch));
        }
        return batches;
    }

    public static string Decode(IEnumerable<long> ids) => Bytes.Decode(ids.Select(id => (int)id));
}
