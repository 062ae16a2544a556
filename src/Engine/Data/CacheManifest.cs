using System.Text.Json;
using System.Text.Json.Serialization;

namespace LayerChop.Engine.Data;

/// <summary>One source file as the cache saw it; a different size or time stamp means the file changed.</summary>
internal sealed record CachedSource(string Path, long Bytes, long ModifiedUtcTicks);

/// <summary>Everything a token cache is built from; a cache is reused only when all of it is unchanged.</summary>
internal sealed record CacheInputs(
    int Format,
    string Tokenizer,
    string TextField,
    int HeldoutPerMille,
    bool Uint32Bin,
    uint Separator,
    IReadOnlyList<CachedSource> Sources)
{
    /// <summary>Raise when the cache layout or the way documents are split and tokenized changes.</summary>
    public const int CurrentFormat = 1;

    public bool Matches(CacheInputs other) =>
        Format == other.Format
        && Tokenizer == other.Tokenizer
        && TextField == other.TextField
        && HeldoutPerMille == other.HeldoutPerMille
        && Uint32Bin == other.Uint32Bin
        && Separator == other.Separator
        && Sources.SequenceEqual(other.Sources);
}

/// <summary>
/// manifest.json of a token cache folder: what the caches were built from and with, and what they hold. It is
/// written last, after the token files are complete, so a crash mid-build leaves no manifest that points at a
/// partial file.
/// </summary>
internal sealed record CacheManifest
{
    public required CacheInputs Inputs { get; init; }
    public required long Documents { get; init; }
    public required long HeldoutDocuments { get; init; }
    public required string TrainFile { get; init; }
    public required long TrainTokens { get; init; }
    public required string HeldoutFile { get; init; }
    public required long HeldoutTokens { get; init; }
    public required string Fingerprint { get; init; }

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>The manifest in <paramref name="path"/>, or null when there is none or it cannot be read (then the cache is rebuilt).</summary>
    public static CacheManifest? TryRead(string path)
    {
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize<CacheManifest>(File.ReadAllText(path), Json) : null;
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException or NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>Writes through a temporary file and a rename, so readers see the old manifest or the new one, never half of one.</summary>
    public void Write(string path)
    {
        string temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(this, Json));
        File.Move(temporary, path, overwrite: true);
    }
}
