using NetBufNative.Apps;
using NetBufNative.Capture;
using NetBufNative.Drivers;
using NetBufNative.Tests.Apps;
using NetBufNative.Tests.Wire;
using NetBufNative.Wire;
using NUnit.Framework;

namespace NetBufNative.Tests.Capture;

/// <summary>
/// <see cref="CapturingDriver"/>: the responder's traffic over a loopback pair recorded from the pool
/// buffers, read back record by record and by <c>tcpdump -r</c>; directions, failures of the stream,
/// and no allocation per frame.
/// </summary>
public sealed class CapturingDriverTests
{
    private NetBufPool _pool = null!;
    private LoopbackDriver _host = null!;
    private LoopbackDriver _device = null!;

    [SetUp]
    public void SetUp()
    {
        _pool = new NetBufPool(256, 2048, new NetBufPoolOptions { DefaultHeadroom = 64, Name = "capture-test" });
        (_host, _device) = LoopbackDriver.CreatePair(_pool, queueSize: 32);
        EchoResponderLoopTests.Post(_host, 32);
    }

    [TearDown]
    public void TearDown()
    {
        _host.Dispose();
        _device.Dispose();
        Assert.That(_pool.InUse, Is.Zero);
        _pool.Dispose();
    }

    [Test]
    public void The_responders_traffic_is_recorded_from_the_pool_buffers_and_tcpdump_reads_it()
    {
        string tcpdump = PcapWriterTests.FindTcpdump();
        string path = Path.Combine(Path.GetTempPath(), $"netbuf-capture-{Environment.ProcessId}-{Guid.NewGuid():N}.pcap");
        try
        {
            using (var writer = new PcapWriter(File.Create(path)))
            {
                var captured = new CapturingDriver(_device, writer);
                Assert.That(captured.Inner, Is.SameAs(_device));
                Assert.That(captured.Writer, Is.SameAs(writer));
                Assert.That(captured.Directions, Is.EqualTo(CaptureDirections.Both));
                Assert.That(captured.DeviceName, Is.EqualTo(_device.DeviceName));
                Assert.That(captured.Pool, Is.SameAs(_pool));
                var loop = new EchoResponderLoop(captured, Frames.OurIp, new EchoResponderLoopOptions { MacAddress = Frames.OurMac });
                _ = loop.ProcessBatch();
                foreach (string request in new[] { Frames.ArpRequest, Frames.PingRequest, Frames.VlanPingRequest })
                {
                    _ = EchoResponderLoopTests.Send(_host, Frames.Bytes(request));
                }

                Assert.That(loop.ProcessBatch(), Is.EqualTo(3));
                Assert.That(writer.FramesWritten, Is.EqualTo(6), "three received, three transmitted");
                Assert.That(captured.CaptureFailures, Is.Zero);
            }

            var records = PcapWriterTests.ReadRecords(File.ReadAllBytes(path)).Select(r => r.Data).ToList();
            Assert.That(records, Is.EqualTo(new[]
            {
                Frames.Bytes(Frames.ArpRequest), Frames.Bytes(Frames.PingRequest), Frames.Bytes(Frames.VlanPingRequest),
                Frames.Bytes(Frames.ArpReply), Frames.Bytes(Frames.PingReply), Frames.Bytes(Frames.VlanPingReply),
            }), "each request as received, before it was rewritten into its reply, then the replies as sent");

            string output = PcapWriterTests.Run(tcpdump, "-r", path, "-nn", "-e", "-v");
            TestContext.Out.WriteLine(output);
            Assert.That(output, Does.Contain("Request who-has 10.0.0.1 tell 10.0.0.2"));
            Assert.That(output, Does.Contain("Reply 10.0.0.1 is-at 02:00:00:00:00:01"));
            Assert.That(output, Does.Contain("10.0.0.2 > 10.0.0.1: ICMP echo request, id 4660, seq 7, length 64"));
            Assert.That(output, Does.Contain("10.0.0.1 > 10.0.0.2: ICMP echo reply, id 4660, seq 7, length 64"));
            Assert.That(output, Does.Contain("vlan 42, p 1, ethertype IPv4"));
            Assert.That(output, Does.Not.Contain("bad cksum").And.Not.Contain("wrong"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestCase(CaptureDirections.Received, 2, 0)]
    [TestCase(CaptureDirections.Transmitted, 0, 2)]
    public void Only_the_chosen_direction_is_recorded(CaptureDirections directions, int requests, int replies)
    {
        using var stream = new MemoryStream();
        using var writer = new PcapWriter(stream, leaveOpen: true);
        var captured = new CapturingDriver(_device, writer, directions);
        var loop = new EchoResponderLoop(captured, Frames.OurIp, new EchoResponderLoopOptions { MacAddress = Frames.OurMac, BatchSize = 1 });
        _ = loop.ProcessBatch();
        _ = EchoResponderLoopTests.Send(_host, Frames.Bytes(Frames.PingRequest));
        _ = EchoResponderLoopTests.Send(_host, Frames.Bytes(Frames.ArpRequest));
        Assert.That(loop.ProcessBatch() + loop.ProcessBatch(), Is.EqualTo(2), "one at a time: TryReceive and TryTransmit");
        writer.Flush();

        var records = PcapWriterTests.ReadRecords(stream.ToArray()).Select(r => r.Data).ToList();
        Assert.That(records.Count(r => r.SequenceEqual(Frames.Bytes(Frames.PingRequest)) || r.SequenceEqual(Frames.Bytes(Frames.ArpRequest))), Is.EqualTo(requests));
        Assert.That(records.Count(r => r.SequenceEqual(Frames.Bytes(Frames.PingReply)) || r.SequenceEqual(Frames.Bytes(Frames.ArpReply))), Is.EqualTo(replies));
        Assert.That(records, Has.Count.EqualTo(requests + replies));
    }

    [Test]
    public void A_failed_write_is_counted_and_costs_no_frame()
    {
        var writer = new PcapWriter(new MemoryStream());
        writer.Dispose();
        var captured = new CapturingDriver(_device, writer);
        var loop = new EchoResponderLoop(captured, Frames.OurIp, new EchoResponderLoopOptions { MacAddress = Frames.OurMac });
        _ = loop.ProcessBatch();
        _ = EchoResponderLoopTests.Send(_host, Frames.Bytes(Frames.PingRequest));
        Assert.That(loop.ProcessBatch(), Is.EqualTo(1));
        Assert.That(captured.CaptureFailures, Is.EqualTo(2), "the request and the reply");
        Assert.That(_host.TryReceive(out NetBufPtr reply), Is.True, "answered all the same");
        Assert.That(reply.PacketWithHeader.ToArray(), Is.EqualTo(Frames.Bytes(Frames.PingReply)));
        Assert.That(_host.TryRecycleRxBuffer(reply), Is.True);
        Assert.That(captured.ToString(), Does.Contain("2 failed"));
    }

    [Test]
    public void Recording_allocates_nothing_per_frame()
    {
        using var writer = new PcapWriter(Stream.Null);
        var captured = new CapturingDriver(_device, writer);
        var loop = new EchoResponderLoop(captured, Frames.OurIp, new EchoResponderLoopOptions { MacAddress = Frames.OurMac });
        byte[] ping = Frames.Bytes(Frames.PingRequest);
        var replies = new NetBufPtr[16];
        _ = loop.ProcessBatch();

        void Round()
        {
            for (int i = 0; i < 16; i++)
            {
                NetBufPtr frame = _host.AllocTxBuffer(ping.Length);
                ping.CopyTo(frame.Packet);
                _ = _host.TryTransmit(frame);
            }

            _ = loop.ProcessBatch();
            int count = _host.ReceiveBatch(replies);
            for (int i = 0; i < count; i++)
            {
                _ = _host.TryRecycleRxBuffer(replies[i]);
            }

            _ = _host.RecycleTxBuffers();
        }

        for (int i = 0; i < 100; i++)
        {
            Round();
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            Round();
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
        Assert.That(writer.FramesWritten, Is.EqualTo(2 * 16 * 1100));
        Assert.That(loop.Counters.EchoReplies, Is.EqualTo(16 * 1100));
    }

    [Test]
    public void Arguments_are_checked_and_dispose_disposes_the_wrapped_driver()
    {
        using var writer = new PcapWriter(Stream.Null);
        Assert.Throws<ArgumentNullException>(() => _ = new CapturingDriver(null!, writer));
        Assert.Throws<ArgumentNullException>(() => _ = new CapturingDriver(_device, null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new CapturingDriver(_device, writer, CaptureDirections.None));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new CapturingDriver(_device, writer, (CaptureDirections)4));

        var captured = new CapturingDriver(_device, writer, CaptureDirections.Received);
        Assert.That(captured.MacAddress, Is.EqualTo(_device.MacAddress));
        Assert.That(captured.DeviceType, Is.EqualTo(DeviceType.Net));
        Assert.That(captured.RxQueueSize, Is.EqualTo(32));
        Assert.That(captured.TxQueueSize, Is.EqualTo(32));
        Assert.That(captured.CanTransmit, Is.True);
        Assert.That(captured.CanReceive, Is.False);
        Assert.That(captured.WaitForReceive(TimeSpan.Zero), Is.False);
        Assert.That(captured.WaitForTransmit(TimeSpan.Zero), Is.True);
        captured.Dispose();
        var exception = Assert.Throws<NetDriverException>(() => captured.AllocTxBuffer(60));
        Assert.That(exception!.Kind, Is.EqualTo(NetDriverErrorKind.BadState), "the wrapped driver is disposed");
    }
}
