using System.Security.Cryptography;
using System.Text;
using LayerChop.Engine.Tokenization;

namespace LayerChop.Engine.Data;

/// <summary>One streaming pass over a corpus that writes its training and held-out token caches (see <see cref="TokenCorpus"/>).</summary>
internal sealed class CorpusBuilder(
    IReadOnlyList<CorpusFile> files,
    CacheInputs inputs,
    ITextEncoder tokenizer,
    string folder,
    string corpusName,
    IProgress<CorpusProgress>? progress)
{
    private const long ProgressEveryBytes = 4 << 20;

    private readonly long _totalBytes = files.Sum(f => f.Bytes);
    private readonly uint _vocabSize = (uint)tokenizer.VocabSize;
    private TokenCacheWriter _train = null!;
    private TokenCacheWriter _heldout = null!;
    private TokenCacheWriter _current = null!;
    private long _documents;
    private long _heldoutDocuments;
    private long _finishedFileBytes;
    private long _lastReportedBytes;

    public CacheManifest Build()
    {
        // Unique names: a cache that another process still maps is never overwritten, only replaced in the manifest.
        string build = Guid.NewGuid().ToString("N")[..12];
        string trainFile = $"train-{build}.u32";
        string heldoutFile = $"heldout-{build}.u32";
        bool complete = false;
        try
        {
            _train = new TokenCacheWriter(Path.Combine(folder, trainFile));
            _heldout = new TokenCacheWriter(Path.Combine(folder, heldoutFile));
            _current = WriterFor(0);
            foreach (var file in files)
            {
                using (var raw = CorpusFiles.OpenRead(file.Path))
                {
                    if (file.IsPreTokenized)
                        AddTokenFile(file, raw);
                    else
                        AddTextFile(file, raw);
                }
                _finishedFileBytes += file.Bytes;
                Report(0, force: true);
            }
            byte[] trainHash = _train.Finish();
            byte[] heldoutHash = _heldout.Finish();
            long trainTokens = _train.Count;
            long heldoutTokens = _heldout.Count;
            if (trainTokens + heldoutTokens == 0)
                throw new LayerChopException($"corpus {corpusName} holds no tokens: its {files.Count} file(s) contain no documents");

            // One document would leave nothing to train on; training matters more than validation, so it trains.
            if (_documents == 1 && trainTokens == 0)
            {
                (trainFile, heldoutFile) = (heldoutFile, trainFile);
                (trainHash, heldoutHash) = (heldoutHash, trainHash);
                (trainTokens, heldoutTokens) = (heldoutTokens, trainTokens);
                _heldoutDocuments = 0;
            }

            var manifest = new CacheManifest
            {
                Inputs = inputs,
                Documents = _documents,
                HeldoutDocuments = _heldoutDocuments,
                TrainFile = trainFile,
                TrainTokens = trainTokens,
                HeldoutFile = heldoutFile,
                HeldoutTokens = heldoutTokens,
                Fingerprint = FingerprintOf(trainHash, heldoutHash),
            };
            complete = true;
            return manifest;
        }
        finally
        {
            _train?.Dispose();
            _heldout?.Dispose();
            if (!complete)
            {
                TryDelete(Path.Combine(folder, trainFile));
                TryDelete(Path.Combine(folder, heldoutFile));
            }
        }
    }

    private void AddTextFile(CorpusFile file, FileStream raw)
    {
        foreach (string text in Documents.ReadFile(file, raw, inputs.TextField))
        {
            foreach (int id in tokenizer.Encode(text, addSpecial: false))
            {
                if ((uint)id >= _vocabSize)
                    throw new LayerChopException(
                        $"corpus file {file.Path}: the tokenizer produced id {id}, outside its vocabulary of {_vocabSize}");
                _current.Write((uint)id);
            }
            _current.Write(inputs.Separator);
            EndDocument();
            Report(raw.Position, force: false);
        }
    }

    private void AddTokenFile(CorpusFile file, FileStream raw)
    {
        TokenFileReader reader;
        try
        {
            reader = TokenFileReader.Open(file, raw);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw CorpusFiles.Unreadable(file.Path, e);
        }
        var chunk = new uint[1 << 18];
        long index = 0;
        long documentLength = 0;
        while (true)
        {
            int count;
            try
            {
                count = reader.Read(chunk);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw CorpusFiles.Unreadable(file.Path, e);
            }
            if (count == 0)
                break;
            for (int i = 0; i < count; i++, index++)
            {
                uint token = chunk[i];
                if (token >= _vocabSize)
                    throw new LayerChopException(
                        $"token file {file.Path}: token {index} is {token}, not below the tokenizer's vocabulary size {_vocabSize}");
                _current.Write(token);
                if (token == inputs.Separator || ++documentLength == TokenCorpus.MaxTokenDocument)
                {
                    EndDocument();
                    documentLength = 0;
                }
            }
            Report(raw.Position, force: false);
        }
        // The file's end ends a document too, so no document spans two files.
        if (documentLength > 0)
            EndDocument();
    }

    private TokenCacheWriter WriterFor(long document) =>
        TokenCorpus.IsHeldout(document, inputs.HeldoutPerMille) ? _heldout : _train;

    private void EndDocument()
    {
        if (_current == _heldout)
            _heldoutDocuments++;
        _documents++;
        _current = WriterFor(_documents);
    }

    private void Report(long positionInFile, bool force)
    {
        if (progress is null)
            return;
        long read = Math.Min(_finishedFileBytes + positionInFile, _totalBytes);
        if (!force && read - _lastReportedBytes < ProgressEveryBytes)
            return;
        _lastReportedBytes = read;
        progress.Report(new CorpusProgress(read, _totalBytes, _documents, _train.Count + _heldout.Count));
    }

    private static string FingerprintOf(byte[] trainHash, byte[] heldoutHash)
    {
        byte[] all = [.. Encoding.ASCII.GetBytes("layerchop-corpus-1"), .. trainHash, .. heldoutHash];
        return Convert.ToHexStringLower(SHA256.HashData(all))[..32];
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A leftover partial cache is removed by the next successful build.
        }
    }
}
