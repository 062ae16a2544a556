using System.CommandLine;
using LayerChop.Engine.Checkpoints;
using LayerChop.Engine.Inference;
using LayerChop.Engine.Tokenization;
using LayerChop.Engine.Training;

namespace LayerChop.Client.Commands;

public static class GenerateCommand
{
    public static Command Create()
    {
        var dir = new Argument<string>("DIR") { Description = "Model folder" };
        var prompt = new Option<string>("--prompt") { Description = "Text to continue", Required = true };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Tokens to generate", DefaultValueFactory = _ => 32 };
        var temperature = new Option<double>("--temperature") { Description = "0 for greedy decoding, else sampling temperature", DefaultValueFactory = _ => 0 };
        var seed = new Option<long>("--seed") { Description = "Sampling seed", DefaultValueFactory = _ => 0 };
        var dtype = new Option<string>("--dtype") { Description = "Compute dtype: f32, bf16 or f16", DefaultValueFactory = _ => "f32" };
        var device = Cli.DeviceOption();
        var json = new Option<bool>("--json") { Description = "Print {\"prompt\",\"text\",\"tokens\",\"prefill_ms\",\"ms_per_token\"} at the end instead of streaming the text" };
        var command = new Command("generate", "Continue a prompt with the model (key/value-cached decoding); timing goes to stderr")
        {
            dir, prompt, maxNew, temperature, seed, dtype, device, json,
        };
        command.SetAction(p => Cli.Run(() =>
        {
            string folder = p.GetValue(dir)!;
            Generation.CheckSettings(p.GetValue(maxNew), p.GetValue(temperature));
            var tokenizer = TextTokenizer.Load(folder);
            using var model = ModelFolder.Load(folder, DTypes.Parse(p.GetValue(dtype)!), Trainer.ResolveDevice(p.GetValue(device)!));
            var ids = tokenizer.Encode(p.GetValue(prompt)!, addSpecial: true);
            bool asJson = p.GetValue(json);
            var output = asJson ? TextWriter.Null : Console.Out;
            output.Write(p.GetValue(prompt));
            var pending = new List<int>();
            string shown = "";
            var result = Generation.Generate(model, ids, p.GetValue(maxNew), p.GetValue(temperature), p.GetValue(seed),
                stopAt: tokenizer.EosId, vocabulary: tokenizer.VocabSize, onToken: t =>
                {
                    // Decode the whole continuation each time so multi-byte characters split across tokens print whole.
                    pending.Add(t);
                    string text = tokenizer.Decode(pending.Where(id => id != tokenizer.EosId));
                    if (!text.EndsWith('\uFFFD') && text.StartsWith(shown, StringComparison.Ordinal))
                    {
                        output.Write(text[shown.Length..]);
                        output.Flush();
                        shown = text;
                    }
                });
            output.WriteLine();
            if (asJson)
                Cli.WriteJson(new Dictionary<string, object?>
                {
                    ["prompt"] = p.GetValue(prompt), ["text"] = tokenizer.Decode(result.Tokens.Where(id => id != tokenizer.EosId)),
                    ["tokens"] = result.Tokens, ["prefill_ms"] = result.Prefill.TotalMilliseconds,
                    ["ms_per_token"] = result.Tokens.Count > 1 ? result.MsPerToken : null,
                });
            Console.Error.WriteLine($"{result.Tokens.Count} tokens, prefill {result.Prefill.TotalMilliseconds:0} ms" +
                                    (result.Tokens.Count > 1 ? $", {result.MsPerToken:0.0} ms/token" : ""));
            return 0;
        }));
        return command;
    }
}
