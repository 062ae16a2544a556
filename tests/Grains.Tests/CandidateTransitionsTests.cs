using LayerChop.Interfaces;
using static LayerChop.Interfaces.CandidateStatus;

namespace LayerChop.Grains.Tests;

public sealed class CandidateTransitionsTests
{
    [Theory]
    [InlineData(Pending, Chopping)]
    [InlineData(Pending, Healing)]              // a resumed attempt whose chopped model is on disk
    [InlineData(Chopping, Healing)]
    [InlineData(Chopping, Evaluating)]          // nothing to heal
    [InlineData(Healing, Evaluating)]
    [InlineData(Evaluating, Completed)]
    [InlineData(Healing, Pending)]              // interrupted, to be retried
    [InlineData(Healing, Failed)]
    [InlineData(Evaluating, Cancelled)]
    [InlineData(Pending, Cancelled)]
    [InlineData(Failed, Pending)]               // explicit retry
    [InlineData(Cancelled, Pending)]
    public void Allowed_moves(CandidateStatus from, CandidateStatus to)
    {
        Assert.True(CandidateTransitions.CanMove(from, to));
        Assert.Contains(to, CandidateTransitions.From(from));
    }

    [Theory]
    [InlineData(Completed, Pending)]
    [InlineData(Completed, Failed)]
    [InlineData(Completed, Cancelled)]
    [InlineData(Evaluating, Healing)]           // work never goes back a stage
    [InlineData(Healing, Chopping)]
    [InlineData(Pending, Completed)]
    [InlineData(Chopping, Completed)]
    [InlineData(Failed, Healing)]               // a retry starts from Pending
    [InlineData(Failed, Completed)]
    [InlineData(Cancelled, Chopping)]
    [InlineData(Failed, Cancelled)]
    public void Refused_moves(CandidateStatus from, CandidateStatus to)
    {
        Assert.False(CandidateTransitions.CanMove(from, to));
    }

    [Fact]
    public void No_status_moves_to_itself_and_completed_is_final()
    {
        foreach (var status in Enum.GetValues<CandidateStatus>())
            Assert.False(CandidateTransitions.CanMove(status, status));
        Assert.Empty(CandidateTransitions.From(Completed));
    }

    [Fact]
    public void Every_status_is_reachable_from_pending_and_every_unfinished_one_can_end()
    {
        var reached = new HashSet<CandidateStatus> { Pending };
        var queue = new Queue<CandidateStatus>([Pending]);
        while (queue.TryDequeue(out var status))
            foreach (var next in CandidateTransitions.From(status))
                if (reached.Add(next)) queue.Enqueue(next);
        Assert.Equal(Enum.GetValues<CandidateStatus>().ToHashSet(), reached);

        foreach (var status in Enum.GetValues<CandidateStatus>().Where(s => !CandidateTransitions.IsFinished(s)))
        {
            Assert.True(CandidateTransitions.CanMove(status, Cancelled));
            Assert.True(CandidateTransitions.CanMove(status, Failed));
        }
    }

    [Fact]
    public void Finished_and_running_are_what_they_say()
    {
        Assert.Equal([Completed, Failed, Cancelled], Enum.GetValues<CandidateStatus>().Where(CandidateTransitions.IsFinished));
        Assert.Equal([Chopping, Healing, Evaluating], Enum.GetValues<CandidateStatus>().Where(CandidateTransitions.IsRunning));
    }
}
