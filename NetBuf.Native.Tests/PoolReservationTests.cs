using NUnit.Framework;

namespace NetBufNative.Tests;

/// <summary>
/// <see cref="NetBufPool.Reserve"/>: reservations add up to at most the capacity, a refusal names every holder and
/// what to change, a release gives the buffers back to later holders once, and racing reservations never overshoot.
/// </summary>
public sealed class PoolReservationTests
{
    [Test]
    public void Reservations_add_up_and_a_released_one_makes_room_again()
    {
        using var pool = new NetBufPool(100, 2048, new NetBufPoolOptions { Name = "shared" });
        Assert.That(pool.Reserved, Is.Zero);
        using NetBufPoolReservation first = pool.Reserve(60, "first");
        Assert.That((first.Buffers, first.Owner, first.IsReleased), Is.EqualTo((60, "first", false)));
        Assert.That(pool.Reserved, Is.EqualTo(60));
        NetBufPoolReservation second = pool.Reserve(40, "second");
        Assert.That(pool.Reserved, Is.EqualTo(100), "exactly the capacity fits");

        second.Dispose();
        Assert.That(second.IsReleased, Is.True);
        Assert.That(second.ToString(), Does.Contain("40 buffers of shared reserved by second").And.Contain("released"));
        Assert.That(pool.Reserved, Is.EqualTo(60));
        second.Dispose();
        Assert.That(pool.Reserved, Is.EqualTo(60), "a second dispose releases nothing more");
        using NetBufPoolReservation third = pool.Reserve(40, "third");
        Assert.That(pool.Reserved, Is.EqualTo(100));
        Assert.That(pool.Available, Is.EqualTo(100), "a reservation takes no buffer: it is bookkeeping");
    }

    [Test]
    public void A_reservation_past_the_capacity_is_refused_with_every_holder_and_the_capacity_needed()
    {
        using var pool = new NetBufPool(300, 2048, new NetBufPoolOptions { Name = "forwarder" });
        using NetBufPoolReservation a = pool.Reserve(128, "port A");
        using NetBufPoolReservation b = pool.Reserve(100, "port B");
        InvalidOperationException? error = Assert.Throws<InvalidOperationException>(() => pool.Reserve(128, "port C"));
        Assert.That(error!.Message, Does.Contain("forwarder cannot reserve 128 buffers for port C"));
        Assert.That(error.Message, Does.Contain("of its 300 buffers, 228 are reserved (128 by port A; 100 by port B), so 72 are left"));
        Assert.That(error.Message, Does.Contain("at least 356 buffers").And.Contain("smaller queues"));
        Assert.That(pool.Reserved, Is.EqualTo(228), "a refusal reserves nothing");

        using var tiny = new NetBufPool(10, 2048, new NetBufPoolOptions { Name = "tiny" });
        InvalidOperationException? alone = Assert.Throws<InvalidOperationException>(() => tiny.Reserve(11, "too big"));
        Assert.That(alone!.Message, Does.Contain("of its 10 buffers, none is reserved yet").And.Contain("at least 11 buffers"));
    }

    [Test]
    public void Arguments_and_a_disposed_pool_are_refused()
    {
        var pool = new NetBufPool(16, 2048);
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Reserve(0, "none"));
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Reserve(-1, "negative"));
        Assert.Throws<ArgumentNullException>(() => pool.Reserve(1, null!));
        Assert.Throws<ArgumentException>(() => pool.Reserve(1, string.Empty));
        Assert.Throws<InvalidOperationException>(() => pool.Reserve(int.MaxValue, "huge"));
        NetBufPoolReservation kept = pool.Reserve(16, "kept");
        Assert.Throws<InvalidOperationException>(() => pool.Reserve(int.MaxValue, "huge"), "no overflow past the reserved count");
        pool.Dispose();
        Assert.Throws<ObjectDisposedException>(() => pool.Reserve(1, "late"));
        kept.Dispose();
        Assert.That(pool.Reserved, Is.Zero, "released after the pool's disposal too");
    }

    [Test]
    public void Racing_reservations_never_exceed_the_capacity_and_every_release_is_counted_once()
    {
        const int Capacity = 1000;
        const int Threads = 8;
        const int Rounds = 2000;
        using var pool = new NetBufPool(Capacity, 2048);
        int overshoots = 0;
        using var start = new Barrier(Threads);
        var workers = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            var held = new List<NetBufPoolReservation>();
            start.SignalAndWait();
            for (int i = 0; i < Rounds; i++)
            {
                try
                {
                    held.Add(pool.Reserve(1 + ((i + t) % 97), $"thread {t}"));
                }
                catch (InvalidOperationException)
                {
                    // Full: release the oldest, twice (the second does nothing), and go on.
                    if (held.Count > 0)
                    {
                        held[0].Dispose();
                        held[0].Dispose();
                        held.RemoveAt(0);
                    }
                }

                if (pool.Reserved > Capacity)
                {
                    Interlocked.Increment(ref overshoots);
                }
            }

            held.ForEach(r => r.Dispose());
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => Assert.That(w.Join(TimeSpan.FromSeconds(60)), Is.True));
        Assert.That(overshoots, Is.Zero);
        Assert.That(pool.Reserved, Is.Zero, "every reservation released exactly once");
    }
}
