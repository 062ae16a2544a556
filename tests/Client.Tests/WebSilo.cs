using LayerChop.Grains.Workers;
using LayerChop.Interfaces;
using LayerChop.Silo;
using LayerChop.Silo.Web;
using LayerChop.Specs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Runtime;

namespace LayerChop.Client.Tests;

/// <summary>
/// A started embedded silo with its web host on and a sweep of four candidates (remove 1 or 2 layers, input or
/// output) submitted. It has no worker slots: a test completes candidates itself, through the calls a silo's
/// supervisor makes (TakeNext with <see cref="Slot"/>, then Report and End on the candidate).
/// </summary>
sealed record WebSilo(IHost Host, WebOptions Web, IGrainFactory Grains, ISweepGrain Sweep, SlotRef Slot)
{
    public static async Task<WebSilo> Start(TrainingInputs inputs, string sweepName)
    {
        var work = LayerChopProcess.TempFolder();
        var model = Path.Combine(work, "base");
        ClusterTests.InitModel(model);
        var tasks = ClusterTests.ContinuationTasks(inputs, Path.Combine(work, "tasks"));
        var specFile = Path.Combine(work, $"{sweepName}.yaml");
        File.WriteAllText(specFile, $$"""
            name: {{sweepName}}
            base_model: {{model}}
            data: [{{inputs.Corpus}}]
            eval: { tasks: [continuation], task_dir: {{tasks}}, limit: 4 }
            grid: { remove: [1, 2], strategy: [input, output], heal_tokens: [0], seed: [1] }
            device: cpu
            output: {{Path.Combine(work, "out")}}
            """);
        var web = new WebOptions { Port = SiloSetup.FreePort() };
        var host = SiloSetup.Embedded(Path.Combine(work, "state.db"), new WorkerOptions { Slots = 0, Command = ["true"] }, web: web);
        await host.StartAsync();
        var grains = host.Services.GetRequiredService<IGrainFactory>();
        var sweep = grains.GetGrain<ISweepGrain>(sweepName);
        if (!(await sweep.Submit(SweepSpecReader.Load(specFile))).Accepted) throw new InvalidOperationException($"sweep {sweepName} was not accepted");
        var slot = new SlotRef { Silo = host.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress.ToParsableString(), Slot = 0 };
        return new WebSilo(host, web, grains, sweep, slot);
    }

    public async Task Stop()
    {
        await Host.StopAsync();
        Host.Dispose();
    }
}
