using System.Diagnostics;
using NetBufNative.Drivers;
using NetBufNative.Processing;
using NUnit.Framework;

namespace NetBufNative.Tests.Processing;

/// <summary>
/// <see cref="PacketLoop"/> over loopback ports: two hosts, each on a cable to one port of the loop, so every frame a
/// host sends reaches the loop and every frame the loop sends reaches a host. Forwarding byte for byte, the handler's
/// decisions, back-pressure, errors, stopping, and every buffer back in the pool at the end.
/// </summary>
public sealed class PacketLoopTests
{
    private const int Queue = 32;

    private NetBufPool _pool = null!;
    private LoopbackDriver _hostA = null!;
    private LoopbackDriver _portA = null!;
    private LoopbackDriver _hostB = null!;
    private LoopbackDriver _portB = null!;

    [SetUp]
    public void SetUp()
    {
        _pool = new NetBufPool(1024, 2048, new NetBufPoolOptions { Name = "loop-ports" });
        (_hostA, _portA) = LoopbackDriver.CreatePair(_pool, Queue);
        (_hostB, _portB) = LoopbackDriver.CreatePair(_pool, Queue);
    }

    [TearDown]
    public void TearDown()
    {
        _hostA.Dispose();
        _portA.Dispose();
        _hostB.Dispose();
        _portB.Dispose();
        Assert.That(_pool.InUse, Is.Zero, "every buffer is back once the drivers are disposed");
        _pool.Dispose();
    }

    [Test]
    public void A_bridge_forwards_frames_both_ways_byte_for_byte_from_the_buffers_they_arrived_in()
    {
        using var loop = new PacketLoop([_portA, _portB], batch => batch.TransmitAll(1 - batch.Port));
        Assert.That(loop.Ports, Is.EqualTo(new INetDriver[] { _portA, _portB }));
        Assert.That(loop.Pool, Is.SameAs(_pool));
        Post(_hostA, Queue);
        Post(_hostB, Queue);
        Assert.That(loop.RunOnce(), Is.Zero, "the first turn posts the ports' receive queues");

        var sentAtoB = new List<byte[]>();
        var sentBtoA = new List<byte[]>();
        for (int round = 0; round < 20; round++)
        {
            sentAtoB.Add(Send(_hostA, 60 + round));
            sentBtoA.Add(Send(_hostB, 1000 + round));
        }

        var gotAtB = new List<byte[]>();
        var gotAtA = new List<byte[]>();
        for (int turn = 0; turn < 50 && (gotAtB.Count < 20 || gotAtA.Count < 20); turn++)
        {
            _ = loop.RunOnce();
            gotAtB.AddRange(ReceiveAll(_hostB));
            gotAtA.AddRange(ReceiveAll(_hostA));
        }

        Assert.That(gotAtB, Is.EqualTo(sentAtoB), "A to B, in order, byte for byte");
        Assert.That(gotAtA, Is.EqualTo(sentBtoA), "B to A");
        Assert.That(loop.Counters[0].Received, Is.EqualTo(20));
        Assert.That(loop.Counters[0].Transmitted, Is.EqualTo(20));
        Assert.That(loop.Counters[1].Received, Is.EqualTo(20));
        Assert.That(loop.Counters[1].Transmitted, Is.EqualTo(20));
        Assert.That(loop.Counters[0].HandlerDrops + loop.Counters[0].TxFullDrops + loop.Counters[0].Errors, Is.Zero, loop.Counters[0].ToString());
        Assert.That(_pool.InUse, Is.EqualTo(HeldByDrivers()), "the loop holds nothing between turns");
    }

    [Test]
    public void A_second_loop_over_ports_another_filled_takes_their_queues_as_full_instead_of_churning_the_pool()
    {
        using (var first = new PacketLoop([_portA], _ => { }))
        {
            _ = first.RunOnce();
        }

        Assert.That(_portA.HeldBuffers, Is.EqualTo(Queue), "the first loop filled the queue");
        using var second = new PacketLoop([_portA], _ => { });
        _ = second.RunOnce();
        long allocations = _pool.GetStatistics().TotalAllocations;
        for (int i = 0; i < 10; i++)
        {
            _ = second.RunOnce();
        }

        Assert.That(_pool.GetStatistics().TotalAllocations - allocations, Is.Zero, "no buffer allocated and freed per turn");
        Assert.That(second.PostedBuffers(0), Is.EqualTo(Queue));
    }

    [Test]
    public void Frames_the_handler_leaves_undecided_are_dropped_and_counted()
    {
        using var loop = new PacketLoop([_portA], _ => { });
        _ = loop.RunOnce();
        for (int i = 0; i < 5; i++)
        {
            _ = Send(_hostA, 64);
        }

        Assert.That(loop.RunOnce(), Is.EqualTo(5));
        Assert.That(loop.Counters[0].HandlerDrops, Is.EqualTo(5));
        Assert.That(loop.Counters[0].Transmitted, Is.Zero);
        Assert.That(_pool.InUse, Is.EqualTo(HeldByDrivers()));
    }

    [Test]
    public void A_reflector_rewrites_frames_in_place_and_sends_them_back_on_their_own_port()
    {
        using var loop = new PacketLoop([_portA], batch =>
        {
            for (int i = 0; i < batch.Count; i++)
            {
                batch.Frame(i)[0] ^= 0xFF;
                batch.Transmit(i, batch.Port);
            }
        });
        Post(_hostA, Queue);
        _ = loop.RunOnce();
        byte[] sent = Send(_hostA, 80);
        _ = loop.RunOnce();
        byte[] reply = ReceiveAll(_hostA).Single();
        sent[0] ^= 0xFF;
        Assert.That(reply, Is.EqualTo(sent));
    }

    [Test]
    public void A_kept_frame_is_the_handlers_and_comes_back_through_send()
    {
        var kept = new List<NetBufPtr>();
        using var loop = new PacketLoop([_portA, _portB], batch =>
        {
            if (batch.Port == 0)
            {
                kept.Add(batch.Keep(0));
                Assert.Throws<InvalidOperationException>(() => batch.Transmit(0, 1), "a kept frame is no longer the loop's to send");
            }
            else
            {
                // A later batch: send what was kept, on port A's peer side (port 1 here).
                foreach (NetBufPtr frame in kept)
                {
                    batch.Send(frame, 0);
                }

                kept.Clear();
            }
        });
        Post(_hostA, Queue);
        _ = loop.RunOnce();
        byte[] first = Send(_hostA, 70);
        _ = loop.RunOnce();
        Assert.That(kept, Has.Count.EqualTo(1));
        Assert.That(_pool.IsLent(kept[0]), Is.True);
        _ = Send(_hostB, 60);
        _ = loop.RunOnce();
        Assert.That(ReceiveAll(_hostA).Single(), Is.EqualTo(first), "the kept frame went out whole");
        Assert.That(loop.Counters[1].HandlerDrops, Is.EqualTo(1), "the trigger frame was dropped");
    }

    [Test]
    public void Send_refuses_a_buffer_that_is_not_lent_and_takes_nothing()
    {
        ArgumentException? refused = null;
        using var loop = new PacketLoop([_portA], batch =>
        {
            NetBufPtr frame = batch.Keep(0);
            _pool.FreeBulk([frame]);
            refused = Assert.Throws<ArgumentException>(() => batch.Send(frame, 0));
            Assert.Throws<ArgumentOutOfRangeException>(() => batch.Transmit(0, 5));
            Assert.Throws<ArgumentOutOfRangeException>(() => batch.Frame(batch.Count));
        });
        _ = loop.RunOnce();
        _ = Send(_hostA, 64);
        _ = loop.RunOnce();
        Assert.That(refused, Is.Not.Null);
        Assert.That(refused!.Message, Does.Contain("not a buffer lent by loop-ports"));
    }

    [Test]
    public void A_port_whose_transmit_queue_stays_full_drops_the_rest_and_counts_it_without_a_leak()
    {
        // Port B's host posts no buffers, so B drops what it sends at once, but B's sent buffers wait for the
        // loop's recycle: the loop sends 3 bursts of up to 32 into a queue of 32.
        using var loop = new PacketLoop([_portA, _portB], batch => batch.TransmitAll(1), new PacketLoopOptions { BurstSize = 32 });
        _ = loop.RunOnce();
        for (int i = 0; i < Queue; i++)
        {
            _ = Send(_hostA, 64);
        }

        _ = loop.RunOnce();
        Assert.That(loop.Counters[1].Transmitted + loop.Counters[1].TxFullDrops, Is.EqualTo(Queue));
        Assert.That(_pool.InUse, Is.EqualTo(HeldByDrivers()));
    }

    [Test]
    public void A_frame_too_long_for_the_egress_port_drops_alone()
    {
        // An egress device whose frames end at 100 bytes (as a smaller MTU would).
        using var narrow = new NetBufNative.Tests.Drivers.FakeDevice(_pool, maxFrameLength: 100);
        using var loop = new PacketLoop([_portA, narrow], batch => batch.TransmitAll(1));
        _ = loop.RunOnce();
        _ = Send(_hostA, 64);
        _ = Send(_hostA, 200);
        _ = Send(_hostA, 64);
        Assert.That(loop.RunOnce(), Is.EqualTo(3));
        Assert.That(loop.Counters[1].Transmitted, Is.EqualTo(2), "the frames that fit went out");
        Assert.That(loop.Counters[1].TxErrorDrops, Is.EqualTo(1), "the long one dropped alone");
        Assert.That(loop.Counters[1].Errors, Is.EqualTo(1));
        Assert.That(loop.Counters[1].LastError!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
        Assert.That(_pool.InUse, Is.EqualTo(HeldByDrivers() + narrow.HeldBuffers));
    }

    [Test]
    public void An_exception_of_the_handler_ends_the_run_after_the_batch_went_back_to_the_pool()
    {
        using var loop = new PacketLoop([_portA], _ => throw new InvalidOperationException("handler bug"));
        _ = loop.RunOnce();
        _ = Send(_hostA, 64);
        _ = Send(_hostA, 64);
        var error = Assert.Throws<InvalidOperationException>(() => loop.RunOnce());
        Assert.That(error!.Message, Is.EqualTo("handler bug"));
        Assert.That(_pool.InUse, Is.EqualTo(HeldByDrivers()), "the two frames were freed");
        Assert.That(loop.IsRunning, Is.False);
    }

    [Test]
    public void A_port_disposed_during_a_run_ends_it_with_bad_state_and_the_loop_holds_nothing()
    {
        using var loop = new PacketLoop([_portA, _portB], batch => batch.TransmitAll(1 - batch.Port), new PacketLoopOptions { PollingMode = PollingMode.Blocking });
        Post(_hostB, Queue);
        Task run = loop.Start();
        Assert.That(SpinUntil(() => _portA.HeldBuffers == Queue), Is.True, "the loop posted its ports");
        _ = Send(_hostA, 64);
        Assert.That(SpinUntil(() => ReceiveAll(_hostB).Length > 0), Is.True, "forwarding works before the fault");
        _portB.Dispose();
        Assert.That(((IAsyncResult)run).AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(10)), Is.True, "the run ended");
        var error = run.Exception?.InnerException as NetDriverException;
        Assert.That(error, Is.Not.Null, run.Exception?.ToString());
        Assert.That(error!.Kind, Is.EqualTo(NetDriverErrorKind.BadState));
        Assert.That(loop.Counters[1].LastError, Is.SameAs(error));
        Assert.That(_pool.InUse, Is.EqualTo(HeldByDrivers()));
    }

    [Test]
    public void Ports_must_share_one_pool_and_be_listed_once()
    {
        using var other = new NetBufPool(64, 2048, new NetBufPoolOptions { Name = "other" });
        using var foreign = new LoopbackDriver(other, 8);
        var error = Assert.Throws<ArgumentException>(() => new PacketLoop([_portA, foreign], _ => { }));
        Assert.That(error!.Message, Does.Contain("share one pool").And.Contain("loop-ports").And.Contain("other"));
        Assert.Throws<ArgumentException>(() => new PacketLoop([_portA, _portA], _ => { }));
        Assert.Throws<ArgumentException>(() => new PacketLoop(Array.Empty<INetDriver>(), _ => { }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PacketLoop([_portA], _ => { }, new PacketLoopOptions { BurstSize = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PacketLoop([_portA], _ => { }, new PacketLoopOptions { BurstSize = PacketLoopOptions.MaxBurstSize + 1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PacketLoop([_portA], _ => { }, new PacketLoopOptions { Cpu = Environment.ProcessorCount }));
        Assert.Throws<ArgumentNullException>(() => new PacketLoop([_portA], (Action<PacketBatch>)null!));
    }

    [Test]
    public void A_loop_runs_once_at_a_time_and_not_after_dispose()
    {
        var loop = new PacketLoop([_portA], _ => { }, new PacketLoopOptions { PollingMode = PollingMode.Blocking });
        Task run = loop.Start();
        Assert.That(SpinUntil(() => loop.IsRunning), Is.True);
        Assert.Throws<InvalidOperationException>(() => loop.RunOnce());
        Assert.Throws<InvalidOperationException>(() => loop.Start());
        loop.Stop();
        Assert.That(run.Wait(TimeSpan.FromSeconds(5)), Is.True, "Stop wakes a sleeping run");
        Assert.That(loop.IsRunning, Is.False);
        loop.Dispose();
        Assert.Throws<ObjectDisposedException>(() => loop.RunOnce());
        Assert.Throws<ObjectDisposedException>(() => loop.Start());
    }

    [TestCase(PollingMode.Blocking)]
    [TestCase(PollingMode.Adaptive)]
    public void An_idle_loop_sleeps_and_wakes_on_either_port(PollingMode mode)
    {
        if (!ThreadCpuTime.IsSupported)
        {
            Assert.Ignore("Needs Linux's per-thread CPU times (/proc/thread-self).");
        }

        using var loop = new PacketLoop([_portA, _portB], batch => batch.TransmitAll(1 - batch.Port), new PacketLoopOptions { PollingMode = mode });
        Post(_hostA, Queue);
        Post(_hostB, Queue);
        ThreadCpuTime? cpu = null;
        var run = new Thread(() =>
        {
            cpu = ThreadCpuTime.OfCurrentThread();
            loop.Run();
        });
        run.Start();
        Assert.That(SpinUntil(() => cpu is not null && _portA.HeldBuffers == Queue && _portB.HeldBuffers == Queue), Is.True, "the loop posted its ports");

        // Idle for 500 ms: a spinning loop's thread would burn about 500 ms of CPU, a sleeping one a few wake-ups'
        // worth. The bound (50 ms) is far from both: not a speed limit.
        TimeSpan before = cpu!.Read();
        Thread.Sleep(500);
        TimeSpan idleCpu = cpu.Read() - before;
        Assert.That(idleCpu, Is.LessThan(TimeSpan.FromMilliseconds(50)), "an idle loop sleeps");

        byte[] toB = Send(_hostA, 90);
        Assert.That(SpinUntil(() => ReceiveAll(_hostB) is { Length: > 0 } got && got[0].SequenceEqual(toB)), Is.True, "woken by port A");
        byte[] toA = Send(_hostB, 91);
        Assert.That(SpinUntil(() => ReceiveAll(_hostA) is { Length: > 0 } got && got[0].SequenceEqual(toA)), Is.True, "woken by port B");
        loop.Stop();
        Assert.That(run.Join(TimeSpan.FromSeconds(5)), Is.True);
    }

    [Test]
    public void A_loop_started_with_a_cpu_runs_its_handler_on_that_cpu_only()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Ignore("Pinning is implemented on Linux only.");
        }

        int cpu = Environment.ProcessorCount - 1;
        var seen = new System.Collections.Concurrent.ConcurrentBag<int>();
        string? allowed = null;
        using var loop = new PacketLoop([_portA], batch =>
        {
            seen.Add(Thread.GetCurrentProcessorId());

            // The thread's affinity as the kernel keeps it ("Cpus_allowed_list:\t1"), not only where it happened to run.
            allowed ??= File.ReadLines("/proc/thread-self/status").First(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal)).Split(':')[1].Trim();
        }, new PacketLoopOptions { Cpu = cpu, PollingMode = PollingMode.Blocking });
        Task run = loop.Start();
        Assert.That(SpinUntil(() => _portA.HeldBuffers == Queue), Is.True, "the loop posted its port");
        for (int i = 0; i < 5; i++)
        {
            _ = Send(_hostA, 64);
            Assert.That(SpinUntil(() => seen.Count > i), Is.True);
        }

        loop.Stop();
        Assert.That(run.Wait(TimeSpan.FromSeconds(5)), Is.True);
        Assert.That(allowed, Is.EqualTo(cpu.ToString(System.Globalization.CultureInfo.InvariantCulture)), "the loop's thread may run on that CPU only");
        Assert.That(seen, Is.All.EqualTo(cpu), "and it did");
    }

    [Test]
    public void A_busy_polling_loop_forwards_and_stops_on_cancellation()
    {
        using var loop = new PacketLoop([_portA, _portB], batch => batch.TransmitAll(1 - batch.Port), new PacketLoopOptions { PollingMode = PollingMode.BusyPoll });
        Post(_hostB, Queue);
        using var cancel = new CancellationTokenSource();
        var run = Task.Factory.StartNew(() => loop.Run(cancel.Token), TaskCreationOptions.LongRunning);
        Assert.That(SpinUntil(() => _portA.HeldBuffers == Queue), Is.True, "the loop posted its ports");
        byte[] sent = Send(_hostA, 100);
        Assert.That(SpinUntil(() => ReceiveAll(_hostB) is { Length: > 0 } got && got[0].SequenceEqual(sent)), Is.True);
        cancel.Cancel();
        Assert.That(run.Wait(TimeSpan.FromSeconds(5)), Is.True, "cancellation ends the run normally");
        Assert.That(run.IsCompletedSuccessfully, Is.True);
    }

    private static bool SpinUntil(Func<bool> condition) => SpinWait.SpinUntil(condition, TimeSpan.FromSeconds(10));

    private static void Post(LoopbackDriver host, int count)
    {
        for (int i = 0; i < count; i++)
        {
            NetBufPtr buffer = host.Pool.Alloc().IntoBufPtr();
            Assert.That(host.TryRecycleRxBuffer(buffer), Is.True);
        }
    }

    private static byte[] Send(LoopbackDriver host, int length)
    {
        _ = host.RecycleTxBuffers();
        NetBufPtr frame = host.AllocTxBuffer(length);
        for (int i = 0; i < length; i++)
        {
            frame.Packet[i] = (byte)(length + i);
        }

        byte[] bytes = frame.Packet.ToArray();
        Assert.That(host.TryTransmit(frame), Is.True);
        return bytes;
    }

    private static byte[][] ReceiveAll(LoopbackDriver host)
    {
        var frames = new List<byte[]>();
        while (host.TryReceive(out NetBufPtr frame))
        {
            frames.Add(frame.PacketWithHeader.ToArray());
            host.Pool.FreeBulk([frame]);
            NetBufPtr fresh = host.Pool.Alloc().IntoBufPtr();
            if (!host.TryRecycleRxBuffer(fresh))
            {
                host.Pool.FreeBulk([fresh]);
            }
        }

        return [.. frames];
    }

    private int HeldByDrivers() => _hostA.HeldBuffers + _portA.HeldBuffers + _hostB.HeldBuffers + _portB.HeldBuffers;
}
