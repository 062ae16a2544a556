using System.CommandLine;
using LayerChop.Engine;
using LayerChop.Grains.Sweeps;
using LayerChop.Interfaces;
using LayerChop.Settings;
using LayerChop.Worker;

namespace LayerChop.Client.Commands;

// `sweep export`: a completed candidate's final model with its lineage.
public static partial class SweepCommands
{
    static Command Export()
    {
        var name = new Argument<string>("NAME") { Description = "Sweep name" };
        var candidate = new Argument<string>("CANDIDATE") { Description = "Candidate id" };
        var output = new Option<string>("--out") { Description = "New folder for the exported model", Required = true };
        var store = new SweepStore();
        var json = Cli.JsonOption();
        var command = new Command("export", "Write a completed candidate's final model as a Hugging Face folder, with lineage.json (base model, removed layers, healing, scores)") { name, candidate, output, json };
        store.AddTo(command);
        command.SetAction(p => Cli.Run(() => store.With(p, async grains =>
        {
            var (spec, state) = await FindCandidate(grains, store, p.GetValue(name)!, p.GetValue(candidate)!);
            if (state.Status != CandidateStatus.Completed)
                throw new LayerChopException($"candidate {state.Id} is {Words.Of(state.Status)}, not completed: only a completed candidate has a final model to export");
            var workDir = JobBuilder.CandidateFolder(spec, state.Config);
            var inputs = CandidateInputs.Read(workDir);
            if (inputs is not null && inputs.Sweep != spec.Name)
                throw new LayerChopException($"{workDir} holds sweep '{inputs.Sweep}''s candidate, not sweep '{spec.Name}''s: nothing of it is exported");
            if (inputs is null)
                Console.Error.WriteLine($"note: {workDir} has no record of the inputs it was made from ({CandidateInputs.FileName}: folders made before such records); it is exported as sweep {spec.Name}'s");
            var outDir = UserFolder.RequireNewOrEmpty(p.GetValue(output), "--out");
            var c = state.Config;
            CandidateArtifacts.Export(workDir, spec.BaseModel, outDir, Lineage.Of(spec, c));
            var exported = CandidateArtifacts.FinalModel(workDir, spec.BaseModel);
            if (p.GetValue(json)) Cli.WriteJson(SweepJson.Exported(state.Id, outDir, exported));
            else Console.WriteLine($"exported {state.Id} to {outDir} (model from {exported}; lineage in lineage.json)");
            return 0;
        })));
        return command;
    }
}
