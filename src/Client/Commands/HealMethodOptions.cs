using System.CommandLine;
using LayerChop.Engine;
using LayerChop.Settings;

namespace LayerChop.Client.Commands;

/// <summary>How `layerchop train` heals: the method (--heal-method, or --distill / --teacher as before) and LoRA's adapters.</summary>
public sealed class HealMethodOptions
{
    static readonly LoraSettings Defaults = new();

    public readonly Option<string?> Method = new("--heal-method")
    {
        Description = $"{string.Join("|", HealMethods.Names)}: continued pretraining (the default; distill with --teacher or --distill), " +
                      "distillation from the unchopped model, or LoRA adapters trained on the frozen model and merged into its weights at the end",
    };
    public readonly Option<bool> Distill = new("--distill") { Description = "Distill from the unchopped model (DIR itself when chopping with --chop, else --teacher); the same as --heal-method distill" };
    public readonly Option<int> LoraRank = new("--lora-rank") { Description = "Rank of each LoRA adapter (--heal-method lora)", DefaultValueFactory = _ => Defaults.Rank };
    public readonly Option<double> LoraAlpha = new("--lora-alpha") { Description = "LoRA's alpha: an adapter's output is scaled by alpha / rank", DefaultValueFactory = _ => Defaults.Alpha };
    public readonly Option<string> LoraTargets = new("--lora-targets")
    {
        Description = "Linear layers of each decoder layer that get LoRA adapters, comma-separated", DefaultValueFactory = _ => string.Join(",", Defaults.Targets),
    };
    public readonly Option<double?> LoraLr = new("--lora-lr") { Description = "Peak learning rate of the LoRA adapters (default: --lr)" };

    public IEnumerable<Option> All => [Method, Distill, LoraRank, LoraAlpha, LoraTargets, LoraLr];

    IEnumerable<Option> Lora => [LoraRank, LoraAlpha, LoraTargets, LoraLr];

    /// <summary>The method and adapters the command line asks for; a teacher alone means distillation, as before --heal-method.</summary>
    public (HealMethod Method, LoraSettings Lora) Read(ParseResult p, bool teacher)
    {
        var method = teacher || p.GetValue(Distill) ? HealMethod.Distill : HealMethods.Default;
        if (p.GetValue(Method) is { } named)
        {
            if (!HealMethods.TryParse(named, out var chosen))
                throw new LayerChopException($"--heal-method '{named}' is not one of {string.Join(", ", HealMethods.Names)}");
            if (p.GetValue(Distill) && chosen != HealMethod.Distill)
                throw new LayerChopException($"--distill is heal method distill, but --heal-method says {named}: give one of them");
            method = chosen;
        }
        if (method != HealMethod.Lora && Lora.FirstOrDefault(o => p.GetResult(o) is { Implicit: false }) is { } stray)
            throw new LayerChopException($"{stray.Name} sets LoRA's adapters, but this run heals by {HealMethods.Name(method)}: add --heal-method lora, or drop {stray.Name}");
        var lora = new LoraSettings
        {
            Rank = p.GetValue(LoraRank), Alpha = p.GetValue(LoraAlpha), Lr = p.GetValue(LoraLr),
            Targets = p.GetValue(LoraTargets)!.Split(',', StringSplitOptions.TrimEntries),
        };
        return (method, lora);
    }
}
