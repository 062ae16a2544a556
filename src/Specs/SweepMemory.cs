using LayerChop.Engine.Memory;
using LayerChop.Engine.Modeling;
using LayerChop.Settings;

namespace LayerChop.Specs;

/// <summary>
/// A sweep's memory plan: every candidate's stages and peak from the base model's config.json alone (no weights
/// are read), and the one-line refusal of a candidate that no slot can hold with the settings that would make it fit.
/// </summary>
public static class SweepMemory
{
    public static IReadOnlyList<CandidateMemory> Plan(SweepSpec spec)
    {
        var config = ModelConfig.Load(spec.BaseModel);
        return SweepGrid.Expand(spec).Select(c => For(config, spec, c)).ToList();
    }

    public static CandidateMemory For(SweepSpec spec, CandidateConfig candidate) => For(ModelConfig.Load(spec.BaseModel), spec, candidate);

    public static CandidateMemory For(ModelConfig baseModel, SweepSpec spec, CandidateConfig candidate)
    {
        var method = candidate.HealTokens > 0 ? HealMethods.Parse(candidate.HealMethod) : HealMethods.Default;
        return CandidateMemory.Of(candidate.Id, baseModel, candidate.Chop, candidate.HealTokens, new HealShape
        {
            Train = spec.Train, Method = method, Lora = spec.Lora, MicroBatch = spec.Train.MicroBatchSize,
            Teacher = method == HealMethod.Distill ? baseModel : null,
        }, spec.Eval, spec.Latency, Engine.Chopping.Importance.CalibrationSet.DefaultLength);
    }

    /// <summary>Null when the candidate fits in <paramref name="largestSlotBytes"/>; else one line naming the candidate,
    /// its need, the largest slot and the changes of the spec that would make it fit.</summary>
    public static string? Refusal(SweepSpec spec, CandidateConfig candidate, long largestSlotBytes) =>
        Refusal(ModelConfig.Load(spec.BaseModel), spec, candidate, largestSlotBytes);

    public static string? Refusal(ModelConfig baseModel, SweepSpec spec, CandidateConfig candidate, long largestSlotBytes)
    {
        var plan = For(baseModel, spec, candidate);
        if (plan.PeakBytes <= largestSlotBytes) return null;
        var fixes = Fixes(baseModel, spec, candidate, plan, largestSlotBytes);
        string advice = fixes.Count > 0 ? $"it fits with {string.Join(", or ", fixes)}"
            : $"no change of {(plan.PeakStage == "heal" ? "train.micro_batch, train.activation_checkpointing or heal_method" : plan.PeakStage == "eval" ? "eval.batch_size" : "its settings")} makes it fit; it needs a slot of {MemoryUnits.Gib(plan.PeakBytes)}";
        return $"candidate {candidate.Id} needs {MemoryUnits.Gib(plan.PeakBytes)} ({plan.PeakStage}), more than the largest slot holds ({MemoryUnits.Gib(largestSlotBytes)}); {advice}";
    }

    /// <summary>The single changes (then pairs) of the spec that bring the candidate within the slot.</summary>
    static List<string> Fixes(ModelConfig baseModel, SweepSpec spec, CandidateConfig candidate, CandidateMemory plan, long slot)
    {
        var changes = new List<(string Say, Func<SweepSpec, CandidateConfig, (SweepSpec, CandidateConfig)> Apply)>();
        if (plan.PeakStage == "eval")
        {
            for (int b = spec.Eval.BatchSize / 2; b >= 1; b /= 2)
            {
                int size = b;
                changes.Add(($"eval.batch_size: {size}", (s, c) => (s with { Eval = s.Eval with { BatchSize = size } }, c)));
            }
        }
        else if (plan.PeakStage == "heal")
        {
            if (spec.Train.MicroBatchSize > 1)
                changes.Add(("train.micro_batch: 1", (s, c) => (s with { Train = s.Train with { MicroBatch = 1 } }, c)));
            if (!spec.Train.ActivationCheckpointing)
                changes.Add(("train.activation_checkpointing: true", (s, c) => (s with { Train = s.Train with { ActivationCheckpointing = true } }, c)));
            if (candidate.HealMethod != HealMethods.Name(HealMethod.Lora))
                changes.Add(("heal_method: lora", (s, c) => (s, c with { HealMethod = HealMethods.Name(HealMethod.Lora) })));
        }
        bool Fits(SweepSpec s, CandidateConfig c) => For(baseModel, s, c).PeakBytes <= slot;
        var singles = changes.Where(ch => { var (s, c) = ch.Apply(spec, candidate); return Fits(s, c); }).Select(ch => ch.Say).ToList();
        if (plan.PeakStage == "eval") return singles.Take(1).ToList();                 // the largest batch that fits
        if (singles.Count > 0) return singles;
        var pairs = new List<string>();
        for (int i = 0; i < changes.Count; i++)
            for (int j = i + 1; j < changes.Count; j++)
            {
                var (s1, c1) = changes[i].Apply(spec, candidate);
                var (s2, c2) = changes[j].Apply(s1, c1);
                if (Fits(s2, c2)) pairs.Add($"{changes[i].Say} and {changes[j].Say}");
            }
        if (pairs.Count > 0) return pairs;
        var (sa, ca) = changes.Aggregate((spec, candidate), (acc, ch) => ch.Apply(acc.spec, acc.candidate));
        return changes.Count == 3 && Fits(sa, ca) ? [string.Join(" and ", changes.Select(ch => ch.Say))] : [];
    }
}
