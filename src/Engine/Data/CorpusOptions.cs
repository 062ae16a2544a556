using LayerChop.Settings;
namespace LayerChop.Engine.Data;

/// <summary>
/// Where a training corpus lives and how to split it.
/// </summary>
/// <param name="Paths">Files or folders. A folder stands for every supported file below it (recursively, names starting
/// with '.' skipped), in ordinal order of relative path. Supported: <c>.jsonl</c>, <c>.jsonl.gz</c>, <c>.jsonl.zst</c>,
/// <c>.txt</c>, and pre-tokenized <c>.bin</c> (uint16; <c>.u32.bin</c> is uint32) and <c>.npy</c> (1-D <c>&lt;u2</c> or <c>&lt;u4</c>).</param>
/// <param name="TextField">The JSONL field that holds a document's text.</param>
/// <param name="HeldoutPerMille">Documents held out for validation, per thousand. Document i is held out when
/// <c>(i * HeldoutPerMille) % 1000 &lt; HeldoutPerMille</c>: evenly spread, and document 0 always, so any
/// non-zero value holds out at least one document. 0 holds out none.</param>
/// <param name="CacheDir">Folder for token caches; null means <c>$XDG_CACHE_HOME/layerchop/corpora</c>
/// (or <c>~/.cache/layerchop/corpora</c>).</param>
/// <param name="Uint32Bin">Read every <c>.bin</c> file as uint32 tokens, not just those named <c>*.u32.bin</c>.</param>
public sealed record CorpusOptions(
    IReadOnlyList<string> Paths,
    string TextField = TextCorpus.DefaultField,
    int HeldoutPerMille = 10,
    string? CacheDir = null,
    bool Uint32Bin = false);

/// <summary>How far building a token cache has got. <see cref="BytesRead"/> counts bytes of the source files as stored
/// (compressed bytes for .gz and .zst), so it reaches <see cref="TotalBytes"/> at the end.</summary>
public readonly record struct CorpusProgress(long BytesRead, long TotalBytes, long Documents, long Tokens);

/// <summary>
/// Where a <see cref="SequenceLoader"/> stands: the epoch, and how many samples of that epoch's shuffled order it has
/// handed out. Save it with a trainer checkpoint and pass it back to resume with exactly the batches that would have
/// come next.
/// </summary>
public sealed record DataCursor(int Epoch, long Position)
{
    public static DataCursor Start { get; } = new(0, 0);
}
