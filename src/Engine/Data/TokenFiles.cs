using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace LayerChop.Engine.Data;

/// <summary>
/// Reads a pre-tokenized file: a flat little-endian array of uint16 or uint32 token ids, either headerless (nanoGPT's
/// <c>.bin</c>) or as a NumPy <c>.npy</c> file holding one 1-D array of dtype <c>&lt;u2</c> or <c>&lt;u4</c>.
/// </summary>
internal sealed partial class TokenFileReader
{
    private const int ChunkBytes = 1 << 20;

    private readonly FileStream _raw;
    private readonly byte[] _buffer;
    private long _left;

    private TokenFileReader(FileStream raw, int elementSize, long count)
    {
        _raw = raw;
        ElementSize = elementSize;
        Count = count;
        _left = count;
        _buffer = new byte[ChunkBytes];
    }

    public int ElementSize { get; }

    /// <summary>How many tokens the file holds.</summary>
    public long Count { get; }

    /// <summary>Validates the file's layout and positions <paramref name="raw"/> at its first token.</summary>
    public static TokenFileReader Open(CorpusFile file, FileStream raw)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("token files are little-endian; big-endian hosts are not supported");
        long length = raw.Length;
        switch (file.Kind)
        {
            case CorpusFileKind.Uint16Tokens:
            case CorpusFileKind.Uint32Tokens:
                int size = file.Kind == CorpusFileKind.Uint16Tokens ? 2 : 4;
                if (length % size != 0)
                    throw new LayerChopException(
                        $"token file {file.Path} has {length} bytes, not a whole number of uint{size * 8} tokens" +
                        (size == 2 ? "" : " (is it uint16? then name it .bin, not .u32.bin)"));
                return new TokenFileReader(raw, size, length / size);
            case CorpusFileKind.Npy:
                var (dataStart, elementSize, count) = ReadNpyHeader(file.Path, raw);
                long dataBytes = length - dataStart;
                if (dataBytes != count * elementSize)
                    throw new LayerChopException(
                        $"npy file {file.Path}: its header promises {count} tokens ({count * elementSize} bytes) but {dataBytes} bytes of data follow");
                return new TokenFileReader(raw, elementSize, count);
            default:
                throw new ArgumentException($"{file.Path} is not a token file", nameof(file));
        }
    }

    /// <summary>Fills <paramref name="tokens"/> with the next ids; returns how many (0 at the end).</summary>
    public int Read(Span<uint> tokens)
    {
        int count = (int)Math.Min(Math.Min(_left, tokens.Length), ChunkBytes / ElementSize);
        if (count == 0)
            return 0;
        var bytes = _buffer.AsSpan(0, count * ElementSize);
        _raw.ReadExactly(bytes);
        if (ElementSize == 2)
            for (int i = 0; i < count; i++)
                tokens[i] = BinaryPrimitives.ReadUInt16LittleEndian(bytes[(2 * i)..]);
        else
            for (int i = 0; i < count; i++)
                tokens[i] = BinaryPrimitives.ReadUInt32LittleEndian(bytes[(4 * i)..]);
        _left -= count;
        return count;
    }

    private static readonly byte[] NpyMagic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>
    /// Parses the header of an .npy file (format versions 1 to 3): magic, version, header length, then a Python dict
    /// literal such as <c>{'descr': '&lt;u2', 'fortran_order': False, 'shape': (1000,), }</c>.
    /// </summary>
    private static (long DataStart, int ElementSize, long Count) ReadNpyHeader(string path, FileStream raw)
    {
        Span<byte> prefix = stackalloc byte[12];
        int got = raw.ReadAtLeast(prefix, prefix.Length, throwOnEndOfStream: false);
        if (got < 10 || !prefix[..6].SequenceEqual(NpyMagic))
            throw new LayerChopException($"npy file {path} does not start with the NumPy magic bytes");
        byte major = prefix[6];
        long headerLength;
        int lengthBytes;
        switch (major)
        {
            case 1:
                headerLength = BinaryPrimitives.ReadUInt16LittleEndian(prefix[8..]);
                lengthBytes = 2;
                break;
            case 2 or 3:
                if (got < 12)
                    throw new LayerChopException($"npy file {path} ends inside its header");
                headerLength = BinaryPrimitives.ReadUInt32LittleEndian(prefix[8..]);
                lengthBytes = 4;
                break;
            default:
                throw new LayerChopException($"npy file {path} has format version {major}; versions 1 to 3 are supported");
        }
        long headerStart = 8 + lengthBytes;
        if (headerLength > 1 << 20 || headerStart + headerLength > raw.Length)
            throw new LayerChopException($"npy file {path} has a header length of {headerLength} bytes that does not fit the file");
        var headerBytes = new byte[headerLength];
        raw.Position = headerStart;
        raw.ReadExactly(headerBytes);
        string header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(headerBytes);

        string descr = NpyDescr().Match(header) is { Success: true } d ? d.Groups[1].Value
            : throw new LayerChopException($"npy file {path} has no 'descr' in its header");
        int elementSize = descr switch
        {
            "<u2" => 2,
            "<u4" => 4,
            _ => throw new LayerChopException($"npy file {path} has dtype '{descr}'; token arrays must be '<u2' (uint16) or '<u4' (uint32)"),
        };
        // A 1-D array has the same bytes in C and Fortran order, so fortran_order need not be checked.
        string shape = NpyShape().Match(header) is { Success: true } s ? s.Groups[1].Value
            : throw new LayerChopException($"npy file {path} has no 'shape' in its header");
        string[] dims = shape.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (dims.Length != 1 || !long.TryParse(dims[0], NumberStyles.None, CultureInfo.InvariantCulture, out long count))
            throw new LayerChopException($"npy file {path} has shape ({shape}); token arrays must be 1-D");
        return (headerStart + headerLength, elementSize, count);
    }

    [GeneratedRegex("""['"]descr['"]\s*:\s*['"]([^'"]*)['"]""")]
    private static partial Regex NpyDescr();

    [GeneratedRegex("""['"]shape['"]\s*:\s*\(([^)]*)\)""")]
    private static partial Regex NpyShape();
}
