using System.CommandLine;
using LayerChop.Client.Rendering;
using LayerChop.Engine;
using LayerChop.Engine.Memory;
using LayerChop.Engine.Modeling;
using LayerChop.Specs;

namespace LayerChop.Client.Commands;

/// <summary>`layerchop plan SPEC`: every candidate's predicted peak memory per stage, from config.json alone.</summary>
public static class PlanCommand
{
    public static Command Create()
    {
        var specPath = new Argument<string>("SPEC") { Description = "Sweep spec file (YAML or JSON); only the base model's config.json is read, no weights" };
        var gpuMemory = new Option<double?>("--gpu-memory") { Description = "A slot's memory in GiB (80 for an H100, 141 for an H200): say which candidates fit and what would make the others fit" };
        var json = Cli.JsonOption();
        var command = new Command("plan", "Predict each candidate's peak memory per stage (chop, heal, eval, latency) before anything runs")
        {
            specPath, gpuMemory, json,
        };
        command.SetAction(p => Cli.Run(() =>
        {
            var spec = SweepSpecReader.Load(p.GetValue(specPath)!, checkFiles: false);
            double? gib = p.GetValue(gpuMemory);
            if (gib is { } g && !(g > 0 && g < 1e6))
                throw new LayerChopException($"--gpu-memory {g} is not a memory size; give the slot's GiB, such as 80 for an H100 or 141 for an H200");
            long? slot = gib is { } s ? (long)(s * MemoryUnits.GiB) : null;
            var baseModel = ModelConfig.Load(spec.BaseModel);
            var candidates = SweepGrid.Expand(spec);
            var plans = candidates.Select(c => SweepMemory.For(baseModel, spec, c)).ToList();
            string? Advice(int i) => slot is { } bytes ? SweepMemory.Refusal(baseModel, spec, candidates[i], bytes) : null;

            if (p.GetValue(json))
            {
                Cli.WriteJson(plans.Select((plan, i) => new Dictionary<string, object?>
                {
                    ["id"] = plan.Id,
                    ["stages"] = plan.Stages.ToDictionary(st => st.Stage, st => st.Bytes),
                    ["peak_bytes"] = plan.PeakBytes,
                    ["peak_stage"] = plan.PeakStage,
                    ["fits"] = slot is { } bytes ? plan.PeakBytes <= bytes : null,
                    ["advice"] = Advice(i),
                    ["terms"] = plan.Stages.ToDictionary(st => st.Stage, st => st.Terms.Select(t => new { name = t.Name, bytes = t.Bytes, basis = t.Basis })),
                }).ToList());
                return 0;
            }
            var stages = new[] { "chop", "heal", "eval", "latency" };
            var headers = new List<string> { "candidate" };
            headers.AddRange(stages);
            headers.Add("peak");
            if (slot is not null) headers.Add("fits");
            var table = new TextTable([.. headers]).RightAligned([.. stages, "peak"]);
            foreach (var plan in plans)
            {
                var row = new List<string> { plan.Id };
                row.AddRange(stages.Select(st => plan.Stages.FirstOrDefault(x => x.Stage == st) is { } m ? MemoryUnits.Gib(m.Bytes) : "-"));
                row.Add($"{MemoryUnits.Gib(plan.PeakBytes)} ({plan.PeakStage})");
                if (slot is { } bytes) row.Add(plan.PeakBytes <= bytes ? "yes" : "no");
                table.AddRow([.. row]);
            }
            table.Write();
            Console.WriteLine($"base model {spec.BaseModel}: {baseModel.NumLayers} layers, {baseModel.TotalParams:N0} parameters; " +
                $"heal at micro_batch {spec.Train.MicroBatchSize} x seq_len {spec.Train.SeqLen}, {spec.Train.Precision}, activation checkpointing {(spec.Train.ActivationCheckpointing ? "on" : "off")}");
            for (int i = 0; i < plans.Count; i++)
                if (Advice(i) is { } line) Console.WriteLine(line);
            return 0;
        }));
        return command;
    }
}
