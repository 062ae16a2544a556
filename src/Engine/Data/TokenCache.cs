using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Security.Cryptography;

namespace LayerChop.Engine.Data;

/// <summary>
/// A token cache file: every token of one split as a little-endian uint32, read through a memory map so that a corpus
/// larger than memory costs only address space; the operating system pages in the windows that batches touch.
/// </summary>
internal sealed class TokenCache : IDisposable
{
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;

    private TokenCache(MemoryMappedFile? map, MemoryMappedViewAccessor? view, long count)
    {
        _map = map;
        _view = view;
        Count = count;
    }

    public long Count { get; }

    /// <summary>True when tokens come from a memory map (every non-empty cache).</summary>
    public bool IsMemoryMapped => _view is not null;

    public static TokenCache Empty() => new(null, null, 0);

    /// <summary>Maps <paramref name="path"/>, which must hold exactly <paramref name="count"/> tokens.</summary>
    public static TokenCache Open(string path, long count)
    {
        // A zero-length file cannot be mapped.
        if (count == 0)
            return Empty();
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        try
        {
            if (stream.Length != count * sizeof(uint))
                throw new InvalidDataException($"{path} has {stream.Length} bytes; {count} tokens need {count * sizeof(uint)}");
            var map = MemoryMappedFile.CreateFromFile(stream, mapName: null, capacity: 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            try
            {
                return new TokenCache(map, map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read), count);
            }
            catch
            {
                map.Dispose();
                throw;
            }
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Copies tokens [start, start + tokens.Length) into <paramref name="tokens"/>.</summary>
    public void Read(long start, Span<uint> tokens)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start + tokens.Length, Count);
        if (tokens.Length == 0)
            return;
        ObjectDisposedException.ThrowIf(_view!.SafeMemoryMappedViewHandle.IsClosed, this);
        _view.SafeMemoryMappedViewHandle.ReadSpan((ulong)(_view.PointerOffset + start * sizeof(uint)), tokens);
    }

    public void Dispose()
    {
        _view?.Dispose();
        _map?.Dispose();
    }
}

/// <summary>Appends tokens to a new cache file through a buffer, hashing them on the way (the hash feeds the corpus fingerprint).</summary>
internal sealed class TokenCacheWriter : IDisposable
{
    private readonly FileStream _stream;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _buffer = new byte[1 << 20];
    private int _used;

    public TokenCacheWriter(string path)
    {
        Path = path;
        _stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1);
    }

    public string Path { get; }

    public long Count { get; private set; }

    public void Write(uint token)
    {
        if (_used == _buffer.Length)
            Flush();
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(_used), token);
        _used += sizeof(uint);
        Count++;
    }

    /// <summary>Writes what is buffered and returns the SHA-256 of all tokens written.</summary>
    public byte[] Finish()
    {
        Flush();
        try
        {
            _stream.Flush(flushToDisk: true);
        }
        catch (IOException e)
        {
            throw new LayerChopException($"cannot write token cache {Path}: {CorpusFiles.OneLine(e.Message)}");
        }
        return _hash.GetHashAndReset();
    }

    private void Flush()
    {
        var bytes = _buffer.AsSpan(0, _used);
        _hash.AppendData(bytes);
        try
        {
            _stream.Write(bytes);
        }
        catch (IOException e)
        {
            throw new LayerChopException($"cannot write token cache {Path}: {CorpusFiles.OneLine(e.Message)}");
        }
        _used = 0;
    }

    public void Dispose()
    {
        _stream.Dispose();
        _hash.Dispose();
    }
}
