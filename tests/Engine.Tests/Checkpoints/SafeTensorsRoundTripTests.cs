using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using LayerChop.Engine.Checkpoints;
using TorchSharp;
using static LayerChop.Engine.Tests.Checkpoints.CheckpointTestSupport;

namespace LayerChop.Engine.Tests.Checkpoints;

public sealed class SafeTensorsRoundTripTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("F32")]
    [InlineData("F16")]
    [InlineData("BF16")]
    [InlineData("F64")]
    [InlineData("I64")]
    [InlineData("I32")]
    [InlineData("I16")]
    [InlineData("I8")]
    [InlineData("U8")]
    [InlineData("BOOL")]
    public void RoundTrip_IsBitExact_AndKeepsDTypeAndShape(string dtype)
    {
        using var original = RandomBitsTensor(dtype, [3, 5, 2], seed: dtype.GetHashCode());
        string path = _temp.File("t.safetensors");

        SafeTensorsWriter.Write(path, [new("w", original)]);

        using var file = SafeTensorsFile.Open(path);
        var info = file.Info("w");
        Assert.Equal(dtype, info.DType);
        Assert.Equal(new long[] { 3, 5, 2 }, info.Shape);
        Assert.Equal(30L * original.ElementSize, info.End - info.Begin);
        using var read = file.Read("w");
        Assert.Equal(original.dtype, read.dtype);
        Assert.Equal(original.shape, read.shape);
        Assert.Equal(DeviceType.CPU, read.device_type);
        Assert.Equal(Bytes(original), Bytes(read));
    }

    [Fact]
    public void RoundTrip_ManyTensors_KeepsGivenOrderAndMetadata()
    {
        using var z = RandomBitsTensor("F32", [4], 1);
        using var a = RandomBitsTensor("BF16", [2, 3], 2);
        using var m = RandomBitsTensor("I64", [1], 3);
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "héllo \"quoted\" + ünïcode" };
        string path = _temp.File("t.safetensors");

        SafeTensorsWriter.Write(path, [new("z.weight", z), new("a.weight", a), new("m", m)], metadata);

        using var file = SafeTensorsFile.Open(path);
        Assert.Equal(["z.weight", "a.weight", "m"], file.Tensors.Select(t => t.Name));
        Assert.Equal(metadata, file.Metadata);
        Assert.True(file.Contains("a.weight"));
        Assert.False(file.Contains("nope"));
        Assert.Throws<KeyNotFoundException>(() => file.Info("nope"));
        using var readA = file.Read("a.weight");
        using var readZ = file.Read("z.weight");
        using var readM = file.Read("m");
        Assert.Equal(Bytes(a), Bytes(readA));
        Assert.Equal(Bytes(z), Bytes(readZ));
        Assert.Equal(Bytes(m), Bytes(readM));
    }

    [Fact]
    public void RoundTrip_ScalarAndEmptyTensors()
    {
        using var scalar = torch.tensor(3.5f);
        using var empty = torch.zeros([0, 4], torch.ScalarType.BFloat16);
        using var after = torch.tensor(new[] { 1L, 2L });
        string path = _temp.File("t.safetensors");

        SafeTensorsWriter.Write(path, [new("scalar", scalar), new("empty", empty), new("after", after)]);

        using var file = SafeTensorsFile.Open(path);
        using var s = file.Read("scalar");
        using var e = file.Read("empty");
        using var t = file.Read("after");
        Assert.Empty(s.shape);
        Assert.Equal(3.5f, s.item<float>());
        Assert.Equal(new long[] { 0, 4 }, e.shape);
        Assert.Equal(torch.ScalarType.BFloat16, e.dtype);
        Assert.Equal(new long[] { 1, 2 }, t.data<long>().ToArray());
    }

    [Fact]
    public void Write_NonContiguousTensor_StoresItsLogicalLayout()
    {
        using var baseTensor = torch.arange(12, dtype: torch.ScalarType.Float32).reshape(3, 4);
        using var transposed = baseTensor.t();
        Assert.False(transposed.is_contiguous());
        string path = _temp.File("t.safetensors");

        SafeTensorsWriter.Write(path, [new("t", transposed)]);

        using var file = SafeTensorsFile.Open(path);
        using var read = file.Read("t");
        Assert.Equal(new long[] { 4, 3 }, read.shape);
        using var expected = transposed.contiguous();
        Assert.Equal(expected.data<float>().ToArray(), read.data<float>().ToArray());
    }

    [Fact]
    public void Write_TensorThatRequiresGrad_LeavesCallerTensorUsable()
    {
        using var parameter = torch.randn([5], requires_grad: true);
        string path = _temp.File("t.safetensors");

        SafeTensorsWriter.Write(path, [new("p", parameter)]);

        using var file = SafeTensorsFile.Open(path);
        using var read = file.Read("p");
        using (var detached = parameter.detach())
            Assert.Equal(Bytes(detached), Bytes(read));
        Assert.True(parameter.requires_grad);
        Assert.Equal(5, parameter.numel()); // not disposed by the writer
    }

    [Fact]
    public void Write_PadsHeaderToMultipleOf8WithSpaces_AndLaysOutDataAsSpecified()
    {
        using var a = torch.tensor(new[] { 1f, 2f });
        using var b = torch.tensor(new short[] { 7 });
        string path = _temp.File("t.safetensors");

        SafeTensorsWriter.Write(path, [new("a", a), new("b", b)], new Dictionary<string, string> { ["k"] = "v" });

        byte[] raw = File.ReadAllBytes(path);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(raw);
        Assert.Equal(0UL, n % 8);
        string header = Encoding.UTF8.GetString(raw, 8, (int)n);
        Assert.EndsWith("}", header.TrimEnd(' '));
        using var json = JsonDocument.Parse(header);
        var root = json.RootElement;
        Assert.Equal("v", root.GetProperty("__metadata__").GetProperty("k").GetString());
        Assert.Equal("F32", root.GetProperty("a").GetProperty("dtype").GetString());
        Assert.Equal("[0,8]", root.GetProperty("a").GetProperty("data_offsets").GetRawText());
        Assert.Equal("[2]", root.GetProperty("a").GetProperty("shape").GetRawText());
        Assert.Equal("I16", root.GetProperty("b").GetProperty("dtype").GetString());
        Assert.Equal("[8,10]", root.GetProperty("b").GetProperty("data_offsets").GetRawText());
        byte[] data = raw[(8 + (int)n)..];
        byte[] expected = [.. BitConverter.GetBytes(1f), .. BitConverter.GetBytes(2f), .. BitConverter.GetBytes((short)7)];
        Assert.Equal(expected, data);
    }

    [Fact]
    public void Read_HandBuiltFile_DecodesLittleEndianValues()
    {
        // bf16 1.0 = 0x3F80, -2.0 = 0xC000; f16 0.5 = 0x3800; i32 -3; bool true.
        byte[] data = [0x80, 0x3F, 0x00, 0xC0, 0x00, 0x38, 0xFD, 0xFF, 0xFF, 0xFF, 0x01];
        string header = """
            {"__metadata__":{"format":"pt"},
             "bf":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]},
             "h":{"dtype":"F16","shape":[1,1],"data_offsets":[4,6]},
             "i":{"dtype":"I32","shape":[],"data_offsets":[6,10]},
             "flag":{"dtype":"BOOL","shape":[1],"data_offsets":[10,11]}}
            """;
        string path = _temp.File("hand.safetensors");
        File.WriteAllBytes(path, RawFile(header, data));

        using var file = SafeTensorsFile.Open(path);
        Assert.Equal("pt", file.Metadata["format"]);
        using var bf = file.Read("bf");
        using var bf32 = bf.to(torch.ScalarType.Float32);
        Assert.Equal(new[] { 1f, -2f }, bf32.data<float>().ToArray());
        using var h = file.Read("h");
        using var h32 = h.to(torch.ScalarType.Float32);
        Assert.Equal(0.5f, h32.item<float>());
        using var i = file.Read("i");
        Assert.Equal(-3, i.item<int>());
        using var flag = file.Read("flag");
        Assert.True(flag.data<bool>()[0]);
    }

    [Fact]
    public void Open_ToleratesHolesBetweenTensors()
    {
        // 4 unused bytes between the two tensors and 2 after them.
        byte[] data = [.. BitConverter.GetBytes(1.5f), 9, 9, 9, 9, .. BitConverter.GetBytes(-4f), 9, 9];
        string header = """{"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""";
        string path = _temp.File("holes.safetensors");
        File.WriteAllBytes(path, RawFile(header, data));

        using var file = SafeTensorsFile.Open(path);
        Assert.Equal(["b", "a"], file.Tensors.Select(t => t.Name));
        using var a = file.Read("a");
        using var b = file.Read("b");
        Assert.Equal(1.5f, a.item<float>());
        Assert.Equal(-4f, b.item<float>());
    }

    [Fact]
    public void Write_ReplacesExistingFileAtomically_AndLeavesNoTempFile()
    {
        string path = _temp.File("t.safetensors");
        using var first = torch.ones(3);
        using var second = torch.zeros(2, 2);
        SafeTensorsWriter.Write(path, [new("x", first)]);

        SafeTensorsWriter.Write(path, [new("y", second)]);

        Assert.Equal(["t.safetensors"], Directory.GetFiles(_temp.Path).Select(Path.GetFileName));
        using var file = SafeTensorsFile.Open(path);
        Assert.Equal(["y"], file.Tensors.Select(t => t.Name));
    }

    [Fact]
    public void Write_RejectsDuplicateNamesAndUnsupportedDTypes_WithoutCreatingAFile()
    {
        string path = _temp.File("t.safetensors");
        using var a = torch.ones(2);
        using var complex = torch.zeros([2], torch.ScalarType.ComplexFloat32);

        Assert.Throws<ArgumentException>(() => SafeTensorsWriter.Write(path, [new("a", a), new("a", a)]));
        Assert.Throws<ArgumentException>(() => SafeTensorsWriter.Write(path, [new("c", complex)]));
        Assert.Throws<ArgumentException>(() => SafeTensorsWriter.Write(path, [new("__metadata__", a)]));
        Assert.Empty(Directory.GetFiles(_temp.Path));
    }
}
