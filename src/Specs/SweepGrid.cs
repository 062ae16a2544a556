namespace LayerChop.Specs;

/// <summary>The candidates of a sweep: the grid's cross product, each configuration once.</summary>
public static class SweepGrid
{
    /// <summary>
    /// Every combination of remove x strategy x heal_tokens x heal_method x seed, in that nesting and in the
    /// order the spec lists each, put in canonical form (<see cref="CandidateConfig.Create"/>) and kept at its
    /// first appearance. So remove 0 gives one baseline per heal_tokens/heal_method/seed whatever the strategies,
    /// heal_tokens 0 one unhealed candidate whatever the healing methods, and an explicit layer list one
    /// candidate whatever the (non-zero) removes. The ids depend on the configuration only: the same spec gives
    /// the same candidates, and a grown grid keeps every existing id.
    /// </summary>
    public static IReadOnlyList<CandidateConfig> Expand(SweepSpec spec)
    {
        var grid = spec.Grid;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var candidates = new List<CandidateConfig>();
        foreach (int remove in grid.Remove)
        foreach (string strategy in grid.Strategy)
        foreach (long tokens in grid.HealTokens)
        foreach (string method in grid.HealMethod)
        foreach (long seed in grid.Seed)
        {
            var candidate = CandidateConfig.Create(remove, strategy, tokens, method, seed);
            if (seen.Add(candidate.Id)) candidates.Add(candidate);
        }
        return candidates;
    }

    /// <summary>The configuration of the candidate <paramref name="id"/>; null when the sweep has no such candidate.</summary>
    public static CandidateConfig? Find(SweepSpec spec, string id) => Expand(spec).FirstOrDefault(c => c.Id == id);
}
