using LayerChop.Engine.Checkpoints;
using LayerChop.Engine.Evaluation;
using LayerChop.Engine.Modeling;
using LayerChop.Engine.Tokenization;
using LayerChop.Specs;

namespace LayerChop.Grains.Tests;

/// <summary>
/// A temporary folder laid out as the spec in the issue expects: a loadable 16-layer base model (tiny random
/// weights and a byte-level tokenizer) with a context of 4096, a healing corpus, the paper's task files and a
/// held-out text.
/// </summary>
public sealed class SpecFolder : IDisposable
{
    public const int Layers = 16;
    public const int Context = 4096;

    /// <summary>The example spec, verbatim.</summary>
    public const string ExampleYaml = """
        name: demo
        base_model: models/base            # HF folder
        data: [corpus/train.jsonl]         # healing corpus
        eval: { tasks: [paper], task_dir: tasks, limit: 500 }
        grid:
          remove: [0, 4, 8, 12]
          strategy: [input, max-gap]
          heal_tokens: [0, 50000000]
          heal_method: [pretrain]          # or distill
          seed: [1]
        train: { seq_len: 2048, batch_tokens: 1048576, lr: 3.0e-4, warmup_steps: 100, checkpoint_every: 200 }
        device: auto                        # cpu | cuda | auto
        max_attempts: 3

        """;

    /// <summary>The same spec as JSON, written by hand.</summary>
    public const string ExampleJson = """
        {
          "name": "demo",
          "base_model": "models/base",
          "data": ["corpus/train.jsonl"],
          "eval": { "tasks": ["paper"], "task_dir": "tasks", "limit": 500 },
          "grid": {
            "remove": [0, 4, 8, 12],
            "strategy": ["input", "max-gap"],
            "heal_tokens": [0, 50000000],
            "heal_method": ["pretrain"],
            "seed": [1]
          },
          "train": { "seq_len": 2048, "batch_tokens": 1048576, "lr": 0.0003, "warmup_steps": 100, "checkpoint_every": 200 },
          "device": "auto",
          "max_attempts": 3
        }
        """;

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "layerchop-grains-tests", Guid.NewGuid().ToString("N"));

    public SpecFolder()
    {
        var model = Path.Combine(Root, "models", "base");
        var config = ModelConfig.CreateLlama(layers: Layers, hidden: 8, heads: 2, kvHeads: 1, intermediate: 16, vocab: 258, maxPositions: Context);
        Directory.CreateDirectory(model);
        TextTokenizer.WriteByteLevel(model, 258);
        using (var weights = new CausalLM(config, TorchSharp.torch.ScalarType.Float32, TorchSharp.torch.CPU))
            ModelFolder.Save(weights, model, TorchSharp.torch.ScalarType.Float32, tokenizerFrom: null);
        Write("corpus/train.jsonl", "{\"text\": \"The jury said the election was conducted well.\"}\n");
        Write("heldout.txt", "A held-out passage.\n");
        foreach (var task in EvalTasks.Paper)
            Write($"tasks/{task}.jsonl", "");                 // the checks locate task files; they do not read them
        Write("tasks/continuation.txt", "Some documents.\n");
    }

    public void Write(string relative, string text)
    {
        var path = Path.Combine(Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    public string PathOf(string relative) => Path.GetFullPath(Path.Combine(Root, relative));

    public SweepSpec ReadYaml(string yaml, bool checkFiles = true) =>
        SweepSpecReader.Parse(yaml, SpecFormat.Yaml, Root, "spec.yaml", checkFiles);

    public SweepSpec ReadJson(string json, bool checkFiles = true) =>
        SweepSpecReader.Parse(json, SpecFormat.Json, Root, "spec.json", checkFiles);

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { }
    }
}
