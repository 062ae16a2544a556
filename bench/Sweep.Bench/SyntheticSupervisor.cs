using System.Diagnostics;
using LayerChop.Interfaces;
using LayerChop.Specs;
using LayerChop.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Runtime;

namespace LayerChop.SweepBench;

/// <summary>
/// Stands in for the supervisor of an embedded silo that has 0 worker slots (so no real supervisor asks for work):
/// it takes the next queued candidate with <see cref="ISweepGrain.TakeNext"/> for slot 0 of that silo (its real
/// address: the sweep puts back in the queue any attempt whose silo is not a live member), then ends the attempt
/// as Succeeded with a synthetic result through <see cref="ICandidateGrain.End"/>, as a worker's exit would.
/// Taking is one candidate write (the attempt begins); ending is one candidate write and the sweep's in-memory update.
/// </summary>
sealed class SyntheticSupervisor(IGrainFactory grains, string silo)
{
    static readonly string[] Tasks = ["piqa", "hellaswag", "openbookqa", "winogrande", "sciq", "arc_easy"];

    /// <summary>One candidate completed: what it got, and each call's round trip in milliseconds.</summary>
    public sealed record Completion(CandidateConfig Config, CandidateResult Result, double TakeMs, double EndMs);

    public static SyntheticSupervisor Of(IHost silo) => new(silo.Services.GetRequiredService<IGrainFactory>(),
        silo.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress.ToParsableString());

    /// <summary>Completes the sweep's next queued candidate; null when nothing is queued.</summary>
    public async Task<Completion?> CompleteNext(ISweepGrain sweep, Random random)
    {
        var clock = Stopwatch.StartNew();
        if (await sweep.TakeNext(new SlotRef { Silo = silo, Slot = 0 }) is not { } order) return null;
        double take = clock.Elapsed.TotalMilliseconds;
        var result = Result(order.Config, random);
        var end = new AttemptEnd { Outcome = AttemptOutcome.Succeeded, Result = result };
        clock.Restart();
        var verdict = await grains.GetGrain<ICandidateGrain>(order.Lease.Key).End(order.Lease.Attempt, end);
        double ended = clock.Elapsed.TotalMilliseconds;
        if (verdict != ReportVerdict.Accepted) throw new InvalidOperationException($"{order.Lease}: End was answered {verdict}");
        return new Completion(order.Config, result, take, ended);
    }

    /// <summary>
    /// A synthetic result: sizes between 0.55B and 1.1B parameters, latency roughly proportional to size, and task
    /// scores that grow with size and healing, with noise, so that the fronts hold a few dozen points.
    /// </summary>
    static CandidateResult Result(CandidateConfig config, Random random)
    {
        double size = 0.5 + 0.5 * random.NextDouble();
        long parameters = (long)(1.1e9 * size);
        double heal = config.HealTokens > 0 ? 0.01 * Math.Log2(config.HealTokens / 512.0) : 0;
        double quality = 0.30 + 0.30 * Math.Sqrt(2 * size - 1) + heal + 0.02 * Gaussian(random);
        var scores = Tasks.ToDictionary(t => t, _ => Math.Clamp(quality + 0.05 * Gaussian(random), 0, 1));
        return new CandidateResult
        {
            Params = parameters, NonEmbeddingParams = parameters - 131_000_000, BytesOnDisk = 2 * parameters,
            LatencyMsPerToken = 20 * size * (1 + 0.1 * Gaussian(random)), Scores = scores, Average = scores.Values.Average(),
            Perplexity = 12 / quality, HeldoutLoss = Math.Log(12 / quality),
        };
    }

    static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
