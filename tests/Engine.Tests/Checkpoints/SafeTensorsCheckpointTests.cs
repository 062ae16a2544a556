using System.Text.Json;
using LayerChop.Engine.Checkpoints;
using TorchSharp;
using static LayerChop.Engine.Tests.Checkpoints.CheckpointTestSupport;

namespace LayerChop.Engine.Tests.Checkpoints;

public sealed class SafeTensorsCheckpointTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose()
    {
        foreach (var t in _tensors.Values) t.Dispose();
        _temp.Dispose();
    }

    // 6 tensors of mixed dtypes: 96 + 24 + 40 + 64 + 2 + 48 = 274 bytes in all.
    private readonly Dictionary<string, torch.Tensor> _tensors = new()
    {
        ["embed.weight"] = RandomBitsTensor("F32", [4, 6], 11),
        ["layers.0.norm"] = RandomBitsTensor("BF16", [12], 12),
        ["layers.0.proj"] = RandomBitsTensor("F16", [4, 5], 13),
        ["layers.1.ids"] = RandomBitsTensor("I64", [8], 14),
        ["layers.1.mask"] = RandomBitsTensor("BOOL", [2], 15),
        ["head.weight"] = RandomBitsTensor("F32", [3, 4], 16),
    };

    private string Folder(string name) => Path.Combine(_temp.Path, name);

    private static string[] FilesIn(string folder) => Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    [Fact]
    public void SingleFileWrite_WhenTotalFitsInOneShard()
    {
        string folder = Folder("single");
        SafeTensorsCheckpoint.Write(folder, _tensors, maxShardBytes: 274, new Dictionary<string, string> { ["format"] = "pt" });

        Assert.Equal(["model.safetensors"], FilesIn(folder));
        using var checkpoint = SafeTensorsCheckpoint.Open(folder);
        Assert.Equal(_tensors.Keys, checkpoint.Names);
        foreach (var (name, tensor) in _tensors)
        {
            using var read = checkpoint.Read(name);
            Assert.Equal(Bytes(tensor), Bytes(read));
        }
        using var file = SafeTensorsFile.Open(Path.Combine(folder, "model.safetensors"));
        Assert.Equal("pt", file.Metadata["format"]);
    }

    [Fact]
    public void ShardedWrite_LoadsTensorsEqualToSingleFileWrite()
    {
        string single = Folder("single");
        string sharded = Folder("sharded");
        SafeTensorsCheckpoint.Write(single, _tensors);
        SafeTensorsCheckpoint.Write(sharded, _tensors, maxShardBytes: 128);

        // Greedy in order: [96 + 24] [40 + 64 + 2] [48].
        Assert.Equal(
            ["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors", "model.safetensors.index.json"],
            FilesIn(sharded));

        using var a = SafeTensorsCheckpoint.Open(single);
        using var b = SafeTensorsCheckpoint.Open(sharded);
        Assert.Equal(a.Names, b.Names);
        foreach (string name in a.Names)
        {
            var infoA = a.Info(name);
            var infoB = b.Info(name);
            Assert.Equal(infoA.DType, infoB.DType);
            Assert.Equal(infoA.Shape, infoB.Shape);
            using var ta = a.Read(name);
            using var tb = b.Read(name);
            Assert.Equal(ta.dtype, tb.dtype);
            Assert.Equal(ta.shape, tb.shape);
            Assert.Equal(Bytes(ta), Bytes(tb));
            Assert.Equal(Bytes(_tensors[name]), Bytes(tb));
        }
    }

    [Fact]
    public void ShardedWrite_IndexHasTotalSizeAndWeightMapLikeHuggingFace()
    {
        string folder = Folder("sharded");
        SafeTensorsCheckpoint.Write(folder, _tensors, maxShardBytes: 128);

        using var index = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, "model.safetensors.index.json")));
        Assert.Equal(274, index.RootElement.GetProperty("metadata").GetProperty("total_size").GetInt64());
        var map = index.RootElement.GetProperty("weight_map").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
        Assert.Equal(_tensors.Keys, map.Keys);
        Assert.Equal("model-00001-of-00003.safetensors", map["embed.weight"]);
        Assert.Equal("model-00001-of-00003.safetensors", map["layers.0.norm"]);
        Assert.Equal("model-00002-of-00003.safetensors", map["layers.0.proj"]);
        Assert.Equal("model-00002-of-00003.safetensors", map["layers.1.ids"]);
        Assert.Equal("model-00002-of-00003.safetensors", map["layers.1.mask"]);
        Assert.Equal("model-00003-of-00003.safetensors", map["head.weight"]);
    }

    [Fact]
    public void ShardedWrite_TensorLargerThanShardLimit_GetsAShardOfItsOwn()
    {
        string folder = Folder("sharded");
        SafeTensorsCheckpoint.Write(folder, _tensors, maxShardBytes: 30);

        // 96 | 24 | 40 | 64 | 2 | 48: four tensors exceed the limit alone, 24 + 40 and 2 + 48 exceed it together.
        Assert.Equal(
            ["model-00001-of-00006.safetensors", "model-00002-of-00006.safetensors", "model-00003-of-00006.safetensors",
             "model-00004-of-00006.safetensors", "model-00005-of-00006.safetensors", "model-00006-of-00006.safetensors",
             "model.safetensors.index.json"],
            FilesIn(folder));
        using var checkpoint = SafeTensorsCheckpoint.Open(folder);
        Assert.Equal(_tensors.Keys, checkpoint.Names);
        using var read = checkpoint.Read("layers.1.ids");
        Assert.Equal(Bytes(_tensors["layers.1.ids"]), Bytes(read));
    }

    [Fact]
    public void Write_RemovesStaleWeightFiles_ButKeepsOtherFiles()
    {
        string folder = Folder("model");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "config.json"), "{}");

        SafeTensorsCheckpoint.Write(folder, _tensors, maxShardBytes: 30);
        Assert.Equal(6, FilesIn(folder).Count(f => f.StartsWith("model-")));

        SafeTensorsCheckpoint.Write(folder, _tensors, maxShardBytes: 128);
        Assert.Equal(
            ["config.json", "model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors", "model.safetensors.index.json"],
            FilesIn(folder));

        SafeTensorsCheckpoint.Write(folder, _tensors);
        Assert.Equal(["config.json", "model.safetensors"], FilesIn(folder));

        SafeTensorsCheckpoint.Write(folder, _tensors, maxShardBytes: 128);
        Assert.DoesNotContain("model.safetensors", FilesIn(folder));
        using var checkpoint = SafeTensorsCheckpoint.Open(folder);
        Assert.Equal(_tensors.Keys, checkpoint.Names);
    }

    [Fact]
    public void Open_FolderWithNeitherFileNorIndex_IsRejected()
    {
        string folder = Folder("empty");
        Directory.CreateDirectory(folder);
        var e = Assert.Throws<CheckpointFormatException>(() => SafeTensorsCheckpoint.Open(folder));
        Assert.StartsWith(folder + ": ", e.Message);
        Assert.Contains("has neither model.safetensors nor model.safetensors.index.json", e.Message);

        var missing = Assert.Throws<CheckpointFormatException>(() => SafeTensorsCheckpoint.Open(Folder("absent")));
        Assert.Contains("does not exist", missing.Message);
    }

    [Fact]
    public void Open_IndexNamingMissingShard_IsRejected()
    {
        string folder = Folder("sharded");
        SafeTensorsCheckpoint.Write(folder, _tensors, maxShardBytes: 128);
        File.Delete(Path.Combine(folder, "model-00002-of-00003.safetensors"));

        var e = Assert.Throws<CheckpointFormatException>(() => SafeTensorsCheckpoint.Open(folder));
        Assert.StartsWith(Path.Combine(folder, "model.safetensors.index.json") + ": ", e.Message);
        Assert.Contains("routes tensor 'layers.0.proj' to shard 'model-00002-of-00003.safetensors', which is not in the folder", e.Message);
    }

    [Fact]
    public void Open_IndexRoutingTensorToShardWithoutIt_IsRejected()
    {
        string folder = Folder("sharded");
        SafeTensorsCheckpoint.Write(folder, _tensors, maxShardBytes: 128);
        string index = Path.Combine(folder, "model.safetensors.index.json");
        File.WriteAllText(index, File.ReadAllText(index).Replace(
            "\"head.weight\": \"model-00003-of-00003.safetensors\"", "\"head.weight\": \"model-00001-of-00003.safetensors\""));

        var e = Assert.Throws<CheckpointFormatException>(() => SafeTensorsCheckpoint.Open(folder));
        Assert.StartsWith(index + ": ", e.Message);
        Assert.Contains("routes tensor 'head.weight' to shard 'model-00001-of-00003.safetensors', but", e.Message);
        Assert.Contains("has no such tensor", e.Message);
    }

    [Fact]
    public void Open_MalformedIndex_IsRejected()
    {
        string folder = Folder("bad-index");
        Directory.CreateDirectory(folder);
        string index = Path.Combine(folder, "model.safetensors.index.json");

        File.WriteAllText(index, "{ not json");
        Assert.Contains("not valid JSON", Assert.Throws<CheckpointFormatException>(() => SafeTensorsCheckpoint.Open(folder)).Message);

        File.WriteAllText(index, """{"metadata":{}}""");
        Assert.Contains("has no \"weight_map\"", Assert.Throws<CheckpointFormatException>(() => SafeTensorsCheckpoint.Open(folder)).Message);

        File.WriteAllText(index, """{"weight_map":{"w":"../elsewhere/model.safetensors"}}""");
        Assert.Contains("not a plain file name", Assert.Throws<CheckpointFormatException>(() => SafeTensorsCheckpoint.Open(folder)).Message);
    }

    [Fact]
    public void Open_MalformedShard_IsRejectedNamingTheShard()
    {
        string folder = Folder("sharded");
        SafeTensorsCheckpoint.Write(folder, _tensors, maxShardBytes: 128);
        string shard = Path.Combine(folder, "model-00003-of-00003.safetensors");
        File.WriteAllBytes(shard, [1, 2, 3]);

        var e = Assert.Throws<CheckpointFormatException>(() => SafeTensorsCheckpoint.Open(folder));
        Assert.StartsWith(shard + ": ", e.Message);
    }

    [Fact]
    public void Read_UnknownName_ThrowsKeyNotFound()
    {
        string folder = Folder("single");
        SafeTensorsCheckpoint.Write(folder, _tensors);
        using var checkpoint = SafeTensorsCheckpoint.Open(folder);
        Assert.Throws<KeyNotFoundException>(() => checkpoint.Read("missing"));
    }
}
