using LayerChop.Settings;
using LayerChop.Specs;

namespace LayerChop.Worker;

/// <summary>Turns a sweep's spec and one grid point into the self-contained job a worker runs.</summary>
public static class JobBuilder
{
    public static string CandidateFolder(SweepSpec spec, CandidateConfig config) =>
        Path.Combine(spec.Output, "candidates", config.Id);

    public static CandidateJob Build(SweepSpec spec, CandidateConfig config, bool gpu) => new()
    {
        Id = config.Id,
        Sweep = spec.Name,
        BaseModel = spec.BaseModel,
        WorkDir = CandidateFolder(spec, config),
        Chop = config.Chop,
        HealTokens = config.HealTokens,
        HealMethod = config.HealMethod == CandidateConfig.None ? HealMethods.Default : HealMethods.Parse(config.HealMethod),
        Seed = config.Seed,
        Data = spec.Data,
        TextField = spec.TextField,
        Train = spec.Train,
        Lora = spec.Lora,
        Eval = spec.Eval,
        Latency = spec.Latency,
        Device = spec.Device switch { SweepDevice.Cuda => "cuda", SweepDevice.Cpu => "cpu", _ => gpu ? "cuda" : "cpu" },
        LatencyDir = Path.Combine(spec.Output, "latency"),
        Retention = spec.Retention,
    };
}
