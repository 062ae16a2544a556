using LayerChop.Engine.Checkpoints;
using static LayerChop.Engine.Tests.Checkpoints.CheckpointTestSupport;

namespace LayerChop.Engine.Tests.Checkpoints;

/// <summary>Each malformed file, built by hand, is refused with one line that names the file and the fault.</summary>
public sealed class SafeTensorsMalformedTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private CheckpointFormatException AssertRejected(byte[] file, string expectedFragment)
    {
        string path = _temp.File("bad.safetensors");
        File.WriteAllBytes(path, file);
        var e = Assert.Throws<CheckpointFormatException>(() => SafeTensorsFile.Open(path).Dispose());
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains(expectedFragment, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        // The handle was released: the file can be deleted and rewritten.
        File.Delete(path);
        return e;
    }

    private static string Entry(string name, string body) => "{\"" + name + "\":{" + body + "}}";

    [Fact]
    public void FileShorterThan8Bytes_IsRejected()
    {
        AssertRejected([1, 2, 3, 4, 5], "only 5 bytes, shorter than the 8-byte header length");
        AssertRejected([], "only 0 bytes");
    }

    [Fact]
    public void HeaderLengthBeyondFile_IsRejected()
    {
        var e = AssertRejected(RawFile("{}", declaredHeaderLength: 999999), "header length 999999 runs past the end of the file (10 bytes)");
        Assert.Contains("truncated or not safetensors", e.Message);
        AssertRejected(RawFile("{}", declaredHeaderLength: ulong.MaxValue), $"header length {ulong.MaxValue} runs past the end");
    }

    [Fact]
    public void HeaderNotValidJson_IsRejected()
    {
        AssertRejected(RawFile("{\"a\": {\"dtype\": "), "header is not valid JSON");
        AssertRejected(RawFile("not json at all!"), "header is not valid JSON");
    }

    [Fact]
    public void InvalidUtf8Header_IsRejected()
    {
        byte[] header = [(byte)'{', (byte)'"', 0xC3, 0x28, (byte)'"', (byte)':', (byte)'1', (byte)'}'];
        byte[] file = [.. BitConverter.GetBytes((ulong)header.Length), .. header];
        AssertRejected(file, "header is not valid UTF-8 text");
    }

    [Fact]
    public void HeaderNotAnObject_IsRejected()
    {
        AssertRejected(RawFile("[1, 2, 3]"), "header is a JSON array, not an object");
        AssertRejected(RawFile("\"text\""), "header is a JSON string, not an object");
    }

    [Fact]
    public void EntryNotAnObject_IsRejected() =>
        AssertRejected(RawFile("{\"w\": [1, 2]}"), "tensor 'w' is a JSON array, not an object");

    [Fact]
    public void EntryMissingDType_IsRejected() =>
        AssertRejected(RawFile(Entry("w", "\"shape\":[1],\"data_offsets\":[0,4]"), new byte[4]), "tensor 'w' has no \"dtype\"");

    [Fact]
    public void EntryMissingShape_IsRejected() =>
        AssertRejected(RawFile(Entry("w", "\"dtype\":\"F32\",\"data_offsets\":[0,4]"), new byte[4]), "tensor 'w' has no \"shape\"");

    [Fact]
    public void EntryMissingDataOffsets_IsRejected() =>
        AssertRejected(RawFile(Entry("w", "\"dtype\":\"F32\",\"shape\":[1]"), new byte[4]), "tensor 'w' has no \"data_offsets\"");

    [Fact]
    public void UnknownDType_IsRejected()
    {
        var e = AssertRejected(RawFile(Entry("w", "\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]"), new byte[1]), "tensor 'w' has unknown dtype 'F8_E4M3'");
        Assert.Contains("supported: F32, F16, BF16", e.Message);
    }

    [Fact]
    public void NegativeDimension_IsRejected() =>
        AssertRejected(RawFile(Entry("w", "\"dtype\":\"F32\",\"shape\":[3,-2],\"data_offsets\":[0,0]")), "tensor 'w': \"shape\" has negative dimension -2 at index 1");

    [Fact]
    public void NonIntegerShapeOrOffsets_AreRejected()
    {
        AssertRejected(RawFile(Entry("w", "\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]"), new byte[4]), "\"shape\" entry 0 (1.5) is not an integer");
        AssertRejected(RawFile(Entry("w", "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]"), new byte[4]), "\"data_offsets\" must be an array of two integers");
        AssertRejected(RawFile(Entry("w", "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]"), new byte[4]), "\"data_offsets\" entry 0 (-4) is not a non-negative integer");
    }

    [Fact]
    public void BeginGreaterThanEnd_IsRejected() =>
        AssertRejected(RawFile(Entry("w", "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]"), new byte[8]), "tensor 'w': data_offsets begin 8 is greater than end 4");

    [Fact]
    public void SizeMismatchBetweenOffsetsAndShape_IsRejected() =>
        AssertRejected(RawFile(Entry("w", "\"dtype\":\"BF16\",\"shape\":[2,4],\"data_offsets\":[0,8]"), new byte[16]),
            "tensor 'w': data_offsets [0, 8] span 8 bytes but shape [2, 4] of BF16 needs 16");

    [Fact]
    public void ShapeTooLargeToAddress_IsRejected() =>
        AssertRejected(RawFile(Entry("w", "\"dtype\":\"F64\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]"), new byte[8]), "is too large to address");

    [Fact]
    public void OffsetsBeyondDataBuffer_IsRejected()
    {
        var e = AssertRejected(RawFile(Entry("w", "\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]"), new byte[12]),
            "tensor 'w': data_offsets [0, 16] run past the end of the data buffer (12 bytes)");
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void OverlappingTensors_AreRejected()
    {
        string header = """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""";
        AssertRejected(RawFile(header, new byte[12]), "tensors 'a' [0, 8] and 'b' [4, 12] overlap in the data buffer");
    }

    [Fact]
    public void DuplicateTensorName_IsRejected()
    {
        string header = """{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}""";
        AssertRejected(RawFile(header, new byte[2]), "tensor 'a' appears twice in the header");
    }

    [Fact]
    public void MetadataWithNonStringValue_IsRejected()
    {
        AssertRejected(RawFile("""{"__metadata__":{"step":5}}"""), "\"__metadata__\" entry 'step' is a JSON number, not a string");
        AssertRejected(RawFile("""{"__metadata__":[]}"""), "\"__metadata__\" is a JSON array, not an object of strings");
    }

    [Fact]
    public void MissingFile_IsRejectedNamingIt()
    {
        string path = _temp.File("absent.safetensors");
        var e = Assert.Throws<CheckpointFormatException>(() => SafeTensorsFile.Open(path));
        Assert.Equal(path + ": file not found", e.Message);
    }

    [Fact]
    public void EmptyHeaderObject_IsAValidFileWithNoTensors()
    {
        string path = _temp.File("empty.safetensors");
        File.WriteAllBytes(path, RawFile("{}      "));
        using var file = SafeTensorsFile.Open(path);
        Assert.Empty(file.Tensors);
        Assert.Empty(file.Metadata);
    }
}
