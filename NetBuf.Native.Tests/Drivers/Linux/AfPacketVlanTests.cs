using System.Buffers.Binary;
using System.Diagnostics;
using NetBufNative.Apps;
using NetBufNative.Drivers.Linux;
using NetBufNative.Tests.Wire;
using NUnit.Framework;

namespace NetBufNative.Tests.Drivers.Linux;

/// <summary>
/// <see cref="AfPacketDriver"/> with VLAN tags: a second socket on the other end of a veth pair sends
/// tagged frames; the kernel takes each frame's outer tag into packet metadata before the receiving
/// socket sees it (shown with the option off), and the driver puts it back from <c>PACKET_AUXDATA</c>,
/// so every frame arrives byte for byte as it was sent: protocol, priority, DEI and VLAN id, one
/// frame at a time and in batches mixing tagged and untagged frames, with and without headroom.
/// (The test kernel has no 802.1Q module, so no VLAN interface; the receive path is the core's.)
/// </summary>
[NonParallelizable]
[TestFixture(false)]
[TestFixture(true)]
public sealed class AfPacketVlanTests
{
    /// <summary>Whether the driver receives through its ring (<see cref="AfPacketDriverOptions.ReceiveRing"/>): every test runs both ways.</summary>
    private readonly bool _ring;

    public AfPacketVlanTests(bool ring) => _ring = ring;

    private const string SenderEnd = "nbk0";
    private const string DriverEnd = "nbd0";

    /// <summary>An EtherType for local experiments (IEEE 802): no protocol of the kernel answers it.</summary>
    private const ushort ExperimentalEtherType = 0x88B5;

    private TestNamespace _ns = null!;
    private NetBufPool _senderPool = null!;
    private AfPacketDriver _sender = null!;
    private NetBufNative.Wire.MacAddress _driverMac;

    [SetUp]
    public void SetUp()
    {
        _ns = TestNamespace.Create();
        _ns.AddVethPair(SenderEnd, DriverEnd);
        _driverMac = TestFrames.ParseMac(_ns.MacOf(DriverEnd));
        _senderPool = new NetBufPool(64, 2048, new NetBufPoolOptions { Name = "vlan-sender" });
        // It only sends, up to 40 frames at once: one receive buffer and 48 to send fit its pool of 64.
        _sender = new AfPacketDriver(_senderPool, SenderEnd, new AfPacketDriverOptions { ReceiveRing = _ring, NetworkNamespace = _ns.Name, RxQueueSize = 16, TxQueueSize = 48 });
    }

    [TearDown]
    public void TearDown()
    {
        _sender?.Dispose();
        _senderPool?.Dispose();
        _ns?.Dispose();
    }

    /// <summary>Tags: 802.1Q and 802.1ad (the kernel reports the protocol); priority, DEI and id
    /// all set; a priority-only tag (id 0); a tag of all zeros (kept: the kernel says a tag was
    /// there); QinQ (the outer tag restored, the inner one never left the frame).</summary>
    [TestCase((ushort)0x8100, (ushort)((5 << 13) | (1 << 12) | 42), null)]
    [TestCase((ushort)0x88A8, (ushort)4094, null)]
    [TestCase((ushort)0x8100, (ushort)(6 << 13), null)]
    [TestCase((ushort)0x8100, (ushort)0, null)]
    [TestCase((ushort)0x88A8, (ushort)((3 << 13) | 100), (ushort)200)]
    public void Tagged_frames_arrive_as_they_were_sent(ushort tpid, ushort tci, ushort? innerVlan)
    {
        using var pool = new NetBufPool(64, 2048, new NetBufPoolOptions { DefaultHeadroom = 64, Name = "vlan" });
        using var driver = new AfPacketDriver(pool, DriverEnd, new AfPacketDriverOptions { ReceiveRing = _ring, NetworkNamespace = _ns.Name, RxQueueSize = 32, TxQueueSize = 32 });
        Assert.That(driver.RestoresVlanTags, Is.True, "the default");
        DriverHarness.Post(driver, 8);

        byte[] frame = Frame(1, 200, (tpid, tci), innerVlan is ushort inner ? (0x8100, inner) : null);
        DriverHarness.Send(_sender, frame);
        (byte[] received, int offset) = Receive(driver);
        Assert.That(received, Is.EqualTo(frame), "byte for byte, tag included");
        Assert.That(offset, Is.EqualTo(64 - 4), "the tag took 4 bytes of headroom; the rest stayed where the kernel wrote it");

        byte[] untagged = Frame(2, 100, null, null);
        DriverHarness.Send(_sender, untagged);
        (received, offset) = Receive(driver);
        Assert.That(received, Is.EqualTo(untagged));
        Assert.That(offset, Is.EqualTo(64), "an untagged frame at the headroom");
        Assert.That(driver.RxDropped, Is.Zero);
        Assert.That(pool.InUse, Is.EqualTo(driver.HeldBuffers));
    }

    [Test]
    public void Without_restoring_the_kernel_leaves_the_frames_untagged()
    {
        using var pool = new NetBufPool(64, 2048, new NetBufPoolOptions { DefaultHeadroom = 64, Name = "vlan-off" });
        using var driver = new AfPacketDriver(pool, DriverEnd, new AfPacketDriverOptions { ReceiveRing = _ring, NetworkNamespace = _ns.Name, RestoreVlanTags = false, RxQueueSize = 32, TxQueueSize = 32 });
        Assert.That(driver.RestoresVlanTags, Is.False);
        DriverHarness.Post(driver, 8);

        // What the option is for: the frame arrives without its tag, and nothing says which VLAN it was on.
        DriverHarness.Send(_sender, Frame(1, 200, (0x8100, 42), null));
        (byte[] received, int offset) = Receive(driver);
        Assert.That(received, Is.EqualTo(Frame(1, 200, null, null)));
        Assert.That(offset, Is.EqualTo(64));
    }

    [Test]
    public void A_pool_without_headroom_keeps_its_whole_room_and_moves_a_tagged_frames_payload_up()
    {
        // Headroom 0: nothing before the frame for the tag, so the payload moves 4 bytes up instead;
        // untagged frames keep all 2048 bytes (a review found them cut to 2044 when the driver kept 4 bytes free).
        using var pool = new NetBufPool(16, 2048, new NetBufPoolOptions { DefaultHeadroom = 0, Name = "vlan-no-headroom" });
        using var driver = new AfPacketDriver(pool, DriverEnd, new AfPacketDriverOptions { ReceiveRing = _ring, NetworkNamespace = _ns.Name, RxQueueSize = 8, TxQueueSize = 8 });
        (NetBufPool bigPool, AfPacketDriver bigSender) = JumboSender();
        using var ownsPool = bigPool;
        using var ownsSender = bigSender;
        DriverHarness.Post(driver, 8);

        byte[] tagged = Frame(1, 300, (0x8100, 42), null);
        DriverHarness.Send(bigSender, tagged);
        (byte[] received, int offset) = Receive(driver);
        Assert.That(received, Is.EqualTo(tagged));
        Assert.That(offset, Is.Zero);

        byte[] untaggedFull = Frame(2, 2048 - 14, null, null);
        Assert.That(untaggedFull, Has.Length.EqualTo(2048));
        DriverHarness.Send(bigSender, untaggedFull);
        (received, offset) = Receive(driver);
        Assert.That(received, Is.EqualTo(untaggedFull), "an untagged frame may fill the whole buffer");
        Assert.That(offset, Is.Zero);

        // 2048 bytes on the wire with a tag: 2044 reach the socket and 2048 fit again with the tag.
        byte[] taggedFull = Frame(3, 2048 - 18, (0x88A8, 7), null);
        DriverHarness.Send(bigSender, taggedFull);
        (received, _) = Receive(driver);
        Assert.That(received, Is.EqualTo(taggedFull));

        // 2052 with a tag: 2048 reach the socket (no truncation) but do not fit with the tag: dropped and counted.
        DriverHarness.Send(bigSender, Frame(4, 2052 - 18, (0x8100, 7), null));
        AssertDroppedOnce(driver);
        Assert.That(pool.InUse, Is.EqualTo(driver.HeldBuffers), "the dropped frame's buffer stayed posted");
    }

    [Test]
    public void A_tagged_frame_that_fills_the_buffer_fits_because_the_tag_goes_into_the_headroom()
    {
        // 2048 - 64 = 1984 bytes after the headroom: a 1988-byte tagged frame reaches the socket as 1984
        // bytes and fits exactly once its tag is back in the headroom; one byte more is truncated and dropped.
        using var pool = new NetBufPool(16, 2048, new NetBufPoolOptions { DefaultHeadroom = 64, Name = "vlan-full" });
        using var driver = new AfPacketDriver(pool, DriverEnd, new AfPacketDriverOptions { ReceiveRing = _ring, NetworkNamespace = _ns.Name, RxQueueSize = 8, TxQueueSize = 8 });
        (NetBufPool bigPool, AfPacketDriver bigSender) = JumboSender();
        using var ownsPool = bigPool;
        using var ownsSender = bigSender;
        DriverHarness.Post(driver, 4);

        byte[] exact = Frame(1, 1988 - 18, (0x8100, 7), null);
        Assert.That(exact, Has.Length.EqualTo(1988));
        DriverHarness.Send(bigSender, exact);
        (byte[] received, int offset) = Receive(driver);
        Assert.That(received, Is.EqualTo(exact));
        Assert.That(offset, Is.EqualTo(60));

        DriverHarness.Send(bigSender, Frame(2, 1989 - 18, (0x8100, 7), null));
        AssertDroppedOnce(driver);
        Assert.That(pool.InUse, Is.EqualTo(driver.HeldBuffers));
    }

    [Test]
    public void A_batch_mixing_tagged_and_untagged_frames_gets_each_frames_own_tag()
    {
        // Each message of a recvmmsg has its own control buffer: a tag must land on its own frame.
        using var pool = new NetBufPool(128, 2048, new NetBufPoolOptions { DefaultHeadroom = 64, Name = "vlan-batch" });
        using var driver = new AfPacketDriver(pool, DriverEnd, new AfPacketDriverOptions { ReceiveRing = _ring, NetworkNamespace = _ns.Name, BatchSize = 16, RxQueueSize = 64, TxQueueSize = 64 });
        DriverHarness.Post(driver, 64);

        const int Count = 40;
        var sent = new List<byte[]>();
        var requests = new NetBufPtr[Count];
        for (int i = 0; i < Count; i++)
        {
            // Tags on two of every three frames, each with its own id and priority.
            byte[] frame = Frame((ushort)i, 20 + i, i % 3 == 2 ? null : ((ushort)(i % 2 == 0 ? 0x8100 : 0x88A8), (ushort)(((i % 8) << 13) | (100 + i))), null);
            sent.Add(frame);
            requests[i] = _sender.AllocTxBuffer(frame.Length);
            frame.CopyTo(requests[i].Packet);
        }

        Assert.That(_sender.TransmitBatch(requests), Is.EqualTo(Count));
        var received = new List<byte[]>();
        var batch = new NetBufPtr[32];
        var clock = Stopwatch.StartNew();
        while (received.Count < Count && clock.Elapsed < DriverHarness.ReplyTimeout)
        {
            _ = driver.WaitForReceive(TimeSpan.FromMilliseconds(200));
            int count = driver.ReceiveBatch(batch);
            for (int i = 0; i < count; i++)
            {
                received.Add(batch[i].Packet.ToArray());
            }

            pool.FreeBulk(batch.AsSpan(0, count));
            DriverHarness.Post(driver, count);
        }

        Assert.That(received, Is.EqualTo(sent), "every frame, in order, byte for byte");
        Assert.That(driver.RxDropped, Is.Zero);
        Assert.That(pool.InUse, Is.EqualTo(driver.HeldBuffers));
    }

    /// <summary>The echo responder over the driver answers a tagged ping on its VLAN: the driver puts
    /// back the tag the kernel took out, the reply is built over the request and sent tagged. With the
    /// restore off the request arrives untagged, and so goes its answer.</summary>
    [TestCase(true)]
    [TestCase(false)]
    public void The_echo_responder_answers_a_tagged_request_on_its_vlan_when_tags_are_restored(bool restore)
    {
        using var pool = new NetBufPool(64, 2048, new NetBufPoolOptions { DefaultHeadroom = 64, Name = "vlan-responder" });
        using var driver = new AfPacketDriver(pool, DriverEnd, new AfPacketDriverOptions { ReceiveRing = _ring, NetworkNamespace = _ns.Name, RestoreVlanTags = restore, RxQueueSize = 16, TxQueueSize = 16 });
        var loop = new EchoResponderLoop(driver, Frames.OurIp, new EchoResponderLoopOptions { MacAddress = Frames.OurMac, PostedBuffers = 16 });
        DriverHarness.Post(_sender, 16);
        Assert.That(loop.ProcessBatch(), Is.Zero, "posts the loop's buffers");

        DriverHarness.Send(_sender, Frames.Bytes(Frames.VlanPingRequest));
        var clock = Stopwatch.StartNew();
        while (loop.Counters.EchoReplies == 0 && clock.Elapsed < DriverHarness.ReplyTimeout)
        {
            _ = driver.WaitForReceive(TimeSpan.FromMilliseconds(100));
            _ = loop.ProcessBatch();
        }

        Assert.That(loop.Counters.EchoReplies, Is.EqualTo(1), loop.Counters.ToString());
        byte[] tagged = Frames.Bytes(Frames.VlanPingReply);
        byte[] expected = restore ? tagged : [.. tagged[..12], .. tagged[16..]];
        byte[] reply = DriverHarness.ReceiveMatching(_sender, f => f.Length > 12 && f.AsSpan(6, 6).SequenceEqual(tagged.AsSpan(6, 6)));
        Assert.That(reply, Is.EqualTo(expected), restore ? "the reply on VLAN 42, byte for byte" : "the reply untagged");
        _ = driver.RecycleTxBuffers();
        Assert.That(pool.InUse, Is.EqualTo(driver.HeldBuffers));
    }

    /// <summary>Jumbo MTU on both ends and a sender whose buffers take frames larger than the receiver's.</summary>
    private (NetBufPool Pool, AfPacketDriver Sender) JumboSender()
    {
        _ns.IpIn("link", "set", SenderEnd, "mtu", "4000");
        _ns.IpIn("link", "set", DriverEnd, "mtu", "4000");
        var pool = new NetBufPool(16, 4096, new NetBufPoolOptions { Name = "vlan-big-sender" });
        return (pool, new AfPacketDriver(pool, SenderEnd, new AfPacketDriverOptions { ReceiveRing = _ring, NetworkNamespace = _ns.Name, RxQueueSize = 1, TxQueueSize = 8 }));
    }

    /// <summary>Waits for the one frame sent last to be dropped and counted, and checks it is never handed out.</summary>
    private static void AssertDroppedOnce(AfPacketDriver driver)
    {
        var clock = Stopwatch.StartNew();
        while (driver.RxDropped == 0 && clock.Elapsed < DriverHarness.ReplyTimeout)
        {
            _ = driver.WaitForReceive(TimeSpan.FromMilliseconds(100));
            Assert.That(driver.TryReceive(out _), Is.False, "a dropped frame is not handed out");
        }

        Assert.That(driver.RxDropped, Is.EqualTo(1));
    }

    /// <summary>A frame to the driver's end: an optional outer and inner tag, the experimental
    /// EtherType, a sequence number and a payload pattern.</summary>
    private byte[] Frame(ushort sequence, int payloadLength, (ushort Tpid, ushort Tci)? outer, (ushort Tpid, ushort Tci)? inner)
    {
        var frame = new List<byte>();
        var header = new byte[12];
        TestFrames.Write(header, _driverMac);
        TestFrames.Write(header.AsSpan(6), TestFrames.TestMac);
        frame.AddRange(header);
        foreach ((ushort Tpid, ushort Tci)? tag in new[] { outer, inner })
        {
            if (tag is (ushort tpid, ushort tci))
            {
                frame.AddRange([(byte)(tpid >> 8), (byte)tpid, (byte)(tci >> 8), (byte)tci]);
            }
        }

        frame.AddRange([ExperimentalEtherType >> 8, ExperimentalEtherType & 0xFF, (byte)(sequence >> 8), (byte)sequence]);
        for (int i = 0; i < payloadLength - 2; i++)
        {
            frame.Add((byte)(sequence + i));
        }

        return [.. frame];
    }

    /// <summary>Receives the next frame of the test's EtherType (tagged or not), re-posting every buffer; returns it and where it starts in its buffer.</summary>
    private static (byte[] Frame, int Offset) Receive(AfPacketDriver driver)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < DriverHarness.ReplyTimeout)
        {
            _ = driver.WaitForReceive(TimeSpan.FromMilliseconds(100));
            while (driver.TryReceive(out NetBufPtr received))
            {
                byte[] bytes = received.Packet.ToArray();
                int offset = (int)(received.PacketAddress - received.BufferAddress);
                Assert.That(driver.TryRecycleRxBuffer(received), Is.True);
                if (IsTestFrame(bytes))
                {
                    return (bytes, offset);
                }
            }
        }

        Assert.Fail($"no frame within {DriverHarness.ReplyTimeout.TotalSeconds} s");
        return default;
    }

    /// <summary>Whether the frame carries the test's EtherType after up to two tags.</summary>
    private static bool IsTestFrame(byte[] frame)
    {
        for (int at = 12; at <= 20 && at + 2 <= frame.Length; at += 4)
        {
            if (BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(at)) == ExperimentalEtherType)
            {
                return true;
            }
        }

        return false;
    }
}
