using LayerChop.Engine.Memory;
using LayerChop.Engine.Modeling;
using LayerChop.Settings;

namespace LayerChop.Worker;

/// <summary>The memory plan of the job a worker runs (the same plan the sweep made of its candidate).</summary>
public static class JobMemory
{
    public static CandidateMemory For(CandidateJob job)
    {
        var baseModel = ModelConfig.Load(job.BaseModel);
        return CandidateMemory.Of(job.Id, baseModel, job.Chop, job.HealTokens, new HealShape
        {
            Train = job.Train, Method = job.HealMethod, Lora = job.Lora, MicroBatch = job.Train.MicroBatchSize,
            Teacher = job.HealMethod == HealMethod.Distill ? baseModel : null,
        }, job.Eval, job.Latency, job.CalibrationLength);
    }
}
