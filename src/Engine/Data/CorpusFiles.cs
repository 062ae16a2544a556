namespace LayerChop.Engine.Data;

internal enum CorpusFileKind
{
    Jsonl,
    JsonlGzip,
    JsonlZstd,
    Text,
    Uint16Tokens,
    Uint32Tokens,
    Npy,
}

/// <summary>One source file of a corpus, with the size and time stamp that decide whether a cache built from it is current.</summary>
internal sealed record CorpusFile(string Path, CorpusFileKind Kind, long Bytes, DateTime ModifiedUtc)
{
    public bool IsPreTokenized => Kind is CorpusFileKind.Uint16Tokens or CorpusFileKind.Uint32Tokens or CorpusFileKind.Npy;
}

/// <summary>The files a corpus named by paths is read from (folders expanded as every reader expands them), each
/// with the size and write time that decide whether anything made from it is current.</summary>
public static class CorpusSources
{
    public static IReadOnlyList<(string Path, long Bytes, DateTime ModifiedUtc)> Of(IReadOnlyList<string> paths) =>
        CorpusFiles.Expand(paths, uint32Bin: false).Select(f => (f.Path, f.Bytes, f.ModifiedUtc)).ToList();
}

internal static class CorpusFiles
{
    public const string SupportedExtensions = ".jsonl, .jsonl.gz, .jsonl.zst, .txt, .bin, .u32.bin, .npy";

    public static CorpusFileKind? KindOf(string path, bool uint32Bin)
    {
        string name = System.IO.Path.GetFileName(path).ToLowerInvariant();
        if (name.EndsWith(".jsonl", StringComparison.Ordinal)) return CorpusFileKind.Jsonl;
        if (name.EndsWith(".jsonl.gz", StringComparison.Ordinal)) return CorpusFileKind.JsonlGzip;
        if (name.EndsWith(".jsonl.zst", StringComparison.Ordinal)) return CorpusFileKind.JsonlZstd;
        if (name.EndsWith(".txt", StringComparison.Ordinal)) return CorpusFileKind.Text;
        if (name.EndsWith(".npy", StringComparison.Ordinal)) return CorpusFileKind.Npy;
        if (name.EndsWith(".u32.bin", StringComparison.Ordinal)) return CorpusFileKind.Uint32Tokens;
        if (name.EndsWith(".bin", StringComparison.Ordinal))
            return uint32Bin ? CorpusFileKind.Uint32Tokens : CorpusFileKind.Uint16Tokens;
        return null;
    }

    /// <summary>
    /// The files that <paramref name="paths"/> name, folders expanded, each file once (at its first mention: a file
    /// named twice would otherwise be able to land in both the training and the held-out split).
    /// </summary>
    public static IReadOnlyList<CorpusFile> Expand(IReadOnlyList<string> paths, bool uint32Bin)
    {
        ArgumentNullException.ThrowIfNull(paths);
        if (paths.Count == 0)
            throw new LayerChopException("no corpus paths given: name at least one file or folder");

        var files = new List<CorpusFile>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string given in paths)
        {
            if (string.IsNullOrWhiteSpace(given))
                throw new LayerChopException("a corpus path is empty");
            string full = System.IO.Path.GetFullPath(given);
            if (Directory.Exists(full))
            {
                var inFolder = FilesUnder(full)
                    .Select(f => (File: f, Kind: KindOf(f, uint32Bin)))
                    .Where(f => f.Kind is not null)
                    .OrderBy(f => System.IO.Path.GetRelativePath(full, f.File), StringComparer.Ordinal)
                    .ToList();
                if (inFolder.Count == 0)
                    throw new LayerChopException($"corpus folder {given} holds no supported files ({SupportedExtensions})");
                foreach (var (file, kind) in inFolder)
                    if (seen.Add(file))
                        files.Add(Describe(file, kind!.Value));
            }
            else if (File.Exists(full))
            {
                var kind = KindOf(full, uint32Bin)
                    ?? throw new LayerChopException($"corpus file {given} has an unsupported extension; supported: {SupportedExtensions}");
                if (seen.Add(full))
                    files.Add(Describe(full, kind));
            }
            else
            {
                throw new LayerChopException($"corpus file {given} does not exist");
            }
        }
        return files;
    }

    private static IEnumerable<string> FilesUnder(string folder)
    {
        IEnumerable<string> entries;
        try
        {
            entries = Directory.EnumerateFileSystemEntries(folder).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LayerChopException($"cannot list corpus folder {folder}: {OneLine(e.Message)}");
        }
        foreach (string entry in entries)
        {
            // Hidden entries are tool state (.git, a cache placed inside the data folder), never corpus text.
            if (System.IO.Path.GetFileName(entry).StartsWith('.'))
                continue;
            if (Directory.Exists(entry))
            {
                foreach (string nested in FilesUnder(entry))
                    yield return nested;
            }
            else
            {
                yield return entry;
            }
        }
    }

    private static CorpusFile Describe(string path, CorpusFileKind kind)
    {
        var info = new FileInfo(path);
        return new CorpusFile(path, kind, info.Length, info.LastWriteTimeUtc);
    }

    public static FileStream OpenRead(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Unreadable(path, e);
        }
    }

    public static LayerChopException Unreadable(string path, Exception e) =>
        new($"cannot read corpus file {path}: {OneLine(e.Message)}");

    public static string OneLine(string message) =>
        message.ReplaceLineEndings(" ").Trim();
}
