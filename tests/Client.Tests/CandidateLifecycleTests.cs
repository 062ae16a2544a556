using System.Diagnostics;
using LayerChop.Grains.Sweeps;
using LayerChop.Grains.Workers;
using LayerChop.Interfaces;
using LayerChop.Silo;
using LayerChop.Specs;
using LayerChop.Worker;
using Orleans.TestingHost;
using Xunit;

namespace LayerChop.Client.Tests;

/// <summary>
/// The candidate state machine, the queue and the fencing of attempts on a real one-silo test cluster. Where a
/// test holds a lease itself it does what a silo's supervisor does, through the same grain calls.
/// </summary>
public class CandidateLifecycleTests(TrainingInputs inputs) : IClassFixture<TrainingInputs>
{
    string Spec(string name, string grid, int maxAttempts = 2) => Spec(inputs, name, grid, maxAttempts);

    /// <summary>A spec file of a tiny base model of its own, on the test corpus, with the <paramref name="grid"/>
    /// given; <paramref name="train"/> and <paramref name="eval"/> (the fields after tasks and task_dir) as YAML.</summary>
    internal static string Spec(TrainingInputs inputs, string name, string grid, int maxAttempts = 2,
        string train = "{ seq_len: 32, batch_tokens: 128, lr: 0.003, warmup_steps: 1, checkpoint_every: 2 }", string eval = "limit: 4")
    {
        var work = LayerChopProcess.TempFolder();
        var model = Path.Combine(work, "base");
        ClusterTests.InitModel(model);
        var tasks = ClusterTests.ContinuationTasks(inputs, Path.Combine(work, "tasks"));
        var path = Path.Combine(work, name + ".yaml");
        File.WriteAllText(path, $$"""
            name: {{name}}
            base_model: {{model}}
            data: [{{inputs.Corpus}}]
            eval: { tasks: [continuation], task_dir: {{tasks}}, {{eval}} }
            grid: {{grid}}
            train: {{train}}
            latency: { prompt_tokens: 4, new_tokens: 4 }
            device: cpu
            max_attempts: {{maxAttempts}}
            output: {{Path.Combine(work, "out")}}
            """);
        return path;
    }

    static async Task<InProcessTestCluster> Cluster(int slots, string stateFile)
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((options, silo) => silo.AddLayerChopSweeps(
            new WorkerOptions { Slots = slots, CpuThreads = 1, Command = [LayerChopProcess.DotnetHost, LayerChopProcess.Dll] }, stateFile));
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    static CandidateResult Result(double perplexity) => new()
    {
        Params = 1000, Average = 0.5, Perplexity = perplexity,
        Scores = new Dictionary<string, double> { ["continuation"] = 0.5 },
        ScoreStderrs = new Dictionary<string, double> { ["continuation"] = 0.25 },
        ScoreCounts = new Dictionary<string, int> { ["continuation"] = 4 },
    };

    [Fact]
    public async Task Attempts_fail_retry_complete_cancel_and_retry_only_through_the_transition_table_and_stale_reports_are_refused()
    {
        var spec = SweepSpecReader.Load(Spec("life", "{ remove: [1], strategy: [input], heal_tokens: [0], seed: [1, 2, 3] }"));
        var cluster = await Cluster(slots: 0, Path.Combine(LayerChopProcess.TempFolder(), "state.db"));
        try
        {
            var grains = cluster.Client;
            var sweep = grains.GetGrain<ISweepGrain>("life");
            Assert.True((await sweep.Submit(spec)).Accepted);
            var slot = new SlotRef { Silo = cluster.Silos[0].SiloAddress.ToParsableString(), Slot = 0 };
            ICandidateGrain Of(WorkOrder o) => grains.GetGrain<ICandidateGrain>(o.Lease.Key);

            // First in grid order; a worker crash with attempts left puts it back in the queue.
            var a1 = (await sweep.TakeNext(slot))!;
            Assert.Equal(1, a1.Lease.Attempt);
            Assert.Equal(ReportVerdict.Accepted, await Of(a1).Report(new StageEvent { Attempt = 1, Stage = WorkerStage.Healing }));
            // Healing -> Chopping is not a legal move: refused, the status stays.
            Assert.Equal(ReportVerdict.Accepted, await Of(a1).Report(new StageEvent { Attempt = 1, Stage = WorkerStage.Chopping }));
            Assert.Equal(CandidateStatus.Healing, (await Of(a1).GetState())!.Status);
            await Of(a1).End(1, new AttemptEnd { Outcome = AttemptOutcome.Failed, Reason = "worker killed by signal 11" });
            Assert.Equal(CandidateStatus.Pending, (await Of(a1).GetState())!.Status);

            var a2 = (await sweep.TakeNext(slot))!;
            Assert.Equal((a1.Lease.Key, 2), (a2.Lease.Key, a2.Lease.Attempt));
            // The first attempt's worker, still talking, is refused: it is no longer the live attempt.
            Assert.Equal(ReportVerdict.Stale, await Of(a1).Report(new HealProgressEvent { Attempt = 1, Step = 3, TotalSteps = 9, Loss = 2 }));
            Assert.Equal(ReportVerdict.Stale, await Of(a1).End(1, new AttemptEnd { Outcome = AttemptOutcome.Succeeded, Result = Result(1) }));
            await Of(a2).End(2, new AttemptEnd { Outcome = AttemptOutcome.Failed, Reason = "worker killed by signal 11" });
            var failed = (await Of(a2).GetState())!;
            Assert.Equal(CandidateStatus.Failed, failed.Status);
            Assert.Equal("failed 2 attempt(s); last: worker killed by signal 11", failed.Error);

            // A result that is not finite is kept as it is.
            var b = (await sweep.TakeNext(slot))!;
            Assert.NotEqual(a1.Lease.Key, b.Lease.Key);
            await Of(b).Report(new StageEvent { Attempt = 1, Stage = WorkerStage.Evaluating });
            await Of(b).End(1, new AttemptEnd { Outcome = AttemptOutcome.Succeeded, Result = Result(double.PositiveInfinity) });
            var results = await sweep.GetResults();
            Assert.Equal(double.PositiveInfinity, results.Single(c => c.Id == b.Config.Id).Result!.Perplexity);
            Assert.Contains("\"perplexity\": \"Infinity\"", SweepJson.Results(results, await sweep.GetFront()));

            // Cancel: the queued one is cancelled, and nothing more is handed out until a retry.
            var cancelled = await sweep.Cancel();
            Assert.Single(cancelled.Queued);
            Assert.Equal(2, cancelled.AlreadyFinished);
            Assert.Null(await sweep.TakeNext(slot));
            Assert.True((await sweep.GetStatus())!.IsFinished);

            // Raising max_attempts gives the failed one more attempts; a changed setting is refused by name.
            Assert.True((await sweep.Submit(spec with { MaxAttempts = 3 })).Accepted);
            Assert.Equal(CandidateStatus.Pending, (await Of(a1).GetState())!.Status);
            var refused = await sweep.Submit(spec with { Train = spec.Train with { Lr = 0.01 } });
            Assert.False(refused.Accepted);
            Assert.Contains("train.lr", refused.Error);

            // Retry: the cancelled one is queued again; attempt numbers go on, never reused.
            var retried = await sweep.Retry();
            Assert.Single(retried);
            var a3 = (await sweep.TakeNext(slot))!;
            Assert.Equal((a1.Lease.Key, 3), (a3.Lease.Key, a3.Lease.Attempt));
            // A resumed attempt that finds every output on disk reports evaluating, then its result.
            await Of(a3).Report(new StageEvent { Attempt = 3, Stage = WorkerStage.Evaluating });
            await Of(a3).End(3, new AttemptEnd { Outcome = AttemptOutcome.Succeeded, Result = Result(3) });
            var done = (await Of(a3).GetState())!;
            Assert.Equal(CandidateStatus.Completed, done.Status);
            Assert.Equal([AttemptOutcome.Failed, AttemptOutcome.Failed, AttemptOutcome.Succeeded], done.Attempts.Select(a => a.Outcome));
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
    }

    [Fact]
    public async Task Cancelling_a_finished_sweep_changes_nothing_and_new_candidates_resume_a_cancelled_sweep_in_words()
    {
        var spec = SweepSpecReader.Load(Spec("ended", "{ remove: [1], strategy: [input], heal_tokens: [0], seed: [1] }"));
        var cluster = await Cluster(slots: 0, Path.Combine(LayerChopProcess.TempFolder(), "state.db"));
        try
        {
            var sweep = cluster.Client.GetGrain<ISweepGrain>("ended");
            Assert.True((await sweep.Submit(spec)).Accepted);
            var slot = new SlotRef { Silo = cluster.Silos[0].SiloAddress.ToParsableString(), Slot = 0 };
            var order = (await sweep.TakeNext(slot))!;
            var candidate = cluster.Client.GetGrain<ICandidateGrain>(order.Lease.Key);
            await candidate.Report(new StageEvent { Attempt = 1, Stage = WorkerStage.Evaluating });
            await candidate.End(1, new AttemptEnd { Outcome = AttemptOutcome.Succeeded, Result = Result(2) });

            // The finished sweep is not marked cancelled: a grown grid runs.
            var nothing = await sweep.Cancel();
            Assert.Empty(nothing.Stopped.Concat(nothing.Queued));
            Assert.Equal(1, nothing.AlreadyFinished);
            Assert.False((await sweep.GetStatus())!.Cancelled);
            var grown = spec with { Grid = spec.Grid with { Seed = [1, 2] } };
            var added = await sweep.Submit(grown);
            Assert.Null(added.Note);
            Assert.NotNull(await sweep.TakeNext(slot));

            // A cancelled sweep that gains candidates is resumed, and the submission says so.
            Assert.Single((await sweep.Cancel()).Stopped);
            Assert.True((await sweep.GetStatus())!.Cancelled);
            var resumed = await sweep.Submit(grown with { Grid = grown.Grid with { Seed = [1, 2, 3] } });
            Assert.Contains("was cancelled; its 1 new candidate(s) resume it (1 cancelled candidate(s) stay cancelled until a retry)", resumed.Note);
            Assert.False((await sweep.GetStatus())!.Cancelled);
            Assert.Equal("r1-input-h0-s3", (await sweep.TakeNext(slot))!.Config.Id);

            // Every candidate object says whether it is on the front, in the status as in the results.
            var status = System.Text.Json.JsonSerializer.Serialize(SweepJson.Status((await sweep.GetStatus())!, await sweep.GetFront()));
            Assert.Contains("\"id\":\"r1-input-h0-s1\"", status);
            Assert.Matches("\"id\":\"r1-input-h0-s1\".*\"on_front\":true", status);
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_stale_worker_kept_running_is_ignored_by_its_candidate_and_cannot_publish_into_the_live_attempts_folder()
    {
        // Two healing candidates; the silo has one slot. The test takes one candidate itself, as the supervisor of a
        // silo that is not (or no longer) a member, and starts its worker: attempt 1. The sweep sees a running attempt
        // on a silo outside the cluster, interrupts it and queues the candidate again; the real silo runs attempt 2.
        // Long enough healing (3,200 steps) that the worker cannot finish while the test, on a loaded machine, still reads
        // its first checkpoint line out of the pipe.
        var spec = SweepSpecReader.Load(Spec("fenced", "{ remove: [1], strategy: [input], heal_tokens: [409600], seed: [1, 2] }"));
        var cluster = await Cluster(slots: 1, Path.Combine(LayerChopProcess.TempFolder(), "state.db"));
        WorkerProcess? stale = null;
        try
        {
            var grains = cluster.Client;
            var sweep = grains.GetGrain<ISweepGrain>("fenced");
            Assert.True((await sweep.Submit(spec)).Accepted);
            // The silo takes the first candidate before the test takes the second; its slot stays busy long after the
            // sweep requeues the test's attempt, so the stale worker checkpoints before attempt 2 can start.
            var deadline = DateTime.UtcNow.AddMinutes(1);
            while (!(await sweep.GetStatus())!.Candidates.Any(c => c.Running is not null) && DateTime.UtcNow < deadline) await Task.Delay(20);
            var gone = new SlotRef { Silo = "10.255.255.1:11111@1", Slot = 0 };
            var order = (await sweep.TakeNext(gone))!;
            var workDir = JobBuilder.CandidateFolder(spec, order.Config);
            var job = JobBuilder.Build(spec, order.Config, gpu: false) with { Attempt = order.Lease.Attempt };
            // The stale worker plays one on another host: it must not share this host's compute gate, which a
            // frozen process would hold (see HostComputeGate).
            var elsewhere = new WorkerOptions
            {
                Slots = 1, CpuThreads = 1, Command = [LayerChopProcess.DotnetHost, LayerChopProcess.Dll],
                WorkerEnvironment = new Dictionary<string, string> { ["LAYERCHOP_HOST_LOCKS"] = LayerChopProcess.TempFolder() },
            };
            stale = WorkerProcess.Start(elsewhere, job, 0);

            // Let it publish a checkpoint, then freeze it (a host cut off from the cluster) until attempt 2 owns the folder.
            var lines = new List<string>();
            string? line;
            while ((line = await stale.ReadLineAsync(CancellationToken.None)) is not null)
            {
                lines.Add(line);
                if (WorkerProtocol.Read(line) is CheckpointEvent) break;
            }
            Assert.True(line is not null, "the stale worker ended before its first checkpoint: " + string.Join("\n", lines) + stale.StderrTail());
            Signal(stale.Id, "STOP");
            deadline = DateTime.UtcNow.AddMinutes(3);
            while (AttemptFence.Owner(workDir) < 2 && DateTime.UtcNow < deadline) await Task.Delay(50);
            Assert.True(AttemptFence.Owner(workDir) == 2, "attempt 2 never claimed the folder: " +
                string.Join("; ", (await sweep.GetStatus())!.Candidates.Select(c => $"{c.Id} {c.Status} running {c.Running} attempts {c.Attempts} {c.Error}")));
            var liveCheckpoints = Directory.GetDirectories(Path.Combine(workDir, "healed", "checkpoints"));

            // Thawed, the stale worker goes on computing; its next publish is refused and it stops.
            Signal(stale.Id, "CONT");
            var after = new List<WorkerEvent>();
            while ((line = await stale.ReadLineAsync(CancellationToken.None)) is not null)
                if (WorkerProtocol.Read(line) is { } e) after.Add(e);
            Assert.Equal((int)WorkerExit.Fenced, await stale.WaitAsync());
            Assert.DoesNotContain(after, e => e is CheckpointEvent or ResultEvent);
            Assert.Equal(2, Assert.Single(after.OfType<FencedEvent>()).Owner);
            // Its candidate refuses whatever it would still report.
            var candidate = grains.GetGrain<ICandidateGrain>(order.Lease.Key);
            Assert.Equal(ReportVerdict.Stale, await candidate.Report(new HealProgressEvent { Attempt = 1, Step = 1, TotalSteps = 100, Loss = 9 }));
            Assert.Equal(ReportVerdict.Stale, await candidate.End(1, new AttemptEnd { Outcome = AttemptOutcome.Failed, Reason = "stale" }));

            deadline = DateTime.UtcNow.AddMinutes(4);
            SweepStatus status;
            while (!(status = (await sweep.GetStatus())!).IsFinished && DateTime.UtcNow < deadline) await Task.Delay(200);
            Assert.True(status.Count(CandidateStatus.Completed) == 2, string.Join("; ", status.Candidates.Select(c => $"{c.Id} {c.Status} {c.Error}")));
            var state = (await candidate.GetState())!;
            Assert.Equal([AttemptOutcome.Interrupted, AttemptOutcome.Succeeded], state.Attempts.Select(a => a.Outcome));
            Assert.Contains("left the cluster", state.Attempts[0].Reason);
            Assert.True(File.Exists(Path.Combine(workDir, CandidatePipeline.ResultFile)));
            Assert.NotEmpty(liveCheckpoints);
        }
        finally
        {
            if (stale is not null) { Signal(stale.Id, "CONT"); stale.Dispose(); }
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_worker_runs_the_attempt_it_was_started_for_even_when_the_next_attempts_worker_starts_right_after_it()
    {
        // A worker reads its job once it is up; the next attempt's worker starting meanwhile must not hand it that
        // attempt's job (it would run under the newer attempt's number, past the fence).
        var spec = SweepSpecReader.Load(Spec("restarted", "{ remove: [1], strategy: [input], heal_tokens: [409600], seed: [1] }"));
        var config = SweepGrid.Expand(spec).Single();
        var options = new WorkerOptions
        {
            Slots = 2, CpuThreads = 1, Command = [LayerChopProcess.DotnetHost, LayerChopProcess.Dll],
            WorkerEnvironment = new Dictionary<string, string> { ["LAYERCHOP_HOST_LOCKS"] = LayerChopProcess.TempFolder() },
        };
        CandidateJob Job(int attempt) => JobBuilder.Build(spec, config, gpu: false) with { Attempt = attempt };
        using var first = WorkerProcess.Start(options, Job(1), 0);
        using var second = WorkerProcess.Start(options, Job(2), 1);
        var events = new List<WorkerEvent>();
        string? line;
        while ((line = await first.ReadLineAsync(CancellationToken.None)) is not null)
            if (WorkerProtocol.Read(line) is { } e) events.Add(e);
        Assert.Equal((int)WorkerExit.Fenced, await first.WaitAsync());
        Assert.NotEmpty(events);
        Assert.All(events, e => Assert.Equal(1, e.Attempt));
        Assert.Equal(2, Assert.Single(events.OfType<FencedEvent>()).Owner);
        Assert.Equal(2, AttemptFence.Owner(JobBuilder.CandidateFolder(spec, config)));
    }

    [Fact]
    public async Task Cancel_stops_the_running_worker_frees_its_slot_and_cancels_the_queued_candidates_within_seconds()
    {
        var spec = SweepSpecReader.Load(Spec("stop", "{ remove: [1], strategy: [input], heal_tokens: [128000], seed: [1, 2, 3] }"));
        var cluster = await Cluster(slots: 1, Path.Combine(LayerChopProcess.TempFolder(), "state.db"));
        try
        {
            var grains = cluster.Client;
            var sweep = grains.GetGrain<ISweepGrain>("stop");
            Assert.True((await sweep.Submit(spec)).Accepted);
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while ((await sweep.GetStatus())!.Count(CandidateStatus.Healing) == 0 && DateTime.UtcNow < deadline) await Task.Delay(100);
            Assert.Equal(1, (await sweep.GetStatus())!.Count(CandidateStatus.Healing));

            var clock = Stopwatch.StartNew();
            var cancelled = await sweep.Cancel();
            Assert.Single(cancelled.Stopped);
            Assert.Equal(2, cancelled.Queued.Count);
            var host = grains.GetGrain<IWorkerHostGrain>(cluster.Silos[0].SiloAddress.ToParsableString());
            while ((await host.GetSlots()).Free == 0 && clock.Elapsed < TimeSpan.FromSeconds(30)) await Task.Delay(50);
            Assert.Equal(1, (await host.GetSlots()).Free);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"the slot was freed {clock.Elapsed.TotalSeconds:0.0} s after the cancel");
            var status = (await sweep.GetStatus())!;
            Assert.Equal(3, status.Count(CandidateStatus.Cancelled));
            Assert.Equal(0, status.Running);
            var stopped = (await grains.GetGrain<ICandidateGrain>(SweepKeys.Candidate("stop", cancelled.Stopped[0])).GetState())!;
            Assert.Equal(AttemptOutcome.Cancelled, Assert.Single(stopped.Attempts).Outcome);
            await Task.Delay(2000);                                       // nothing starts after a cancel
            Assert.Equal(1, (await host.GetSlots()).Free);
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
    }

    static void Signal(int pid, string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", pid.ToString()]);
        kill.WaitForExit();
    }
}
