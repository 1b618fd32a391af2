using System.Diagnostics;
using NetBufNative.Drivers;
using NetBufNative.Drivers.Linux;
using NetBufNative.Drivers.Linux.Xdp;
using NUnit.Framework;

namespace NetBufNative.Tests.Drivers.Linux.Xdp;

/// <summary>
/// <see cref="XdpDriver"/> end to end: a veth pair inside a namespace made for the test, the kernel
/// answering on one end, the AF_XDP socket (copy mode, the pool as its UMEM) and its redirect program
/// on the other; frames checked byte for byte and where they land (pool buffers, the kernel's
/// headroom, no copy), the filters against the kernel's own stack, bad pools and modes, statistics,
/// and disposal with buffers in every ring (exact pool counts, nothing left on the interface).
/// </summary>
[NonParallelizable]
public sealed class XdpDriverTests
{
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
        _pool = XdpDriver.CreatePool(1024, name: "xdp-test");
    }

    [TearDown]
    public void TearDown()
    {
        _pool?.Dispose();
        _ns?.Dispose();
    }

    [Test]
    public void Frames_land_in_pool_buffers_at_the_kernels_headroom_and_the_kernel_answers_ARP_and_ICMP_byte_for_byte()
    {
        XdpDriver driver = Open(new XdpDriverOptions { BindMode = XdpBindMode.Copy });
        try
        {
            Assert.That(driver.DeviceName, Is.EqualTo(DriverEnd));
            Assert.That(driver.DeviceType, Is.EqualTo(DeviceType.Net));
            Assert.That(driver.IsZeroCopy, Is.False, "veth: copy mode");
            Assert.That(driver.Mtu, Is.EqualTo(1500));
            Assert.That(driver.MacAddress, Is.EqualTo(TestFrames.ParseMac(_ns.MacOf(DriverEnd))));
            Assert.That(XdpProgramOn(DriverEnd), Does.Contain("prog/xdp"), "the program is attached while the driver lives");
            DriverHarness.Post(driver, 64);

            var others = new List<byte[]>();
            var request = new byte[TestFrames.ArpFrameLength];
            TestFrames.ArpRequest(request, TestFrames.TestMac, TestNamespace.TestIp, TestNamespace.KernelIp);
            DriverHarness.Send(driver, request);
            NetBufPtr arp = ReceiveMatching(driver, f => TestFrames.IsArpReply(f), others);
            TestFrames.CheckArpReply(arp.Packet, _kernelMac, TestFrames.TestMac, TestNamespace.KernelIp, TestNamespace.TestIp);
            CheckInPlace(arp);
            Assert.That(driver.TryRecycleRxBuffer(arp), Is.True);

            const int payload = 1000;
            DriverHarness.Send(driver, DriverHarness.EchoRequest(_kernelMac, 7, payload));
            NetBufPtr echo = ReceiveMatching(driver, f => TestFrames.IsEchoReply(f), others);
            TestFrames.CheckEchoReply(echo.Packet, _kernelMac, TestFrames.TestMac, TestNamespace.KernelIp, TestNamespace.TestIp, 0x4e42, 7, payload);
            CheckInPlace(echo);
            Assert.That(driver.TryRecycleRxBuffer(echo), Is.True);

            Assert.That(others, Is.Empty, "nothing else arrived");
            Assert.That(driver.RxFrames, Is.EqualTo(2));
            Assert.That(driver.TxFrames, Is.EqualTo(2));
            Assert.That(RecycleAll(driver, 2), Is.EqualTo(2), "both sent buffers completed");
            Assert.That(driver.RxInvalid, Is.Zero);
            Assert.That(_pool.InUse, Is.EqualTo(driver.HeldBuffers).And.EqualTo(64));
        }
        finally
        {
            driver.Dispose();
        }

        Assert.That(_pool.InUse, Is.Zero);
        Assert.That(XdpProgramOn(DriverEnd), Does.Not.Contain("xdp"), "nothing left attached");
    }

    [TestCase(XdpAttachMode.Generic)]
    [TestCase(XdpAttachMode.Native)]
    public void Both_attach_modes_redirect_on_a_veth(XdpAttachMode mode)
    {
        using XdpDriver driver = Open(new XdpDriverOptions { AttachMode = mode });
        Assert.That(driver.AttachMode, Is.EqualTo(mode));
        Assert.That(XdpProgramOn(DriverEnd), Does.Contain(mode == XdpAttachMode.Generic ? "xdpgeneric" : "xdp "), "ip link shows the mode");
        DriverHarness.Post(driver, 8);
        DriverHarness.Arp(driver, _kernelMac);
    }

    [Test]
    public void Many_thousand_echo_requests_in_batches_come_back_with_exact_pool_counts()
    {
        const int total = 5000;
        const int burst = 64;
        using XdpDriver driver = Open();
        DriverHarness.Post(driver, 128);
        DriverHarness.Arp(driver, _kernelMac);
        Assert.That(RecycleAll(driver, 1), Is.EqualTo(1));

        var requests = new NetBufPtr[burst];
        var replies = new NetBufPtr[burst];
        int sent = 0;
        int received = 0;
        var clock = Stopwatch.StartNew();
        while (received < total && clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (sent - received < burst && sent < total)
            {
                int count = Math.Min(burst - (sent - received), total - sent);
                for (int i = 0; i < count; i++)
                {
                    byte[] frame = DriverHarness.EchoRequest(_kernelMac, (ushort)(sent + i), 18);
                    requests[i] = driver.AllocTxBuffer(frame.Length);
                    frame.CopyTo(requests[i].Packet);
                }

                int accepted = driver.TransmitBatch(requests.AsSpan(0, count));
                _pool.FreeBulk(requests.AsSpan(accepted, count - accepted));
                sent += accepted;
            }

            _ = driver.RecycleTxBuffers();
            _ = driver.WaitForReceive(TimeSpan.FromMilliseconds(100));
            int got = driver.ReceiveBatch(replies);
            for (int i = 0; i < got; i++)
            {
                Assert.That(TestFrames.IsEchoReply(replies[i].Packet), Is.True);
                Assert.That(driver.TryRecycleRxBuffer(replies[i]), Is.True);
            }

            received += got;
        }

        Assert.That(received, Is.EqualTo(total), $"every reply came back ({driver.GetStatistics()})");
        Assert.That(driver.TxFrames, Is.EqualTo(total + 1));
        clock.Restart();
        while (driver.HeldBuffers > 128 && clock.Elapsed < DriverHarness.ReplyTimeout)
        {
            _ = driver.RecycleTxBuffers();
            Thread.Sleep(1);
        }

        Assert.That(driver.HeldBuffers, Is.EqualTo(128), "every sent buffer completed: only the posted ones are held");
        Assert.That(_pool.InUse, Is.EqualTo(128));
        XdpStatistics statistics = driver.GetStatistics();
        Assert.That(statistics.RxDropped + statistics.RxRingFull + statistics.RxInvalidDescriptors + statistics.TxInvalidDescriptors, Is.Zero, statistics.ToString());
    }

    [Test]
    public void Dispose_with_buffers_in_every_ring_returns_each_one_and_detaches_the_program()
    {
        XdpDriver driver = Open();
        try
        {
            DriverHarness.Post(driver, 100);
            DriverHarness.Arp(driver, _kernelMac);

            // Replies waiting in the rx ring, untaken; requests whose completions wait, unrecycled.
            for (ushort i = 0; i < 40; i++)
            {
                DriverHarness.Send(driver, DriverHarness.EchoRequest(_kernelMac, i, 100));
            }

            var clock = Stopwatch.StartNew();
            while (!driver.CanReceive && clock.Elapsed < DriverHarness.ReplyTimeout)
            {
                Thread.Sleep(1);
            }

            Thread.Sleep(50);
            Assert.That(driver.CanReceive, Is.True, "replies wait in the rx ring");

            // Fresh buffers in the fill ring, not yet filled.
            var staged = new NetBufPtr[5];
            Assert.That(_pool.TryAllocBulk(staged), Is.True);
            foreach (NetBufPtr buffer in staged)
            {
                Assert.That(driver.TryRecycleRxBuffer(buffer), Is.True);
            }

            Assert.That(driver.HeldBuffers, Is.EqualTo(105 + 41));
            Assert.That(_pool.InUse, Is.EqualTo(driver.HeldBuffers));
        }
        finally
        {
            driver.Dispose();
        }

        Assert.That(_pool.InUse, Is.Zero, "every buffer back, whatever ring it was in");
        Assert.That(driver.HeldBuffers, Is.Zero);
        Assert.That(XdpProgramOn(DriverEnd), Does.Not.Contain("xdp"), "nothing left attached");
        driver.Dispose();
        Assert.That(() => driver.TryReceive(out _), Throws.TypeOf<NetDriverException>().With.Property(nameof(NetDriverException.Kind)).EqualTo(NetDriverErrorKind.BadState));
        Assert.That(() => driver.GetStatistics(), Throws.TypeOf<NetDriverException>());
    }

    [Test]
    public void Dispose_mid_traffic_from_another_thread_wakes_the_waiter_and_returns_every_buffer()
    {
        XdpDriver driver = Open();
        DriverHarness.Post(driver, 64);
        Exception? seen = null;
        var waiter = new Thread(() =>
        {
            try
            {
                while (true)
                {
                    _ = driver.WaitForReceive(Timeout.InfiniteTimeSpan);
                    while (driver.TryReceive(out NetBufPtr frame))
                    {
                        _ = driver.TryRecycleRxBuffer(frame);
                    }
                }
            }
            catch (NetDriverException exception)
            {
                seen = exception;
            }
        });
        waiter.Start();
        using (var flood = new AfPacketDriver(new NetBufPool(8, 2048), KernelEnd, new AfPacketDriverOptions { NetworkNamespace = _ns.Name, RxQueueSize = 1, TxQueueSize = 7 }))
        {
            byte[] frame = DriverHarness.EchoRequest(flood.MacAddress, 1, 64);
            for (int i = 0; i < 500; i++)
            {
                NetBufPtr buffer = flood.AllocTxBuffer(frame.Length);
                frame.CopyTo(buffer.Packet);
                if (!flood.TryTransmit(buffer))
                {
                    flood.Pool.FromBufPtr(buffer).Dispose();
                }

                _ = flood.RecycleTxBuffers();
                if (i == 250)
                {
                    driver.Dispose();
                }
            }

            flood.Pool.Dispose();
        }

        Assert.That(waiter.Join(DriverHarness.ReplyTimeout), Is.True, "the waiter woke");
        Assert.That(seen, Is.TypeOf<NetDriverException>().And.Property(nameof(NetDriverException.Kind)).EqualTo(NetDriverErrorKind.BadState));
        Assert.That(_pool.InUse, Is.Zero);
        Assert.That(XdpProgramOn(DriverEnd), Does.Not.Contain("xdp"));
    }

    [Test]
    public void Statistics_count_frames_dropped_on_an_empty_fill_ring_also_as_metrics()
    {
        using XdpDriver driver = Open();
        var measured = new Dictionary<string, long>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == NetBufMetrics.MeterName && instrument.Name.StartsWith("netbuf.xdp.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == "netbuf.device.name" && Equals(tag.Value, DriverEnd))
                {
                    measured[instrument.Name] = value;
                }
            }
        });
        listener.Start();

        // No buffer posted: the ARP reply the request provokes finds the fill ring empty.
        var request = new byte[TestFrames.ArpFrameLength];
        TestFrames.ArpRequest(request, TestFrames.TestMac, TestNamespace.TestIp, TestNamespace.KernelIp);
        DriverHarness.Send(driver, request);
        var clock = Stopwatch.StartNew();
        while (driver.GetStatistics().RxFillRingEmpty == 0 && clock.Elapsed < DriverHarness.ReplyTimeout)
        {
            Thread.Sleep(5);
        }

        // The kernel bumps the two counters one after the other in its receive path, not under the lock its read takes.
        while (driver.GetStatistics() is { } snapshot && snapshot.RxDropped != snapshot.RxFillRingEmpty && clock.Elapsed < DriverHarness.ReplyTimeout)
        {
            Thread.Sleep(5);
        }

        XdpStatistics statistics = driver.GetStatistics();
        Assert.That(statistics.RxFillRingEmpty, Is.GreaterThanOrEqualTo(1), statistics.ToString());
        Assert.That(statistics.RxDropped, Is.EqualTo(statistics.RxFillRingEmpty), "copy mode: a frame with no fill-ring buffer is counted in rx_dropped too");
        Assert.That(statistics.RxRingFull + statistics.RxInvalidDescriptors + statistics.TxInvalidDescriptors, Is.Zero, statistics.ToString());
        listener.RecordObservableInstruments();
        Assert.That(measured["netbuf.xdp.rx_fill_ring_empty"], Is.EqualTo(statistics.RxFillRingEmpty));
        Assert.That(measured["netbuf.xdp.rx_dropped"], Is.EqualTo(statistics.RxDropped));
        Assert.That(measured["netbuf.xdp.tx_frames"], Is.EqualTo(1));
        Assert.That(measured["netbuf.xdp.rx_frames"], Is.Zero);
    }

    [Test]
    public void Unsuitable_pools_and_arguments_are_clear_errors_and_leave_nothing_attached()
    {
        var options = new XdpDriverOptions { NetworkNamespace = _ns.Name, RxQueueSize = 64, TxQueueSize = 64 };
        using (var unaligned = new NetBufPool(256, 2048))
        {
            NetDriverException? error = Assert.Throws<NetDriverException>(() => new XdpDriver(unaligned, DriverEnd, options));
            Assert.That(error!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
            Assert.That(error.Message, Does.Contain("aligned to 64 bytes").And.Contain("XdpDriver.CreatePool").And.Contain("BlockAlignment = Environment.SystemPageSize"));
        }

        using (var oddStride = new NetBufPool(256, 3000, new NetBufPoolOptions { BlockAlignment = 4096 }))
        {
            NetDriverException? error = Assert.Throws<NetDriverException>(() => new XdpDriver(oddStride, DriverEnd, options));
            Assert.That(error!.Message, Does.Contain("3000 bytes long, 3008 apart").And.Contain("power of two"));
        }

        using (var shortBuffers = new NetBufPool(256, 2000, new NetBufPoolOptions { BlockAlignment = 4096 }))
        {
            NetDriverException? error = Assert.Throws<NetDriverException>(() => new XdpDriver(shortBuffers, DriverEnd, options));
            Assert.That(error!.Message, Does.Contain("2000 bytes long, 2048 apart"));
        }

        using (NetBufPool small = XdpDriver.CreatePool(100))
        {
            NetDriverException? error = Assert.Throws<NetDriverException>(() => new XdpDriver(small, DriverEnd, options));
            Assert.That(error!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
            Assert.That(error.Message, Does.Contain("of its 100 buffers").And.Contain("(receive queue 64, transmit queue 64)").And.Contain("at least 128 buffers"));
            Assert.That(small.Reserved, Is.Zero);
        }

        Assert.That(() => new XdpDriver(_pool, DriverEnd, new XdpDriverOptions { NetworkNamespace = _ns.Name, RxQueueSize = 100 }), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("power of two"));
        Assert.That(() => XdpDriver.CreatePool(16, 3072), Throws.TypeOf<ArgumentOutOfRangeException>());

        NetDriverException? missing = Assert.Throws<NetDriverException>(() => new XdpDriver(_pool, "nbmissing0", options));
        Assert.That(missing!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
        Assert.That(missing.Message, Does.Contain("if_nametoindex"));

        NetDriverException? zeroCopy = Assert.Throws<NetDriverException>(() => new XdpDriver(_pool, DriverEnd, new XdpDriverOptions { NetworkNamespace = _ns.Name, BindMode = XdpBindMode.ZeroCopy }));
        Assert.That(zeroCopy!.Kind, Is.EqualTo(NetDriverErrorKind.Unsupported));
        Assert.That(zeroCopy.Message, Does.Contain("no AF_XDP zero-copy support").And.Contain("XdpBindMode.Copy"));

        NetDriverException? queue = Assert.Throws<NetDriverException>(() => new XdpDriver(_pool, DriverEnd, new XdpDriverOptions { NetworkNamespace = _ns.Name, QueueId = 5 }));
        Assert.That(queue!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));

        using (XdpDriver first = Open())
        {
            NetDriverException? busy = Assert.Throws<NetDriverException>(() => new XdpDriver(XdpDriver.CreatePool(1024), DriverEnd, new XdpDriverOptions { NetworkNamespace = _ns.Name }));
            Assert.That(busy!.Kind, Is.EqualTo(NetDriverErrorKind.ResourceBusy), busy.Message);
        }

        Assert.That(XdpProgramOn(DriverEnd), Does.Not.Contain("xdp"), "no failed attempt left a program");
        Assert.That(_pool.InUse, Is.Zero);
    }

    [Test]
    public void Auto_bind_mode_falls_back_to_copy_on_a_veth()
    {
        using XdpDriver driver = Open(new XdpDriverOptions { BindMode = XdpBindMode.Auto, UseNeedWakeup = false });
        Assert.That(driver.IsZeroCopy, Is.False);
        DriverHarness.Post(driver, 8);
        DriverHarness.Arp(driver, _kernelMac);
        Assert.That(driver.ToString(), Does.Contain("copy mode").And.Contain("every frame"));
    }

    [Test]
    public void A_driver_opened_on_the_queue_right_after_anothers_dispose_binds()
    {
        // The kernel releases a closed socket's queue after an RCU grace period (13 to 28 ms here): without the bounded
        // retry the second bind failed with EBUSY (ResourceBusy).
        for (int i = 0; i < 5; i++)
        {
            Open().Dispose();
            using XdpDriver again = Open();
            Assert.That(again.QueueId, Is.Zero);
        }

        Assert.That(_pool.InUse, Is.Zero);
    }

    private XdpDriver Open(XdpDriverOptions? options = null) =>
        new(_pool, DriverEnd, new XdpDriverOptions
        {
            NetworkNamespace = _ns.Name,
            BindMode = options?.BindMode ?? XdpBindMode.Copy,
            AttachMode = options?.AttachMode ?? XdpAttachMode.Auto,
            Filter = options?.Filter ?? XdpFilter.Every,
            RxQueueSize = options?.RxQueueSize ?? 256,
            TxQueueSize = options?.TxQueueSize ?? 256,
            UseNeedWakeup = options?.UseNeedWakeup ?? true,
        });

    /// <summary>The received frame is where the kernel wrote it: inside a buffer of the pool, at the kernel's headroom.</summary>
    private void CheckInPlace(NetBufPtr received)
    {
        long offset = received.BufferAddress - _pool.BlockAddress;
        Assert.That(offset, Is.InRange(0, _pool.BlockLength - _pool.BufferStride), "inside the pool's block");
        Assert.That(offset % _pool.BufferStride, Is.Zero, "on a buffer boundary");
        Assert.That(offset / _pool.BufferStride, Is.EqualTo(received.BufferIndex));
        Assert.That((int)(received.PacketAddress - received.BufferAddress), Is.EqualTo(XdpDriver.ReceiveHeadroom), "the kernel's 256-byte headroom, no copy of ours");
    }

    /// <summary>Receives until a frame <paramref name="match"/> accepts arrives; returns it, still lent (the others are re-posted).</summary>
    private static NetBufPtr ReceiveMatching(XdpDriver driver, Func<byte[], bool> match, List<byte[]> others)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < DriverHarness.ReplyTimeout)
        {
            _ = driver.WaitForReceive(DriverHarness.ReplyTimeout - clock.Elapsed);
            while (driver.TryReceive(out NetBufPtr received))
            {
                byte[] bytes = received.Packet.ToArray();
                if (match(bytes))
                {
                    return received;
                }

                others.Add(bytes);
                Assert.That(driver.TryRecycleRxBuffer(received), Is.True, "re-posted");
            }
        }

        Assert.Fail($"no matching frame within {DriverHarness.ReplyTimeout.TotalSeconds} s");
        return default;
    }

    /// <summary>Recycles sent buffers until <paramref name="expected"/> came back (completions can lag the send a little).</summary>
    private static int RecycleAll(XdpDriver driver, int expected)
    {
        int total = 0;
        var clock = Stopwatch.StartNew();
        while (total < expected && clock.Elapsed < DriverHarness.ReplyTimeout)
        {
            total += driver.RecycleTxBuffers();
            if (total < expected)
            {
                _ = driver.WaitForTransmit(TimeSpan.FromMilliseconds(10));
                Thread.Sleep(1);
            }
        }

        return total;
    }

    /// <summary>What <c>ip link show</c> says about the interface's XDP attachment.</summary>
    private string XdpProgramOn(string device) => _ns.IpIn("link", "show", "dev", device);
}
