using System.Buffers.Binary;
using System.Diagnostics;
using NetBufNative.Apps;
using NetBufNative.Drivers;
using NetBufNative.Tests.Wire;
using NetBufNative.Wire;
using NUnit.Framework;

namespace NetBufNative.Tests.Apps;

/// <summary>
/// <see cref="EchoResponderLoop"/> over two linked loopback drivers, both ends in-process: the test
/// plays the peer host on one end, the loop answers on the other. Replies checked byte for byte
/// against the hand-built frames of the wire tests, bad input counted and never thrown, the bounds
/// (time, frames, cancellation), pool counts exact, and no allocation per packet.
/// </summary>
public sealed class EchoResponderLoopTests
{
    /// <summary>Ends a broken test, not a slow one: 5,000 pings take half a second alone, and ran past
    /// 10 s beside a mutation run on the two shared cores.</summary>
    private static readonly TimeSpan Bound = Deadlines.Default;

    private NetBufPool _pool = null!;
    private LoopbackDriver _host = null!;
    private LoopbackDriver _device = null!;

    [SetUp]
    public void SetUp()
    {
        _pool = new NetBufPool(512, 2048, new NetBufPoolOptions { DefaultHeadroom = 64, Name = "responder-test" });
        (_host, _device) = LoopbackDriver.CreatePair(_pool, queueSize: 64);
        Post(_host, 64);
    }

    [TearDown]
    public void TearDown()
    {
        _host.Dispose();
        _device.Dispose();
        Assert.That(_pool.InUse, Is.Zero, "every buffer is back once both ends are disposed");
        _pool.Dispose();
    }

    [Test]
    public void Arp_and_echo_requests_are_answered_byte_for_byte_in_the_same_buffer()
    {
        var loop = new EchoResponderLoop(_device, Frames.OurIp, new EchoResponderLoopOptions { MacAddress = Frames.OurMac });
        Assert.That(loop.Driver, Is.SameAs(_device));
        Assert.That(loop.MacAddress, Is.EqualTo(Frames.OurMac));
        Assert.That(loop.Address, Is.EqualTo(Frames.OurIp));
        Assert.That(loop.BatchSize, Is.EqualTo(EchoResponderLoopOptions.DefaultBatchSize));
        Assert.That(loop.PostedBuffers, Is.EqualTo(_device.RxQueueSize));

        (string Request, string Reply)[] exchanges =
        [
            (Frames.ArpRequest, Frames.ArpReply),
            (Frames.PingRequest, Frames.PingReply),
            (Frames.VlanPingRequest, Frames.VlanPingReply),
            (Frames.PingRequestWithOptions, Frames.PingReplyWithOptions),
        ];

        Assert.That(loop.ProcessBatch(), Is.Zero, "nothing waiting; the receive queue is posted now");
        Assert.That(_device.HeldBuffers, Is.EqualTo(64));
        foreach ((string request, string reply) in exchanges)
        {
            nint address = Send(_host, Frames.Bytes(request));
            Assert.That(loop.ProcessBatch(), Is.EqualTo(1));
            Assert.That(_host.TryReceive(out NetBufPtr answer), Is.True, "answered");
            Assert.That(answer.PacketWithHeader.ToArray(), Is.EqualTo(Frames.Bytes(reply)), "byte for byte");
            Assert.That(answer.HeaderAddress, Is.EqualTo(address), "in the request's own buffer: no copy");
            Assert.That(_host.TryRecycleRxBuffer(answer), Is.True);
        }

        Assert.That(loop.Counters, Is.EqualTo(new EchoResponderCounters(4, 1, 3, 0, 0, 0, 0, 0)));
        Assert.That(loop.Counters.Transmitted, Is.EqualTo(4));
        Assert.That(_host.RecycleTxBuffers(), Is.EqualTo(4));
        Assert.That(_pool.InUse, Is.EqualTo(_host.HeldBuffers + _device.HeldBuffers), "every buffer accounted for");
    }

    [Test]
    public void A_loop_on_its_own_thread_answers_thousands_of_pings_and_stops_on_cancellation()
    {
        var loop = new EchoResponderLoop(_device, Frames.OurIp, new EchoResponderLoopOptions { MacAddress = Frames.OurMac });
        using var stop = new CancellationTokenSource();
        EchoResponderCounters final = default;
        var runner = new Thread(() => final = loop.Run(stop.Token)) { IsBackground = true, Name = "responder" };
        runner.Start();

        const int count = 5000;
        const int window = 32;

        // Pings sent before the loop's thread has posted its receive buffers are dropped by the device
        // end (as a NIC drops frames with no buffer posted), and would never be answered: under load
        // the thread starts late (all 32 of the first window were lost that way once).
        var posting = Stopwatch.StartNew();
        while (_device.HeldBuffers < window)
        {
            Assert.That(posting.Elapsed, Is.LessThan(Bound), "the loop posted its receive buffers");
            Thread.Sleep(1);
        }

        int sent = 0;
        int answered = 0;
        var clock = Stopwatch.StartNew();
        while (answered < count && clock.Elapsed < Bound)
        {
            // Keep a window of requests in flight; the host's end completes sends at once.
            while (sent < count && sent - answered < window)
            {
                Send(_host, PingFrame((ushort)sent, 56));
                sent++;
            }

            _ = _host.RecycleTxBuffers();
            _ = _host.WaitForReceive(TimeSpan.FromMilliseconds(100));
            while (_host.TryReceive(out NetBufPtr reply))
            {
                CheckPingReply(reply.PacketWithHeader, (ushort)answered, 56);
                answered++;
                Assert.That(_host.TryRecycleRxBuffer(reply), Is.True);
            }
        }

        string state = $"answered {answered} of {sent} sent after {clock.Elapsed.TotalSeconds:F1} s; host: {_host}, {_host.HeldBuffers} held; device: {_device}, {_device.HeldBuffers} held; loop: {loop.Counters}, {loop.PostedBuffers} to post; pool: {_pool.Available} available, {_pool.InUse} in use";
        stop.Cancel();
        Assert.That(runner.Join(Bound), Is.True, "the loop stopped on cancellation; " + state);
        Assert.That(answered, Is.EqualTo(count), "every ping answered, in order; " + state);
        Assert.That(final, Is.EqualTo(new EchoResponderCounters(count, 0, count, 0, 0, 0, 0, 0)));
        _ = _host.RecycleTxBuffers();
        Assert.That(_pool.InUse, Is.EqualTo(_host.HeldBuffers + _device.HeldBuffers));
    }

    [Test]
    public void Bad_frames_are_counted_and_dropped_without_an_exception_and_nothing_is_lost()
    {
        var loop = new EchoResponderLoop(_device, Frames.OurIp, new EchoResponderLoopOptions { MacAddress = Frames.OurMac, BatchSize = 8 });
        byte[] ping = Frames.Bytes(Frames.PingRequest);
        byte[] arp = Frames.Bytes(Frames.ArpRequest);
        (string Name, byte[] Frame, bool Malformed)[] bad =
        [
            ("a runt of 10 bytes", ping[..10], true),
            ("an empty frame", [], true),
            ("an Ethernet header alone, IPv4", ping[..14], true),
            ("an 802.1Q tag cut short", Frames.Bytes(Frames.VlanPingRequest)[..16], true),
            ("IPv4 header cut short", ping[..30], true),
            ("ARP cut short", arp[..30], true),
            ("IHL 4", Changed(ping, f => f[14] = 0x44), true),
            ("IHL 15 past the total length", Changed(ping, f => f[14] = 0x4F), true),
            ("total length past the frame (an oversized claim)", Changed(ping, f => BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(16), 1500)), true),
            ("a bad IPv4 checksum", Changed(ping, f => f[25] ^= 1), true),
            ("IPv6", Changed(ping, f => f[12] = 0x86), false),
            ("ethertype 0x1234", Changed(ping, f => { f[12] = 0x12; f[13] = 0x34; }), false),
            ("a ping for another address", Changed(ping, f => { f[33] = 9; Frames.FixIpChecksum(f); }), false),
            ("an echo reply", Changed(ping, f => { f[34] = 0; Frames.FixIcmpChecksum(f); }), false),
            ("a bad ICMP checksum", Changed(ping, f => f[37] ^= 1), false),
            ("an ARP reply", Changed(arp, f => f[21] = 2), false),
            ("ARP for IPv6", Changed(arp, f => f[16] = 0x86), true),
            ("a 1514-byte frame to us, IPv4 with a header of zeros", Zeros(1514, Frames.OurMac), true),
        ];

        Assert.That(loop.ProcessBatch(), Is.Zero);
        int replies = 0;
        foreach ((string name, byte[] frame, bool _) in bad)
        {
            // Each bad frame between two good pings, so a drop can be seen not to disturb its neighbours.
            Send(_host, PingFrame(1, 16));
            Send(_host, frame);
            Send(_host, PingFrame(2, 16));
            Assert.DoesNotThrow(() => _ = loop.ProcessBatch(), name);
            while (_host.TryReceive(out NetBufPtr reply))
            {
                ushort sequence = TestFramesSequence(reply.PacketWithHeader);
                CheckPingReply(reply.PacketWithHeader, sequence, 16);
                replies++;
                Assert.That(_host.TryRecycleRxBuffer(reply), Is.True);
            }

            _ = _host.RecycleTxBuffers();
            Assert.That(_pool.InUse, Is.EqualTo(_host.HeldBuffers + _device.HeldBuffers), $"nothing lost after {name}");
        }

        int malformed = bad.Count(b => b.Malformed);
        Assert.That(replies, Is.EqualTo(2 * bad.Length), "every good ping answered");
        Assert.That(loop.Counters, Is.EqualTo(new EchoResponderCounters(3 * bad.Length, 0, 2 * bad.Length, bad.Length - malformed, malformed, 0, 0, 0)));
    }

    [Test]
    public void Run_stops_after_its_frame_limit_or_its_time_limit()
    {
        var loop = new EchoResponderLoop(_device, Frames.OurIp, new EchoResponderLoopOptions { MacAddress = Frames.OurMac, BatchSize = 4 });
        _ = loop.ProcessBatch();
        for (int i = 0; i < 10; i++)
        {
            Send(_host, PingFrame((ushort)i, 8));
        }

        EchoResponderCounters counters = loop.Run(Bound, frameLimit: 6);
        Assert.That(counters.Received, Is.EqualTo(6), "no more than the limit, though batches are of 4");
        Assert.That(_device.CanReceive, Is.True, "the rest is still waiting");

        var clock = Stopwatch.StartNew();
        counters = loop.Run(TimeSpan.FromMilliseconds(200));
        Assert.That(clock.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(190)).And.LessThan(Bound));
        Assert.That(counters.Received, Is.EqualTo(10));
        Assert.That(counters.EchoReplies, Is.EqualTo(10));

        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.That(loop.Run(Bound, cancellationToken: cancelled.Token).Received, Is.EqualTo(10), "a cancelled token stops it at once");
        Assert.Throws<ArgumentOutOfRangeException>(() => loop.Run(TimeSpan.FromSeconds(-2)));
        Assert.Throws<ArgumentOutOfRangeException>(() => loop.Run(Bound, frameLimit: 0));
    }

    [Test]
    public void A_second_run_at_once_throws_and_the_first_goes_on()
    {
        var loop = new EchoResponderLoop(_device, Frames.OurIp, new EchoResponderLoopOptions { MacAddress = Frames.OurMac });
        using var stop = new CancellationTokenSource();
        var runner = new Thread(() => loop.Run(stop.Token)) { IsBackground = true };
        runner.Start();
        var clock = Stopwatch.StartNew();
        while (_device.HeldBuffers == 0 && clock.Elapsed < Bound)
        {
            Thread.Sleep(1);
        }

        // The first run waits in the driver; a second one is refused at once.
        var exception = Assert.Throws<InvalidOperationException>(() => loop.Run(TimeSpan.FromMilliseconds(1)));
        Assert.That(exception!.Message, Does.Contain("running already"));
        stop.Cancel();
        Assert.That(runner.Join(Bound), Is.True);
    }

    [Test]
    public void With_the_pool_exhausted_the_loop_waits_without_spinning_and_posts_when_buffers_come_back()
    {
        // 16 buffers: the device's two queues of 8 (its reservation), all taken out below.
        using var small = new NetBufPool(16, 2048, new NetBufPoolOptions { DefaultHeadroom = 64, ThreadCacheSize = 0 });
        using var device = new LoopbackDriver(small, queueSize: 8, Frames.OurMac);
        var loop = new EchoResponderLoop(device, Frames.OurIp);
        Assert.That(loop.MacAddress, Is.EqualTo(Frames.OurMac), "the driver's address by default");
        var held = new NetBufPtr[16];
        Assert.That(small.TryAllocBulk(held), Is.True, "every buffer is out");
        Assert.That(loop.ProcessBatch(), Is.Zero);
        Assert.That(device.HeldBuffers, Is.Zero, "nothing to post");

        // The CPU time of this thread, which runs the loop (the process's would count the runtime's and other tests' threads).
        Func<TimeSpan> threadCpu = NetBufNative.Tests.Processing.ThreadCpuTime.IsSupported
            ? NetBufNative.Tests.Processing.ThreadCpuTime.OfCurrentThread().Read
            : () => Environment.CpuUsage.TotalTime;
        var clock = Stopwatch.StartNew();
        TimeSpan cpuBefore = threadCpu();
        _ = loop.Run(TimeSpan.FromMilliseconds(300));
        TimeSpan cpu = threadCpu() - cpuBefore;
        Assert.That(clock.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(290)));
        Assert.That(cpu, Is.LessThan(TimeSpan.FromMilliseconds(150)), "with nothing posted it slept, it did not spin");

        small.FreeBulk(held.AsSpan(0, 6));
        Assert.That(loop.ProcessBatch(), Is.Zero);
        Assert.That(device.HeldBuffers, Is.EqualTo(6), "posted as soon as buffers came back, fewer than a batch");
        small.FreeBulk(held.AsSpan(6));
        Assert.That(loop.ProcessBatch(), Is.Zero);
        Assert.That(device.HeldBuffers, Is.EqualTo(8), "the receive queue is full");
    }

    [Test]
    public void Replies_the_device_cannot_send_are_counted_and_their_buffers_returned()
    {
        var refusing = new RefusingDriver(_device);
        var loop = new EchoResponderLoop(refusing, Frames.OurIp, new EchoResponderLoopOptions { MacAddress = Frames.OurMac });
        _ = loop.ProcessBatch();

        refusing.Refuse = true;
        Send(_host, PingFrame(1, 8));
        Send(_host, PingFrame(2, 8));
        Assert.That(loop.ProcessBatch(), Is.EqualTo(2));
        Assert.That(loop.Counters.TransmitDropped, Is.EqualTo(2));

        refusing.Refuse = false;
        refusing.Throw = NetDriverErrorKind.InvalidParam;
        Send(_host, PingFrame(3, 8));
        Assert.That(loop.ProcessBatch(), Is.EqualTo(1));
        Assert.That(loop.Counters.TransmitErrors, Is.EqualTo(1));
        Assert.That(loop.Counters.Transmitted, Is.Zero);

        refusing.Throw = NetDriverErrorKind.Io;
        Send(_host, PingFrame(4, 8));
        Assert.That(loop.ProcessBatch(), Is.EqualTo(1), "a device failure is counted and the loop goes on (a disposed or gone driver ends it)");
        Assert.That(loop.Counters.TransmitErrors, Is.EqualTo(2));
        Assert.That(loop.Counters.DeviceErrors, Is.EqualTo(2), "the refusal and the failure");
        Assert.That(_host.TryReceive(out _), Is.False);
        _ = _host.RecycleTxBuffers();
        Assert.That(_pool.InUse, Is.EqualTo(_host.HeldBuffers + _device.HeldBuffers), "the refused replies went back to the pool");
    }

    [Test]
    public void Arguments_are_checked()
    {
        Assert.Throws<ArgumentNullException>(() => _ = new EchoResponderLoop(null!, Frames.OurIp));
        Assert.Throws<ArgumentException>(() => _ = new EchoResponderLoop(_device, Ipv4Address.Any));
        Assert.Throws<ArgumentException>(() => _ = new EchoResponderLoop(_device, Ipv4Address.Broadcast));
        Assert.Throws<ArgumentException>(() => _ = new EchoResponderLoop(_device, new Ipv4Address(224, 0, 0, 1)));
        Assert.Throws<ArgumentException>(() => _ = new EchoResponderLoop(_device, Frames.OurIp, new EchoResponderLoopOptions { MacAddress = MacAddress.Broadcast }));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new EchoResponderLoop(_device, Frames.OurIp, new EchoResponderLoopOptions { BatchSize = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new EchoResponderLoop(_device, Frames.OurIp, new EchoResponderLoopOptions { BatchSize = 1025 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new EchoResponderLoop(_device, Frames.OurIp, new EchoResponderLoopOptions { PostedBuffers = 0 }));
    }

    [TestCase(1)]
    [TestCase(32)]
    public void Answering_allocates_nothing_per_packet(int batchSize)
    {
        var loop = new EchoResponderLoop(_device, Frames.OurIp, new EchoResponderLoopOptions { MacAddress = Frames.OurMac, BatchSize = batchSize });
        byte[] ping = Frames.Bytes(Frames.PingRequest);
        byte[] arp = Frames.Bytes(Frames.ArpRequest);
        byte[] ignored = Changed(ping, f => f[12] = 0x86);
        var sent = new NetBufPtr[24];
        var replies = new NetBufPtr[32];
        Assert.That(loop.ProcessBatch(), Is.Zero, "the receive queue is posted before the first frame");

        void Round()
        {
            // 24 frames: pings, ARP requests and frames to ignore; answered by Run (bounded by count) and ProcessBatch.
            for (int i = 0; i < sent.Length; i++)
            {
                byte[] frame = (i % 3) switch { 0 => ping, 1 => arp, _ => ignored };
                sent[i] = _host.AllocTxBuffer(frame.Length);
                frame.CopyTo(sent[i].Packet);
            }

            if (_host.TransmitBatch(sent) != sent.Length)
            {
                throw new InvalidOperationException("the host did not send");
            }

            _ = loop.Run(Bound, frameLimit: 12);
            while (loop.ProcessBatch() > 0)
            {
            }

            int count = _host.ReceiveBatch(replies);
            for (int i = 0; i < count; i++)
            {
                if (!_host.TryRecycleRxBuffer(replies[i]))
                {
                    throw new InvalidOperationException("re-post failed");
                }
            }

            _ = _host.RecycleTxBuffers();
        }

        for (int i = 0; i < 100; i++)
        {
            Round();
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        const int rounds = 1000;
        for (int i = 0; i < rounds; i++)
        {
            Round();
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(allocated, Is.Zero, $"{allocated} bytes over {rounds * sent.Length} frames");
        Assert.That(loop.Counters.Received, Is.EqualTo(1100 * sent.Length));
        Assert.That(loop.Counters.EchoReplies, Is.EqualTo(1100 * 8));
        Assert.That(loop.Counters.ArpReplies, Is.EqualTo(1100 * 8));
        Assert.That(loop.Counters.Ignored, Is.EqualTo(1100 * 8));
    }

    internal static void Post(INetDriver driver, int count)
    {
        var buffers = new NetBufPtr[count];
        Assert.That(driver.Pool.TryAllocBulk(buffers), Is.True);
        foreach (NetBufPtr buffer in buffers)
        {
            Assert.That(driver.TryRecycleRxBuffer(buffer), Is.True);
        }
    }

    /// <summary>Copies a frame into a buffer of the driver's and transmits it; returns where the frame starts.</summary>
    internal static nint Send(INetDriver driver, ReadOnlySpan<byte> frame)
    {
        NetBufPtr buffer = driver.AllocTxBuffer(frame.Length);
        frame.CopyTo(buffer.Packet);
        nint address = buffer.HeaderAddress;
        Assert.That(driver.TryTransmit(buffer), Is.True, "transmitted");
        return address;
    }

    /// <summary>A ping from the peer to the responder of the wire tests' frames, sequence and data length chosen.</summary>
    internal static byte[] PingFrame(ushort sequence, int dataLength)
    {
        byte[] frame = new byte[14 + 20 + 8 + dataLength];
        Frames.Bytes(Frames.PingRequest).AsSpan(0, 14 + 20 + 8).CopyTo(frame);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(16), (ushort)(20 + 8 + dataLength));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(40), sequence);
        for (int i = 0; i < dataLength; i++)
        {
            frame[42 + i] = (byte)(sequence + i);
        }

        Frames.FixIpChecksum(frame);
        Frames.FixIcmpChecksum(frame);
        return frame;
    }

    /// <summary>Checks the reply to <see cref="PingFrame"/> byte for byte.</summary>
    internal static void CheckPingReply(ReadOnlySpan<byte> reply, ushort sequence, int dataLength)
    {
        byte[] expected = PingFrame(sequence, dataLength);
        Frames.PeerMac.WriteTo(expected);
        Frames.OurMac.WriteTo(expected.AsSpan(6));
        expected[22] = 64; // TTL
        Frames.OurIp.WriteTo(expected.AsSpan(26));
        Frames.PeerIp.WriteTo(expected.AsSpan(30));
        expected[34] = 0; // echo reply
        Frames.FixIpChecksum(expected);
        Frames.FixIcmpChecksum(expected);
        Assert.That(reply.ToArray(), Is.EqualTo(expected), $"the reply to ping {sequence}");
    }

    private static ushort TestFramesSequence(ReadOnlySpan<byte> frame) => BinaryPrimitives.ReadUInt16BigEndian(frame[40..]);

    private static byte[] Changed(byte[] frame, Action<byte[]> change)
    {
        byte[] copy = (byte[])frame.Clone();
        change(copy);
        return copy;
    }

    private static byte[] Zeros(int length, MacAddress destination)
    {
        byte[] frame = new byte[length];
        destination.WriteTo(frame);
        Frames.PeerMac.WriteTo(frame.AsSpan(6));
        frame[12] = 0x08; // IPv4 ethertype, and a header of zeros: version 0
        return frame;
    }

    /// <summary>A driver whose transmit queue is full, or that throws, on demand; everything else goes to the driver inside.</summary>
    private sealed class RefusingDriver(INetDriver inner) : INetDriver
    {
        public bool Refuse { get; set; }

        public NetDriverErrorKind? Throw { get; set; }

        public string DeviceName => inner.DeviceName;

        public DeviceType DeviceType => inner.DeviceType;

        public MacAddress MacAddress => inner.MacAddress;

        public NetBufPool Pool => inner.Pool;

        public bool CanTransmit => !Refuse && inner.CanTransmit;

        public bool CanReceive => inner.CanReceive;

        public int RxQueueSize => inner.RxQueueSize;

        public int TxQueueSize => inner.TxQueueSize;

        public NetBufPtr AllocTxBuffer(int size) => inner.AllocTxBuffer(size);

        public void Dispose() => inner.Dispose();

        public int ReceiveBatch(Span<NetBufPtr> destination) => inner.ReceiveBatch(destination);

        public int RecycleTxBuffers() => inner.RecycleTxBuffers();

        public int TransmitBatch(ReadOnlySpan<NetBufPtr> txBuffers) =>
            Throw is NetDriverErrorKind kind ? throw new NetDriverException(kind, "refused by the test")
            : Refuse ? 0
            : inner.TransmitBatch(txBuffers);

        public bool TryReceive(out NetBufPtr rxBuffer) => inner.TryReceive(out rxBuffer);

        public bool TryRecycleRxBuffer(NetBufPtr rxBuffer) => inner.TryRecycleRxBuffer(rxBuffer);

        public bool TryTransmit(NetBufPtr txBuffer) => TransmitBatch(new ReadOnlySpan<NetBufPtr>(in txBuffer)) == 1;

        public bool WaitForReceive(TimeSpan timeout, CancellationToken cancellationToken = default) => inner.WaitForReceive(timeout, cancellationToken);

        public bool WaitForTransmit(TimeSpan timeout, CancellationToken cancellationToken = default) => inner.WaitForTransmit(timeout, cancellationToken);
    }
}
