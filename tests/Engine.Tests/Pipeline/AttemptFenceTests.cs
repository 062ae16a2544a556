using LayerChop.Worker;

namespace LayerChop.Engine.Tests.Pipeline;

public sealed class AttemptFenceTests
{
    [Fact]
    public async Task A_newer_attempt_waits_for_the_older_workers_run_lock_and_the_older_worker_is_told_at_once_that_it_was_fenced()
    {
        var folder = TestModels.TempFolder();
        using var first = AttemptFence.Claim(folder, 1);
        first.Record(WorkerRecord.Start, "silo-a#0");
        int fencedBy = 0;
        using var told = new ManualResetEventSlim();
        first.WatchOwner(owner => { fencedBy = owner; told.Set(); });

        WorkerRecord? waitedFor = null;
        var second = Task.Run(() => AttemptFence.Claim(folder, 2, older => waitedFor = older));
        Assert.True(told.Wait(TimeSpan.FromSeconds(10)), "the older attempt was never told that attempt 2 claimed the folder");
        Assert.Equal(2, fencedBy);
        Assert.False(await Within(second, TimeSpan.FromMilliseconds(500)), "attempt 2 ran while attempt 1's worker still held the folder");
        Assert.Throws<AttemptFencedException>(() => first.Publish(() => { }));

        first.Record(WorkerRecord.Stop, "silo-a#0", 75);
        first.Dispose();                                           // the older worker exits: its run lock goes with it
        Assert.True(await Within(second, TimeSpan.FromSeconds(10)), "attempt 2 did not start after attempt 1's worker stopped");
        using var fence = await second;
        Assert.Equal(1, waitedFor?.Attempt);
        Assert.Equal("silo-a#0", waitedFor?.Where);
        fence.Publish(() => { });                                  // the owner publishes
        fence.Record(WorkerRecord.Start, "silo-b#1");

        var log = AttemptFence.ReadWorkerLog(folder);
        Assert.Equal([(1, "start"), (1, "stop"), (2, "start")], log.Select(r => (r.Attempt, r.Event)));
        Assert.True(log[1].Utc <= log[2].Utc, "the worker log shows two attempts running at once");
    }

    static async Task<bool> Within(Task task, TimeSpan time) => await Task.WhenAny(task, Task.Delay(time)) == task;

    [Fact]
    public void An_older_attempt_cannot_claim_a_folder_a_newer_attempt_owns()
    {
        var folder = TestModels.TempFolder();
        AttemptFence.Claim(folder, 3).Dispose();
        var refused = Assert.Throws<AttemptFencedException>(() => AttemptFence.Claim(folder, 2));
        Assert.Equal(3, refused.Owner);
        Assert.Equal(3, AttemptFence.Owner(folder));
    }

    [Fact]
    public async Task A_waiting_attempt_gives_up_when_a_still_newer_attempt_claims_the_folder_meanwhile()
    {
        var folder = TestModels.TempFolder();
        using var first = AttemptFence.Claim(folder, 1);
        var second = Task.Run(() => AttemptFence.Claim(folder, 2));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (AttemptFence.Owner(folder) != 2 && DateTime.UtcNow < deadline) Thread.Sleep(20);
        var third = Task.Run(() => AttemptFence.Claim(folder, 3));
        Assert.True(await Within(second, TimeSpan.FromSeconds(10)), "attempt 2 kept waiting after attempt 3 claimed the folder");
        await Assert.ThrowsAsync<AttemptFencedException>(() => second);
        first.Dispose();
        Assert.True(await Within(third, TimeSpan.FromSeconds(10)), "attempt 3 did not start after attempt 1's worker stopped");
        (await third).Dispose();
    }
}

public sealed class HostSlotTests
{
    [Fact]
    public async Task A_second_worker_of_a_host_slot_waits_until_the_first_lets_go_and_other_slots_do_not_wait()
    {
        var folder = TestModels.TempFolder();
        var first = HostSlot.Hold("gpu-0", folder, _ => { });
        string? waitedFor = null;
        var second = Task.Run(() => HostSlot.Hold("gpu-0", folder, slot => waitedFor = slot));
        using (var other = HostSlot.Hold("gpu-1", folder, slot => Assert.Fail($"slot {slot} is free and must not wait"))) Assert.NotNull(other);
        Assert.False(await Task.WhenAny(second, Task.Delay(500)) == second, "two workers held slot gpu-0 at once");
        first!.Dispose();                                          // the first worker exits
        Assert.True(await Task.WhenAny(second, Task.Delay(10_000)) == second, "the second worker never got slot gpu-0");
        (await second)!.Dispose();
        Assert.Equal("gpu-0", waitedFor);
        Assert.Null(HostSlot.Hold(null, folder, _ => { }));       // a worker run by hand holds no slot
    }
}
