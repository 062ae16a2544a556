using System.CommandLine;
using LayerChop.Engine;
using LayerChop.Engine.Checkpoints;
using LayerChop.Engine.Chopping;
using LayerChop.Engine.Chopping.Importance;
using LayerChop.Engine.Modeling;

namespace LayerChop.Client.Commands;

public static class ChopCommand
{
    public static Command Create()
    {
        var dir = new Argument<string>("DIR") { Description = "Model folder to chop" };
        var strategy = new Option<string>("--strategy")
        {
            Description = "Which layers. Fixed placements: input (1..K), output (L-1-K..L-2), middle (block from floor((L-K)/2)), " +
                          "both (ceil(K/2) after the first, floor(K/2) before the last), max-gap (evenly spread), or layers:i,j,... (exactly those). " +
                          "Measured on --calib: block-influence (ShortGPT: the K layers whose output is closest in direction to their input), " +
                          "angular (the block of K layers whose input and output are closest in angle on the last token), " +
                          "perplexity (the K layers whose removal alone raises calibration perplexity least), " +
                          "iterative (SLEB: K rounds, each removing the layer whose removal then raises perplexity least)",
            Required = true,
        };
        var remove = new Option<int?>("--remove") { Description = "K, the number of layers to remove (1..L-2; not with layers:)" };
        var allowEnds = new Option<bool>("--allow-ends") { Description = "Let a measured strategy remove the first or last layer (then K may be up to L-1)" };
        var calibration = new CalibrationOptions();
        var output = new Option<string>("--out") { Description = "Output folder for the chopped model (must not exist or be empty)", Required = true };
        var json = Cli.JsonOption();
        json.Description = "Print JSON: {\"removed\",\"kept\",\"params_before\",\"params_after\"}; measured strategies add \"criterion\", " +
                           "\"scores\" (lower = more removable; per layer, or per block start for angular, null where not measured; " +
                           "\"scores_by\" says which), \"removal_order\", \"forward_passes\" (passes over the calibration set), \"seconds\" and \"calibration\"";
        var command = new Command("chop", "Remove whole decoder layers; kept layers are renumbered and their weights copied bit for bit")
        {
            dir, strategy, remove, allowEnds, output, json,
        };
        foreach (var option in calibration.All) command.Options.Add(option);
        command.SetAction(p => Cli.Run(() =>
        {
            string folder = p.GetValue(dir)!, destination = p.GetValue(output)!;
            var chosen = ChopStrategy.Parse(p.GetValue(strategy)!, p.GetValue(remove), p.GetValue(allowEnds));
            if (chosen is not DataDrivenStrategy criterion)
            {
                if (p.GetValue(calibration.Path) is not null)
                    throw new LayerChopException($"--calib only applies to {string.Join(", ", DataDrivenStrategy.CriterionNames)}; strategy '{chosen.Name}' needs no data");
                var fixedResult = Chopper.Chop(folder, chosen, destination);
                if (p.GetValue(json)) Cli.WriteJson(ResultJson(fixedResult));
                else PrintResult(fixedResult, destination);
                return 0;
            }

            // Everything that can be checked cheaply is checked before the model is measured.
            var config = ModelConfig.Load(folder);
            criterion.CheckRemovable(config.NumLayers, criterion.Remove);
            Chopper.CheckDestination(folder, destination);
            var calib = calibration.Load(p, folder, $"strategy '{criterion.Name}'");
            ImportanceResult selection;
            using (var model = ModelFolder.Load(folder, DTypes.Parse(p.GetValue(calibration.DType)!)))
                selection = criterion.Select(model, calib);
            var result = Chopper.Chop(folder, selection, destination);
            if (p.GetValue(json))
            {
                var fields = ResultJson(result);
                fields["criterion"] = selection.Criterion;
                fields["scores_by"] = selection.ScoresBy == ScoreIndex.Layer ? "layer" : "block_start";
                fields["scores"] = selection.Scores;
                fields["removal_order"] = selection.RemovalOrder;
                fields["forward_passes"] = selection.ForwardPasses;
                fields["seconds"] = Math.Round(selection.WallTime.TotalSeconds, 3);
                fields["calibration"] = CalibrationOptions.Json(calib);
                Cli.WriteJson(fields);
                return 0;
            }
            string by = selection.ScoresBy == ScoreIndex.Layer ? "layer" : "block start";
            Console.WriteLine($"{selection.Criterion} on {calib.Count} x {calib.Length} calibration tokens: " +
                              $"{selection.ForwardPasses} forward pass{(selection.ForwardPasses == 1 ? "" : "es")}, {selection.WallTime.TotalSeconds:0.00} s");
            Console.WriteLine($"scores by {by} (lower = more removable): " + string.Join("  ",
                selection.Scores.Select((s, i) => $"{i}:{(s is double v ? v.ToString("G4") : "-")}")));
            Console.WriteLine($"removal order [{string.Join(", ", selection.RemovalOrder)}]");
            PrintResult(result, destination);
            return 0;
        }));
        return command;
    }

    static Dictionary<string, object?> ResultJson(ChopResult result) => new()
    {
        ["removed"] = result.Removed, ["kept"] = result.Kept,
        ["params_before"] = result.ParamsBefore, ["params_after"] = result.ParamsAfter,
    };

    static void PrintResult(ChopResult result, string destination)
    {
        Console.WriteLine($"removed layers [{string.Join(", ", result.Removed)}] of {result.Removed.Count + result.Kept.Count}; kept {result.Kept.Count}");
        Console.WriteLine($"params {Cli.Count(result.ParamsBefore)} -> {Cli.Count(result.ParamsAfter)} ({100.0 * result.ParamsAfter / result.ParamsBefore:0.0}%)");
        Console.WriteLine($"wrote {destination}");
    }
}
