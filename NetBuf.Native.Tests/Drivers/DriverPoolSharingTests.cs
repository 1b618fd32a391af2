using NetBufNative.Drivers;
using NUnit.Framework;

namespace NetBufNative.Tests.Drivers;

/// <summary>
/// Drivers sharing one pool reserve their queues in it (<see cref="NetDriver.ReservePoolBuffers"/>): one that the pool
/// cannot cover besides the others is refused with a message naming each holder and what to change, rather than
/// starving a direction at run time; a disposed driver gives its reservation back. Shown over loopback drivers; the
/// Linux drivers' tests check the same for theirs.
/// </summary>
public sealed class DriverPoolSharingTests
{
    [Test]
    public void A_driver_the_pool_cannot_cover_besides_the_others_is_refused_with_every_holder_named()
    {
        // A forwarder's set-up: two ports over one pool of 100, each with queues of 32 + 32.
        using var pool = new NetBufPool(100, 2048, new NetBufPoolOptions { Name = "forwarder" });
        using var first = new LoopbackDriver(pool, queueSize: 32);
        Assert.That(pool.Reserved, Is.EqualTo(64));

        NetDriverException? error = Assert.Throws<NetDriverException>(() => new LoopbackDriver(pool, queueSize: 32));
        Assert.That(error!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
        Assert.That(error.Message, Does.Contain("forwarder cannot reserve 64 buffers for the loopback driver loop"));
        Assert.That(error.Message, Does.Contain("(receive queue 32, transmit queue 32)"));
        Assert.That(error.Message, Does.Contain($"64 are reserved (64 by the loopback driver {first.DeviceName} (receive queue 32, transmit queue 32)), so 36 are left"));
        Assert.That(error.Message, Does.Contain("at least 128 buffers").And.Contain("smaller queues"));
        Assert.That(pool.Reserved, Is.EqualTo(64), "the refused driver reserved nothing");
        Assert.That(pool.InUse, Is.Zero);
    }

    [Test]
    public void Drivers_the_pool_covers_all_run_and_fill_their_queues()
    {
        using var pool = new NetBufPool(128, 2048, new NetBufPoolOptions { Name = "fits" });
        (LoopbackDriver a, LoopbackDriver b) = LoopbackDriver.CreatePair(pool, queueSize: 32);
        using (a)
        using (b)
        {
            Assert.That(pool.Reserved, Is.EqualTo(128), "four queues of 32: the whole pool");
            foreach (LoopbackDriver end in new[] { a, b })
            {
                var posted = new NetBufPtr[32];
                Assert.That(pool.TryAllocBulk(posted), Is.True);
                Assert.That(end.RecycleRxBuffers(posted), Is.EqualTo(32), "a full receive queue for each end");
            }

            var frames = new NetBufPtr[32];
            Assert.That(pool.TryAllocBulk(frames), Is.True, "and a full transmit queue's worth besides");
            Assert.That(a.TransmitBatch(frames), Is.EqualTo(32));
            Assert.That(b.ReceiveBatch(frames), Is.EqualTo(32));
            pool.FreeBulk(frames);
        }

        Assert.That(pool.Reserved, Is.Zero);
        Assert.That(pool.InUse, Is.Zero);
    }

    [Test]
    public void Disposing_a_driver_frees_its_reservation_for_the_next()
    {
        using var pool = new NetBufPool(100, 2048, new NetBufPoolOptions { Name = "reused" });
        var first = new LoopbackDriver(pool, queueSize: 40);
        using var second = new LoopbackDriver(pool, queueSize: 10);
        Assert.That(pool.Reserved, Is.EqualTo(100));
        Assert.That(() => new LoopbackDriver(pool, queueSize: 1), Throws.TypeOf<NetDriverException>());

        first.Dispose();
        Assert.That(pool.Reserved, Is.EqualTo(20));
        first.Dispose();
        Assert.That(pool.Reserved, Is.EqualTo(20), "a second dispose releases nothing more");
        using var third = new LoopbackDriver(pool, queueSize: 40);
        Assert.That(pool.Reserved, Is.EqualTo(100));
    }

    [Test]
    public void A_pair_the_pool_cannot_cover_leaves_neither_end_reserved()
    {
        using var pool = new NetBufPool(100, 2048, new NetBufPoolOptions { Name = "pair" });
        NetDriverException? error = Assert.Throws<NetDriverException>(() => LoopbackDriver.CreatePair(pool, queueSize: 32));
        Assert.That(error!.Message, Does.Contain("64 by the loopback driver"));
        Assert.That(pool.Reserved, Is.Zero, "the first end was disposed with its reservation");
    }

    [Test]
    public void A_driver_over_a_disposed_pool_is_refused()
    {
        var pool = new NetBufPool(16, 2048);
        pool.Dispose();
        Assert.Throws<ObjectDisposedException>(() => new LoopbackDriver(pool, queueSize: 4));
    }
}
