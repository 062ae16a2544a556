using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using LayerChop.Grains.Tests.Renamed;
using LayerChop.Interfaces;
using LayerChop.Settings;
using LayerChop.Specs;
using LayerChop.Worker;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Serialization.Configuration;

namespace LayerChop.Grains.Tests;

public sealed class ContractSerializationTests
{
    /// <summary>The assemblies of the contracts: the spec, the worker's events and results, the grains' interfaces.</summary>
    static readonly Assembly[] Contracts = [typeof(SweepSpec).Assembly, typeof(CandidateResult).Assembly, typeof(CandidateState).Assembly];
    static readonly Assembly Settings = typeof(TrainSettings).Assembly;
    static readonly Assembly ThisAssembly = typeof(ContractSerializationTests).Assembly;

    static readonly SweepSpec FullSpec = new()
    {
        Name = "demo",
        BaseModel = "/models/base",
        Data = ["/data/a.jsonl", "/data/b"],
        TextField = "content",
        Eval = new EvalSettings { Tasks = ["paper", "continuation"], TaskDir = "/tasks", Limit = 500, Perplexity = "/data/heldout.jsonl", BatchSize = 8, AddBos = false, Seed = 3, PerplexityStride = 512 },
        Grid = new GridSpec { Remove = [0, 4], Strategy = ["input", "layers:1,2"], HealTokens = [0, 50_000_000], HealMethod = ["pretrain", "distill"], Seed = [1, 2] },
        Train = new TrainSettings
        {
            SeqLen = 2048, BatchTokens = 1048576, MicroBatch = 4, Lr = 3e-4, WarmupSteps = 100, MinLrRatio = 0.1, CheckpointEvery = 200, OptimizerWarmupSteps = 500,
            WeightDecay = 0.05, DecayEmbeddings = true, Beta1 = 0.8, Beta2 = 0.99, GradClip = 0.5, KeepCheckpoints = 3, HeldoutPerMille = 5,
            ValSequences = 16, Precision = "bf16", DistillWeight = 0.5, DistillTemperature = 2, DistillHiddenWeight = 0.1,
        },
        Device = SweepDevice.Cuda,
        MaxAttempts = 5,
        Output = "/sweeps/demo",
        Latency = new LatencySettings { PromptTokens = 256, NewTokens = 64 },
        Retention = Retention.All,
    };

    static readonly CandidateConfig Config = CandidateConfig.Create(8, "max-gap", 50_000_000, "pretrain", 1);

    static readonly CandidateResult Result = new()
    {
        Params = 1_100_000_000,
        NonEmbeddingParams = 970_000_000,
        BytesOnDisk = 2_200_000_000,
        LatencyMsPerToken = 12.5,
        Scores = new Dictionary<string, double> { ["piqa"] = 0.71, ["hellaswag"] = 0.45 },
        Average = 0.58,
        Perplexity = 14.2,
        HeldoutLoss = 2.65,
        Importance = [0.9, 0.1, 0.05, 0.8],
        ScoreStderrs = new Dictionary<string, double> { ["piqa"] = 0.011, ["hellaswag"] = 0.005 },
        ScoreCounts = new Dictionary<string, int> { ["piqa"] = 1838, ["hellaswag"] = 10042 },
        Latency = new LatencyConditions { P10MsPerToken = 12.1, P90MsPerToken = 13.4, Runs = 15, Shape = "llama L8 H2048 #1a2b3c4d", Device = "cuda: NVIDIA H100, float32", Exclusive = true },
    };

    static readonly CandidateState State = new()
    {
        Sweep = "demo",
        Config = Config,
        Status = CandidateStatus.Completed,
        Progress = new CandidateProgress { Stage = CandidateStatus.Healing, Step = 40, TotalSteps = 48, Loss = 2.7, TokensPerS = 51000, UpdatedUtc = new DateTime(2025, 1, 2, 3, 4, 5, DateTimeKind.Utc) },
        Attempts =
        [
            new AttemptRecord { Number = 1, StartedUtc = new DateTime(2025, 1, 2, 0, 0, 0, DateTimeKind.Utc), EndedUtc = new DateTime(2025, 1, 2, 1, 0, 0, DateTimeKind.Utc), Silo = "gpu-1:11111", Outcome = AttemptOutcome.Interrupted, Reason = "silo stopped" },
            new AttemptRecord { Number = 2, StartedUtc = new DateTime(2025, 1, 2, 1, 5, 0, DateTimeKind.Utc), Silo = "gpu-2:11111", Slot = 3, Outcome = AttemptOutcome.Running, Pid = 4242, LastSeenUtc = new DateTime(2025, 1, 2, 1, 6, 0, DateTimeKind.Utc), Failure = FailureKind.Internal },
        ],
        Result = Result,
        Error = null,
        UpdatedUtc = new DateTime(2025, 1, 2, 4, 0, 0, DateTimeKind.Utc),
    };

    static readonly FrontPoint Point = FrontPoint.Of(Config, Result);

    static readonly Lease Lease = new() { Sweep = "demo", Candidate = Config.Id, Attempt = 2, Slot = new SlotRef { Silo = "10.0.0.7:11111@123456", Slot = 1, MemoryBytes = 85_899_345_920 } };

    // One sample of every contract type: a test below fails when a contract is added without one.
    static readonly Dictionary<Type, object> Samples = new()
    {
        [typeof(SweepSpec)] = FullSpec,
        [typeof(EvalSettings)] = FullSpec.Eval,
        [typeof(GridSpec)] = FullSpec.Grid,
        [typeof(TrainSettings)] = FullSpec.Train,
        [typeof(LatencySettings)] = FullSpec.Latency,
        [typeof(LoraSettings)] = new LoraSettings { Rank = 8, Alpha = 16, Targets = ["q_proj", "v_proj"], Lr = 1e-4 },
        [typeof(Retention)] = Retention.All,
        [typeof(ChopSettings)] = Config.Chop!,
        [typeof(PlacementChop)] = Config.Chop!,
        [typeof(LayerListChop)] = new LayerListChop { Layers = [1, 3] },
        [typeof(CriterionChop)] = new CriterionChop { Criterion = "angular", Remove = 2 },
        [typeof(SweepDevice)] = SweepDevice.Cpu,
        [typeof(CandidateConfig)] = Config,
        [typeof(CandidateStatus)] = CandidateStatus.Evaluating,
        [typeof(AttemptOutcome)] = AttemptOutcome.Failed,
        [typeof(AttemptRecord)] = State.Attempts[1],
        [typeof(CandidateProgress)] = State.Progress!,
        [typeof(CandidateResult)] = Result,
        [typeof(LatencyConditions)] = Result.Latency!,
        [typeof(CandidateState)] = State,
        [typeof(FrontPoint)] = Point,
        [typeof(SubmitResult)] = new SubmitResult { Accepted = true, Candidates = ["r0-none-h0-s1", Config.Id], Added = [Config.Id] },
        [typeof(SweepStatus)] = new SweepStatus
        {
            Name = "demo", SubmittedUtc = new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc), Revision = 12, Epoch = "e1", Running = 1, Cancelled = true,
            Candidates = [State.Summarize(), State.Summarize() with { Status = CandidateStatus.Pending, Result = null }],
            Counts = new Dictionary<CandidateStatus, int> { [CandidateStatus.Completed] = 1, [CandidateStatus.Pending] = 1 },
        },
        [typeof(SweepFront)] = new SweepFront { ByParams = [Point], ByLatency = [Point, Point with { CandidateId = "other" }] },
        [typeof(CandidateSummary)] = State.Summarize(),
        [typeof(LossCurve)] = new LossCurve().Add(1, 3.5, 1200).Add(2, 3.25, 1250.5),
        [typeof(StatusChange)] = new StatusChange { Status = CandidateStatus.Healing, Utc = new DateTime(2025, 1, 2, 0, 30, 0, DateTimeKind.Utc) },
        [typeof(SlotRef)] = Lease.Slot,
        [typeof(Lease)] = Lease,
        [typeof(WorkOrder)] = new WorkOrder { Lease = Lease, Spec = FullSpec, Config = Config },
        [typeof(AttemptEnd)] = new AttemptEnd { Outcome = AttemptOutcome.Succeeded, Reason = "done", Result = Result, Permanent = true, WorkerEndedUtc = new DateTime(2025, 1, 2, 1, 9, 0, DateTimeKind.Utc), Failure = FailureKind.OutOfMemory },
        [typeof(ReportVerdict)] = ReportVerdict.Stale,
        [typeof(BeginReply)] = new BeginReply { Lease = Lease, Summary = State.Summarize() },
        [typeof(CancelResult)] = new CancelResult { Queued = ["a"], Stopped = ["b", "c"], AlreadyFinished = 4 },
        [typeof(WorkerStage)] = WorkerStage.Measuring,
        [typeof(FailureKind)] = FailureKind.BadInput,
        [typeof(StageEvent)] = new StageEvent { Attempt = 2, Stage = WorkerStage.Healing },
        [typeof(HealProgressEvent)] = new HealProgressEvent { Attempt = 2, Step = 3, TotalSteps = 9, Tokens = 384, Loss = 2.5, Lr = 1e-3, TokensPerS = 1200.5 },
        [typeof(EvalProgressEvent)] = new EvalProgressEvent { Attempt = 2, Task = "piqa", Done = 10, Total = 20 },
        [typeof(CheckpointEvent)] = new CheckpointEvent { Attempt = 2, Step = 6 },
        [typeof(MessageEvent)] = new MessageEvent { Attempt = 2, Message = "resuming" },
        [typeof(ResultEvent)] = new ResultEvent { Attempt = 2, Result = Result },
        [typeof(FailureEvent)] = new FailureEvent { Attempt = 2, Kind = FailureKind.Internal, Message = "boom" },
        [typeof(StoppedEvent)] = new StoppedEvent { Attempt = 2, CheckpointStep = 6 },
        [typeof(FencedEvent)] = new FencedEvent { Attempt = 2, Owner = 3 },
        [typeof(StartedEvent)] = new StartedEvent { Attempt = 2, Pid = 77, StartedUtc = new DateTime(2025, 1, 2, 1, 5, 2, DateTimeKind.Utc), PreviousStoppedUtc = new DateTime(2025, 1, 2, 1, 0, 3, DateTimeKind.Utc) },
        [typeof(SlotsView)] = new SlotsView { Silo = "10.0.0.7:11111@123456", Gpu = true, Holders = ["demo/" + Config.Id, null], MemoryBytes = [85_899_345_920, null] },
    };

    static IEnumerable<Type> ContractTypes() =>
        Contracts.Append(Settings).SelectMany(a => a.GetExportedTypes()).Where(t => t.GetCustomAttribute<GenerateSerializerAttribute>() is not null && !t.IsAbstract);

    public static TheoryData<string> ContractNames() => new(ContractTypes().Select(t => t.Name));

    static readonly JsonSerializerOptions Json = new() { Converters = { new JsonStringEnumConverter() } };

    /// <summary>A serializer with every generated manifest loaded except those of <paramref name="without"/>: the
    /// version-tolerance tests need two processes' worth of types, one before a rename and one after.</summary>
    static Serializer CreateSerializer(params Assembly[] without)
    {
        var services = new ServiceCollection();
        services.AddSerializer();
        var excluded = without.SelectMany(a => a.GetCustomAttributes<TypeManifestProviderAttribute>()).Select(a => a.ProviderType).ToHashSet();
        foreach (var descriptor in services.Where(d => d.ImplementationType is { } type && excluded.Contains(type)).ToList())
            services.Remove(descriptor);
        foreach (var needed in Contracts.Append(Settings).Except(without))
        {
            var providers = needed.GetCustomAttributes<TypeManifestProviderAttribute>().Select(a => a.ProviderType).ToList();
            if (!services.Any(d => d.ImplementationType is { } type && providers.Contains(type)))
                services.AddSerializer(builder => builder.AddAssembly(needed));
        }
        return services.BuildServiceProvider().GetRequiredService<Serializer>();
    }

    [Fact]
    public void Every_contract_type_has_a_sample()
    {
        Assert.Empty(ContractTypes().Where(t => !Samples.ContainsKey(t)).Select(t => t.Name));
    }

    [Theory]
    [MemberData(nameof(ContractNames))]
    public void Every_contract_round_trips_through_the_orleans_serializer(string name)
    {
        var type = ContractTypes().Single(t => t.Name == name);
        var sample = Samples[type];
        var serializer = CreateSerializer(without: ThisAssembly);

        // As object, the way a polymorphic field or stored state carries it: the type travels as its alias.
        var back = serializer.Deserialize<object>(serializer.SerializeToArray<object>(sample));

        Assert.IsType(sample.GetType(), back);        // a sample of an abstract contract is one of its kinds
        Assert.Equal(JsonSerializer.Serialize(sample, type, Json), JsonSerializer.Serialize(back, type, Json));
        if (type.IsEnum || type == typeof(SweepSpec) || type == typeof(CandidateConfig) || type == typeof(FrontPoint))
            Assert.Equal(sample, back);
    }

    [Fact]
    public void Contracts_name_their_type_by_alias_not_by_clr_name()
    {
        var serializer = CreateSerializer(without: ThisAssembly);
        var text = Encoding.UTF8.GetString(serializer.SerializeToArray<object>(Result));

        Assert.Contains("layerchop.candidate-result", text);
        Assert.DoesNotContain("LayerChop.Interfaces", text);
    }

    [Fact]
    public void A_result_written_before_a_rename_reads_into_the_renamed_type()
    {
        var before = CreateSerializer(without: ThisAssembly);      // the process that wrote the state: CandidateResult
        var after = CreateSerializer([.. Contracts, Settings]);    // a later build: RenamedCandidateResult, same alias
        var bytes = before.SerializeToArray<object>(Result);

        var renamed = Assert.IsType<RenamedCandidateResult>(after.Deserialize<object>(bytes));

        Assert.Equal(Result.Params, renamed.Params);
        Assert.Equal(Result.NonEmbeddingParams, renamed.NonEmbeddingParams);
        Assert.Equal(Result.BytesOnDisk, renamed.BytesOnDisk);
        Assert.Equal(Result.LatencyMsPerToken, renamed.LatencyMsPerToken);
        Assert.Equal(Result.Scores, renamed.Scores);
        Assert.Equal(Result.Average, renamed.Average);
        Assert.Equal(Result.Perplexity, renamed.Perplexity);
        Assert.Equal(Result.HeldoutLoss, renamed.HeldoutLoss);
        Assert.Null(renamed.Comment);                               // a member the writer did not know: its default

        // And back: the old build skips the member it does not know (id 20) and keeps the rest.
        var old = Assert.IsType<CandidateResult>(before.Deserialize<object>(after.SerializeToArray<object>(renamed with { Comment = "new" })));
        Assert.Equal(Result.Average, old.Average);
        Assert.Null(old.Importance);
    }

    [Fact]
    public void Train_settings_stored_before_they_had_more_members_read_with_the_new_members_at_their_defaults()
    {
        var before = CreateSerializer([.. Contracts, Settings]);   // a build whose train section had 8 members
        var after = CreateSerializer(without: ThisAssembly);
        var stored = new StoredTrainSpec { SeqLen = 64, BatchTokens = 512, Lr = 1e-3, OptimizerWarmupSteps = 5 };

        var read = Assert.IsType<TrainSettings>(after.Deserialize<object>(before.SerializeToArray<object>(stored)));

        Assert.Equal(new TrainSettings { SeqLen = 64, BatchTokens = 512, Lr = 1e-3, OptimizerWarmupSteps = 5 }, read);
    }

    [Fact]
    public void Every_contract_member_has_a_unique_id_and_every_contract_a_unique_alias()
    {
        var aliases = new List<string>();
        foreach (var type in ContractTypes())
        {
            var alias = type.GetCustomAttribute<AliasAttribute>(inherit: false);     // a derived contract's own, not its base's
            Assert.True(alias is not null, $"{type.Name} has no [Alias]");
            aliases.Add(alias.Alias);
            if (type.IsEnum) continue;
            var settable = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Where(p => p.SetMethod is not null && p.Name != "EqualityContract").ToList();
            var missing = settable.Where(p => p.GetCustomAttribute<IdAttribute>() is null).Select(p => $"{type.Name}.{p.Name}");
            Assert.Empty(missing);
            // Ids are numbered per class of a hierarchy (a derived event's members start at 0 again, as Orleans allows).
            foreach (var level in settable.GroupBy(p => p.DeclaringType))
            {
                var ids = level.Select(p => p.GetCustomAttribute<IdAttribute>()!.Id).ToList();
                Assert.Equal(ids.Count, ids.Distinct().Count());
            }
        }
        Assert.Equal(aliases.Count, aliases.Distinct().Count());
    }

    [Fact]
    public void Grain_interfaces_and_their_methods_carry_aliases()
    {
        foreach (var type in new[] { typeof(ISweepGrain), typeof(ICandidateGrain) })
        {
            Assert.NotNull(type.GetCustomAttribute<AliasAttribute>());
            Assert.All(type.GetMethods(), m => Assert.NotNull(m.GetCustomAttribute<AliasAttribute>()));
        }
    }
}
