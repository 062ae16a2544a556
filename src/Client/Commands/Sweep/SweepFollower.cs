using LayerChop.Grains.Sweeps;
using LayerChop.Interfaces;

namespace LayerChop.Client.Commands;

/// <summary>
/// Follows a sweep by revision: each <see cref="Next"/> asks the coordinator only for what changed, starts over
/// when the coordinator restarted (a new epoch numbers revisions afresh), and keeps every candidate's latest
/// summary in grid order and the set on either front; a candidate whose place on the front changed counts as changed.
/// </summary>
sealed class SweepFollower(ISweepGrain sweep)
{
    readonly Dictionary<string, CandidateSummary> latest = new(StringComparer.Ordinal);
    readonly List<string> order = [];
    long since;
    string epoch = "";

    public IReadOnlySet<string> OnFront { get; private set; } = new HashSet<string>();

    public IReadOnlyList<CandidateSummary> Candidates => order.Select(id => latest[id]).ToList();

    /// <summary>The sweep's status and the candidates that changed since the last call; null when there is no such sweep.</summary>
    public async Task<(SweepStatus Status, IReadOnlyList<CandidateSummary> Changed)?> Next()
    {
        while (true)
        {
            if (await sweep.GetStatus(since) is not { } status) return null;
            if (status.Epoch != epoch && since > 0) { since = 0; epoch = status.Epoch; continue; }   // the coordinator restarted
            epoch = status.Epoch;
            var changed = new Dictionary<string, CandidateSummary>(StringComparer.Ordinal);
            foreach (var c in status.Candidates)
            {
                if (!latest.ContainsKey(c.Id)) order.Add(c.Id);
                latest[c.Id] = changed[c.Id] = c;
            }
            since = status.Revision;
            var front = SweepJson.OnFront(await sweep.GetFront());
            foreach (var id in front.Except(OnFront).Concat(OnFront.Except(front)))
                if (latest.TryGetValue(id, out var c)) changed.TryAdd(id, c);
            OnFront = front;
            return (status, order.Where(changed.ContainsKey).Select(id => changed[id]).ToList());
        }
    }
}
