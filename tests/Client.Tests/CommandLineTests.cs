using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Xunit;

namespace LayerChop.Client.Tests;

/// <summary>A tiny model made once by `model init`, shared by the tests of this class.</summary>
public sealed class TinyModel
{
    public string Folder { get; }

    public TinyModel()
    {
        Folder = Path.Combine(LayerChopProcess.TempFolder(), "tiny");
        var r = LayerChopProcess.Run("model", "init", "--layers", "6", "--hidden", "32", "--heads", "4", "--kv-heads", "2",
            "--intermediate", "48", "--vocab", "300", "--seed", "3", "--max-positions", "256", "--out", Folder);
        if (r.ExitCode != 0) throw new InvalidOperationException("model init failed: " + r.Stderr);
    }

    /// <summary>A copy of the model folder whose safetensors file is rewritten by <paramref name="corrupt"/>.</summary>
    public string CorruptedCopy(Func<byte[], byte[]> corrupt)
    {
        var copy = LayerChopProcess.TempFolder();
        foreach (var f in Directory.GetFiles(Folder)) File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
        var weights = Path.Combine(copy, "model.safetensors");
        File.WriteAllBytes(weights, corrupt(File.ReadAllBytes(weights)));
        return copy;
    }
}

public class CommandLineTests(TinyModel tiny) : IClassFixture<TinyModel>
{
    static void AssertOneLineError(RunResult r, string expected) => LayerChopProcess.AssertOneLineError(r, expected);

    [Fact]
    public void A_silo_asked_for_a_negative_number_of_slots_is_refused_in_one_line_before_joining_anything() =>
        AssertOneLineError(LayerChopProcess.Run("silo", "--cluster", "Host=127.0.0.1;Port=1;Username=nobody;Database=none", "--gpus", "0", "--slots", "-1"),
            "--slots -1");

    [Fact]
    public void A_sweep_run_asked_for_an_unreadable_number_of_gpus_is_refused_in_one_line() =>
        AssertOneLineError(LayerChopProcess.Run("sweep", "run", "no-such-spec.yaml", "--gpus", "two"), "--gpus two");

    [Fact]
    public void Inspect_reports_the_shape_and_sizes_as_documented_json()
    {
        var r = LayerChopProcess.Run("model", "inspect", tiny.Folder, "--json");
        Assert.Equal(0, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Stdout);
        var root = doc.RootElement;
        Assert.Equal("llama", root.GetProperty("arch").GetString());
        Assert.Equal(6, root.GetProperty("layers").GetInt32());
        Assert.Equal(32, root.GetProperty("hidden").GetInt32());
        Assert.Equal(4, root.GetProperty("heads").GetInt32());
        Assert.Equal(2, root.GetProperty("kv_heads").GetInt32());
        Assert.Equal(300, root.GetProperty("vocab").GetInt32());
        Assert.Equal("float32", root.GetProperty("dtype").GetString());
        // per layer: q 32*32 + k,v 2*32*16 + o 32*32 + mlp 3*32*48 + norms 2*32 = 7744; embed + head 2*300*32; final norm 32
        Assert.Equal(6 * 7744 + 2 * 300 * 32 + 32, root.GetProperty("params").GetInt64());
        Assert.Equal(6 * 7744 + 32, root.GetProperty("non_embedding_params").GetInt64());
    }

    [Fact]
    public void Chop_json_lists_removed_and_kept_layers_and_the_params_before_and_after()
    {
        var output = Path.Combine(LayerChopProcess.TempFolder(), "chopped");
        var r = LayerChopProcess.Run("chop", tiny.Folder, "--strategy", "max-gap", "--remove", "2", "--out", output, "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        Assert.Equal([2, 4], doc.RootElement.GetProperty("removed").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal([0, 1, 3, 5], doc.RootElement.GetProperty("kept").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(6 * 7744 + 2 * 300 * 32 + 32, doc.RootElement.GetProperty("params_before").GetInt64());
        Assert.Equal(4 * 7744 + 2 * 300 * 32 + 32, doc.RootElement.GetProperty("params_after").GetInt64());
        var inspect = LayerChopProcess.Run("model", "inspect", output, "--json");
        Assert.Equal(4, JsonDocument.Parse(inspect.Stdout).RootElement.GetProperty("layers").GetInt32());
    }

    [Fact]
    public void Generate_continues_a_prompt_deterministically()
    {
        var a = LayerChopProcess.Run("generate", tiny.Folder, "--prompt", "Hello", "--max-new-tokens", "8");
        var b = LayerChopProcess.Run("generate", tiny.Folder, "--prompt", "Hello", "--max-new-tokens", "8");
        Assert.True(a.ExitCode == 0, a.Stderr);
        Assert.StartsWith("Hello", a.Stdout);
        Assert.Equal(a.Stdout, b.Stdout);
        Assert.Contains("ms/token", a.Stderr);
    }

    [Fact]
    public void Init_without_tokenizer_text_says_the_tokenizer_size_and_generate_never_picks_an_id_beyond_it()
    {
        // 512 embedding rows, a 258-token tokenizer: ids 258..511 have no token to decode.
        var folder = Path.Combine(LayerChopProcess.TempFolder(), "m");
        var init = LayerChopProcess.Run("model", "init", "--layers", "2", "--hidden", "32", "--heads", "4", "--intermediate", "48",
            "--vocab", "512", "--seed", "5", "--max-positions", "128", "--out", folder);
        Assert.True(init.ExitCode == 0, init.Stderr);
        Assert.Contains("the tokenizer has 258 tokens", init.Stderr);
        Assert.Contains("embedding rows 258..511", init.Stderr);
        var r = LayerChopProcess.Run("generate", folder, "--prompt", "Hello", "--max-new-tokens", "60");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.StartsWith("Hello", r.Stdout);
    }

    [Fact]
    public void Init_reads_jsonl_tokenizer_text_as_documents_so_no_merge_learns_json_syntax()
    {
        var work = LayerChopProcess.TempFolder();
        var corpus = Path.Combine(work, "corpus.jsonl");
        File.WriteAllLines(corpus, Enumerable.Range(0, 40).Select(i => JsonSerializer.Serialize(new { text = $"the cat sat on the mat number {i} and the dog ran" })));
        var folder = Path.Combine(work, "m");
        var init = LayerChopProcess.Run("model", "init", "--layers", "2", "--hidden", "32", "--heads", "4", "--intermediate", "48",
            "--vocab", "300", "--tokenizer-text", corpus, "--max-positions", "128", "--out", folder);
        Assert.True(init.ExitCode == 0, init.Stderr);
        using var tokenizer = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "tokenizer.json")));
        var learned = tokenizer.RootElement.GetProperty("model").GetProperty("vocab").EnumerateObject().Where(t => t.Value.GetInt32() >= 258).Select(t => t.Name).ToList();
        Assert.NotEmpty(learned);
        // The documents hold no quote, brace or colon: only reading the file as raw text could merge them.
        Assert.DoesNotContain(learned, t => t.IndexOfAny(['"', '{', '}', ':']) >= 0);
        Assert.Contains("Ġthe", learned);
    }

    [Fact]
    public void Init_names_a_missing_tokenizer_text_in_one_line() =>
        AssertOneLineError(LayerChopProcess.Run("model", "init", "--layers", "2", "--hidden", "32", "--heads", "4", "--intermediate", "48",
            "--vocab", "300", "--tokenizer-text", "/nonexistent/corpus.jsonl", "--out", Path.Combine(LayerChopProcess.TempFolder(), "m")),
            "--tokenizer-text /nonexistent/corpus.jsonl: no such file or folder");

    [Fact]
    public void Inspect_counts_the_layers_stored_and_names_a_config_that_says_otherwise()
    {
        var copy = tiny.CorruptedCopy(bytes => bytes);
        var configPath = Path.Combine(copy, "config.json");
        File.WriteAllText(configPath, File.ReadAllText(configPath).Replace("\"num_hidden_layers\": 6", "\"num_hidden_layers\": 8"));
        var r = LayerChopProcess.Run("model", "inspect", copy, "--json");
        Assert.Equal(0, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Stdout);
        Assert.Equal(6, doc.RootElement.GetProperty("layers").GetInt32());
        Assert.Equal(8, doc.RootElement.GetProperty("config_layers").GetInt32());
        var text = LayerChopProcess.Run("model", "inspect", copy);
        Assert.Contains("6 stored; config.json says num_hidden_layers 8", text.Stdout);
    }

    [Theory]
    [InlineData("--max-new-tokens", "-1", "--max-new-tokens must be at least 1, not -1")]
    [InlineData("--max-new-tokens", "0", "--max-new-tokens must be at least 1, not 0")]
    [InlineData("--temperature", "-1", "--temperature must be 0 (greedy) or a positive number, not -1")]
    [InlineData("--temperature", "NaN", "--temperature must be 0 (greedy) or a positive number")]
    public void Generate_refuses_settings_it_cannot_honour_in_one_line(string option, string value, string expected) =>
        AssertOneLineError(LayerChopProcess.Run("generate", tiny.Folder, "--prompt", "Hello", option, value), expected);

    [Fact]
    public void Help_is_available_for_every_command()
    {
        foreach (var command in new[] { new[] { "--help" }, ["model", "init", "--help"], ["model", "inspect", "--help"], ["model", "importance", "--help"], ["chop", "--help"], ["generate", "--help"] })
        {
            var r = LayerChopProcess.Run(command);
            Assert.Equal(0, r.ExitCode);
            Assert.Contains("Usage:", r.Stdout);
        }
    }

    [Fact]
    public void A_missing_folder_is_one_clear_line()
    {
        AssertOneLineError(LayerChopProcess.Run("model", "inspect", "/nonexistent/model"), "no such model folder");
    }

    [Fact]
    public void A_malformed_config_is_one_clear_line()
    {
        var copy = tiny.CorruptedCopy(b => b);
        File.WriteAllText(Path.Combine(copy, "config.json"), "{ \"model_type\": \"llama\", ");
        AssertOneLineError(LayerChopProcess.Run("model", "inspect", copy), "config.json: malformed JSON");
    }

    [Fact]
    public void A_missing_required_option_is_one_clear_line()
    {
        AssertOneLineError(LayerChopProcess.Run("chop", tiny.Folder, "--strategy", "input", "--remove", "1"), "--out");
    }

    static byte[] WithHeader(byte[] file, Func<string, string> edit)
    {
        long length = BinaryPrimitives.ReadInt64LittleEndian(file);
        string header = Encoding.UTF8.GetString(file, 8, (int)length);
        byte[] newHeader = Encoding.UTF8.GetBytes(edit(header));
        Assert.NotEqual(header, Encoding.UTF8.GetString(newHeader));
        int padded = (newHeader.Length + 7) / 8 * 8;
        var result = new byte[8 + padded + file.Length - 8 - length];
        BinaryPrimitives.WriteInt64LittleEndian(result, padded);
        Array.Fill(result, (byte)' ', 8, padded);
        newHeader.CopyTo(result, 8);
        Array.Copy(file, 8 + length, result, 8 + padded, file.Length - 8 - length);
        return result;
    }

    public static TheoryData<string, string> Corruptions => new()
    {
        { "truncated", "" },
        { "header-length", "header length" },
        { "unknown-dtype", "dtype" },
        { "offsets-out-of-range", "past the end" },
        { "overlap", "overlap" },
    };

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void Corrupted_safetensors_are_one_clear_line_naming_the_file(string corruption, string expected)
    {
        var copy = tiny.CorruptedCopy(file => corruption switch
        {
            "truncated" => file[..(file.Length / 2)],
            "header-length" => Replace8(file, long.MaxValue / 2),
            "unknown-dtype" => WithHeader(file, h => h.Replace("\"F32\"", "\"Q4\"")),
            "offsets-out-of-range" => file[..(int)(8 + BinaryPrimitives.ReadInt64LittleEndian(file) + 16)],
            "overlap" => WithHeader(file, h => OverlapFirstTwo(h)),
            _ => throw new ArgumentException(corruption),
        });
        var r = LayerChopProcess.Run("chop", copy, "--strategy", "input", "--remove", "1", "--out", Path.Combine(copy, "out"));
        AssertOneLineError(r, "model.safetensors");
        Assert.Contains(expected, r.Stderr);
        Assert.False(Directory.Exists(Path.Combine(copy, "out")), "a failed chop must leave no output folder");
    }

    static byte[] Replace8(byte[] file, long value)
    {
        var copy = (byte[])file.Clone();
        BinaryPrimitives.WriteInt64LittleEndian(copy, value);
        return copy;
    }

    // Makes the second tensor's data_offsets start inside the first tensor's bytes (same length kept).
    static string OverlapFirstTwo(string header)
    {
        using var doc = JsonDocument.Parse(header);
        var entries = doc.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__")
            .Select(p => (p.Name, Begin: p.Value.GetProperty("data_offsets")[0].GetInt64(), End: p.Value.GetProperty("data_offsets")[1].GetInt64()))
            .OrderBy(e => e.Begin).ToList();
        var second = entries.First(e => e.Begin > 0);
        long shift = Math.Min(4, second.Begin);
        string before = $"\"data_offsets\":[{second.Begin},{second.End}]";
        string after = $"\"data_offsets\":[{second.Begin - shift},{second.End - shift}]";
        return header.Replace(before, after);
    }

    [Theory]
    [InlineData("input", "0", "K must be between 1 and 4")]
    [InlineData("input", "5", "K must be between 1 and 4")]
    [InlineData("sideways", "2", "unknown strategy 'sideways'")]
    [InlineData("layers:1,1", null, "listed twice")]
    [InlineData("layers:9", null, "layer 9 does not exist")]
    public void Impossible_chops_are_one_clear_line(string strategy, string? k, string expected)
    {
        var args = new List<string> { "chop", tiny.Folder, "--strategy", strategy, "--out", Path.Combine(LayerChopProcess.TempFolder(), "x") };
        if (k is not null) args.AddRange(["--remove", k]);
        AssertOneLineError(LayerChopProcess.Run(args.ToArray()), expected);
    }
}
