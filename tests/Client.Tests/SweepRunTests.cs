using System.Diagnostics;
using System.Text.Json;
using Xunit;

namespace LayerChop.Client.Tests;

public class SweepRunTests(TrainingInputs inputs) : IClassFixture<TrainingInputs>
{
    static readonly object Gate = new();

    /// <summary>A tiny model with room for the continuation task's passages (256 positions).</summary>
    string BaseModel()
    {
        lock (Gate)
        {
            var folder = Path.Combine(inputs.Work, "sweep-base");
            if (!File.Exists(Path.Combine(folder, "config.json")))
            {
                var r = LayerChopProcess.Run("model", "init", "--layers", "4", "--hidden", "32", "--heads", "4", "--kv-heads", "2",
                    "--intermediate", "64", "--vocab", "300", "--seed", "4", "--max-positions", "256", "--out", folder);
                Assert.True(r.ExitCode == 0, r.Stderr);
            }
            return folder;
        }
    }

    string Spec(string name, string output) => Spec(name, output, inputs.Corpus);

    string Spec(string name, string output, string data)
    {
        var tasks = Path.Combine(inputs.Work, "tasks");
        Directory.CreateDirectory(tasks);
        File.Copy(inputs.Corpus, Path.Combine(tasks, "continuation.jsonl"), overwrite: true);
        var path = Path.Combine(LayerChopProcess.TempFolder(), name + ".yaml");
        File.WriteAllText(path, $"""
            name: {name}
            base_model: {BaseModel()}
            data: [{data}]
            eval: {"{"} tasks: [continuation], task_dir: {tasks}, limit: 8 {"}"}
            grid:
              remove: [0, 2]
              strategy: [input]
              heal_tokens: [0, 1536]
              seed: [1]
            train: {"{"} seq_len: 32, batch_tokens: 128, lr: 0.003, warmup_steps: 1, checkpoint_every: 2 {"}"}
            latency: {"{"} prompt_tokens: 8, new_tokens: 8 {"}"}
            device: cpu
            max_attempts: 2
            output: {output}
            """);
        return path;
    }

    static JsonElement[] Results(string output) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "report", "results.json"))).RootElement.EnumerateArray().ToArray();

    /// <summary>Results without the measured latency figures (timings; their shape stays), for comparing runs.</summary>
    static string Comparable(string output) => string.Join("\n", Results(output).Select(r =>
    {
        var copy = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(r.GetRawText())!;
        copy.Remove("latency_ms_per_token");
        if (copy.TryGetValue("latency", out var latency) && latency.ValueKind == JsonValueKind.Object)
            copy["latency"] = latency.GetProperty("shape");
        copy.Remove("attempts");
        copy.Remove("history");
        copy.Remove("on_front");
        return JsonSerializer.Serialize(copy);
    }));

    [Fact]
    public void A_sweep_runs_every_candidate_to_completion_and_keeps_a_non_dominated_front()
    {
        var output = Path.Combine(LayerChopProcess.TempFolder(), "out");
        var r = LayerChopProcess.Run("sweep", "run", Spec("complete", output));
        Assert.True(r.ExitCode == 0, r.Stderr);
        var results = Results(output);
        Assert.Equal(["r0-none-h0-s1", "r0-none-h1536-pretrain-s1", "r2-input-h0-s1", "r2-input-h1536-pretrain-s1"],
            results.Select(c => c.GetProperty("id").GetString()).Order());
        Assert.All(results, c => Assert.Equal("completed", c.GetProperty("status").GetString()));
        var front = results.Where(c => c.GetProperty("on_front").GetBoolean()).ToList();
        Assert.NotEmpty(front);
        Assert.Contains("Pareto front", r.Stdout);
        // Chopping made the chopped candidates smaller.
        long Params(string id) => results.First(c => c.GetProperty("id").GetString() == id).GetProperty("params").GetInt64();
        Assert.True(Params("r2-input-h0-s1") < Params("r0-none-h0-s1"));
        foreach (var file in new[] { "report.md", "results.csv", "pareto-params.png", "pareto-params.svg", "pareto-latency.png" })
            Assert.True(new FileInfo(Path.Combine(output, "report", file)).Length > 100, file);
    }

    [Fact]
    public void A_sweep_killed_while_healing_resumes_when_run_again_and_ends_as_an_uninterrupted_one()
    {
        var straight = Path.Combine(LayerChopProcess.TempFolder(), "straight");
        Assert.Equal(0, LayerChopProcess.Run("sweep", "run", Spec("resume", straight)).ExitCode);

        var killed = Path.Combine(LayerChopProcess.TempFolder(), "killed");
        var spec = Spec("resume", killed);
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(LayerChopProcess.Dll);
        foreach (var a in new[] { "sweep", "run", spec }) info.ArgumentList.Add(a);
        using (var process = Process.Start(info)!)
        {
            process.BeginOutputReadLine(); process.BeginErrorReadLine();
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (DateTime.UtcNow < deadline && !(Directory.Exists(killed) && Directory.EnumerateDirectories(killed, "step-*", SearchOption.AllDirectories).Any()))
                Thread.Sleep(50);
            process.Kill(entireProcessTree: false);            // the silo dies; its worker notices and exits
            process.WaitForExit();
        }
        Assert.False(File.Exists(Path.Combine(killed, "report", "results.json")));
        var rerun = LayerChopProcess.Run("sweep", "run", spec);
        Assert.True(rerun.ExitCode == 0, rerun.Stderr);
        Assert.Equal(Comparable(straight), Comparable(killed));
    }

    [Fact]
    public void Candidates_whose_input_is_bad_fail_at_their_first_attempt_with_the_reason_and_the_sweep_goes_on()
    {
        // The corpus exists (so the spec is accepted) but line 2 is not JSON: only healing reads it.
        var broken = Path.Combine(LayerChopProcess.TempFolder(), "broken.jsonl");
        File.WriteAllText(broken, "{\"text\": \"fine\"}\n{not json\n");
        var output = Path.Combine(LayerChopProcess.TempFolder(), "out");
        var r = LayerChopProcess.Run("sweep", "run", Spec("failing", output, broken));
        Assert.Equal(1, r.ExitCode);
        var results = Results(output);
        foreach (var c in results)
        {
            bool heals = c.GetProperty("config").GetProperty("heal_tokens").GetInt64() > 0;
            Assert.Equal(heals ? "failed" : "completed", c.GetProperty("status").GetString());
            if (!heals) continue;
            Assert.Equal(1, c.GetProperty("attempts").GetInt32());             // bad input: another attempt cannot fix it
            Assert.Contains("broken.jsonl", c.GetProperty("error").GetString());
        }
        Assert.Contains("failed", File.ReadAllText(Path.Combine(output, "report", "report.md")));
    }

    [Fact]
    public void A_sweep_with_an_explicit_layer_list_removes_exactly_those_layers()
    {
        var output = Path.Combine(LayerChopProcess.TempFolder(), "out");
        var spec = Spec("layer-list", output);
        File.WriteAllText(spec, File.ReadAllText(spec)
            .Replace("remove: [0, 2]", "remove: [2]").Replace("strategy: [input]", "strategy: [\"layers:3,1\"]"));

        var r = LayerChopProcess.Run("sweep", "run", spec);

        Assert.True(r.ExitCode == 0, r.Stderr);
        var results = Results(output);
        Assert.Equal(["r2-layers-1-3-h0-s1", "r2-layers-1-3-h1536-pretrain-s1"], results.Select(c => c.GetProperty("id").GetString()).Order());
        foreach (var c in results)
        {
            Assert.Equal("completed", c.GetProperty("status").GetString());
            Assert.Equal("layers:1,3", c.GetProperty("config").GetProperty("strategy").GetString());
            var id = c.GetProperty("id").GetString()!;
            var outcome = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "candidates", id, "result.json"))).RootElement;
            Assert.Equal([1, 3], outcome.GetProperty("removed").EnumerateArray().Select(e => e.GetInt32()));
            // The final model (healed, else chopped: retention keeps only that one) has the other two layers.
            var final = LayerChop.Worker.CandidateArtifacts.FinalModel(Path.Combine(output, "candidates", id), "unused");
            var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(final, "config.json"))).RootElement;
            Assert.Equal(2, config.GetProperty("num_hidden_layers").GetInt32());
        }
    }

    [Fact]
    public void Failed_candidates_of_an_embedded_sweep_are_retried_on_request_and_the_sweep_is_listed_shown_and_exported()
    {
        var work = LayerChopProcess.TempFolder();
        var corpus = Path.Combine(work, "corpus.jsonl");
        File.WriteAllText(corpus, "{\"text\": \"fine\"}\n{not json\n");
        var output = Path.Combine(work, "out");
        var spec = Spec("again", output, corpus);
        var state = Path.Combine(output, "state.db");
        string[] Store(params string[] args) => [.. args, "--state", state];

        Assert.Equal(1, LayerChopProcess.Run("sweep", "run", spec).ExitCode);
        File.Copy(inputs.Corpus, corpus, overwrite: true);                            // the cause fixed
        var rerun = LayerChopProcess.Run("sweep", "run", spec);                       // a plain rerun retries nothing
        Assert.Equal(1, rerun.ExitCode);
        Assert.Contains("--retry", rerun.Stderr);
        var retried = LayerChopProcess.Run("sweep", "run", spec, "--retry");
        Assert.True(retried.ExitCode == 0, retried.Stderr);
        Assert.All(Results(output), c => Assert.Equal("completed", c.GetProperty("status").GetString()));

        var list = LayerChopProcess.Run(Store("sweep", "list", "--json"));
        Assert.True(list.ExitCode == 0, list.Stderr);
        var listed = Assert.Single(JsonDocument.Parse(list.Stdout).RootElement.EnumerateArray());
        Assert.Equal("again", listed.GetProperty("name").GetString());
        Assert.Equal(4, listed.GetProperty("counts").GetProperty("completed").GetInt32());

        const string healed = "r2-input-h1536-pretrain-s1";
        var shown = LayerChopProcess.Run(Store("sweep", "show", "again", healed, "--json"));
        Assert.True(shown.ExitCode == 0, shown.Stderr);
        var detail = JsonDocument.Parse(shown.Stdout).RootElement;
        Assert.Equal(["failed", "succeeded"], detail.GetProperty("history").EnumerateArray().Select(a => a.GetProperty("outcome").GetString()));
        Assert.Equal(12, detail.GetProperty("loss").GetProperty("steps").GetArrayLength());   // 1536 tokens / 128 per step
        var text = LayerChopProcess.Run(Store("sweep", "show", "again", healed));
        Assert.Contains("#2", text.Stdout);

        var exported = Path.Combine(work, "exported");
        var export = LayerChopProcess.Run(Store("sweep", "export", "again", healed, "--out", exported));
        Assert.True(export.ExitCode == 0, export.Stderr);
        var lineage = JsonDocument.Parse(File.ReadAllText(Path.Combine(exported, "lineage.json"))).RootElement;
        Assert.Equal([1, 2], lineage.GetProperty("removed").EnumerateArray().Select(e => e.GetInt32()));   // input: the first layers after the first
        var inspect = LayerChopProcess.Run("model", "inspect", exported, "--json");
        Assert.Equal(2, JsonDocument.Parse(inspect.Stdout).RootElement.GetProperty("layers").GetInt32());

        var cancel = LayerChopProcess.Run(Store("sweep", "cancel", "again", "--json"));
        Assert.True(cancel.ExitCode == 0, cancel.Stderr);
        Assert.Equal(4, JsonDocument.Parse(cancel.Stdout).RootElement.GetProperty("already_finished").GetInt32());
        LayerChopProcess.AssertOneLineError(LayerChopProcess.Run(Store("sweep", "show", "again", "r9-nope-h0-s1")), "has no candidate 'r9-nope-h0-s1'");
        LayerChopProcess.AssertOneLineError(LayerChopProcess.Run(Store("sweep", "status", "nope")), $"no sweep 'nope' in state file {state} (`layerchop sweep list --state {state}`");
    }

    [Fact]
    public void Every_command_marks_the_same_candidates_on_front_as_the_results()
    {
        var output = Path.Combine(LayerChopProcess.TempFolder(), "out");
        Assert.Equal(0, LayerChopProcess.Run("sweep", "run", Spec("marks", output)).ExitCode);
        var state = Path.Combine(output, "state.db");
        var expected = Results(output).ToDictionary(c => c.GetProperty("id").GetString()!, c => c.GetProperty("on_front").GetBoolean());
        Assert.Contains(true, expected.Values);

        var status = JsonDocument.Parse(LayerChopProcess.Run("sweep", "status", "marks", "--state", state, "--json").Stdout).RootElement;
        Assert.Equal(expected, status.GetProperty("candidates").EnumerateArray().ToDictionary(c => c.GetProperty("id").GetString()!, c => c.GetProperty("on_front").GetBoolean()));
        var watched = LayerChopProcess.Run("sweep", "watch", "marks", "--state", state, "--json").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement);
        Assert.Equal(expected, watched.ToDictionary(c => c.GetProperty("id").GetString()!, c => c.GetProperty("on_front").GetBoolean()));
        foreach (var (id, onFront) in expected)
            Assert.Equal(onFront, JsonDocument.Parse(LayerChopProcess.Run("sweep", "show", "marks", id, "--state", state, "--json").Stdout).RootElement.GetProperty("on_front").GetBoolean());
        var listed = JsonDocument.Parse(LayerChopProcess.Run("sweep", "list", "--state", state, "--json").Stdout).RootElement[0];
        Assert.False(listed.TryGetProperty("candidates", out _));
    }

    [Fact]
    public void A_query_never_writes_to_its_state_file_and_refuses_a_file_that_is_not_one_leaving_it_byte_identical()
    {
        var work = LayerChopProcess.TempFolder();
        var output = Path.Combine(work, "out");
        Assert.Equal(0, LayerChopProcess.Run("sweep", "run", Spec("quiet", output)).ExitCode);
        var state = Path.Combine(output, "state.db");
        string Snapshot(string folder) => string.Join("\n", Directory.EnumerateFiles(folder).Order()
            .Select(f => $"{Path.GetFileName(f)} {Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f)))}"));

        var before = Snapshot(output);
        foreach (var verb in new[] { "list" })
            Assert.Equal(0, LayerChopProcess.Run("sweep", verb, "--state", state).ExitCode);
        foreach (var verb in new[] { "status", "results", "front" })
            Assert.Equal(0, LayerChopProcess.Run("sweep", verb, "quiet", "--state", state).ExitCode);
        Assert.Equal(before, Snapshot(output));

        var other = Path.Combine(work, "other.db");
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={other};Pooling=false"))
        {
            connection.Open();
            using var create = connection.CreateCommand();
            create.CommandText = "CREATE TABLE notes (text TEXT)";
            create.ExecuteNonQuery();
        }
        File.WriteAllBytes(Path.Combine(work, "empty.db"), []);
        File.WriteAllText(Path.Combine(work, "text.db"), "not a database\n");
        foreach (var (file, saying) in new[] { ("other.db", "a SQLite database without LayerChop's tables"), ("empty.db", "an empty SQLite database"), ("text.db", "not a SQLite database") })
        {
            var files = Snapshot(work);
            var refused = LayerChopProcess.Run("sweep", "list", "--state", Path.Combine(work, file));
            LayerChopProcess.AssertOneLineError(refused, $"is not a LayerChop state file: it is {saying}");
            Assert.Equal(files, Snapshot(work));
        }
        LayerChopProcess.AssertOneLineError(LayerChopProcess.Run("sweep", "list", "--state", state, "--cluster", "Host=localhost"), "--state and --cluster name two different stores");
    }

    [Fact]
    public void A_moved_output_folder_is_read_beside_its_state_file_and_the_move_is_said()
    {
        var work = LayerChopProcess.TempFolder();
        var output = Path.Combine(work, "out4");
        Assert.Equal(0, LayerChopProcess.Run("sweep", "run", Spec("moved", output)).ExitCode);
        var moved = Path.Combine(work, "out4moved");
        Directory.Move(output, moved);
        var state = Path.Combine(moved, "state.db");

        var export = LayerChopProcess.Run("sweep", "export", "moved", "r2-input-h1536-pretrain-s1", "--state", state, "--out", Path.Combine(work, "model"));
        Assert.True(export.ExitCode == 0, export.Stderr);
        Assert.Contains($"output folder moved from {output} to {moved}", export.Stderr);
        var report = LayerChopProcess.Run("sweep", "report", "moved", "--state", state);
        Assert.True(report.ExitCode == 0, report.Stderr);
        Assert.False(Directory.Exists(output));
        Assert.Contains(Path.Combine(moved, "report"), report.Stdout);
    }

    /// <summary>The documents of a JSONL corpus, each rewritten with its text under <paramref name="field"/>.</summary>
    static IEnumerable<string> Rekeyed(string corpus, string field) =>
        File.ReadLines(corpus).Where(l => l.Length > 0)
            .Select(l => JsonSerializer.Serialize(new Dictionary<string, string> { [field] = JsonDocument.Parse(l).RootElement.GetProperty("text").GetString()! }));

    static void WriteZstd(string path, IEnumerable<string> lines)
    {
        using var file = File.Create(path);
        using var zstd = new ZstdSharp.CompressionStream(file);
        using var writer = new StreamWriter(zstd);
        foreach (var line in lines) writer.WriteLine(line);
    }

    [Fact]
    public void A_sweep_of_the_flagship_examples_shape_heals_on_zstd_shards_and_chops_by_block_influence_to_completion()
    {
        // As examples/llama-3.2-1b-sweep.yaml: healing data a folder of .jsonl.zst shards, held-out text beside it,
        // placements and a data-driven strategy, healing and perplexity; here every corpus keeps its text in "body".
        var work = LayerChopProcess.TempFolder();
        var documents = Rekeyed(BrownTestCorpus.WriteJsonl(40, Path.Combine(work, "brown.jsonl")), "body").ToList();
        Directory.CreateDirectory(Path.Combine(work, "data", "pretraining"));
        WriteZstd(Path.Combine(work, "data", "pretraining", "shard-00000.jsonl.zst"), documents.Take(18));
        WriteZstd(Path.Combine(work, "data", "pretraining", "shard-00001.jsonl.zst"), documents.Skip(18).Take(18));
        WriteZstd(Path.Combine(work, "data", "heldout.jsonl.zst"), documents.Skip(36));
        Directory.CreateDirectory(Path.Combine(work, "tasks"));
        WriteZstd(Path.Combine(work, "tasks", "continuation.jsonl.zst"), documents.Skip(30));
        var spec = Path.Combine(work, "flagship.yaml");
        File.WriteAllText(spec, $$"""
            name: flagship
            base_model: {{BaseModel()}}
            data: [data/pretraining]
            text_field: body
            eval: { tasks: [continuation], task_dir: tasks, limit: 6, perplexity: data/heldout.jsonl.zst }
            grid:
              remove: [0, 2]
              strategy: [input, block-influence]
              heal_tokens: [0, 1024]
              heal_method: [pretrain]
              seed: [1]
            train: { seq_len: 32, batch_tokens: 128, lr: 0.003, warmup_steps: 1, checkpoint_every: 4 }
            latency: { prompt_tokens: 8, new_tokens: 8 }
            device: cpu
            max_attempts: 1
            """);

        var run = LayerChopProcess.Run("sweep", "run", spec);

        Assert.True(run.ExitCode == 0, run.Stderr);
        var results = Results(Path.Combine(work, "sweeps", "flagship"));
        Assert.Equal(6, results.Length);
        Assert.All(results, c => Assert.Equal("completed", c.GetProperty("status").GetString()));
        Assert.All(results, c => Assert.True(double.IsFinite(c.GetProperty("perplexity").GetDouble())));
        Assert.Contains(results, c => c.GetProperty("id").GetString() == "r2-block-influence-h1024-pretrain-s1");
    }
}
