using System.Globalization;
using LayerChop.Settings;

namespace LayerChop.Specs;

/// <summary>
/// One point of a sweep's grid. Build it with <see cref="Create"/>, which puts it in its one canonical form, so
/// that configurations that compute the same thing are equal and share an <see cref="Id"/>: remove 0 is the
/// unchopped baseline whatever the strategy (strategy "none"); an explicit layer list is sorted and its length
/// is the remove count; no healing tokens means no healing method ("none").
/// </summary>
[GenerateSerializer, Alias("layerchop.candidate-config")]
[Immutable]
public sealed record CandidateConfig
{
    public const string None = "none";

    [Id(0)] public int Remove { get; init; }
    [Id(1)] public string Strategy { get; init; } = None;
    [Id(2)] public long HealTokens { get; init; }
    [Id(3)] public string HealMethod { get; init; } = None;
    [Id(4)] public long Seed { get; init; } = CandidateSeed.Default;

    /// <summary>
    /// A name derived from the configuration alone, such as <c>r8-max-gap-h50M-pretrain-s1</c> or
    /// <c>r0-none-h0-s1</c>: the same configuration always gets the same id, in any sweep and on any machine, so a
    /// re-submitted spec finds its candidates again and a grown grid only adds new ones. Only [a-z0-9-] (and
    /// upper-case unit letters), safe in grain keys and folder names. Distinct configurations get distinct ids.
    /// </summary>
    public string Id
    {
        get
        {
            var strategy = Strategy.Replace(':', '-').Replace(',', '-');
            var heal = HealTokens > 0 ? $"h{FormatTokens(HealTokens)}-{HealMethod}" : "h0";
            return string.Create(CultureInfo.InvariantCulture, $"r{Remove}-{strategy}-{heal}-s{Seed}");
        }
    }

    /// <summary>Whether this is the unchopped model (possibly healed, as a control).</summary>
    public bool IsBaseline => Remove == 0;

    /// <summary>The canonical configuration for these grid values (see the type's summary).</summary>
    public static CandidateConfig Create(int remove, string strategy, long healTokens, string healMethod, long seed)
    {
        strategy = strategy.Trim();
        if (remove != 0 && ChopSettings.IsLayerList(strategy) && ChopSettings.TryParse(strategy, null, out var chop, out _))
        {
            // The list says which layers go, so it also says how many; the grid's K only decides baseline or not.
            var layers = (LayerListChop)chop;
            strategy = layers.Strategy;
            remove = layers.Layers.Count;
        }
        if (remove == 0) strategy = None;
        if (healTokens == 0) healMethod = None;
        return new CandidateConfig { Remove = remove, Strategy = strategy, HealTokens = healTokens, HealMethod = healMethod, Seed = seed };
    }

    /// <summary>The layers this candidate removes, typed as a worker runs them; null for the baseline.</summary>
    /// <exception cref="FormatException">the strategy is not one (a spec's strategies are checked when it is read).</exception>
    public ChopSettings? Chop => IsBaseline ? null
        : ChopSettings.TryParse(Strategy, ChopSettings.IsLayerList(Strategy) ? null : Remove, out var chop, out var error) ? chop
        : throw new FormatException($"candidate {Id}: {error}");

    /// <summary>
    /// 50000000 as "50M": the largest of K, M, B, T that divides the count exactly, so every count has one
    /// spelling and no two counts share one.
    /// </summary>
    public static string FormatTokens(long tokens)
    {
        if (tokens != 0)
        {
            foreach (var (unit, suffix) in new[] { (1_000_000_000_000L, "T"), (1_000_000_000L, "B"), (1_000_000L, "M"), (1_000L, "K") })
                if (tokens % unit == 0)
                    return (tokens / unit).ToString(CultureInfo.InvariantCulture) + suffix;
        }
        return tokens.ToString(CultureInfo.InvariantCulture);
    }
}
