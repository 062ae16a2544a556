using LayerChop.Engine;
using LayerChop.Interfaces;
using LayerChop.Specs;

namespace LayerChop.Client.Commands;

// What `sweep run` and `sweep start` check against the slots that exist before any work starts.
public static partial class SweepCommands
{
    /// <summary>
    /// Refuses <paramref name="spec"/>, in one line, when one of its candidates needs more memory at its peak than
    /// the largest of <paramref name="slotMemory"/> (each slot's bytes, null where not known): such a candidate would
    /// wait for a slot forever. The line names the candidate, its need, the largest slot and the settings that would
    /// make it fit. No slots at all (a cluster whose silos have not joined yet) refuse nothing: work waits for them;
    /// neither does a slot whose memory is not known.
    /// </summary>
    /// <exception cref="LayerChopException">a candidate no slot can hold.</exception>
    internal static void RefuseWhatNoSlotHolds(SweepSpec spec, IReadOnlyList<long?> slotMemory)
    {
        if (slotMemory.Count == 0 || slotMemory.Any(m => m is null)) return;
        long largest = slotMemory.Max(m => m!.Value);
        var baseModel = Engine.Modeling.ModelConfig.Load(spec.BaseModel);
        foreach (var candidate in SweepGrid.Expand(spec))
            if (SweepMemory.Refusal(baseModel, spec, candidate, largest) is { } refusal) throw new LayerChopException(refusal);
    }

    /// <summary>Every slot's memory over the silos' views, in silo and slot order.</summary>
    internal static IReadOnlyList<long?> MemoryOfSlots(IEnumerable<SlotsView> silos) =>
        silos.SelectMany(v => Enumerable.Range(0, v.Capacity).Select(v.MemoryOf)).ToArray();
}
