using System.Collections.Concurrent;
using System.Diagnostics;
using NetBufNative.Drivers;
using NetBufNative.Drivers.Linux;
using NUnit.Framework;

namespace NetBufNative.Tests.Drivers.Linux;

/// <summary>
/// <see cref="AfPacketDriver"/> end to end: a veth pair inside a namespace made for the test, the
/// kernel answering on one end, the driver's socket bound to the other; single and batched
/// (recvmmsg/sendmmsg) traffic checked byte for byte, its own frames filtered out, a fanout group of
/// two sockets on two threads over one pool, bad input, waits, disposal with exact pool counts.
/// </summary>
[NonParallelizable]
[TestFixture(false)]
[TestFixture(true)]
public sealed class AfPacketDriverTests
{
    /// <summary>Whether the driver receives through its ring (<see cref="AfPacketDriverOptions.ReceiveRing"/>): every test runs both ways.</summary>
    private readonly bool _ring;

    public AfPacketDriverTests(bool ring) => _ring = ring;

    private const string KernelEnd = "nbk0";
    private const string DriverEnd = "nbd0";
    private TestNamespace _ns = null!;
    private NetBufPool _pool = null!;
    private NetBufNative.Wire.MacAddress _kernelMac;

    [SetUp]
    public void SetUp()
    {
        _ns = TestNamespace.Create();
        _ns.AddVethPair(KernelEnd, DriverEnd);
        _ns.AssignKernelAddress(KernelEnd);
        _kernelMac = TestFrames.ParseMac(_ns.MacOf(KernelEnd));
        _pool = new NetBufPool(256, 2048, new NetBufPoolOptions { DefaultHeadroom = 64, Name = "afpacket-test" });
    }

    [TearDown]
    public void TearDown()
    {
        _pool?.Dispose();
        _ns?.Dispose();
    }

    /// <summary>The receive ring is the default; <see cref="AfPacketDriverOptions.ReceiveRing"/> off gives <c>recvmmsg</c>.</summary>
    [Test]
    public void The_receive_ring_is_the_default_and_can_be_turned_off()
    {
        Assert.That(new AfPacketDriverOptions().ReceiveRing, Is.True);
        AfPacketDriverOptions options = _ring
            ? new AfPacketDriverOptions { NetworkNamespace = _ns.Name, RxQueueSize = 16, TxQueueSize = 16 }
            : new AfPacketDriverOptions { NetworkNamespace = _ns.Name, RxQueueSize = 16, TxQueueSize = 16, ReceiveRing = false };
        using var driver = new AfPacketDriver(_pool, DriverEnd, options);
        Assert.That(driver.ReceivesFromRing, Is.EqualTo(_ring));
    }

    /// <summary>
    /// The interface set down and up again while the driver is open: the socket's pending error (ENETDOWN) is reported by
    /// one receive, as <c>recvmmsg</c> reports it; through the ring, whose receives make no system call, the driver reads it
    /// itself, or every wait after it would end at once (poll reports it until it is read) and a loop would spin.
    /// </summary>
    [Test]
    public void After_the_interface_went_down_and_up_the_error_is_reported_once_and_a_wait_sleeps_again()
    {
        using AfPacketDriver driver = Open();
        DriverHarness.Post(driver, 16);
        _ns.IpIn("link", "set", DriverEnd, "down");
        _ns.IpIn("link", "set", DriverEnd, "up");
        var batch = new NetBufPtr[8];
        var errors = new List<NetDriverException>();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(1))
        {
            try
            {
                _ = driver.WaitForReceive(TimeSpan.FromMilliseconds(20));
                int received = driver.ReceiveBatch(batch);
                for (int i = 0; i < received; i++)
                {
                    Assert.That(driver.TryRecycleRxBuffer(batch[i]), Is.True);
                }
            }
            catch (NetDriverException e)
            {
                errors.Add(e);
            }
        }

        Assert.That(errors, Has.Count.EqualTo(1), "the pending error, reported once");
        Assert.That(errors[0].Kind, Is.EqualTo(NetDriverErrorKind.BadState), errors[0].Message);
        Assert.That(errors[0].Message, Does.Contain("ENETDOWN"));
        var wait = Stopwatch.StartNew();
        Assert.That(driver.WaitForReceive(TimeSpan.FromMilliseconds(300)), Is.False, "nothing arrives: the wait sleeps to its end");
        Assert.That(wait.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(250)));
    }

    [Test]
    public void The_kernel_at_the_other_end_answers_ARP_and_ICMP_echo_and_the_driver_never_sees_its_own_frames()
    {
        AfPacketDriver driver = Open();
        try
        {
            Assert.That(driver.DeviceName, Is.EqualTo(DriverEnd));
            Assert.That(driver.DeviceType, Is.EqualTo(DeviceType.Net));
            Assert.That(driver.InterfaceIndex, Is.GreaterThan(0));
            Assert.That(driver.Mtu, Is.EqualTo(1500));
            Assert.That(driver.FanoutGroup, Is.Null);
            Assert.That(driver.NetworkNamespace, Is.EqualTo(_ns.Name));
            Assert.That(driver.MacAddress, Is.EqualTo(TestFrames.ParseMac(_ns.MacOf(DriverEnd))), "SIOCGIFHWADDR agrees with ip");
            DriverHarness.Post(driver, 8);

            var others = new List<byte[]>();
            var request = new byte[TestFrames.ArpFrameLength];
            TestFrames.ArpRequest(request, TestFrames.TestMac, TestNamespace.TestIp, TestNamespace.KernelIp);
            DriverHarness.Send(driver, request);
            byte[] arp = DriverHarness.ReceiveMatching(driver, f => TestFrames.IsArpReply(f), others);
            TestFrames.CheckArpReply(arp, _kernelMac, TestFrames.TestMac, TestNamespace.KernelIp, TestNamespace.TestIp);

            const int payload = 200;
            DriverHarness.Send(driver, DriverHarness.EchoRequest(_kernelMac, 9, payload));
            byte[] echo = DriverHarness.ReceiveMatching(driver, f => TestFrames.IsEchoReply(f), others);
            TestFrames.CheckEchoReply(echo, _kernelMac, TestFrames.TestMac, TestNamespace.KernelIp, TestNamespace.TestIp, 0x4e42, 9, payload);
            Assert.That(others, Is.Empty, "nothing else arrived: not the driver's own two frames");
            Assert.That(driver.RxFrames, Is.EqualTo(2));
            Assert.That(driver.RxDropped, Is.Zero, "outgoing frames are left out by the kernel, not dropped here");
            Assert.That(driver.TxFrames, Is.EqualTo(2));
            Assert.That(_pool.InUse, Is.EqualTo(driver.HeldBuffers));
        }
        finally
        {
            driver.Dispose();
        }

        Assert.That(_pool.InUse, Is.Zero);
    }

    [TestCase(8)]
    [TestCase(32)]
    public void Batches_go_through_sendmmsg_and_recvmmsg(int batchSize)
    {
        using var driver = new AfPacketDriver(_pool, DriverEnd, new AfPacketDriverOptions { ReceiveRing = _ring, NetworkNamespace = _ns.Name, BatchSize = batchSize, RxQueueSize = 128, TxQueueSize = 128 });
        DriverHarness.Post(driver, 100);
        DriverHarness.Arp(driver, _kernelMac);
        Assert.That(driver.RecycleTxBuffers(), Is.EqualTo(1));

        const int count = 50;
        var requests = new NetBufPtr[count];
        for (int i = 0; i < count; i++)
        {
            byte[] frame = DriverHarness.EchoRequest(_kernelMac, (ushort)(1000 + i), 18 + i);
            requests[i] = driver.AllocTxBuffer(frame.Length);
            frame.CopyTo(requests[i].Packet);
        }

        Assert.That(driver.TransmitBatch(requests), Is.EqualTo(count));
        Assert.That(driver.TxFrames, Is.EqualTo(count + 1));
        var seen = new HashSet<int>();
        var batch = new NetBufPtr[64];
        var clock = Stopwatch.StartNew();
        while (seen.Count < count && clock.Elapsed < DriverHarness.ReplyTimeout)
        {
            _ = driver.WaitForReceive(TimeSpan.FromMilliseconds(200));
            int received = driver.ReceiveBatch(batch);
            for (int i = 0; i < received; i++)
            {
                Assert.That(TestFrames.IsEchoReply(batch[i].Packet), Is.True, "only replies: none of the driver's own requests");
                ushort sequence = TestFrames.EchoSequence(batch[i].Packet);
                TestFrames.CheckEchoReply(batch[i].Packet, _kernelMac, TestFrames.TestMac, TestNamespace.KernelIp, TestNamespace.TestIp, 0x4e42, sequence, sequence - 1000 + 18);
                Assert.That(seen.Add(sequence), Is.True, "each reply once");
            }

            _pool.FreeBulk(batch.AsSpan(0, received));
            DriverHarness.Post(driver, received);
        }

        Assert.That(seen, Has.Count.EqualTo(count));
        Assert.That(driver.RecycleTxBuffers(), Is.EqualTo(count));
        Assert.That(_pool.InUse, Is.EqualTo(100));
        Assert.That(driver.HeldBuffers, Is.EqualTo(100));
    }

    [Test]
    public void Two_sockets_in_a_fanout_group_on_two_threads_share_the_flows_and_one_pool()
    {
        const int flows = 32;
        const ushort group = 4242;
        // Three drivers over the pool of 256: the sender's 1 + 64 (two frames a flow wait to be recycled), the workers' 32 + 32 each.
        var options = new AfPacketDriverOptions { ReceiveRing = _ring, NetworkNamespace = _ns.Name, FanoutGroup = group, RxQueueSize = 32, TxQueueSize = 32 };
        using var sender = new AfPacketDriver(_pool, DriverEnd, new AfPacketDriverOptions { ReceiveRing = _ring, NetworkNamespace = _ns.Name, RxQueueSize = 1, TxQueueSize = 2 * flows });
        var workers = new[] { new AfPacketDriver(_pool, DriverEnd, options), new AfPacketDriver(_pool, DriverEnd, options) };
        var replies = new ConcurrentDictionary<int, int>();
        int duplicates = 0;
        using var stop = new CancellationTokenSource();
        var threads = new Thread[2];
        try
        {
            Assert.That(workers[0].FanoutGroup, Is.EqualTo(group));
            for (int w = 0; w < 2; w++)
            {
                int worker = w;
                AfPacketDriver driver = workers[w];
                DriverHarness.Post(driver, 32);
                threads[w] = new Thread(() => Work(driver, worker, replies, ref duplicates, stop.Token)) { IsBackground = true, Name = $"fanout worker {w}" };
                threads[w].Start();
            }

            // Each flow is a host of its own (10.77.0.10 + i): made known by ARP, then pinged once.
            for (int i = 0; i < flows; i++)
            {
                var arp = new byte[TestFrames.ArpFrameLength];
                TestFrames.ArpRequest(arp, TestFrames.TestMac, FlowIp(i), TestNamespace.KernelIp);
                DriverHarness.Send(sender, arp);
            }

            for (int i = 0; i < flows; i++)
            {
                var echo = new byte[TestFrames.IcmpHeadersLength + 16];
                TestFrames.EchoRequest(echo, TestFrames.TestMac, _kernelMac, FlowIp(i), TestNamespace.KernelIp, 0x4e42, (ushort)i, 16);
                DriverHarness.Send(sender, echo);
            }

            var clock = Stopwatch.StartNew();
            while (replies.Count < flows && clock.Elapsed < DriverHarness.ReplyTimeout)
            {
                Thread.Sleep(10);
            }

            stop.Cancel();
            foreach (Thread thread in threads)
            {
                Assert.That(thread.Join(TimeSpan.FromSeconds(5)), Is.True, "the worker stopped");
            }

            Assert.That(replies.Keys, Is.EquivalentTo(Enumerable.Range(0, flows)), "every echo answered");
            Assert.That(Volatile.Read(ref duplicates), Is.Zero, "each reply reached one socket of the group");
            Assert.That(replies.Values.Distinct().Count(), Is.EqualTo(2), $"the hash spread {flows} flows over both sockets");
            Assert.That(sender.RecycleTxBuffers(), Is.EqualTo(2 * flows));
            Assert.That(_pool.InUse, Is.EqualTo(sender.HeldBuffers + workers[0].HeldBuffers + workers[1].HeldBuffers));
        }
        finally
        {
            stop.Cancel();
            foreach (Thread? thread in threads)
            {
                thread?.Join(TimeSpan.FromSeconds(5));
            }

            workers[0].Dispose();
            workers[1].Dispose();
        }

        sender.Dispose();
        Assert.That(_pool.InUse, Is.Zero);

        static byte[] FlowIp(int i) => [10, 77, 0, (byte)(10 + i)];

        static void Work(AfPacketDriver driver, int worker, ConcurrentDictionary<int, int> replies, ref int duplicates, CancellationToken stop)
        {
            var batch = new NetBufPtr[16];
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    _ = driver.WaitForReceive(TimeSpan.FromSeconds(5), stop);
                    int received = driver.ReceiveBatch(batch);
                    for (int i = 0; i < received; i++)
                    {
                        if (TestFrames.IsEchoReply(batch[i].Packet) && !replies.TryAdd(TestFrames.EchoSequence(batch[i].Packet), worker))
                        {
                            Interlocked.Increment(ref duplicates);
                        }

                        _ = driver.TryRecycleRxBuffer(batch[i]);
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // Stopped.
            }
        }
    }

    [Test]
    public void A_frame_longer_than_a_buffer_is_truncated_by_the_kernel_dropped_and_counted()
    {
        // 1100 bytes of headroom leave 948 to receive into: a 1000-byte echo reply does not fit.
        using var pool = new NetBufPool(32, 2048, new NetBufPoolOptions { DefaultHeadroom = 1100, Name = "small-rx" });
        using var driver = new AfPacketDriver(pool, DriverEnd, new AfPacketDriverOptions { ReceiveRing = _ring, NetworkNamespace = _ns.Name, RxQueueSize = 16, TxQueueSize = 16 });
        DriverHarness.Post(driver, 4);
        DriverHarness.Arp(driver, _kernelMac);

        byte[] big = DriverHarness.EchoRequest(_kernelMac, 1, 1000 - TestFrames.IcmpHeadersLength);
        NetBuf tx = pool.Alloc();
        tx.SetPacketLength(pool.BufferLength - pool.DefaultHeadroom);
        tx.Prepend(big.Length - tx.PacketLength);
        big.CopyTo(tx.PacketWithHeader);
        Assert.That(driver.TryTransmit(tx.IntoBufPtr()), Is.True);

        var clock = Stopwatch.StartNew();
        while (driver.RxDropped == 0 && clock.Elapsed < DriverHarness.ReplyTimeout)
        {
            _ = driver.WaitForReceive(TimeSpan.FromMilliseconds(100));
            Assert.That(driver.TryReceive(out _), Is.False, "the truncated reply is not handed out");
        }

        Assert.That(driver.RxDropped, Is.EqualTo(1));
        DriverHarness.Send(driver, DriverHarness.EchoRequest(_kernelMac, 2, 100));
        byte[] reply = DriverHarness.ReceiveMatching(driver, f => TestFrames.IsEchoReply(f));
        TestFrames.CheckEchoReply(reply, _kernelMac, TestFrames.TestMac, TestNamespace.KernelIp, TestNamespace.TestIp, 0x4e42, 2, 100);
        Assert.That(pool.InUse, Is.EqualTo(driver.HeldBuffers));
    }

    [Test]
    public void Bad_frames_and_buffers_of_another_pool_are_refused_and_nothing_is_taken()
    {
        using AfPacketDriver driver = Open();
        using var other = new NetBufPool(4, 2048);
        NetBufPtr foreign = other.FromBufPtr(other.Alloc().IntoBufPtr(), 0, 60).IntoBufPtr();
        NetBufPtr ours = driver.AllocTxBuffer(60);
        NetBufPtr runt = driver.AllocTxBuffer(13);
        NetBufPtr huge = driver.AllocTxBuffer(1519);

        Assert.That(Assert.Throws<NetDriverException>(() => driver.TryRecycleRxBuffer(foreign))!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
        Assert.That(Assert.Throws<NetDriverException>(() => driver.TryTransmit(foreign))!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
        Assert.That(Assert.Throws<NetDriverException>(() => driver.TransmitBatch([ours, foreign]))!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
        Assert.That(Assert.Throws<NetDriverException>(() => driver.TryTransmit(runt))!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
        Assert.That(Assert.Throws<NetDriverException>(() => driver.TransmitBatch([ours, huge]))!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
        Assert.That(other.IsLent(foreign) && _pool.IsLent(ours) && _pool.IsLent(runt) && _pool.IsLent(huge), Is.True, "nothing was taken");
        Assert.That(driver.TxFrames, Is.Zero);
        Assert.That(driver.HeldBuffers, Is.Zero);
        other.FromBufPtr(foreign).Dispose();
        _pool.FreeBulk([ours, runt, huge]);
        Assert.That(other.InUse + _pool.InUse, Is.Zero);
    }

    [Test]
    public void Construction_errors_name_the_cause()
    {
        var missing = Assert.Throws<NetDriverException>(() => new AfPacketDriver(_pool, "nbnone0", new AfPacketDriverOptions { ReceiveRing = _ring, NetworkNamespace = _ns.Name, RxQueueSize = 16, TxQueueSize = 16 }));
        Assert.That(missing!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
        Assert.That(missing.Message, Does.Contain("if_nametoindex").And.Contain("nbnone0").And.Contain("ENODEV"));
        NetDriverException? elsewhere = Assert.Throws<NetDriverException>(() => new AfPacketDriver(_pool, DriverEnd, new AfPacketDriverOptions { ReceiveRing = _ring, RxQueueSize = 16, TxQueueSize = 16 }));
        Assert.That(elsewhere!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam), "not in this namespace");
        Assert.That(elsewhere.Message, Does.Contain("if_nametoindex"));
        Assert.That(_pool.Reserved, Is.Zero, "a driver that failed to open keeps no reservation");
        Assert.Throws<ArgumentOutOfRangeException>(() => new AfPacketDriver(_pool, DriverEnd, new AfPacketDriverOptions { ReceiveRing = _ring, FanoutGroup = 70000 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AfPacketDriver(_pool, DriverEnd, new AfPacketDriverOptions { ReceiveRing = _ring, BatchSize = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AfPacketDriver(_pool, DriverEnd, new AfPacketDriverOptions { ReceiveRing = _ring, TxQueueSize = 70000 }));
        Assert.That(_pool.InUse, Is.Zero);
    }

    [Test]
    public void Every_member_of_a_disposed_driver_says_so()
    {
        AfPacketDriver driver = Open();
        NetBufPtr buffer = driver.AllocTxBuffer(60);
        driver.Dispose();
        driver.Dispose();
        Assert.That(driver.CanReceive || driver.CanTransmit, Is.False);
        var calls = new TestDelegate[]
        {
            () => driver.TryRecycleRxBuffer(buffer),
            () => driver.RecycleTxBuffers(),
            () => driver.TryTransmit(buffer),
            () => driver.TransmitBatch([buffer]),
            () => driver.TryReceive(out _),
            () => driver.ReceiveBatch(new NetBufPtr[4]),
            () => driver.AllocTxBuffer(60),
            () => driver.WaitForReceive(TimeSpan.FromSeconds(1)),
            () => driver.WaitForTransmit(TimeSpan.FromSeconds(1)),
        };
        foreach (TestDelegate call in calls)
        {
            Assert.That(Assert.Throws<NetDriverException>(call)!.Kind, Is.EqualTo(NetDriverErrorKind.BadState));
        }

        _pool.FromBufPtr(buffer).Dispose();
        Assert.That(_pool.InUse, Is.Zero);
    }

    [Test]
    public void Dispose_wakes_a_wait_on_another_thread_and_returns_buffers_from_every_queue()
    {
        AfPacketDriver driver = Open();
        DriverHarness.Post(driver, 6);
        DriverHarness.Arp(driver, _kernelMac);
        DriverHarness.Send(driver, DriverHarness.EchoRequest(_kernelMac, 1, 10));
        DriverHarness.Send(driver, DriverHarness.EchoRequest(_kernelMac, 2, 10));
        byte[] first = DriverHarness.ReceiveMatching(driver, f => TestFrames.IsEchoReply(f));
        Assert.That(first, Is.Not.Empty);

        // Drain what is waiting so the waiter below really blocks.
        Thread.Sleep(50);
        while (driver.TryReceive(out NetBufPtr frame))
        {
            Assert.That(driver.TryRecycleRxBuffer(frame), Is.True);
        }

        Exception? seen = null;
        var waiter = new Thread(() =>
        {
            try
            {
                driver.WaitForReceive(Timeout.InfiniteTimeSpan);
            }
            catch (NetDriverException exception)
            {
                seen = exception;
            }
        });
        waiter.Start();
        Thread.Sleep(100);
        Assert.That(waiter.IsAlive, Is.True, "waiting");
        Assert.That(driver.HeldBuffers, Is.EqualTo(6 + 3), "6 posted, 3 sent");
        var clock = Stopwatch.StartNew();
        driver.Dispose();
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(15)));
        Assert.That(waiter.Join(TimeSpan.FromSeconds(5)), Is.True);
        Assert.That(((NetDriverException)seen!).Kind, Is.EqualTo(NetDriverErrorKind.BadState));
        Assert.That(_pool.InUse, Is.Zero);
    }

    [Test]
    public void Waits_time_out_and_are_cancelled_promptly()
    {
        using AfPacketDriver driver = Open();
        DriverHarness.Post(driver, 2);
        var clock = Stopwatch.StartNew();
        Assert.That(driver.WaitForReceive(TimeSpan.FromMilliseconds(100)), Is.False);
        Assert.That(clock.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(95)));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        clock.Restart();
        Assert.Throws<OperationCanceledException>(() => driver.WaitForReceive(Timeout.InfiniteTimeSpan, cts.Token));
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(15)));
        Assert.That(driver.WaitForTransmit(TimeSpan.FromSeconds(1)), Is.True);
    }

    [Test]
    public void A_second_driver_the_shared_pool_cannot_cover_is_refused_naming_the_first_and_drivers_that_fit_both_receive()
    {
        // A forwarder's two sockets over one pool: the first takes the whole pool of 256 for its queues.
        AfPacketDriver first = Open();
        NetDriverException? error = Assert.Throws<NetDriverException>(() => new AfPacketDriver(_pool, DriverEnd, new AfPacketDriverOptions { ReceiveRing = _ring, NetworkNamespace = _ns.Name, RxQueueSize = 64, TxQueueSize = 64 }));
        Assert.That(error!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
        Assert.That(error.Message, Does.Contain($"afpacket-test cannot reserve 128 buffers for the AF_PACKET driver of {DriverEnd} in namespace {_ns.Name} (receive queue 64, transmit queue 64)"));
        Assert.That(error.Message, Does.Contain($"256 by the AF_PACKET driver of {DriverEnd} in namespace {_ns.Name} (receive queue 128, transmit queue 128)), so 0 are left"));
        Assert.That(error.Message, Does.Contain("at least 384 buffers").And.Contain("smaller queues"));
        first.Dispose();
        Assert.That(_pool.Reserved, Is.Zero);

        // Two that fit: each gets a full receive queue, and each sees the kernel's reply.
        var options = new AfPacketDriverOptions { ReceiveRing = _ring, NetworkNamespace = _ns.Name, RxQueueSize = 64, TxQueueSize = 64 };
        using var a = new AfPacketDriver(_pool, DriverEnd, options);
        using var b = new AfPacketDriver(_pool, DriverEnd, options);
        Assert.That(_pool.Reserved, Is.EqualTo(256));
        DriverHarness.Post(a, 64);
        DriverHarness.Post(b, 64);
        DriverHarness.Arp(a, _kernelMac);
        byte[] reply = DriverHarness.ReceiveMatching(b, f => TestFrames.IsArpReply(f));
        TestFrames.CheckArpReply(reply, _kernelMac, TestFrames.TestMac, TestNamespace.KernelIp, TestNamespace.TestIp);
    }

    /// <summary>A driver whose two queues of 128 take the whole pool of 256 (its reservation).</summary>
    private AfPacketDriver Open() => new(_pool, DriverEnd, new AfPacketDriverOptions { ReceiveRing = _ring, NetworkNamespace = _ns.Name, RxQueueSize = 128, TxQueueSize = 128 });
}
