using LayerChop.Engine.Pipeline;
using LayerChop.Interfaces;

namespace LayerChop.Grains.Workers;

/// <summary>Turns a sweep's spec and one grid point into the self-contained job a worker runs.</summary>
public static class JobBuilder
{
    public static string CandidateFolder(SweepSpec spec, CandidateConfig config) =>
        Path.Combine(spec.Output, "candidates", config.Id);

    public static CandidateJob Build(SweepSpec spec, CandidateConfig config, bool gpu) => new()
    {
        Id = config.Id,
        BaseModel = spec.BaseModel,
        WorkDir = CandidateFolder(spec, config),
        Remove = config.Remove,
        Strategy = config.Strategy,
        HealTokens = config.HealTokens,
        HealMethod = config.HealMethod == CandidateConfig.None ? "pretrain" : config.HealMethod,
        Seed = config.Seed,
        Data = spec.Data,
        TextField = spec.TextField,
        SeqLen = spec.Train.SeqLen,
        BatchTokens = spec.Train.BatchTokens,
        MicroBatch = spec.Train.MicroBatch,
        Lr = spec.Train.Lr,
        WarmupSteps = spec.Train.WarmupSteps,
        MinLrRatio = spec.Train.MinLrRatio,
        CheckpointEvery = spec.Train.CheckpointEvery,
        OptimizerWarmupSteps = spec.Train.OptimizerWarmupSteps,
        EvalTasks = spec.Eval.Tasks,
        TaskDir = spec.Eval.TaskDir.Length == 0 ? null : spec.Eval.TaskDir,
        EvalLimit = spec.Eval.Limit,
        PerplexityPath = spec.Eval.Perplexity,
        Device = spec.Device switch { SweepDevice.Cuda => "cuda", SweepDevice.Cpu => "cpu", _ => gpu ? "cuda" : "cpu" },
        LatencyPromptTokens = spec.Latency.PromptTokens,
        LatencyNewTokens = spec.Latency.NewTokens,
        LatencyDir = Path.Combine(spec.Output, "latency"),
    };
}
