using NetBufNative.Drivers;
using NUnit.Framework;

namespace NetBufNative.Tests.Drivers;

/// <summary>
/// Every promise of <see cref="INetDriver"/>'s documentation, checked the same way on every driver:
/// frames both ways byte for byte, the hand-over of a buffer checked by the pool (a copy the caller
/// kept goes stale at once: a second post, a free, a restore or a transmit of it throws), the
/// partial-batch rule, bad pointers, disposal (of the driver, racing its members, and of the pool
/// first) and, on the Linux drivers, the interface deleted, set down or given a smaller MTU while in
/// use. After each, every buffer is back in the pool once everything is disposed.
/// </summary>
[TestFixtureSource(typeof(ConformanceRig), nameof(ConformanceRig.Kinds))]
[NonParallelizable]
public sealed class DriverConformanceTests(string kind)
{
    private ConformanceRig _rig = null!;

    private INetDriver Driver => _rig.Driver;

    private NetBufPool Pool => _rig.Pool;

    [SetUp]
    public void SetUp() => _rig = ConformanceRig.Create(kind);

    [TearDown]
    public void TearDown() => _rig?.Dispose();

    [Test]
    public void Frames_go_both_ways_byte_for_byte()
    {
        _rig.Post(8);
        byte[] outgoing = ConformanceRig.Frame(200, 1);
        NetBufPtr tx = Driver.AllocTxBuffer(outgoing.Length);
        outgoing.CopyTo(tx.Packet);
        Assert.That(Driver.TryTransmit(tx), Is.True);
        Assert.That(_rig.TakeSent(ConformanceRig.FrameTimeout), Is.EqualTo(outgoing), "the peer got the frame byte for byte");

        byte[] incoming = ConformanceRig.Frame(300, 2);
        _rig.Inject(incoming);
        NetBufPtr rx = _rig.ReceiveTestFrame();
        Assert.That(rx.Packet.ToArray(), Is.EqualTo(incoming), "the driver got the frame byte for byte");
        Pool.FromBufPtr(rx).Dispose();
        _rig.AssertAllBackAfterDispose();
    }

    [Test]
    public void A_buffer_posted_twice_is_refused_and_the_kept_copy_is_stale()
    {
        NetBufPtr buffer = _rig.AllocPointer();
        Assert.That(Driver.TryRecycleRxBuffer(buffer), Is.True);
        var second = Assert.Throws<NetDriverException>(() => Driver.TryRecycleRxBuffer(buffer));
        Assert.That(second!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
        Assert.That(Pool.IsLent(buffer), Is.False, "the caller's copy went stale at the hand-over");
        Assert.Throws<InvalidOperationException>(() => Pool.FromBufPtr(buffer));
        Assert.Throws<InvalidOperationException>(() => Pool.FreeBulk([buffer]));
        Assert.Throws<NetDriverException>(() => Driver.TryTransmit(buffer));

        // The posted buffer still receives, and comes back under a fresh pointer of the caller's.
        byte[] incoming = ConformanceRig.Frame(100, 3);
        _rig.Inject(incoming);
        NetBufPtr received = _rig.ReceiveTestFrame();
        if (_rig.HasInterface)
        {
            // A loopback end swaps buffers with its peer instead; a device writes into the posted one.
            Assert.That(received.BufferIndex, Is.EqualTo(buffer.BufferIndex), "received into the posted buffer");
        }

        Assert.That(received, Is.Not.EqualTo(buffer));
        Assert.That(received.Packet.ToArray(), Is.EqualTo(incoming));
        Pool.FromBufPtr(received).Dispose();
        _rig.AssertAllBackAfterDispose();
    }

    [Test]
    public void A_buffer_freed_after_its_transmit_is_detected_at_the_free()
    {
        NetBufPtr tx = _rig.AllocFrame(ConformanceRig.Frame(120, 4));
        NetBufPtr other = _rig.AllocFrame(ConformanceRig.Frame(120, 5));
        Assert.That(Driver.TransmitBatch([tx, other]), Is.EqualTo(2));
        Assert.Throws<InvalidOperationException>(() => Pool.FreeBulk([tx]), "the kept copy is stale");
        Assert.Throws<InvalidOperationException>(() => Pool.FromBufPtr(other));
        var again = Assert.Throws<NetDriverException>(() => Driver.TryTransmit(tx));
        Assert.That(again!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
        Assert.That(_rig.TakeSent(ConformanceRig.FrameTimeout), Is.Not.Null);
        Assert.That(_rig.TakeSent(ConformanceRig.FrameTimeout), Is.Not.Null);
        _rig.RecycleUntil(2);
        _rig.AssertAllBackAfterDispose();
    }

    [Test]
    public void A_buffer_listed_twice_in_one_batch_is_sent_once()
    {
        NetBufPtr tx = _rig.AllocFrame(ConformanceRig.Frame(90, 6));
        int taken;
        try
        {
            taken = Driver.TransmitBatch([tx, tx]);
        }
        catch (NetDriverException e) when (e.Kind == NetDriverErrorKind.InvalidParam)
        {
            taken = 0;
            Assert.That(Pool.IsLent(tx), Is.True, "an exception: nothing was taken");
            Pool.FreeBulk([tx]);
        }

        Assert.That(taken, Is.LessThanOrEqualTo(1), "one buffer is one frame");
        _rig.AssertAllBackAfterDispose();
    }

    [Test]
    public void Null_foreign_and_stale_pointers_are_refused_and_nothing_is_taken()
    {
        using var other = new NetBufPool(4, 2048);
        NetBufPtr foreign = other.Alloc().IntoBufPtr();
        NetBufPtr stale = _rig.AllocPointer();
        NetBufPtr kept = stale;
        Pool.FreeBulk([stale]);
        NetBufPtr good = _rig.AllocFrame(ConformanceRig.Frame(64, 7));
        foreach (NetBufPtr bad in new[] { default, foreign, kept })
        {
            Assert.That(Assert.Throws<NetDriverException>(() => Driver.TryRecycleRxBuffer(bad))!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
            Assert.That(Assert.Throws<NetDriverException>(() => Driver.TryTransmit(bad))!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
            Assert.That(Assert.Throws<NetDriverException>(() => Driver.TransmitBatch([good, bad]))!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
            Assert.That(Pool.IsLent(good), Is.True, "the good frame before the bad one was not taken");
        }

        Pool.FreeBulk([good]);
        other.FromBufPtr(foreign).Dispose();
        _rig.AssertAllBackAfterDispose();
    }

    [Test]
    public void AllocTxBuffer_after_the_pool_is_disposed_throws_a_driver_exception()
    {
        Pool.Dispose();
        var ex = Assert.Throws<NetDriverException>(() => Driver.AllocTxBuffer(64));
        Assert.That(ex!.Kind, Is.EqualTo(NetDriverErrorKind.BadState));
    }

    [Test]
    public void A_pool_disposed_before_its_driver_gets_every_buffer_back_at_the_drivers_dispose()
    {
        _rig.Post(16);
        NetBufPtr tx = _rig.AllocFrame(ConformanceRig.Frame(64, 8));
        Assert.That(Driver.TryTransmit(tx), Is.True);
        Pool.Dispose();
        Assert.DoesNotThrow(() => Driver.Dispose());
        Assert.That(Pool.InUse - _rig.PeerHeld, Is.Zero);
    }

    [Test]
    public void Every_member_of_a_disposed_driver_throws_bad_state_and_dispose_twice_is_harmless()
    {
        NetBufPtr buffer = _rig.AllocPointer();
        Driver.Dispose();
        Assert.DoesNotThrow(() => Driver.Dispose());
        Assert.That(Driver.CanReceive, Is.False);
        Assert.That(Driver.CanTransmit, Is.False);
        foreach (TestDelegate call in new TestDelegate[]
        {
            () => Driver.TryRecycleRxBuffer(buffer),
            () => Driver.TryTransmit(buffer),
            () => Driver.TransmitBatch([buffer]),
            () => Driver.TryReceive(out _),
            () => Driver.ReceiveBatch(new NetBufPtr[4]),
            () => Driver.RecycleTxBuffers(),
            () => Driver.AllocTxBuffer(64),
            () => Driver.WaitForReceive(TimeSpan.Zero),
            () => Driver.WaitForTransmit(TimeSpan.Zero),
        })
        {
            Assert.That(Assert.Throws<NetDriverException>(call)!.Kind, Is.EqualTo(NetDriverErrorKind.BadState));
        }

        Assert.That(Pool.IsLent(buffer), Is.True, "nothing was taken");
        Pool.FreeBulk([buffer]);
        Assert.That(Pool.InUse - _rig.PeerHeld, Is.Zero);
    }

    [Test]
    public void Dispose_racing_every_member_loses_no_buffer_and_throws_only_bad_state()
    {
        _rig.Post(16);
        var failures = new List<Exception>();
        using var started = new ManualResetEventSlim();
        var worker = new Thread(() =>
        {
            var batch = new NetBufPtr[8];
            NetBufPtr mine = default;
            started.Set();
            try
            {
                for (int i = 0; i < 100_000; i++)
                {
                    mine = Driver.AllocTxBuffer(64);
                    ConformanceRig.Frame(64, 9).CopyTo(mine.Packet);
                    if (!Driver.TryTransmit(mine))
                    {
                        Pool.FreeBulk([mine]);
                    }

                    mine = default;
                    _ = Driver.RecycleTxBuffers();
                    int n = Driver.ReceiveBatch(batch);
                    for (int j = 0; j < n; j++)
                    {
                        mine = batch[j];
                        if (!Driver.TryRecycleRxBuffer(mine))
                        {
                            Pool.FreeBulk([mine]);
                        }

                        mine = default;
                    }

                    _ = Driver.CanReceive;
                    _ = Driver.CanTransmit;
                    _ = Driver.WaitForReceive(TimeSpan.Zero);
                }
            }
            catch (NetDriverException e) when (e.Kind == NetDriverErrorKind.BadState)
            {
                // The dispose won: the expected end. An exception took nothing: the buffer in hand is still ours
                // (and so are the received ones not yet re-posted).
                _ = Pool.TryFree(mine);
                foreach (NetBufPtr left in batch)
                {
                    _ = Pool.TryFree(left);
                }
            }
            catch (Exception e)
            {
                lock (failures)
                {
                    failures.Add(e);
                }
            }
        });
        worker.Start();
        started.Wait();
        Thread.Sleep(20);
        Driver.Dispose();
        Assert.That(worker.Join(TimeSpan.FromSeconds(30)), Is.True, "the worker ended");
        Assert.That(failures, Is.Empty);
        Assert.That(Pool.InUse - _rig.PeerHeld, Is.Zero, "the dispose returned every buffer, the worker every one it held");
    }

    [Test]
    public void A_wait_on_another_thread_ends_with_bad_state_at_dispose()
    {
        _rig.Post(4);
        Exception? ended = null;
        var waiter = new Thread(() =>
        {
            try
            {
                _ = Driver.WaitForReceive(Timeout.InfiniteTimeSpan);
            }
            catch (Exception e)
            {
                ended = e;
            }
        });
        waiter.Start();
        Thread.Sleep(50);
        Driver.Dispose();
        Assert.That(waiter.Join(TimeSpan.FromSeconds(5)), Is.True, "the wait ended");
        Assert.That(ended, Is.TypeOf<NetDriverException>());
        Assert.That(((NetDriverException)ended!).Kind, Is.EqualTo(NetDriverErrorKind.BadState));
        Assert.That(Pool.InUse - _rig.PeerHeld, Is.Zero);
    }
}
