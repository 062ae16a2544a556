using LayerChop.Grains.Sweeps;
using LayerChop.Interfaces;
using LayerChop.Specs;

namespace LayerChop.Grains.Tests;

public sealed class ParetoFrontTests
{
    static FrontPoint Point(string id, long parameters, double average, double latency = 1.0) => new()
    {
        CandidateId = id,
        Config = CandidateConfig.Create(1, "input", 0, "pretrain", 1),
        Params = parameters,
        LatencyMsPerToken = latency,
        Average = average,
    };

    // Few distinct values, so that equal costs, equal accuracies and equal points are common.
    static List<FrontPoint> RandomPoints(Random random, int count) =>
        Enumerable.Range(0, count).Select(i => Point($"c{i:D3}", random.Next(1, 8) * 1000L, random.Next(0, 6) / 10.0, random.Next(1, 6) * 0.5)).ToList();

    // The definition, checked pair by pair.
    static List<FrontPoint> BruteForce(IReadOnlyList<FrontPoint> points, FrontAxis axis)
    {
        double Cost(FrontPoint p) => axis == FrontAxis.Params ? p.Params : p.LatencyMsPerToken;
        return points
            .Where(p => !points.Any(q => Cost(q) <= Cost(p) && q.Average >= p.Average && (Cost(q) < Cost(p) || q.Average > p.Average)))
            .OrderBy(Cost).ThenByDescending(p => p.Average).ThenBy(p => p.CandidateId, StringComparer.Ordinal)
            .ToList();
    }

    [Fact]
    public void The_batch_front_equals_the_brute_force_front_on_random_points()
    {
        var random = new Random(20230524);
        for (int trial = 0; trial < 300; trial++)
        {
            var points = RandomPoints(random, random.Next(0, 40));
            foreach (var axis in Enum.GetValues<FrontAxis>())
                Assert.Equal(BruteForce(points, axis), ParetoFront.Compute(points, axis));
        }
    }

    [Fact]
    public void Adding_points_one_by_one_in_any_order_equals_the_batch_front()
    {
        var random = new Random(4242);
        for (int trial = 0; trial < 300; trial++)
        {
            var points = RandomPoints(random, random.Next(1, 40));
            var front = new ParetoFront();
            foreach (var point in points.OrderBy(_ => random.Next()))
            {
                bool joined = front.Add(point);
                Assert.Equal(joined, front.ByParams.Contains(point) || front.ByLatency.Contains(point));
            }
            Assert.Equal(ParetoFront.Compute(points, FrontAxis.Params), front.ByParams);
            Assert.Equal(ParetoFront.Compute(points, FrontAxis.Latency), front.ByLatency);
            Assert.Equal(points.Count, front.Points.Count);
        }
    }

    [Fact]
    public void Equal_points_are_both_on_the_front_and_a_tie_on_one_axis_is_decided_by_the_other()
    {
        var front = new ParetoFront();
        front.Add(Point("a", 1000, 0.5));
        front.Add(Point("b", 1000, 0.5));
        front.Add(Point("c", 1000, 0.4));       // same size, less accurate: dominated by a and b
        front.Add(Point("d", 2000, 0.5));       // bigger, no more accurate: dominated
        front.Add(Point("e", 2000, 0.6));       // bigger and more accurate: on the front

        Assert.Equal(["a", "b", "e"], front.ByParams.Select(p => p.CandidateId));
    }

    [Fact]
    public void The_two_fronts_trade_accuracy_against_different_costs()
    {
        var front = new ParetoFront();
        front.Add(Point("small-slow", 1000, 0.5, latency: 9));
        front.Add(Point("big-fast", 5000, 0.5, latency: 2));

        Assert.Equal(["small-slow"], front.ByParams.Select(p => p.CandidateId));
        Assert.Equal(["big-fast"], front.ByLatency.Select(p => p.CandidateId));
        Assert.Equal(front.ByParams, front.Get(FrontAxis.Params));
        Assert.Equal(front.ByLatency, front.ToSweepFront().ByLatency);
    }

    [Fact]
    public void A_replaced_result_can_uncover_the_points_it_hid()
    {
        var front = new ParetoFront();
        front.Add(Point("hidden", 2000, 0.5));
        front.Add(Point("best", 1000, 0.6));
        Assert.Equal(["best"], front.ByParams.Select(p => p.CandidateId));

        Assert.False(front.Add(Point("best", 3000, 0.1)));

        Assert.Equal(["hidden"], front.ByParams.Select(p => p.CandidateId));
        Assert.True(front.Add(Point("hidden", 2000, 0.5)));      // the same point again changes nothing
        Assert.Equal(2, front.Points.Count);
    }

    [Fact]
    public void A_point_without_a_measured_latency_stays_off_the_latency_front_only()
    {
        var front = new ParetoFront();
        Assert.True(front.Add(Point("a", 1000, 0.5, latency: double.NaN)));

        Assert.Single(front.ByParams);
        Assert.Empty(front.ByLatency);
    }
}
