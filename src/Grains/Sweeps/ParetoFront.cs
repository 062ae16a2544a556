using LayerChop.Interfaces;

namespace LayerChop.Grains.Sweeps;

/// <summary>The cost axis of a front: what is traded against accuracy (lower is better).</summary>
public enum FrontAxis { Params, Latency }

/// <summary>
/// The sweep's two Pareto fronts, size x accuracy and latency x accuracy, kept up to date as results arrive and
/// answered from memory. A point is on a front when no other point is at least as good on both axes and
/// strictly better on one; two equal points are both on it. Each front is ordered by cost, then accuracy
/// (higher first), then candidate id, so the same points give the same lists however they arrived.
/// Not thread-safe: a grain calls it from its own turn only.
/// </summary>
public sealed class ParetoFront
{
    // Every point, by candidate id, so that a candidate's replaced result can rebuild the fronts.
    readonly Dictionary<string, FrontPoint> points = new(StringComparer.Ordinal);
    readonly List<FrontPoint> byParams = [];
    readonly List<FrontPoint> byLatency = [];

    public IReadOnlyList<FrontPoint> ByParams => byParams;
    public IReadOnlyList<FrontPoint> ByLatency => byLatency;

    /// <summary>All points added, on a front or not.</summary>
    public IReadOnlyCollection<FrontPoint> Points => points.Values;

    public IReadOnlyList<FrontPoint> Get(FrontAxis axis) => axis == FrontAxis.Params ? byParams : byLatency;

    public SweepFront ToSweepFront() => new() { ByParams = byParams.ToArray(), ByLatency = byLatency.ToArray() };

    /// <summary>
    /// Adds a completed candidate's point in O(front size). A second point for the same candidate replaces the
    /// first (the fronts are then rebuilt from all points, as the old one may have hidden others); the same
    /// point again changes nothing. Returns whether the point is on either front afterwards.
    /// </summary>
    public bool Add(FrontPoint point)
    {
        if (points.TryGetValue(point.CandidateId, out var existing))
        {
            if (existing == point) return byParams.Contains(point) || byLatency.Contains(point);
            points[point.CandidateId] = point;
            Rebuild(byParams, FrontAxis.Params);
            Rebuild(byLatency, FrontAxis.Latency);
            return byParams.Contains(point) || byLatency.Contains(point);
        }
        points.Add(point.CandidateId, point);
        bool onParams = Insert(byParams, point, FrontAxis.Params);
        bool onLatency = Insert(byLatency, point, FrontAxis.Latency);
        return onParams || onLatency;
    }

    /// <summary>The cost of a point on an axis; points whose cost or accuracy is not a finite number (a latency not
    /// measured) stay off that front.</summary>
    public static double Cost(FrontPoint point, FrontAxis axis) =>
        axis == FrontAxis.Params ? point.Params : point.LatencyMsPerToken;

    /// <summary>Whether <paramref name="a"/> is at least as good as <paramref name="b"/> on both axes and strictly better on one.</summary>
    public static bool Dominates(FrontPoint a, FrontPoint b, FrontAxis axis)
    {
        double costA = Cost(a, axis), costB = Cost(b, axis);
        return costA <= costB && a.Average >= b.Average && (costA < costB || a.Average > b.Average);
    }

    /// <summary>The front of a set of points at once, in O(n log n), in the same order as the incremental one.</summary>
    public static IReadOnlyList<FrontPoint> Compute(IEnumerable<FrontPoint> points, FrontAxis axis)
    {
        var sorted = points.Where(p => Eligible(p, axis)).Order(new FrontOrder(axis)).ToList();
        var front = new List<FrontPoint>();
        double bestBefore = double.NegativeInfinity;             // best accuracy among strictly cheaper points
        for (int start = 0; start < sorted.Count;)
        {
            // One group of equal cost: its best accuracy comes first. Its points that reach that accuracy are on the
            // front unless a strictly cheaper point is at least as accurate.
            double cost = Cost(sorted[start], axis), groupBest = sorted[start].Average;
            int end = start;
            while (end < sorted.Count && Cost(sorted[end], axis) == cost) end++;
            if (groupBest > bestBefore)
                for (int i = start; i < end && sorted[i].Average == groupBest; i++)
                    front.Add(sorted[i]);
            bestBefore = Math.Max(bestBefore, groupBest);
            start = end;
        }
        return front;
    }

    static bool Eligible(FrontPoint point, FrontAxis axis) => double.IsFinite(Cost(point, axis)) && double.IsFinite(point.Average);

    // A point joins unless a front point dominates it (then some front point dominates anything it would), and
    // pushes out the front points it dominates; nothing off the front can come back by adding a point.
    static bool Insert(List<FrontPoint> front, FrontPoint point, FrontAxis axis)
    {
        if (!Eligible(point, axis)) return false;
        foreach (var other in front)
            if (Dominates(other, point, axis)) return false;
        front.RemoveAll(other => Dominates(point, other, axis));
        var order = new FrontOrder(axis);
        int index = front.FindIndex(other => order.Compare(point, other) < 0);
        front.Insert(index < 0 ? front.Count : index, point);
        return true;
    }

    void Rebuild(List<FrontPoint> front, FrontAxis axis)
    {
        front.Clear();
        front.AddRange(Compute(points.Values, axis));
    }

    sealed class FrontOrder(FrontAxis axis) : IComparer<FrontPoint>
    {
        public int Compare(FrontPoint? a, FrontPoint? b)
        {
            if (a is null || b is null) return a is null ? (b is null ? 0 : -1) : 1;
            int byCost = Cost(a, axis).CompareTo(Cost(b, axis));
            if (byCost != 0) return byCost;
            int byAverage = b.Average.CompareTo(a.Average);
            return byAverage != 0 ? byAverage : string.CompareOrdinal(a.CandidateId, b.CandidateId);
        }
    }
}
