using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using LayerChop.Engine.Tokenization;

namespace LayerChop.Engine.Data;

/// <summary>
/// A corpus as two token streams on disk, training and held-out, built once and reused while the sources, tokenizer
/// and split are unchanged.
/// </summary>
/// <remarks>
/// Building is one streaming pass: each document is read, tokenized, followed by the separator (the tokenizer's EOS,
/// else its BOS; no BOS is put before documents) and appended to the training or the held-out cache file, so memory
/// holds one document at a time. Pre-tokenized files are copied as they are, with nothing added: they already carry
/// their separators (nanoGPT writes EOS after each document). For the split they are cut into documents after
/// each separator token, and into pieces of at most <see cref="MaxTokenDocument"/> tokens when separators are
/// sparse or absent.
/// <para>The caches live in a folder per (paths, text field, split, tokenizer) under <see cref="CorpusOptions.CacheDir"/>,
/// with a manifest.json naming each source file's size and time stamp. Opening takes a file lock on that folder, so
/// processes that open the same corpus at once build it once.</para>
/// </remarks>
public sealed class TokenCorpus : IDisposable
{
    /// <summary>Pre-tokenized streams are cut into documents of at most this many tokens for the held-out split.</summary>
    public const int MaxTokenDocument = 1 << 20;

    private readonly TokenCache _train;
    private readonly TokenCache _heldout;

    private TokenCorpus(string name, IReadOnlyList<CorpusFile> files, string cacheFolder, CacheManifest manifest, TokenCache train, TokenCache heldout, bool reused)
    {
        Name = name;
        SourceFiles = files.Select(f => f.Path).ToList().AsReadOnly();
        CacheFolder = cacheFolder;
        Documents = manifest.Documents;
        HeldoutDocuments = manifest.HeldoutDocuments;
        Fingerprint = manifest.Fingerprint;
        Separator = manifest.Inputs.Separator;
        _train = train;
        _heldout = heldout;
        ReusedCache = reused;
    }

    /// <summary>The corpus paths as given, joined for messages.</summary>
    public string Name { get; }

    /// <summary>Every source file, folders expanded, in reading order.</summary>
    public IReadOnlyList<string> SourceFiles { get; }

    /// <summary>The folder that holds this corpus's manifest and token caches.</summary>
    public string CacheFolder { get; }

    public long TrainTokens => _train.Count;

    public long HeldoutTokens => _heldout.Count;

    /// <summary>Documents in the corpus, held-out ones included.</summary>
    public long Documents { get; }

    public long HeldoutDocuments { get; }

    /// <summary>The id that ends every document.</summary>
    public uint Separator { get; }

    /// <summary>
    /// A hash of the training and held-out token streams. Equal fingerprints mean identical training data whatever
    /// the paths or time stamps, so a trainer can store it in checkpoints and refuse to resume on different data.
    /// </summary>
    public string Fingerprint { get; }

    internal bool ReusedCache { get; }

    internal TokenCache Train => _train;

    internal TokenCache Heldout => _heldout;

    /// <summary>Whether document <paramref name="index"/> (0-based, in reading order) belongs to the held-out split.</summary>
    public static bool IsHeldout(long index, int heldoutPerMille) =>
        heldoutPerMille > 0 && index % 1000 * heldoutPerMille % 1000 < heldoutPerMille;

    /// <summary>
    /// Opens the token caches of a corpus, building them first when there are none or the sources, tokenizer or split
    /// settings changed. Throws <see cref="LayerChopException"/> for unusable input.
    /// </summary>
    public static TokenCorpus Open(CorpusOptions options, ITextEncoder tokenizer, IProgress<CorpusProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (string.IsNullOrEmpty(options.TextField))
            throw new LayerChopException("the JSONL text field name is empty");
        if (options.HeldoutPerMille is < 0 or > 1000)
            throw new LayerChopException($"the held-out share must be 0 to 1000 per mille, not {options.HeldoutPerMille}");
        uint separator = (uint)(tokenizer.EosId ?? tokenizer.BosId
            ?? throw new LayerChopException("the tokenizer has neither an EOS nor a BOS id to separate documents with"));

        var files = CorpusFiles.Expand(options.Paths, options.Uint32Bin);
        string name = string.Join(", ", options.Paths);
        var inputs = new CacheInputs(
            CacheInputs.CurrentFormat,
            TokenizerIdentity.Of(tokenizer),
            options.TextField,
            options.HeldoutPerMille,
            options.Uint32Bin,
            separator,
            files.Select(f => new CachedSource(f.Path, f.Bytes, f.ModifiedUtc.Ticks)).ToList());

        string folder = CacheFolderFor(options, inputs);
        try
        {
            Directory.CreateDirectory(folder);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LayerChopException($"cannot create the token cache folder {folder}: {CorpusFiles.OneLine(e.Message)}");
        }

        using var buildLock = LockFolder(folder);
        string manifestPath = Path.Combine(folder, "manifest.json");
        var manifest = CacheManifest.TryRead(manifestPath);
        if (manifest is not null && manifest.Inputs.Matches(inputs) && TryOpenCaches(folder, manifest, out var train, out var heldout))
            return new TokenCorpus(name, files, folder, manifest, train, heldout, reused: true);

        manifest = new CorpusBuilder(files, inputs, tokenizer, folder, name, progress).Build();
        manifest.Write(manifestPath);
        DeleteStaleCaches(folder, manifest);
        if (!TryOpenCaches(folder, manifest, out train, out heldout))
            throw new LayerChopException($"cannot open the token cache just built in {folder}");
        return new TokenCorpus(name, files, folder, manifest, train, heldout, reused: false);
    }

    private static string CacheFolderFor(CorpusOptions options, CacheInputs inputs)
    {
        string root = options.CacheDir ?? DefaultCacheRoot();
        string key = JsonSerializer.Serialize(new
        {
            paths = options.Paths.Select(Path.GetFullPath).ToArray(),
            inputs.TextField,
            inputs.HeldoutPerMille,
            inputs.Uint32Bin,
            inputs.Tokenizer,
        });
        return Path.Combine(Path.GetFullPath(root), Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..16]);
    }

    private static string DefaultCacheRoot()
    {
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        string cache = string.IsNullOrEmpty(xdg)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache")
            : xdg;
        return Path.Combine(cache, "layerchop", "corpora");
    }

    /// <summary>
    /// Holds an exclusive lock on the cache folder until disposed. The lock is the OS's (flock on Unix), so a crashed
    /// process never leaves it behind, and waiting for it has no time limit: the holder is building and will finish.
    /// </summary>
    private static FileStream LockFolder(string folder)
    {
        string path = Path.Combine(folder, "build.lock");
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (File.Exists(path))
            {
                Thread.Sleep(200);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new LayerChopException($"cannot lock the token cache folder {folder}: {CorpusFiles.OneLine(e.Message)}");
            }
        }
    }

    private static bool TryOpenCaches(string folder, CacheManifest manifest, out TokenCache train, out TokenCache heldout)
    {
        train = heldout = null!;
        TokenCache? opened = null;
        try
        {
            opened = TokenCache.Open(Path.Combine(folder, manifest.TrainFile), manifest.TrainTokens);
            heldout = TokenCache.Open(Path.Combine(folder, manifest.HeldoutFile), manifest.HeldoutTokens);
            train = opened;
            return true;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            opened?.Dispose();
            return false;
        }
    }

    /// <summary>Removes caches of earlier builds. On Unix a process that still maps one keeps its data until it unmaps.</summary>
    private static void DeleteStaleCaches(string folder, CacheManifest manifest)
    {
        foreach (string path in Directory.EnumerateFiles(folder, "*.u32"))
        {
            string file = Path.GetFileName(path);
            if (file == manifest.TrainFile || file == manifest.HeldoutFile)
                continue;
            try
            {
                File.Delete(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // In use elsewhere (Windows) or not ours to delete: it only costs disk space.
            }
        }
    }

    public void Dispose()
    {
        _train.Dispose();
        _heldout.Dispose();
    }
}
