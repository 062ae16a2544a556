using LayerChop.Engine.Memory;
using LayerChop.Settings;

namespace LayerChop.Worker;

/// <summary>
/// A candidate that ran out of memory: libtorch's CUDA out-of-memory error or a failed CPU allocation (each an
/// exception whose message says so), or the runtime's own <see cref="OutOfMemoryException"/>. Another attempt in
/// the same slot with the same settings would fail the same way, so the attempt fails at once instead of being
/// retried; its one line names the stage, what the memory plan predicts, the device's memory, and the settings
/// that lower the need. Changing one of them and resubmitting (or retrying) runs the candidate again.
/// </summary>
public static class OutOfMemory
{
    /// <summary>What libtorch's messages say when an allocation fails (CUDA's caching allocator, a plain CUDA
    /// malloc, the CPU allocator, C++'s own).</summary>
    static readonly string[] Signs = ["CUDA out of memory", "CUDA error: out of memory", "DefaultCPUAllocator: can't allocate memory", "std::bad_alloc"];

    /// <summary>Whether <paramref name="e"/> (or an exception inside it) is a failed allocation.</summary>
    public static bool Is(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
            if (x is OutOfMemoryException || Signs.Any(sign => x.Message.Contains(sign, StringComparison.Ordinal))) return true;
        return false;
    }

    /// <summary>
    /// "out of memory in healing: the plan predicts 81.20 GiB for this candidate's healing, the device has 79.6 GiB;
    /// lower train.micro_batch, set train.activation_checkpointing: true or heal with heal_method: lora".
    /// </summary>
    /// <param name="stage">the stage the worker was in (null: before the first, which loading the model belongs to).</param>
    /// <param name="plan">the candidate's memory plan (null when there is none): its figure for the stage, else its peak.</param>
    /// <param name="deviceBytes">the slot's memory (null when not known).</param>
    public static string Describe(WorkerStage? stage, CandidateMemory? plan, long? deviceBytes, IReadOnlyList<string> remedies)
    {
        var where = Words.Of(stage ?? WorkerStage.Chopping);
        var planned = plan?.Stages.FirstOrDefault(s => s.Stage == PlanStage(stage ?? WorkerStage.Chopping));
        var prediction = planned is not null ? $"the plan predicts {MemoryUnits.Gib(planned.Bytes)} for this candidate's {where}"
            : plan is not null ? $"the plan predicts {MemoryUnits.Gib(plan.PeakBytes)} for this candidate"
            : "the plan has no figure for this candidate";
        var device = deviceBytes is { } d ? $"the device has {MemoryUnits.Gib(d)}" : "the device's memory is not known";
        var remedy = remedies.Count == 0 ? "run it on a slot with more memory" : JoinOr(remedies);
        return $"out of memory in {where}: {prediction}, {device}; {remedy}";
    }

    /// <summary>The memory plan's name of a worker's stage (see <see cref="MemoryModel"/>).</summary>
    static string PlanStage(WorkerStage stage) => stage switch
    {
        WorkerStage.Chopping => "chop",
        WorkerStage.Healing => "heal",
        WorkerStage.Evaluating => "eval",
        _ => "latency",
    };

    /// <summary>
    /// The settings of <paramref name="job"/> that lower its need in <paramref name="stage"/>: while healing a smaller
    /// micro-batch (when it is above 1), activation checkpointing (when off) and LoRA (when healing all weights), as the
    /// sweep's refusal of a candidate no slot holds weighs them (<see cref="Specs.SweepMemory.Refusal(Specs.SweepSpec, Specs.CandidateConfig, long)"/>);
    /// while evaluating a smaller eval batch.
    /// </summary>
    public static IReadOnlyList<string> Remedies(CandidateJob job, WorkerStage? stage)
    {
        var remedies = new List<string>();
        bool heals = job.HealTokens > 0;
        // Optimizer warm-up trains the unchopped model in the chopping stage's place.
        bool training = heals && (stage == WorkerStage.Healing || (stage == WorkerStage.Chopping && job.Train.OptimizerWarmupSteps > 0));
        if (training)
        {
            if (job.Train.MicroBatchSize > 1) remedies.Add("lower train.micro_batch");
            if (!job.Train.ActivationCheckpointing) remedies.Add("set train.activation_checkpointing: true");
            if (job.HealMethod != HealMethod.Lora) remedies.Add($"heal with heal_method: {HealMethods.Name(HealMethod.Lora)}");
        }
        if (stage == WorkerStage.Evaluating && job.Eval.BatchSize > 1) remedies.Add("lower eval.batch_size");
        return remedies;
    }

    static string JoinOr(IReadOnlyList<string> items) =>
        items.Count == 1 ? items[0] : string.Join(", ", items.Take(items.Count - 1)) + " or " + items[^1];
}
