using System.Buffers.Binary;
using System.Runtime.InteropServices;
using NetBufNative.Apps;
using NetBufNative.Capture;
using NetBufNative.Drivers;
using NetBufNative.Drivers.Linux;
using NetBufNative.Tests.Apps;
using NetBufNative.Tests.Wire;
using NetBufNative.Wire;
using NetBufNative.Tests.Drivers;
using NUnit.Framework;

namespace NetBufNative.Tests.Regression;

/// <summary>
/// Bugs the adversarial review of the driver layer found, each seen failing before its fix: batch
/// calls that threw after taking buffers, an untagged frame allowed the VLAN tag's 4 bytes, the
/// responder losing buffers when its driver failed under it, the capture letting a writer's failure
/// escape after the driver had acted, a checksum loop that never ended near int.MaxValue bytes, a
/// pcap file corrupted by a failed write, and martian sources answered.
/// </summary>
[NonParallelizable]
public sealed class DriverReviewFindingsTests
{
    [Test]
    public void An_untagged_frame_may_not_use_the_vlan_tags_four_bytes_but_a_tagged_one_may()
    {
        using var pool = new NetBufPool(8, 2048);
        const int Mtu = 1500;
        using var driver = new FakeDevice(pool, maxFrameLength: Mtu + 14);
        var untagged = Frame(pool, Mtu + 14 + 1, tagged: false);
        var ex = Assert.Throws<NetDriverException>(() => driver.TryTransmit(untagged));
        Assert.That(ex!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
        Assert.That(pool.IsLent(untagged), Is.True, "nothing was taken");
        Assert.That(driver.TryTransmit(Frame(pool, Mtu + 14, tagged: false)), Is.True);
        Assert.That(driver.TryTransmit(Frame(pool, Mtu + 14 + 4, tagged: true)), Is.True);
        Assert.Throws<NetDriverException>(() => driver.TryTransmit(Frame(pool, Mtu + 14 + 5, tagged: true)));
        var runt = pool.Alloc();
        runt.Append(13).Clear();
        NetBufPtr runtPtr = runt.IntoBufPtr();
        Assert.Throws<NetDriverException>(() => driver.TryTransmit(runtPtr), "shorter than a header");
        pool.FreeBulk([untagged, runtPtr]);
    }

    [Test]
    public void A_loopback_batch_with_a_bad_buffer_takes_nothing()
    {
        using var pool = new NetBufPool(16, 2048, new NetBufPoolOptions { Name = "batch" });
        using var other = new NetBufPool(4, 2048);
        using var driver = new LoopbackDriver(pool, queueSize: 8);
        var good = driver.AllocTxBuffer(60);
        var foreign = other.Alloc().IntoBufPtr();
        Assert.Throws<NetDriverException>(() => driver.TransmitBatch([good, foreign]));
        Assert.That(pool.IsLent(good), Is.True, "the good frame is still the caller's");
        Assert.That(driver.TxFrames, Is.Zero);
        Assert.That(driver.HeldBuffers, Is.Zero);
        pool.FreeBulk([good]);
        other.FromBufPtr(foreign).Dispose();
    }

    [Test]
    public void The_responder_returns_every_buffer_it_holds_when_its_driver_fails_under_it()
    {
        using var pool = new NetBufPool(64, 2048);
        var (near, far) = LoopbackDriver.CreatePair(pool, queueSize: 16);
        using var failing = new FailingRecycleDriver(near);
        var loop = new EchoResponderLoop(failing, Frames.OurIp, new EchoResponderLoopOptions { MacAddress = Frames.OurMac, PostedBuffers = 8, BatchSize = 8 });
        loop.ProcessBatch();
        EchoResponderLoopTests.Post(far, 8);

        // Frames the responder does not answer must be reposted: that is where the driver fails.
        for (int i = 0; i < 4; i++)
        {
            byte[] frame = Frames.Bytes(Frames.PingRequest);
            frame[30] ^= 1; // another destination IP: ignored and reposted
            EchoResponderLoopTests.Send(far, frame);
        }

        failing.FailRecycle = true;
        Assert.That(loop.ProcessBatch(), Is.EqualTo(4), "the frames were taken (and dropped: not for the responder)");
        var error = Assert.Throws<NetDriverException>(() => loop.ProcessBatch(), "the next turn posts fresh buffers for them, where the driver fails: disposed (BadState) ends the call");
        Assert.That(error!.Kind, Is.EqualTo(NetDriverErrorKind.BadState));
        far.RecycleTxBuffers();
        Assert.That(pool.InUse, Is.EqualTo(near.HeldBuffers + far.HeldBuffers), "no buffer lost by the loop");
        near.Dispose();
        far.Dispose();
        Assert.That(pool.InUse, Is.Zero);
    }

    [Test]
    public void A_capture_whose_stream_fails_never_makes_a_transmit_or_receive_throw()
    {
        using var pool = new NetBufPool(16, 2048);
        using var stream = new MemoryStream(new byte[64], writable: true); // full after the file header
        using var writer = new PcapWriter(stream, leaveOpen: true);
        using var inner = new LoopbackDriver(pool, queueSize: 8);
        using var capturing = new CapturingDriver(inner, writer);
        EchoResponderLoopTests.Post(capturing, 2);
        var frame = capturing.AllocTxBuffer(60);
        Assert.That(capturing.TryTransmit(frame), Is.True);
        Assert.That(capturing.TryReceive(out var received), Is.True);
        Assert.That(capturing.CaptureFailures, Is.GreaterThan(0));
        pool.FromBufPtr(received).Dispose();
        capturing.RecycleTxBuffers();
        Assert.That(pool.InUse, Is.EqualTo(inner.HeldBuffers));
    }

    [Test]
    public unsafe void The_checksum_of_a_span_near_int_MaxValue_bytes_ends()
    {
        if (!Environment.Is64BitProcess)
        {
            Assert.Ignore("needs a 64-bit process for a 2 GiB span");
        }

        int length = int.MaxValue - 8;
        byte* memory = (byte*)NativeMemory.Alloc((nuint)length); // untouched pages read as the zero page
        try
        {
            ushort sum = 0;
            var worker = new Thread(() => sum = InternetChecksum.Sum(new ReadOnlySpan<byte>(memory, length))) { IsBackground = true };
            worker.Start();
            Assert.That(worker.Join(TimeSpan.FromSeconds(60)), Is.True, "the sum never ended");
            _ = sum;
        }
        finally
        {
            NativeMemory.Free(memory);
        }
    }

    [Test]
    public void A_pcap_writer_whose_stream_failed_part_way_refuses_further_frames()
    {
        using var stream = new FailAfterStream(24 + 16 + 10); // the file header, one record, then fails inside the next
        using var writer = new PcapWriter(stream, leaveOpen: true);
        writer.WriteFrame(new byte[10]);
        Assert.Throws<IOException>(() => writer.WriteFrame(new byte[60]));
        Assert.Throws<InvalidOperationException>(() => writer.WriteFrame(new byte[10]), "a record after a partial one would be misread");
        Assert.That(writer.FramesWritten, Is.EqualTo(1));
    }

    [TestCase("127.0.0.1")]
    [TestCase("10.0.0.1")]
    [TestCase("0.1.2.3")]
    [TestCase("240.0.0.1")]
    public void Pings_and_arp_from_martian_sources_are_not_answered(string source)
    {
        Ipv4Address martian = Ipv4Address.Parse(source);
        byte[] ping = Frames.Bytes(Frames.PingRequest);
        martian.WriteTo(ping.AsSpan(26));
        Frames.FixIpChecksum(ping);
        Assert.That(EchoResponder.TryAnswer(ping, ping.Length, Frames.OurMac, Frames.OurIp, out _), Is.False);

        byte[] arp = Frames.Bytes(Frames.ArpRequest);
        martian.WriteTo(arp.AsSpan(28));
        Assert.That(EchoResponder.TryAnswer(arp, arp.Length, Frames.OurMac, Frames.OurIp, out _), Is.False);
    }

    [Test]
    public void Frames_from_our_own_or_the_zero_mac_address_are_not_answered_but_arp_probes_are()
    {
        foreach (MacAddress source in new[] { Frames.OurMac, new MacAddress(0UL) })
        {
            byte[] ping = Frames.Bytes(Frames.PingRequest);
            source.WriteTo(ping.AsSpan(6));
            Assert.That(EchoResponder.TryAnswer(ping, ping.Length, Frames.OurMac, Frames.OurIp, out _), Is.False, source.ToString());
        }

        byte[] probe = Frames.Bytes(Frames.ArpRequest);
        Ipv4Address.Any.WriteTo(probe.AsSpan(28));
        Assert.That(EchoResponder.TryAnswer(probe, probe.Length, Frames.OurMac, Frames.OurIp, out _), Is.True, "RFC 5227 probes are answered");
    }

    private static NetBufPtr Frame(NetBufPool pool, int length, bool tagged)
    {
        var buf = pool.Alloc();
        Span<byte> bytes = buf.Append(length);
        bytes.Clear();
        BinaryPrimitives.WriteUInt16BigEndian(bytes[12..], tagged ? (ushort)0x8100 : (ushort)0x0800);
        return buf.IntoBufPtr();
    }

    /// <summary>A driver whose rx recycle fails on demand, as a disposed driver's does.</summary>
    private sealed class FailingRecycleDriver(LoopbackDriver inner) : INetDriver
    {
        public bool FailRecycle { get; set; }

        public string DeviceName => inner.DeviceName;

        public DeviceType DeviceType => inner.DeviceType;

        public MacAddress MacAddress => inner.MacAddress;

        public NetBufPool Pool => inner.Pool;

        public bool CanTransmit => inner.CanTransmit;

        public bool CanReceive => inner.CanReceive;

        public int RxQueueSize => inner.RxQueueSize;

        public int TxQueueSize => inner.TxQueueSize;

        public bool TryRecycleRxBuffer(NetBufPtr rxBuffer) =>
            FailRecycle ? throw new NetDriverException(NetDriverErrorKind.BadState, "disposed under the loop") : inner.TryRecycleRxBuffer(rxBuffer);

        public int RecycleTxBuffers() => inner.RecycleTxBuffers();

        public bool TryTransmit(NetBufPtr txBuffer) => inner.TryTransmit(txBuffer);

        public bool TryReceive(out NetBufPtr rxBuffer) => inner.TryReceive(out rxBuffer);

        public NetBufPtr AllocTxBuffer(int size) => inner.AllocTxBuffer(size);

        public int ReceiveBatch(Span<NetBufPtr> destination) => inner.ReceiveBatch(destination);

        public int TransmitBatch(ReadOnlySpan<NetBufPtr> txBuffers) => inner.TransmitBatch(txBuffers);

        public bool WaitForReceive(TimeSpan timeout, CancellationToken cancellationToken = default) => inner.WaitForReceive(timeout, cancellationToken);

        public bool WaitForTransmit(TimeSpan timeout, CancellationToken cancellationToken = default) => inner.WaitForTransmit(timeout, cancellationToken);

        public void Dispose()
        {
        }
    }

    /// <summary>A stream that takes <c>limit</c> bytes, then throws in the middle of a write.</summary>
    private sealed class FailAfterStream(int limit) : MemoryStream
    {
        public override void Write(ReadOnlySpan<byte> buffer) => Write(buffer.ToArray(), 0, buffer.Length);

        public override void Write(byte[] buffer, int offset, int count)
        {
            if (Length + count > limit)
            {
                base.Write(buffer, offset, Math.Max(0, limit - (int)Length));
                throw new IOException("disk full");
            }

            base.Write(buffer, offset, count);
        }
    }
}
