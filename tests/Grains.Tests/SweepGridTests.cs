using LayerChop.Specs;

namespace LayerChop.Grains.Tests;

public sealed class SweepGridTests
{
    static SweepSpec Spec(int[] remove, string[] strategy, long[] healTokens, string[]? healMethod = null, long[]? seed = null) => new()
    {
        Name = "grid",
        Grid = new GridSpec
        {
            Remove = remove,
            Strategy = strategy,
            HealTokens = healTokens,
            HealMethod = healMethod ?? ["pretrain"],
            Seed = seed ?? [1],
        },
    };

    [Fact]
    public void The_issue_example_gives_two_baselines_and_twelve_chopped_candidates()
    {
        var candidates = SweepGrid.Expand(Spec([0, 4, 8, 12], ["input", "max-gap"], [0, 50_000_000]));

        Assert.Equal(
        [
            "r0-none-h0-s1", "r0-none-h50M-pretrain-s1",
            "r4-input-h0-s1", "r4-input-h50M-pretrain-s1", "r4-max-gap-h0-s1", "r4-max-gap-h50M-pretrain-s1",
            "r8-input-h0-s1", "r8-input-h50M-pretrain-s1", "r8-max-gap-h0-s1", "r8-max-gap-h50M-pretrain-s1",
            "r12-input-h0-s1", "r12-input-h50M-pretrain-s1", "r12-max-gap-h0-s1", "r12-max-gap-h50M-pretrain-s1",
        ], candidates.Select(c => c.Id));
    }

    [Fact]
    public void Remove_zero_is_one_baseline_per_heal_tokens_method_and_seed_whatever_the_strategies()
    {
        var candidates = SweepGrid.Expand(Spec([0, 4, 8], ["input", "output", "max-gap"], [0, 1000, 2000],
            ["pretrain", "distill"], [1, 2]));

        // Healing tokens 0 means no healing, so the methods collapse there too: per seed, 1 + 2 + 2 healing setups.
        var baselines = candidates.Where(c => c.IsBaseline).ToList();
        Assert.Equal(5 * 2, baselines.Count);
        Assert.All(baselines, c => Assert.Equal(CandidateConfig.None, c.Strategy));
        Assert.Equal(2 * 3 * 5 * 2, candidates.Count - baselines.Count);
        Assert.Contains(candidates, c => c.Id == "r0-none-h2K-distill-s2");
        Assert.Contains(candidates, c => c.Id == "r8-max-gap-h1K-pretrain-s1");
        Assert.All(candidates.Where(c => c.HealTokens == 0), c => Assert.Equal(CandidateConfig.None, c.HealMethod));
    }

    [Fact]
    public void Ids_are_unique_stable_and_safe_for_keys_and_folders()
    {
        var spec = Spec([0, 2, 4, 6], ["input", "output", "middle", "both", "max-gap", "layers:3,1", "block-influence"],
            [0, 200_000, 1_500_000, 1_000_000_000], ["pretrain", "distill"], [1, 2, 3]);

        var first = SweepGrid.Expand(spec);
        var second = SweepGrid.Expand(spec with { Grid = spec.Grid with { } });

        Assert.Equal(first, second);
        Assert.Equal(first.Count, first.Select(c => c.Id).Distinct().Count());
        Assert.Equal(first.Count, first.Distinct().Count());
        Assert.All(first, c => Assert.Matches("^r[0-9]+-[a-z0-9-]+-h[0-9]+[KMBT]?(-(pretrain|distill))?-s[0-9]+$", c.Id));
        Assert.All(first, c => Assert.Equal(c, CandidateConfig.Create(c.Remove, c.Strategy, c.HealTokens, c.HealMethod, c.Seed)));
    }

    [Fact]
    public void A_grown_grid_adds_candidates_and_renames_none()
    {
        var before = SweepGrid.Expand(Spec([0, 4], ["input"], [0, 50_000_000]));
        var after = SweepGrid.Expand(Spec([0, 4, 8], ["max-gap", "input"], [0, 10_000_000, 50_000_000], ["pretrain", "distill"], [1, 2]));

        Assert.Subset(after.Select(c => c.Id).ToHashSet(), before.Select(c => c.Id).ToHashSet());
        Assert.True(after.Count > before.Count);
    }

    [Fact]
    public void An_explicit_layer_list_is_sorted_and_sets_its_own_remove_count()
    {
        var candidates = SweepGrid.Expand(Spec([0, 4, 8], ["layers:5,1", "layers:1,5"], [0]));

        Assert.Equal(["r0-none-h0-s1", "r2-layers-1-5-h0-s1"], candidates.Select(c => c.Id));
        Assert.Equal("layers:1,5", candidates[1].Strategy);
        Assert.Equal(2, candidates[1].Remove);
    }

    [Theory]
    [InlineData(0, "0")]
    [InlineData(999, "999")]
    [InlineData(200_000, "200K")]
    [InlineData(1_500_000, "1500K")]
    [InlineData(50_000_000, "50M")]
    [InlineData(1_000_000_000, "1B")]
    [InlineData(2_000_000_000_000, "2T")]
    public void Token_counts_have_one_short_spelling(long tokens, string expected)
    {
        Assert.Equal(expected, CandidateConfig.FormatTokens(tokens));
    }

    [Fact]
    public void Distinct_token_counts_never_share_a_spelling()
    {
        var random = new Random(7);
        var counts = Enumerable.Range(0, 5000).Select(_ => (long)random.Next(0, 3000) * (long)Math.Pow(10, random.Next(0, 10))).Distinct().ToList();
        Assert.Equal(counts.Count, counts.Select(CandidateConfig.FormatTokens).Distinct().Count());
    }
}
