using LayerChop.Grains.Workers;
using LayerChop.Interfaces;
using LayerChop.Silo;
using LayerChop.Specs;
using LayerChop.Worker;
using Orleans.TestingHost;
using Xunit;

namespace LayerChop.Client.Tests;

/// <summary>
/// Placement by memory: a slot takes only candidates whose planned peak (the sweep's memory plan) fits its memory,
/// a candidate that no slot can hold is refused before any work starts, and running out of memory fails an
/// attempt for good until a setting that lowers the need changes.
/// </summary>
public class MemoryPlacementTests(TrainingInputs inputs) : IClassFixture<TrainingInputs>
{
    string SpecFile(string name, string grid, int maxAttempts = 3, string? train = null, string eval = "limit: 4") => train is null
        ? CandidateLifecycleTests.Spec(inputs, name, grid, maxAttempts, eval: eval)
        : CandidateLifecycleTests.Spec(inputs, name, grid, maxAttempts, train, eval);

    static long Peak(SweepSpec spec, string candidate) => SweepMemory.For(spec, SweepGrid.Expand(spec).Single(c => c.Id == candidate)).PeakBytes;

    /// <summary>Runs <paramref name="body"/> on a test cluster of one silo per entry of <paramref name="slotMemory"/>, each
    /// with one CPU slot of that many bytes (null: a silo without slots), its state in a new SQLite file.</summary>
    static async Task OnCluster(long?[] slotMemory, Func<InProcessTestCluster, Task> body)
    {
        int configured = 0;
        var stateFile = Path.Combine(LayerChopProcess.TempFolder(), "state.db");
        var builder = new InProcessTestClusterBuilder((short)slotMemory.Length);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((options, silo) =>
        {
            var memory = slotMemory[Interlocked.Increment(ref configured) - 1];
            silo.AddLayerChopSweeps(new WorkerOptions
            {
                Slots = memory is null ? 0 : 1, SlotMemoryBytes = memory is null ? [] : [memory], CpuThreads = 1,
                Command = [LayerChopProcess.DotnetHost, LayerChopProcess.Dll],
            }, stateFile);
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        try { await body(cluster); }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_slot_gets_the_first_queued_candidate_its_memory_holds_while_a_larger_one_stays_queued_for_a_larger_slot()
    {
        // Micro-batches of 16 long sequences and an evaluation one row at a time: healing the whole model needs the most.
        var spec = SweepSpecReader.Load(SpecFile("fit", "{ remove: [0, 2], strategy: [input], heal_tokens: [0, 256], seed: [1] }",
            train: "{ seq_len: 128, batch_tokens: 2048, micro_batch: 16 }", eval: "limit: 4, batch_size: 1"));
        var ids = SweepGrid.Expand(spec).Select(c => c.Id).ToList();
        Assert.Equal(["r0-none-h0-s1", "r0-none-h256-pretrain-s1", "r2-input-h0-s1", "r2-input-h256-pretrain-s1"], ids);
        const string large = "r0-none-h256-pretrain-s1";            // the unchopped model, healed: the largest need
        long largest = Peak(spec, large);
        long small = ids.Where(id => id != large).Max(id => Peak(spec, id));
        Assert.True(small < largest, $"the plan should put {large} above the others: {largest} vs {small} bytes");

        await OnCluster([null], async cluster =>
        {
            var sweep = cluster.Client.GetGrain<ISweepGrain>("fit");
            Assert.True((await sweep.Submit(spec)).Accepted);
            var silo = cluster.Silos[0].SiloAddress.ToParsableString();
            var smallSlot = new SlotRef { Silo = silo, Slot = 0, MemoryBytes = small };

            // The small slot is handed every candidate but the large one, in grid order, past it.
            var taken = new List<string>();
            while (await sweep.TakeNext(smallSlot) is { } order) taken.Add(order.Config.Id);
            Assert.Equal(ids.Where(id => id != large), taken);
            var waiting = (await sweep.GetResults()).Single(c => c.Id == large);
            Assert.Equal((CandidateStatus.Pending, 0, (SlotRef?)null), (waiting.Status, waiting.Attempts, waiting.Running));

            // A slot large enough takes it.
            var order2 = await sweep.TakeNext(new SlotRef { Silo = silo, Slot = 1, MemoryBytes = largest });
            Assert.Equal(large, order2?.Config.Id);
            Assert.Equal(largest, order2!.Lease.Slot.MemoryBytes);
        });
    }

    [Fact]
    public async Task An_attempt_that_ran_out_of_memory_fails_its_candidate_at_once_and_a_resubmit_with_a_smaller_micro_batch_runs_it_again()
    {
        var spec = SweepSpecReader.Load(SpecFile("oom", "{ remove: [1], strategy: [input], heal_tokens: [256], seed: [1, 2] }", maxAttempts: 3));
        await OnCluster([null], async cluster =>
        {
            var grains = cluster.Client;
            var sweep = grains.GetGrain<ISweepGrain>("oom");
            Assert.True((await sweep.Submit(spec)).Accepted);
            var slot = new SlotRef { Silo = cluster.Silos[0].SiloAddress.ToParsableString(), Slot = 0 };
            ICandidateGrain Of(WorkOrder o) => grains.GetGrain<ICandidateGrain>(o.Lease.Key);

            // Out of memory: failed after one attempt of three, with the worker's line as its error.
            var oom = (await sweep.TakeNext(slot))!;
            string line = OutOfMemory.Describe(WorkerStage.Healing, SweepMemory.For(spec, oom.Config), 2L << 30, ["lower train.micro_batch"]);
            await Of(oom).End(1, AttemptEnd.Of(new FailureEvent { Attempt = 1, Kind = FailureKind.OutOfMemory, Message = line }));
            var failed = (await Of(oom).GetState())!;
            Assert.Equal((CandidateStatus.Failed, 1, line), (failed.Status, failed.Attempts.Count, failed.Error));
            // Any other failure of the worker is retried while attempts are left.
            var crashed = (await sweep.TakeNext(slot))!;
            Assert.NotEqual(oom.Config.Id, crashed.Config.Id);
            await Of(crashed).End(1, AttemptEnd.Of(new FailureEvent { Attempt = 1, Kind = FailureKind.Internal, Message = "internal error (NullReferenceException)" }));
            Assert.Equal(CandidateStatus.Pending, (await Of(crashed).GetState())!.Status);
            Assert.Equal(crashed.Config.Id, (await sweep.TakeNext(slot))?.Config.Id);

            // The same spec again changes nothing; a smaller micro-batch queues the candidate that ran out of memory.
            Assert.Null((await sweep.Submit(spec)).Note);
            Assert.Equal(CandidateStatus.Failed, (await Of(oom).GetState())!.Status);
            var lowered = await sweep.Submit(spec with { Train = spec.Train with { MicroBatch = 1 } });
            Assert.True(lowered.Accepted, lowered.Error);
            Assert.Equal($"train.micro_batch 0 -> 1: 1 candidate(s) that ran out of memory run again ({oom.Config.Id})", lowered.Note);
            var again = (await sweep.TakeNext(slot))!;
            Assert.Equal((oom.Config.Id, 2), (again.Config.Id, again.Lease.Attempt));
            Assert.Equal(1, again.Spec.Train.MicroBatch);
        });
    }

    [Fact]
    public async Task On_two_silos_whose_slots_differ_in_memory_a_candidate_too_large_for_the_small_slot_runs_only_on_the_large_one()
    {
        var spec = SweepSpecReader.Load(SpecFile("sized", "{ remove: [0, 1, 2], strategy: [input], heal_tokens: [0], seed: [1] }"));
        const string large = "r0-none-h0-s1";
        long largest = Peak(spec, large), small = Math.Max(Peak(spec, "r1-input-h0-s1"), Peak(spec, "r2-input-h0-s1"));
        Assert.True(small < largest, $"the plan should put {large} above the others: {largest} vs {small} bytes");

        await OnCluster([small, largest], async cluster =>
        {
            var grains = cluster.Client;
            var memoryOf = new Dictionary<string, long?>();
            foreach (var silo in cluster.Silos.Select(s => s.SiloAddress.ToParsableString()))
                memoryOf[silo] = (await grains.GetGrain<IWorkerHostGrain>(silo).GetSlots()).MemoryOf(0);
            Assert.Equal([small, largest], memoryOf.Values.Order());

            var sweep = grains.GetGrain<ISweepGrain>("sized");
            Assert.True((await sweep.Submit(spec)).Accepted);
            var deadline = DateTime.UtcNow.AddMinutes(3);
            SweepStatus status;
            while (!(status = (await sweep.GetStatus())!).IsFinished && DateTime.UtcNow < deadline) await Task.Delay(100);
            Assert.True(status.IsFinished, "the sweep did not finish: " + string.Join(", ", status.Candidates.Select(c => $"{c.Id} {c.Status} {c.Error}")));
            Assert.All(status.Candidates, c => Assert.Equal(CandidateStatus.Completed, c.Status));

            var ranOn = new Dictionary<string, IReadOnlyList<string>>();
            foreach (var c in status.Candidates)
                ranOn[c.Id] = (await grains.GetGrain<ICandidateGrain>(SweepKeys.Candidate("sized", c.Id)).GetState())!.Attempts.Select(a => a.Silo).ToList();
            Assert.All(ranOn[large], silo => Assert.Equal(largest, memoryOf[silo]));
            Assert.All(ranOn.Values, attempts => Assert.Single(attempts));
        });
    }

    [Fact]
    public void Sweep_run_refuses_a_spec_with_a_candidate_no_slot_can_hold_in_one_line_before_any_work_starts()
    {
        var path = SpecFile("toolarge", "{ remove: [0, 2], strategy: [input], heal_tokens: [0], seed: [1] }");
        var spec = SweepSpecReader.Load(path);
        var r = LayerChopProcess.Run("sweep", "run", path, "--slot-memory-gib", "0.000001");
        LayerChopProcess.AssertOneLineError(r, "r0-none-h0-s1");
        Assert.False(Directory.Exists(spec.Output), "the refused sweep claimed its output folder");

        var refusal = SweepMemory.Refusal(spec, SweepGrid.Expand(spec)[0], (long)(0.000001 * LayerChop.Engine.Memory.MemoryUnits.GiB));
        Assert.Equal("error: " + refusal, r.Stderr.Trim());
    }
}
