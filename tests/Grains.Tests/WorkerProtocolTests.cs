using LayerChop.Interfaces;
using LayerChop.Worker;
using Xunit;

namespace LayerChop.Grains.Tests;

public sealed class WorkerProtocolTests
{
    static readonly CandidateResult Diverged = new()
    {
        Params = 1000, Average = double.NaN, Perplexity = double.PositiveInfinity, HeldoutLoss = double.NaN,
        Scores = new Dictionary<string, double> { ["next_word"] = 0.25 },
        ScoreStderrs = new Dictionary<string, double> { ["next_word"] = double.NaN },
        ScoreCounts = new Dictionary<string, int> { ["next_word"] = 1 },
    };

    public static TheoryData<WorkerEvent> Events() =>
    [
        new StartedEvent { Attempt = 3, Pid = 4321, StartedUtc = new DateTime(2026, 11, 27, 12, 0, 1, DateTimeKind.Utc), PreviousStoppedUtc = new DateTime(2026, 11, 27, 11, 59, 58, DateTimeKind.Utc) },
        new StageEvent { Attempt = 3, Stage = WorkerStage.Measuring },
        new HealProgressEvent { Attempt = 3, Step = 7, TotalSteps = 10, Tokens = 896, Loss = 2.5, Lr = 1e-3, TokensPerS = 1234.5 },
        new EvalProgressEvent { Attempt = 3, Task = "piqa", Done = 5, Total = 9 },
        new CheckpointEvent { Attempt = 3, Step = 6 },
        new MessageEvent { Attempt = 3, Message = "resuming from step-00000006" },
        new ResultEvent { Attempt = 3, Result = Diverged },
        new FailureEvent { Attempt = 3, Kind = FailureKind.BadInput, Message = "data.jsonl: line 2 is not JSON" },
        new StoppedEvent { Attempt = 3, CheckpointStep = 6 },
        new FencedEvent { Attempt = 3, Owner = 4 },
    ];

    [Theory]
    [MemberData(nameof(Events))]
    public void Every_event_round_trips_through_one_line_with_its_type_and_attempt(WorkerEvent e)
    {
        var line = WorkerProtocol.Write(e);
        Assert.DoesNotContain('\n', line);
        var back = WorkerProtocol.Read(line);
        Assert.NotNull(back);
        Assert.Equal(e.GetType(), back.GetType());
        Assert.Equal(3, back.Attempt);
        Assert.Equal(line, WorkerProtocol.Write(back));
    }

    [Fact]
    public void Non_finite_metrics_travel_as_non_finite_numbers()
    {
        var back = (ResultEvent)WorkerProtocol.Read(WorkerProtocol.Write(new ResultEvent { Attempt = 1, Result = Diverged }))!;
        Assert.Equal(double.PositiveInfinity, back.Result.Perplexity);
        Assert.True(double.IsNaN(back.Result.Average));
        Assert.True(double.IsNaN(back.Result.ScoreStderrs["next_word"]));
    }

    [Fact]
    public void A_line_that_is_not_an_event_is_skipped_and_a_broken_or_unknown_event_is_an_error()
    {
        Assert.Null(WorkerProtocol.Read("warning: some library printed this"));
        Assert.Throws<FormatException>(() => WorkerProtocol.Read("{\"event\":\"teleport\",\"attempt\":1}"));
        Assert.Throws<FormatException>(() => WorkerProtocol.Read("{\"event\":\"stage\",\"attempt\":1,\"stage\":\"dreaming\"}"));
        Assert.Throws<FormatException>(() => WorkerProtocol.Read("{\"event\":\"checkpoint\",\"attempt\":"));
    }

    [Fact]
    public void Stages_map_onto_statuses_and_exit_codes_have_names()
    {
        Assert.Equal(CandidateStatus.Evaluating, CandidateTransitions.Of(WorkerStage.Measuring));
        Assert.Equal(CandidateStatus.Healing, CandidateTransitions.Of(WorkerStage.Healing));
        Assert.Equal(WorkerExit.Fenced, WorkerProtocol.ExitOf(75));
        Assert.Null(WorkerProtocol.ExitOf(139));
        Assert.StartsWith("killed by signal 9", WorkerProtocol.DescribeExit(137));
        Assert.StartsWith("Stopped", WorkerProtocol.DescribeExit(130));
    }
}
