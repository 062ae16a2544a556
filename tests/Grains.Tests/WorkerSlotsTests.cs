using LayerChop.Grains.Workers;
using Xunit;

namespace LayerChop.Grains.Tests;

public class WorkerSlotsTests
{
    sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        public override DateTimeOffset GetUtcNow() => Now;
    }

    static WorkerSlots Slots(int n, TimeProvider? clock = null) =>
        new(new WorkerOptions { Slots = n, Command = ["layerchop"] }, clock);

    [Fact]
    public void A_reserved_slot_goes_to_its_candidate_and_to_nobody_else()
    {
        var slots = Slots(1);
        Assert.Equal(0, slots.TryReserve("s/a"));
        Assert.Null(slots.TryReserve("s/b"));
        Assert.Null(slots.TryClaim("s/b"));
        using var held = slots.TryClaim("s/a");
        Assert.NotNull(held);
        Assert.Equal(0, slots.Free);
        Assert.Equal(["s/a"], slots.Holders());
    }

    [Fact]
    public void Reserving_again_for_the_same_candidate_keeps_one_slot()
    {
        var slots = Slots(2);
        Assert.Equal(0, slots.TryReserve("s/a"));
        Assert.Equal(0, slots.TryReserve("s/a"));
        Assert.Equal(1, slots.Free);
    }

    [Fact]
    public void A_reservation_nobody_claims_expires_and_a_cancelled_one_frees_at_once()
    {
        var clock = new ManualClock();
        var slots = Slots(1, clock);
        slots.TryReserve("s/a");
        clock.Now += WorkerSlots.ReservationLifetime - TimeSpan.FromSeconds(1);
        Assert.Equal(0, slots.Free);
        clock.Now += TimeSpan.FromSeconds(1);
        Assert.Equal(1, slots.Free);

        slots.TryReserve("s/b");
        slots.CancelReservation("s/b");
        Assert.Equal(1, slots.Free);
    }

    [Fact]
    public void A_claimed_slot_does_not_expire_and_is_free_again_once_disposed()
    {
        var clock = new ManualClock();
        var slots = Slots(1, clock);
        slots.TryReserve("s/a");
        var held = slots.TryClaim("s/a")!;
        clock.Now += TimeSpan.FromHours(1);
        slots.CancelReservation("s/a");                        // cancelling does not take a held slot away
        Assert.Null(slots.TryReserve("s/b"));
        held.Dispose();
        held.Dispose();                                        // twice is harmless
        Assert.Equal(0, slots.TryReserve("s/b"));
    }

    [Fact]
    public void A_silo_without_slots_never_gives_one()
    {
        var slots = Slots(0);
        Assert.Null(slots.TryReserve("s/a"));
        Assert.Null(slots.TryClaim("s/a"));
        Assert.Equal(0, slots.Free);
    }

    [Fact]
    public void Under_concurrent_reservations_and_claims_no_slot_is_ever_held_by_two_candidates()
    {
        var slots = Slots(3);
        var holding = new int[3];
        int violations = 0, runs = 0;
        Parallel.For(0, 8, worker =>
        {
            var random = new Random(worker);
            for (int i = 0; i < 2000; i++)
            {
                string me = $"s/{worker}-{i}";
                if (random.Next(2) == 0) slots.TryReserve(me);
                using var slot = slots.TryClaim(me);
                if (slot is null) continue;
                if (Interlocked.Increment(ref holding[slot.Index]) != 1) Interlocked.Increment(ref violations);
                Interlocked.Increment(ref runs);
                Thread.SpinWait(random.Next(200));
                Interlocked.Decrement(ref holding[slot.Index]);
            }
        });
        Assert.Equal(0, violations);
        Assert.True(runs > 100, $"only {runs} claims succeeded");
    }
}
