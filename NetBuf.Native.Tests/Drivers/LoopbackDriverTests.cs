using System.Diagnostics;
using NetBufNative.Drivers;
using NUnit.Framework;

namespace NetBufNative.Tests.Drivers;

/// <summary>
/// <see cref="LoopbackDriver"/>: every member of <see cref="INetDriver"/>, queue limits, drops,
/// bad input, disposal with buffers in every state, and exact ownership accounting with the pool
/// over many thousand cycles on two threads.
/// </summary>
public sealed class LoopbackDriverTests
{
    private NetBufPool _pool = null!;

    [SetUp]
    public void SetUp() => _pool = new NetBufPool(256, 2048, new NetBufPoolOptions { DefaultHeadroom = 64, Name = "loop-test" });

    [TearDown]
    public void TearDown() => _pool.Dispose();

    [Test]
    public void A_driver_alone_receives_what_it_transmits_without_a_copy()
    {
        using var driver = new LoopbackDriver(_pool, queueSize: 8);
        Assert.That(driver.DeviceType, Is.EqualTo(DeviceType.Net));
        Assert.That(driver.DeviceName, Does.StartWith("loop"));
        Assert.That(driver.Peer, Is.SameAs(driver));
        Assert.That(driver.Pool, Is.SameAs(_pool));
        Assert.That(driver.RxQueueSize, Is.EqualTo(8));
        Assert.That(driver.TxQueueSize, Is.EqualTo(8));
        Assert.That(driver.CanReceive, Is.False);
        Assert.That(driver.CanTransmit, Is.True);
        PostRxBuffers(driver, 4);

        NetBufPtr frame = driver.AllocTxBuffer(60);
        Assert.That(frame.PacketLength, Is.EqualTo(60));
        frame.Packet.Fill(0x5A);
        nint address = frame.PacketAddress;
        Assert.That(driver.TryTransmit(frame), Is.True);
        Assert.That(driver.CanReceive, Is.True);

        Assert.That(driver.TryReceive(out NetBufPtr received), Is.True);
        Assert.That(received.PacketAddress, Is.EqualTo(address), "the same buffer, not a copy");
        using (var buf = _pool.FromBufPtr(received))
        {
            Assert.That(buf.Packet.ToArray(), Is.All.EqualTo(0x5A));
            Assert.That(buf.PacketLength, Is.EqualTo(60));
        }

        Assert.That(driver.TryReceive(out _), Is.False);
        Assert.That(driver.RecycleTxBuffers(), Is.EqualTo(1), "the posted buffer it swapped in comes back as sent");
        Assert.That(driver.RxFrames, Is.EqualTo(1));
        Assert.That(driver.TxFrames, Is.EqualTo(1));
        Assert.That(driver.HeldBuffers, Is.EqualTo(3));
        Assert.That(_pool.InUse, Is.EqualTo(3));
    }

    [Test]
    public void Two_linked_ends_carry_frames_both_ways()
    {
        var (a, b) = LoopbackDriver.CreatePair(_pool, queueSize: 16);
        using (a)
        using (b)
        {
            Assert.That(a.Peer, Is.SameAs(b));
            Assert.That(b.Peer, Is.SameAs(a));
            Assert.That(a.MacAddress, Is.Not.EqualTo(b.MacAddress));
            PostRxBuffers(a, 8);
            PostRxBuffers(b, 8);
            for (int i = 0; i < 5; i++)
            {
                Assert.That(a.TryTransmit(Frame(a, (byte)i)), Is.True);
            }

            Assert.That(a.TryTransmit(Frame(a, 0xEE)) && b.TryTransmit(Frame(b, 0xBB)), Is.True);
            Assert.That(a.CanReceive, Is.True);
            Assert.That(a.TryReceive(out var fromB), Is.True);
            Assert.That(fromB.Packet[0], Is.EqualTo(0xBB));
            _pool.FromBufPtr(fromB).Dispose();

            Span<NetBufPtr> got = stackalloc NetBufPtr[10];
            int count = b.ReceiveBatch(got);
            Assert.That(count, Is.EqualTo(6));
            for (int i = 0; i < 5; i++)
            {
                Assert.That(got[i].Packet[0], Is.EqualTo(i), "in order");
            }

            _pool.FreeBulk(got[..count]);
            Assert.That(a.RecycleTxBuffers() + b.RecycleTxBuffers(), Is.EqualTo(7));
            Assert.That(a.HeldBuffers + b.HeldBuffers, Is.EqualTo(_pool.InUse));
        }

        Assert.That(_pool.InUse, Is.Zero);
    }

    [Test]
    public void A_frame_with_no_posted_buffer_at_the_other_end_is_dropped_and_counted()
    {
        var (a, b) = LoopbackDriver.CreatePair(_pool, queueSize: 4);
        using (a)
        using (b)
        {
            Assert.That(a.TryTransmit(Frame(a, 1)), Is.True);
            Assert.That(b.RxDropped, Is.EqualTo(1));
            Assert.That(b.CanReceive, Is.False);
            Assert.That(a.RecycleTxBuffers(), Is.EqualTo(1), "the dropped frame's buffer completes");
            Assert.That(_pool.InUse, Is.Zero);
        }
    }

    [Test]
    public void Queues_are_bounded_and_full_is_false_not_an_exception()
    {
        using var driver = new LoopbackDriver(_pool, queueSize: 4);
        PostRxBuffers(driver, 4);
        var extra = _pool.Alloc().IntoBufPtr();
        Assert.That(driver.TryRecycleRxBuffer(extra), Is.False, "receive queue full");

        for (int i = 0; i < 4; i++)
        {
            Assert.That(driver.TryTransmit(Frame(driver, (byte)i)), Is.True);
        }

        // The 4 posted buffers hold frames now, and 4 sent buffers fill the transmit side.
        Assert.That(driver.CanTransmit, Is.False);
        var blocked = Frame(driver, 9);
        Assert.That(driver.TryTransmit(blocked), Is.False, "transmit queue full");
        Assert.That(driver.WaitForTransmit(TimeSpan.FromMilliseconds(1)), Is.False);
        Assert.That(driver.TransmitBatch([blocked]), Is.Zero);
        Assert.That(driver.RecycleTxBuffers(), Is.EqualTo(4));
        Assert.That(driver.CanTransmit, Is.True);
        Assert.That(driver.WaitForTransmit(TimeSpan.Zero), Is.True);

        // Posting is possible again, but the 4 received frames fill the queue of received frames:
        // a frame that finds it full is dropped, like one that finds no posted buffer.
        Assert.That(driver.TryRecycleRxBuffer(extra), Is.True);
        Assert.That(driver.TransmitBatch([blocked]), Is.EqualTo(1));
        Assert.That(driver.RxDropped, Is.EqualTo(1));
        Assert.That(driver.HeldBuffers, Is.EqualTo(_pool.InUse));
        Assert.That(driver.RecycleTxBuffers(), Is.EqualTo(1));
        Assert.That(driver.TryReceive(out var first), Is.True);
        _pool.FromBufPtr(first).Dispose();
        var again = Frame(driver, 10);
        Assert.That(driver.TryTransmit(again), Is.True);
        Assert.That(driver.RxDropped, Is.EqualTo(1), "room again: delivered into the buffer posted earlier");
    }

    [Test]
    public void Buffers_of_another_pool_stale_or_null_pointers_are_refused_and_nothing_is_taken()
    {
        using var other = new NetBufPool(4, 2048);
        using var driver = new LoopbackDriver(_pool, queueSize: 4);
        var foreign = other.Alloc().IntoBufPtr();
        var stale = _pool.Alloc().IntoBufPtr();
        _pool.FromBufPtr(stale).Dispose();
        foreach (var bad in new[] { foreign, stale, default })
        {
            var ex = Assert.Throws<NetDriverException>(() => driver.TryTransmit(bad));
            Assert.That(ex!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
            Assert.That(ex.Message, Does.Contain("not a current lending of loop-test"));
            Assert.That(Assert.Throws<NetDriverException>(() => driver.TryRecycleRxBuffer(bad))!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
            Assert.That(Assert.Throws<NetDriverException>(() => driver.TransmitBatch([bad]))!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
        }

        Assert.That(driver.HeldBuffers, Is.Zero);
        other.FromBufPtr(foreign).Dispose();
        Assert.That(_pool.InUse, Is.Zero);
    }

    [Test]
    public void AllocTxBuffer_checks_the_size_and_reports_an_empty_pool()
    {
        using var small = new NetBufPool(2, 2048, new NetBufPoolOptions { DefaultHeadroom = 48 });
        using var driver = new LoopbackDriver(small, queueSize: 1);
        Assert.That(Assert.Throws<NetDriverException>(() => driver.AllocTxBuffer(2048 - 47))!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
        Assert.That(Assert.Throws<NetDriverException>(() => driver.AllocTxBuffer(-1))!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
        var a = driver.AllocTxBuffer(2048 - 48);
        var b = driver.AllocTxBuffer(0);
        Assert.That(b.PacketLength, Is.Zero);
        var ex = Assert.Throws<NetDriverException>(() => driver.AllocTxBuffer(10));
        Assert.That(ex!.Kind, Is.EqualTo(NetDriverErrorKind.NoMemory));
        small.FreeBulk([a, b]);
    }

    [Test]
    public void A_disposed_driver_refuses_everything_and_dispose_twice_does_nothing()
    {
        var driver = new LoopbackDriver(_pool, queueSize: 64);
        var frame = driver.AllocTxBuffer(10);
        driver.Dispose();
        driver.Dispose();
        var kinds = new List<NetDriverErrorKind?>
        {
            Catch(() => driver.TryTransmit(frame)),
            Catch(() => driver.TryRecycleRxBuffer(frame)),
            Catch(() => driver.TryReceive(out _)),
            Catch(() => driver.ReceiveBatch(new NetBufPtr[1])),
            Catch(() => driver.TransmitBatch([frame])),
            Catch(() => driver.RecycleTxBuffers()),
            Catch(() => driver.AllocTxBuffer(10)),
            Catch(() => driver.WaitForReceive(TimeSpan.Zero)),
            Catch(() => driver.WaitForTransmit(TimeSpan.Zero)),
        };
        Assert.That(kinds, Is.All.EqualTo(NetDriverErrorKind.BadState));
        Assert.That(driver.CanReceive || driver.CanTransmit, Is.False);
        _pool.FromBufPtr(frame).Dispose();
        Assert.That(_pool.InUse, Is.Zero);
    }

    [Test]
    public void Dispose_with_buffers_in_every_queue_returns_each_exactly_once()
    {
        var (a, b) = LoopbackDriver.CreatePair(_pool, queueSize: 32);
        PostRxBuffers(a, 20);
        PostRxBuffers(b, 20);
        for (int i = 0; i < 12; i++)
        {
            a.TryTransmit(Frame(a, 1));
            b.TryTransmit(Frame(b, 2));
        }

        _ = a.TryReceive(out var taken);
        a.RecycleTxBuffers();
        Assert.That(_pool.InUse, Is.EqualTo(a.HeldBuffers + b.HeldBuffers + 1));
        a.Dispose();
        Assert.That(b.TryTransmit(Frame(b, 3)), Is.True, "sending to a disposed end drops");
        Assert.That(a.RxDropped, Is.EqualTo(1));
        b.Dispose();
        Assert.That(_pool.InUse, Is.EqualTo(1), "only the frame the user took is out");
        _pool.FromBufPtr(taken).Dispose();
        Assert.That(_pool.Available, Is.EqualTo(_pool.Capacity));
        HandleOwnershipTests.AssertPoolHandsOutDistinctBuffers(_pool);
    }

    [Test]
    public void WaitForReceive_times_out_is_cancellable_and_wakes_on_a_frame_from_another_thread()
    {
        var (a, b) = LoopbackDriver.CreatePair(_pool, queueSize: 8);
        using (a)
        using (b)
        {
            Assert.That(b.WaitForReceive(TimeSpan.FromMilliseconds(20)), Is.False);
            using var cancelled = new CancellationTokenSource();
            cancelled.Cancel();
            Assert.Throws<OperationCanceledException>(() => b.WaitForReceive(Timeout.InfiniteTimeSpan, cancelled.Token));

            PostRxBuffers(b, 2);
            var frame = a.AllocTxBuffer(20);
            var sender = new Thread(() =>
            {
                Thread.Sleep(50);
                a.TryTransmit(frame);
            });
            var clock = Stopwatch.StartNew();
            sender.Start();
            Assert.That(b.WaitForReceive(TimeSpan.FromSeconds(10)), Is.True);
            sender.Join();
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)));
            Assert.That(b.TryReceive(out var got), Is.True);
            _pool.FromBufPtr(got).Dispose();
            a.RecycleTxBuffers();
        }

        Assert.That(_pool.InUse, Is.Zero);
    }

    [Test]
    public void Many_thousand_cycles_on_two_threads_lose_and_duplicate_nothing()
    {
        const int Frames = 20_000;
        var (a, b) = LoopbackDriver.CreatePair(_pool, queueSize: 64);
        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        long receivedSum = 0;
        int received = 0;
        PostRxBuffers(b, 64); // before the sender starts; the receiver thread takes over b from here
        var receiver = new Thread(() => ConcurrencyStressTests.Guard(errors, () =>
        {
            var clock = Stopwatch.StartNew();
            Span<NetBufPtr> burst = stackalloc NetBufPtr[16];
            while (Volatile.Read(ref received) + (int)b.RxDropped < Frames && clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                int count = b.ReceiveBatch(burst);
                if (count == 0)
                {
                    b.WaitForReceive(TimeSpan.FromMilliseconds(5));
                    continue;
                }

                for (int i = 0; i < count; i++)
                {
                    using var frame = _pool.FromBufPtr(burst[i]);
                    receivedSum += BitConverter.ToInt32(frame.Packet);
                    Interlocked.Increment(ref received);
                    var empty = frame.IntoBufPtr();
                    if (!b.TryRecycleRxBuffer(empty))
                    {
                        errors.Enqueue("the receive queue refused a buffer it had room for");
                    }
                }
            }
        }));
        receiver.Start();

        long sentSum = 0;
        var deadline = Stopwatch.StartNew();
        for (int i = 0; i < Frames; i++)
        {
            // Flow control: at most 48 frames in flight, fewer than the 64 buffers the receiver
            // posts, so a frame never finds the receiver without a buffer.
            while (i - Volatile.Read(ref received) >= 48 && deadline.Elapsed < TimeSpan.FromSeconds(30))
            {
                Thread.Yield();
            }

            var frame = a.AllocTxBuffer(64);
            BitConverter.TryWriteBytes(frame.Packet, i);
            while (!a.TryTransmit(frame))
            {
                Assert.That(deadline.Elapsed, Is.LessThan(TimeSpan.FromSeconds(30)), "the transmit queue never drained");
                a.RecycleTxBuffers();
            }

            sentSum += i;
            if ((i & 15) == 0)
            {
                a.RecycleTxBuffers();
            }
        }

        receiver.Join();
        a.RecycleTxBuffers();
        Assert.That(errors, Is.Empty);
        Assert.That(b.RxDropped, Is.Zero, "flow control kept a posted buffer ready for every frame");
        Assert.That(received, Is.EqualTo(Frames), "every frame received");
        Assert.That(receivedSum, Is.EqualTo(sentSum), "each frame arrived once, intact");

        Assert.That(_pool.InUse, Is.EqualTo(a.HeldBuffers + b.HeldBuffers), "the pool's count matches what the drivers hold");
        a.Dispose();
        b.Dispose();
        Assert.That(_pool.InUse, Is.Zero);
    }

    private static NetDriverErrorKind? Catch(Action action)
    {
        try
        {
            action();
            return null;
        }
        catch (NetDriverException ex)
        {
            return ex.Kind;
        }
    }

    private static NetBufPtr Frame(LoopbackDriver driver, byte fill)
    {
        var frame = driver.AllocTxBuffer(60);
        frame.Packet.Fill(fill);
        return frame;
    }

    private static void PostRxBuffers(LoopbackDriver driver, int count)
    {
        for (int i = 0; i < count; i++)
        {
            Assert.That(driver.TryRecycleRxBuffer(driver.Pool.Alloc().IntoBufPtr()), Is.True);
        }
    }
}
