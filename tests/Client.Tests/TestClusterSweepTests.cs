using LayerChop.Grains.Workers;
using LayerChop.Interfaces;
using LayerChop.Silo;
using LayerChop.Specs;
using Orleans.TestingHost;
using Xunit;

namespace LayerChop.Client.Tests;

/// <summary>A sweep on a three-silo Orleans test cluster whose candidates run in real worker processes.</summary>
public class TestClusterSweepTests(TrainingInputs inputs) : IClassFixture<TrainingInputs>
{
    [Fact]
    public async Task Candidates_run_only_in_free_slots_spread_over_the_silos_that_have_them_and_wait_in_the_queue_otherwise()
    {
        var work = LayerChopProcess.TempFolder();
        var model = Path.Combine(work, "base");
        ClusterTests.InitModel(model);
        var tasks = ClusterTests.ContinuationTasks(inputs, Path.Combine(work, "tasks"));
        var specFile = Path.Combine(work, "spread.yaml");
        File.WriteAllText(specFile, $$"""
            name: spread
            base_model: {{model}}
            data: [{{inputs.Corpus}}]
            eval: { tasks: [continuation], task_dir: {{tasks}}, limit: 4 }
            grid: { remove: [0, 1, 2], strategy: [input], heal_tokens: [0, 256], seed: [1] }
            train: { seq_len: 32, batch_tokens: 128, lr: 0.003, warmup_steps: 1, checkpoint_every: 1 }
            latency: { prompt_tokens: 4, new_tokens: 4 }
            device: cpu
            output: {{Path.Combine(work, "out")}}
            """);
        var spec = SweepSpecReader.Load(specFile);

        // Two silos with one CPU slot each, and one with none (it may host coordinators, never a worker).
        int configured = 0;
        var builder = new InProcessTestClusterBuilder(3);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((options, silo) => silo.AddLayerChopSweeps(
            new WorkerOptions { Slots = Interlocked.Increment(ref configured) == 1 ? 0 : 1, CpuThreads = 1, Command = [LayerChopProcess.DotnetHost, LayerChopProcess.Dll] },
            Path.Combine(work, "state.db")));
        var cluster = builder.Build();
        await cluster.DeployAsync();
        try
        {
            var grains = cluster.Client;
            var capacity = new Dictionary<string, int>();
            foreach (var silo in cluster.Silos)
            {
                var key = silo.SiloAddress.ToParsableString();
                capacity[key] = (await grains.GetGrain<IWorkerHostGrain>(key).GetSlots()).Capacity;
            }
            Assert.Equal([0, 1, 1], capacity.Values.Order());

            var sweep = grains.GetGrain<ISweepGrain>("spread");
            var submitted = await sweep.Submit(spec);
            Assert.True(submitted.Accepted, submitted.Error);
            Assert.Equal(6, submitted.Candidates.Count);
            int mostRunning = 0;
            bool sawQueue = false;
            var deadline = DateTime.UtcNow.AddMinutes(4);
            SweepStatus status;
            while (true)
            {
                status = (await sweep.GetStatus())!;
                int running = status.Running;
                mostRunning = Math.Max(mostRunning, running);
                sawQueue |= running > 0 && status.Candidates.Any(c => c.Status == CandidateStatus.Pending && c.Running is null);
                if (status.IsFinished || DateTime.UtcNow > deadline) break;
                await Task.Delay(50);
            }
            Assert.True(status.IsFinished, "the sweep did not finish: " + string.Join(", ", status.Candidates.Select(c => $"{c.Id} {c.Status} {c.Error}")));
            Assert.All(status.Candidates, c => Assert.Equal(CandidateStatus.Completed, c.Status));
            Assert.True(mostRunning <= 2, $"{mostRunning} candidates ran at once on 2 slots");
            Assert.True(sawQueue, "with 6 candidates and 2 slots some should have waited");

            var states = new List<CandidateState>();
            foreach (var c in status.Candidates)
                states.Add((await grains.GetGrain<ICandidateGrain>(SweepKeys.Candidate("spread", c.Id)).GetState())!);
            var attempts = states.SelectMany(c => c.Attempts).ToList();
            Assert.Equal(6, attempts.Count);                                // nothing failed or ran twice
            Assert.All(attempts, a => Assert.Equal(1, capacity[a.Silo]));   // only silos with a slot ran workers
            Assert.Equal(2, attempts.Select(a => a.Silo).Distinct().Count()); // both of them
            foreach (var slot in attempts.GroupBy(a => (a.Silo, a.Slot)))
            {
                var ordered = slot.OrderBy(a => a.StartedUtc).ToList();
                for (int i = 1; i < ordered.Count; i++)
                    Assert.True(ordered[i].StartedUtc >= ordered[i - 1].EndedUtc, $"slot {slot.Key} ran two candidates at once");
            }
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
    }
}
