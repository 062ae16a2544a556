using System.CommandLine;
using LayerChop.Engine.Chopping;

namespace LayerChop.Client.Commands;

public static class ChopCommand
{
    public static Command Create()
    {
        var dir = new Argument<string>("DIR") { Description = "Model folder to chop" };
        var strategy = new Option<string>("--strategy")
        {
            Description = "Which layers: input (1..K), output (L-1-K..L-2), middle (block from floor((L-K)/2)), both (ceil(K/2) after the first, floor(K/2) before the last), max-gap (evenly spread), or layers:i,j,... (exactly those)",
            Required = true,
        };
        var remove = new Option<int?>("--remove") { Description = "K, the number of layers to remove (1..L-2; not with layers:)" };
        var output = new Option<string>("--out") { Description = "Output folder for the chopped model (must not exist or be empty)", Required = true };
        var json = Cli.JsonOption();
        var command = new Command("chop", "Remove whole decoder layers; kept layers are renumbered and their weights copied bit for bit")
        {
            dir, strategy, remove, output, json,
        };
        command.SetAction(p => Cli.Run(() =>
        {
            var chosen = ChopStrategy.Parse(p.GetValue(strategy)!, p.GetValue(remove));
            var result = Chopper.Chop(p.GetValue(dir)!, chosen, p.GetValue(output)!);
            if (p.GetValue(json))
            {
                Cli.WriteJson(new Dictionary<string, object>
                {
                    ["removed"] = result.Removed, ["kept"] = result.Kept,
                    ["params_before"] = result.ParamsBefore, ["params_after"] = result.ParamsAfter,
                });
                return 0;
            }
            Console.WriteLine($"removed layers [{string.Join(", ", result.Removed)}] of {result.Removed.Count + result.Kept.Count}; kept {result.Kept.Count}");
            Console.WriteLine($"params {Cli.Count(result.ParamsBefore)} -> {Cli.Count(result.ParamsAfter)} ({100.0 * result.ParamsAfter / result.ParamsBefore:0.0}%)");
            Console.WriteLine($"wrote {p.GetValue(output)}");
            return 0;
        }));
        return command;
    }
}
