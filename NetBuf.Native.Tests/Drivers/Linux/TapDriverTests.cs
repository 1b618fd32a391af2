using System.Diagnostics;
using NetBufNative.Drivers;
using NetBufNative.Drivers.Linux;
using NUnit.Framework;

namespace NetBufNative.Tests.Drivers.Linux;

/// <summary>
/// <see cref="TapDriver"/> end to end: a TAP device inside a namespace made for the test, the
/// kernel on its interface answering the test's ARP and ICMP echo frames (checked byte for byte),
/// bad input, waits, and disposal with exact pool counts.
/// </summary>
[NonParallelizable]
public sealed class TapDriverTests
{
    private const string Tap = "nbtap0";
    private TestNamespace _ns = null!;
    private NetBufPool _pool = null!;

    [SetUp]
    public void SetUp()
    {
        _ns = TestNamespace.Create();
        _pool = new NetBufPool(128, 2048, new NetBufPoolOptions { DefaultHeadroom = 64, Name = "tap-test" });
    }

    [TearDown]
    public void TearDown()
    {
        _pool?.Dispose();
        _ns?.Dispose();
    }

    [Test]
    public void The_kernel_on_the_tap_interface_answers_ARP_and_ICMP_echo_and_the_pool_counts_are_exact()
    {
        TapDriver driver = Open();
        try
        {
            Assert.That(driver.DeviceName, Is.EqualTo(Tap));
            Assert.That(driver.DeviceType, Is.EqualTo(DeviceType.Net));
            Assert.That(driver.NetworkNamespace, Is.EqualTo(_ns.Name));
            Assert.That(driver.Mtu, Is.EqualTo(1500));
            Assert.That(driver.KernelMacAddress, Is.EqualTo(TestFrames.ParseMac(_ns.MacOf(Tap))), "SIOCGIFHWADDR agrees with ip");
            Assert.That(_ns.IpIn("link", "show", Tap), Does.Contain("UP"), "brought up");
            Assert.That(driver.CanTransmit, Is.True);
            Assert.That(driver.CanReceive, Is.False);
            DriverHarness.Post(driver, 8);
            Assert.That(driver.HeldBuffers, Is.EqualTo(8));

            DriverHarness.Arp(driver, driver.KernelMacAddress);

            const int payload = 56;
            DriverHarness.Send(driver, DriverHarness.EchoRequest(driver.KernelMacAddress, 7, payload));
            byte[] reply = DriverHarness.ReceiveMatching(driver, f => TestFrames.IsEchoReply(f));
            TestFrames.CheckEchoReply(reply, driver.KernelMacAddress, TestFrames.TestMac, TestNamespace.KernelIp, TestNamespace.TestIp, 0x4e42, 7, payload);

            Assert.That(driver.TxFrames, Is.EqualTo(2));
            Assert.That(driver.RxFrames, Is.GreaterThanOrEqualTo(2));
            Assert.That(driver.RxDropped, Is.Zero);
            Assert.That(_pool.InUse, Is.EqualTo(driver.HeldBuffers), "the pool's count is what the driver holds");
            Assert.That(driver.RecycleTxBuffers(), Is.EqualTo(2));
            Assert.That(_pool.InUse, Is.EqualTo(8));
        }
        finally
        {
            driver.Dispose();
        }

        Assert.That(_pool.InUse, Is.Zero, "Dispose returned every buffer");
        Assert.That(driver.HeldBuffers, Is.Zero);
        Assert.That(_ns.HasDevice(Tap), Is.False, "the device vanished with its descriptor");
    }

    [Test]
    public void Received_frames_are_read_into_the_posted_buffers_after_the_headroom()
    {
        using TapDriver driver = Open();
        var posted = new NetBufPtr[2];
        Assert.That(_pool.TryAllocBulk(posted), Is.True);
        Assert.That(driver.TryRecycleRxBuffer(posted[0]) && driver.TryRecycleRxBuffer(posted[1]), Is.True);

        var request = new byte[TestFrames.ArpFrameLength];
        TestFrames.ArpRequest(request, TestFrames.TestMac, TestNamespace.TestIp, TestNamespace.KernelIp);
        DriverHarness.Send(driver, request);
        Assert.That(driver.WaitForReceive(DriverHarness.ReplyTimeout), Is.True);
        Assert.That(driver.TryReceive(out NetBufPtr frame), Is.True);
        Assert.That(frame.BufferAddress, Is.EqualTo(posted[0].BufferAddress), "the oldest posted buffer, no copy");
        Assert.That(frame.PacketAddress, Is.EqualTo(frame.BufferAddress + _pool.DefaultHeadroom));
        Assert.That(frame.HeaderLength, Is.Zero);
        TestFrames.CheckArpReply(frame.Packet, driver.KernelMacAddress, TestFrames.TestMac, TestNamespace.KernelIp, TestNamespace.TestIp);
        using (NetBuf buffer = _pool.FromBufPtr(frame))
        {
            Assert.That(buffer.PacketLength, Is.EqualTo(TestFrames.ArpFrameLength));
        }

        Assert.That(driver.HeldBuffers, Is.EqualTo(2), "one posted, one sent");
        Assert.That(_pool.InUse, Is.EqualTo(2));
    }

    [Test]
    public void A_device_error_after_frames_were_taken_returns_them_and_leaves_the_error_to_the_next_call()
    {
        using TapDriver driver = Open();
        DriverHarness.Post(driver, 8);
        var request = new byte[TestFrames.ArpFrameLength];
        TestFrames.ArpRequest(request, TestFrames.TestMac, TestNamespace.TestIp, TestNamespace.KernelIp);
        DriverHarness.Send(driver, request);
        DriverHarness.Send(driver, request);
        var clock = Stopwatch.StartNew();
        while (driver.CanReceive is false && clock.Elapsed < DriverHarness.ReplyTimeout)
        {
            _ = driver.WaitForReceive(TimeSpan.FromMilliseconds(100));
        }

        Thread.Sleep(100); // the second reply too

        var batch = new NetBufPtr[4];
        int received;
        NetBufNative.Internal.TestSwitches.ReceiveFailsAfterFrames = 1;
        try
        {
            received = driver.ReceiveBatch(batch); // fails after the first frame: must return it, not throw
        }
        finally
        {
            NetBufNative.Internal.TestSwitches.ReceiveFailsAfterFrames = 0;
        }

        Assert.That(received, Is.EqualTo(1));
        Assert.That(_pool.IsLent(batch[0]), Is.True, "the frame is the caller's");
        _pool.FreeBulk(batch.AsSpan(0, 1));
        driver.RecycleTxBuffers();
        Assert.That(_pool.InUse, Is.EqualTo(driver.HeldBuffers), "nothing lost");
    }

    [Test]
    public void Batches_carry_many_echoes_each_way()
    {
        using TapDriver driver = Open();
        DriverHarness.Post(driver, 64);
        DriverHarness.Arp(driver, driver.KernelMacAddress);
        Assert.That(driver.RecycleTxBuffers(), Is.EqualTo(1));

        const int count = 32;
        var requests = new NetBufPtr[count];
        for (int i = 0; i < count; i++)
        {
            byte[] frame = DriverHarness.EchoRequest(driver.KernelMacAddress, (ushort)(100 + i), 32 + i);
            requests[i] = driver.AllocTxBuffer(frame.Length);
            frame.CopyTo(requests[i].Packet);
        }

        Assert.That(driver.TransmitBatch(requests), Is.EqualTo(count));
        var seen = new HashSet<int>();
        var batch = new NetBufPtr[16];
        var clock = Stopwatch.StartNew();
        while (seen.Count < count && clock.Elapsed < DriverHarness.ReplyTimeout)
        {
            _ = driver.WaitForReceive(TimeSpan.FromMilliseconds(200));
            int received = driver.ReceiveBatch(batch);
            for (int i = 0; i < received; i++)
            {
                if (TestFrames.IsEchoReply(batch[i].Packet))
                {
                    ushort sequence = TestFrames.EchoSequence(batch[i].Packet);
                    TestFrames.CheckEchoReply(batch[i].Packet, driver.KernelMacAddress, TestFrames.TestMac, TestNamespace.KernelIp, TestNamespace.TestIp, 0x4e42, sequence, sequence - 100 + 32);
                    Assert.That(seen.Add(sequence), Is.True, "each reply once");
                }

                Assert.That(driver.TryRecycleRxBuffer(batch[i]), Is.True);
            }
        }

        Assert.That(seen, Has.Count.EqualTo(count));
        Assert.That(driver.RecycleTxBuffers(), Is.EqualTo(count));
        Assert.That(_pool.InUse, Is.EqualTo(64));
    }

    [Test]
    public void A_given_hardware_address_is_set_on_the_interface()
    {
        var mac = new NetBufNative.Wire.MacAddress(0x02, 0x11, 0x22, 0x33, 0x44, 0x55);
        using var driver = new TapDriver(_pool, Tap, new TapDriverOptions { NetworkNamespace = _ns.Name, KernelMacAddress = mac, RxQueueSize = 64, TxQueueSize = 64 });
        Assert.That(driver.KernelMacAddress, Is.EqualTo(mac));
        Assert.That(_ns.MacOf(Tap), Is.EqualTo("02:11:22:33:44:55"));
    }

    [Test]
    public void The_drivers_address_is_the_programs_side_given_or_locally_administered_never_the_kernels()
    {
        var own = new NetBufNative.Wire.MacAddress(0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee);
        using (var given = new TapDriver(_pool, Tap, new TapDriverOptions { NetworkNamespace = _ns.Name, MacAddress = own, RxQueueSize = 32, TxQueueSize = 32 }))
        {
            Assert.That(given.MacAddress, Is.EqualTo(own));
            Assert.That(given.KernelMacAddress, Is.EqualTo(TestFrames.ParseMac(_ns.MacOf(Tap))), "the interface keeps its own");
        }

        using var chosen = new TapDriver(_pool, Tap, new TapDriverOptions { NetworkNamespace = _ns.Name, RxQueueSize = 32, TxQueueSize = 32 });
        Assert.That(chosen.MacAddress, Is.Not.EqualTo(chosen.KernelMacAddress));
        Assert.That(chosen.MacAddress.IsMulticast, Is.False, "unicast");
        Assert.That((chosen.MacAddress.Value >> 40) & 0x02, Is.EqualTo(2UL), "locally administered");
    }

    [Test]
    public void A_persistent_device_is_attached_and_a_second_attach_is_busy()
    {
        _ns.IpIn("tuntap", "add", "dev", "nbpers", "mode", "tap");
        using (var driver = new TapDriver(_pool, "nbpers", new TapDriverOptions { NetworkNamespace = _ns.Name, RxQueueSize = 32, TxQueueSize = 32 }))
        {
            Assert.That(driver.DeviceName, Is.EqualTo("nbpers"));
            var error = Assert.Throws<NetDriverException>(() => new TapDriver(_pool, "nbpers", new TapDriverOptions { NetworkNamespace = _ns.Name, RxQueueSize = 32, TxQueueSize = 32 }).Dispose());
            Assert.That(error!.Kind, Is.EqualTo(NetDriverErrorKind.ResourceBusy));
            Assert.That(error.ErrorNumber, Is.EqualTo(16));
            Assert.That(error.Message, Does.Contain("TUNSETIFF").And.Contain("nbpers").And.Contain("EBUSY"));
        }

        Assert.That(_ns.HasDevice("nbpers"), Is.True, "a persistent device stays after the driver");
    }

    [Test]
    public void A_kernel_numbered_name_is_reported()
    {
        using var driver = new TapDriver(_pool, "nbt%d", new TapDriverOptions { NetworkNamespace = _ns.Name, RxQueueSize = 64, TxQueueSize = 64 });
        Assert.That(driver.DeviceName, Does.Match("^nbt[0-9]+$"));
        Assert.That(_ns.HasDevice(driver.DeviceName), Is.True);
    }

    [Test]
    public void Bad_names_and_a_missing_namespace_are_invalid_parameters()
    {
        var tooLong = Assert.Throws<NetDriverException>(() => new TapDriver(_pool, "a-name-too-long-for-linux"));
        Assert.That(tooLong!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
        Assert.That(Assert.Throws<NetDriverException>(() => new TapDriver(_pool, "bad/name"))!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
        var missing = Assert.Throws<NetDriverException>(() => new TapDriver(_pool, Tap, new TapDriverOptions { NetworkNamespace = _ns.Name + "-missing", RxQueueSize = 16, TxQueueSize = 16 }));
        Assert.That(missing!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
        Assert.That(missing.Message, Does.Contain("ip netns add"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TapDriver(_pool, Tap, new TapDriverOptions { RxQueueSize = 0 }));
        Assert.Throws<ArgumentNullException>(() => new TapDriver(null!, Tap));
        Assert.That(_pool.InUse, Is.Zero);
        Assert.That(_pool.Reserved, Is.Zero, "a driver that failed to open keeps no reservation");
    }

    [Test]
    public void Runt_and_oversized_frames_are_refused_and_nothing_is_taken()
    {
        using TapDriver driver = Open();
        NetBufPtr runt = driver.AllocTxBuffer(10);
        var error = Assert.Throws<NetDriverException>(() => driver.TryTransmit(runt));
        Assert.That(error!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
        Assert.That(_pool.IsLent(runt), Is.True, "still the caller's");

        NetBufPtr huge = driver.AllocTxBuffer(1500 + 14 + 4 + 1);
        Assert.That(Assert.Throws<NetDriverException>(() => driver.TryTransmit(huge))!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
        Assert.That(Assert.Throws<NetDriverException>(() => driver.TransmitBatch([huge]))!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
        Assert.That(driver.TxFrames, Is.Zero);
        Assert.That(driver.HeldBuffers, Is.Zero);
        _pool.FreeBulk([runt, huge]);
        Assert.That(Assert.Throws<NetDriverException>(() => driver.AllocTxBuffer(_pool.BufferLength))!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
        Assert.That(_pool.InUse, Is.Zero);
    }

    [Test]
    public void A_received_frame_longer_than_a_buffer_is_dropped_and_counted_and_the_buffer_stays_posted()
    {
        // 1100 bytes of headroom leave 948 bytes to receive into: a 1000-byte echo reply does not fit.
        using var pool = new NetBufPool(32, 2048, new NetBufPoolOptions { DefaultHeadroom = 1100, Name = "small-rx" });
        using var driver = new TapDriver(pool, Tap, new TapDriverOptions { NetworkNamespace = _ns.Name, RxQueueSize = 16, TxQueueSize = 16 });
        _ns.AssignKernelAddress(Tap);
        DriverHarness.Post(driver, 4);
        DriverHarness.Arp(driver, driver.KernelMacAddress);

        // The request is sent from a buffer whose header region grows into the headroom (Prepend).
        byte[] big = DriverHarness.EchoRequest(driver.KernelMacAddress, 1, 1000 - TestFrames.IcmpHeadersLength);
        NetBuf tx = pool.Alloc();
        tx.SetPacketLength(pool.BufferLength - pool.DefaultHeadroom);
        tx.Prepend(big.Length - tx.PacketLength);
        big.CopyTo(tx.PacketWithHeader);
        Assert.That(driver.TryTransmit(tx.IntoBufPtr()), Is.True);

        var clock = Stopwatch.StartNew();
        while (driver.RxDropped == 0 && clock.Elapsed < DriverHarness.ReplyTimeout)
        {
            _ = driver.WaitForReceive(TimeSpan.FromMilliseconds(100));
            Assert.That(driver.TryReceive(out _), Is.False, "the oversized reply is not handed out");
        }

        Assert.That(driver.RxDropped, Is.EqualTo(1));

        // The same posted buffers still receive a frame that fits.
        DriverHarness.Send(driver, DriverHarness.EchoRequest(driver.KernelMacAddress, 2, 100));
        byte[] reply = DriverHarness.ReceiveMatching(driver, f => TestFrames.IsEchoReply(f));
        TestFrames.CheckEchoReply(reply, driver.KernelMacAddress, TestFrames.TestMac, TestNamespace.KernelIp, TestNamespace.TestIp, 0x4e42, 2, 100);
        Assert.That(pool.InUse, Is.EqualTo(driver.HeldBuffers));
    }

    [Test]
    public void A_buffer_of_another_pool_is_an_invalid_parameter_and_nothing_is_taken()
    {
        using TapDriver driver = Open();
        using var other = new NetBufPool(4, 2048);
        NetBufPtr foreign = other.Alloc().IntoBufPtr();
        foreign = other.FromBufPtr(foreign, 0, 60).IntoBufPtr();
        NetBufPtr ours = driver.AllocTxBuffer(60);

        Assert.That(Assert.Throws<NetDriverException>(() => driver.TryRecycleRxBuffer(foreign))!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
        Assert.That(Assert.Throws<NetDriverException>(() => driver.TryTransmit(foreign))!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
        Assert.That(Assert.Throws<NetDriverException>(() => driver.TransmitBatch([ours, foreign]))!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
        Assert.That(Assert.Throws<NetDriverException>(() => driver.TryTransmit(default))!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
        Assert.That(other.IsLent(foreign) && _pool.IsLent(ours), Is.True, "nothing was taken");
        Assert.That(driver.TxFrames, Is.Zero);
        Assert.That(driver.HeldBuffers, Is.Zero);
        other.FromBufPtr(foreign).Dispose();
        _pool.FromBufPtr(ours).Dispose();
        Assert.That(other.InUse + _pool.InUse, Is.Zero);
    }

    [Test]
    public void Every_member_of_a_disposed_driver_says_so()
    {
        TapDriver driver = Open();
        NetBufPtr buffer = driver.AllocTxBuffer(60);
        driver.Dispose();
        driver.Dispose();
        Assert.That(driver.CanReceive, Is.False);
        Assert.That(driver.CanTransmit, Is.False);
        var actions = new (string Name, TestDelegate Call)[]
        {
            ("TryRecycleRxBuffer", () => driver.TryRecycleRxBuffer(buffer)),
            ("RecycleTxBuffers", () => driver.RecycleTxBuffers()),
            ("TryTransmit", () => driver.TryTransmit(buffer)),
            ("TransmitBatch", () => driver.TransmitBatch([buffer])),
            ("TryReceive", () => driver.TryReceive(out _)),
            ("ReceiveBatch", () => driver.ReceiveBatch(new NetBufPtr[4])),
            ("AllocTxBuffer", () => driver.AllocTxBuffer(60)),
            ("WaitForReceive", () => driver.WaitForReceive(TimeSpan.FromSeconds(1))),
            ("WaitForTransmit", () => driver.WaitForTransmit(TimeSpan.FromSeconds(1))),
        };
        foreach (var (name, call) in actions)
        {
            var error = Assert.Throws<NetDriverException>(call, name);
            Assert.That(error!.Kind, Is.EqualTo(NetDriverErrorKind.BadState), name);
            Assert.That(error.Message, Does.Contain(Tap).And.Contain("disposed"), name);
        }

        Assert.That(_pool.IsLent(buffer), Is.True, "still the caller's");
        _pool.FromBufPtr(buffer).Dispose();
        Assert.That(_pool.InUse, Is.Zero);
    }

    [Test]
    public void Waits_time_out_and_are_cancelled_promptly()
    {
        using TapDriver driver = Open();
        Assert.That(driver.WaitForReceive(TimeSpan.FromSeconds(1)), Is.False, "nothing posted: false at once");
        DriverHarness.Post(driver, 2);

        var clock = Stopwatch.StartNew();
        Assert.That(driver.WaitForReceive(TimeSpan.FromMilliseconds(100)), Is.False);
        Assert.That(clock.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(95)).And.LessThan(TimeSpan.FromSeconds(15)));

        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        clock.Restart();
        Assert.Throws<OperationCanceledException>(() => driver.WaitForReceive(Timeout.InfiniteTimeSpan, cts.Token));
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(15)));
        Assert.Throws<OperationCanceledException>(() => driver.WaitForReceive(Timeout.InfiniteTimeSpan, cts.Token), "already cancelled");

        // A later wait is not woken by the earlier cancellation.
        clock.Restart();
        Assert.That(driver.WaitForReceive(TimeSpan.FromMilliseconds(50)), Is.False);
        Assert.That(clock.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(45)));
        Assert.That(driver.WaitForTransmit(TimeSpan.FromSeconds(1)), Is.True, "a TAP device takes frames");
        Assert.Throws<ArgumentOutOfRangeException>(() => driver.WaitForReceive(TimeSpan.FromMilliseconds(-5)));
    }

    [Test]
    public void Dispose_wakes_a_wait_on_another_thread_and_returns_promptly()
    {
        TapDriver driver = Open();
        DriverHarness.Post(driver, 4);
        Exception? seen = null;
        using var started = new ManualResetEventSlim();
        var waiter = new Thread(() =>
        {
            started.Set();
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
        started.Wait();
        Thread.Sleep(100); // let it reach poll

        var clock = Stopwatch.StartNew();
        driver.Dispose();
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(15)), "Dispose did not hang");
        Assert.That(waiter.Join(TimeSpan.FromSeconds(5)), Is.True, "the waiter woke");
        Assert.That(seen, Is.InstanceOf<NetDriverException>());
        Assert.That(((NetDriverException)seen!).Kind, Is.EqualTo(NetDriverErrorKind.BadState));
        Assert.That(_pool.InUse, Is.Zero);
    }

    [Test]
    public void Dispose_returns_buffers_from_every_queue()
    {
        TapDriver driver = Open();
        DriverHarness.Post(driver, 10);
        DriverHarness.Arp(driver, driver.KernelMacAddress);
        for (int i = 0; i < 5; i++)
        {
            DriverHarness.Send(driver, DriverHarness.EchoRequest(driver.KernelMacAddress, (ushort)i, 20));
        }

        // One received frame is the caller's (not the driver's); the rest stay in the device.
        Assert.That(driver.WaitForReceive(DriverHarness.ReplyTimeout), Is.True);
        Assert.That(driver.TryReceive(out NetBufPtr mine), Is.True);
        Assert.That(driver.HeldBuffers, Is.EqualTo(9 + 6), "9 posted, 6 sent");
        Assert.That(_pool.InUse, Is.EqualTo(16));
        driver.Dispose();
        Assert.That(_pool.InUse, Is.EqualTo(1), "only the caller's frame is out");
        _pool.FromBufPtr(mine).Dispose();
        Assert.That(_pool.InUse, Is.Zero);
    }

    [Test]
    public void Queues_are_bounded_and_full_is_false()
    {
        using var driver = new TapDriver(_pool, Tap, new TapDriverOptions { NetworkNamespace = _ns.Name, RxQueueSize = 2, TxQueueSize = 2 });
        _ns.AssignKernelAddress(Tap);
        Assert.That(driver.RxQueueSize, Is.EqualTo(2));
        Assert.That(driver.TxQueueSize, Is.EqualTo(2));
        DriverHarness.Post(driver, 2);
        NetBufPtr extra = _pool.Alloc().IntoBufPtr();
        Assert.That(driver.TryRecycleRxBuffer(extra), Is.False);

        byte[] frame = DriverHarness.EchoRequest(driver.KernelMacAddress, 1, 10);
        DriverHarness.Send(driver, frame);
        DriverHarness.Send(driver, frame);
        Assert.That(driver.CanTransmit, Is.False);
        Assert.That(driver.WaitForTransmit(TimeSpan.FromSeconds(1)), Is.False, "full: only RecycleTxBuffers makes room");
        NetBufPtr third = driver.AllocTxBuffer(frame.Length);
        frame.CopyTo(third.Packet);
        Assert.That(driver.TryTransmit(third), Is.False);
        Assert.That(driver.TransmitBatch([third]), Is.Zero);
        Assert.That(driver.RecycleTxBuffers(), Is.EqualTo(2));
        Assert.That(driver.TryTransmit(third), Is.True);
        _pool.FromBufPtr(extra).Dispose();
    }

    /// <summary>Creates the TAP device in the namespace and gives the kernel its address on it.</summary>
    private TapDriver Open()
    {
        // Two queues of 64: the pool of 128 (its reservation).
        var driver = new TapDriver(_pool, Tap, new TapDriverOptions { NetworkNamespace = _ns.Name, RxQueueSize = 64, TxQueueSize = 64 });
        try
        {
            _ns.AssignKernelAddress(Tap);
            return driver;
        }
        catch
        {
            driver.Dispose();
            throw;
        }
    }
}
