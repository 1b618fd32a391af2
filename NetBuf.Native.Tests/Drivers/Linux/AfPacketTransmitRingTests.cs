using System.Buffers.Binary;
using System.Diagnostics;
using NetBufNative.Drivers;
using NetBufNative.Drivers.Linux;
using NetBufNative.Internal;
using NUnit.Framework;

namespace NetBufNative.Tests.Drivers.Linux;

/// <summary>
/// The AF_PACKET transmit ring (<see cref="AfPacketDriverOptions.TransmitRing"/>) on a veth pair in a namespace made for the
/// test, an AF_PACKET peer on the other end: its shape, a burst many times the ring held back by a slow qdisc (the ring
/// fills, frames wait, and every one arrives once the ring drains, in order), and a frame the kernel refuses
/// (<c>TP_STATUS_WRONG_FORMAT</c>, put in by a test switch): counted, given back, and the ring goes on. Each runs with the
/// receive ring (both rings in one mapping) and without it (the transmit ring alone).
/// </summary>
[NonParallelizable]
[TestFixture(true)]
[TestFixture(false)]
public sealed class AfPacketTransmitRingTests(bool receiveRing)
{
    private const string DriverEnd = "nbtd0";
    private const string PeerEnd = "nbtk0";
    private const ushort TestEtherType = ConformanceRig.TestEtherType;
    private const int RingQueueSize = 16;
    private TestNamespace _ns = null!;
    private NetBufPool _pool = null!;
    private NetBufPool _peerPool = null!;

    [SetUp]
    public void SetUp()
    {
        _ns = TestNamespace.Create();
        _ns.AddVethPair(DriverEnd, PeerEnd);
        _pool = new NetBufPool(128, 2048, new NetBufPoolOptions { Name = "afpacket-txring" });
        _peerPool = new NetBufPool(1024, 2048, new NetBufPoolOptions { Name = "afpacket-txring-peer" });
    }

    [TearDown]
    public void TearDown()
    {
        TestSwitches.TransmitRingMalformedFrames = 0;
        _pool?.Dispose();
        _peerPool?.Dispose();
        _ns?.Dispose();
    }

    [Test]
    public void The_ring_is_off_by_default_and_has_a_slot_per_transmit_buffer_each_holding_the_largest_frame()
    {
        Assert.That(new AfPacketDriverOptions().TransmitRing, Is.False);
        using (var plain = new AfPacketDriver(_pool, DriverEnd, new AfPacketDriverOptions { NetworkNamespace = _ns.Name, RxQueueSize = 8, TxQueueSize = 8, ReceiveRing = receiveRing }))
        {
            Assert.That(plain.TransmitsThroughRing, Is.False);
            Assert.That(plain.TransmitRingSlots, Is.Zero);
        }

        using AfPacketDriver driver = Open();
        Assert.That(driver.TransmitsThroughRing, Is.True);
        Assert.That(driver.ReceivesFromRing, Is.EqualTo(receiveRing));
        Assert.That(driver.TransmitRingSlots, Is.GreaterThanOrEqualTo(RingQueueSize));

        // tpacket_snd's data offset (32), the virtio-net header (10), MTU + header + a VLAN tag (1518).
        Assert.That(driver.TransmitRingSlotSize, Is.GreaterThanOrEqualTo(32 + 10 + 1518));
        Assert.That(driver.TransmitRingSlotSize % 16, Is.Zero, "TPACKET_ALIGNMENT");
    }

    /// <summary>
    /// A token-bucket qdisc on the driver's end holds the frames the kernel built over the ring's slots, so the ring fills:
    /// frames then wait in the transmit queue and go as slots come back. 40 times the ring's frames all arrive, in order.
    /// </summary>
    [Test]
    public void A_burst_many_times_the_ring_arrives_whole_and_in_order_once_the_ring_drains()
    {
        _ns.Exec("tc", "qdisc", "add", "dev", DriverEnd, "root", "tbf", "rate", "20mbit", "burst", "4kb", "latency", "2s");
        using AfPacketDriver driver = Open();
        using AfPacketDriver peer = OpenPeer();
        int total = 40 * driver.TransmitRingSlots;
        Task<List<int>> received = Task.Run(() => ReceiveSequences(peer, total, TimeSpan.FromSeconds(20)));

        int sent = 0;
        bool waited = false;
        var clock = Stopwatch.StartNew();
        NetBufPtr next = AllocFrame(driver, 0);
        while (sent < total && clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            _ = driver.RecycleTxBuffers();
            if (driver.TryTransmit(next))
            {
                sent++;
                next = sent < total ? AllocFrame(driver, sent) : default;
            }
            else
            {
                // The queue is full: frames wait for slots the qdisc holds.
                waited = true;
                Thread.Sleep(1);
            }

            waited |= driver.HasPendingTransmit;
        }

        // The last frames go as the ring drains: recycling pushes them.
        while (driver.HasPendingTransmit && clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            _ = driver.RecycleTxBuffers();
            Thread.Sleep(1);
        }

        Assert.That(sent, Is.EqualTo(total), "every frame was taken");
        Assert.That(waited, Is.True, "the ring was full at times (frames waited in the queue)");
        List<int> sequences = received.GetAwaiter().GetResult();
        Assert.That(sequences, Is.EqualTo(Enumerable.Range(0, total)), "every frame arrived once, in order");
        Assert.That(driver.TxDropped, Is.Zero);
        Assert.That(driver.TxFrames, Is.EqualTo(total));
        _ = driver.RecycleTxBuffers();
        driver.Dispose();
        Assert.That(_pool.InUse, Is.Zero, "every buffer back");
    }

    /// <summary>
    /// A frame the kernel refuses (a length beyond its slot, written by a test switch: EMSGSIZE, the slot marked
    /// <c>TP_STATUS_WRONG_FORMAT</c>) with a good one after it in the same kick: both are given back and counted as dropped,
    /// the error is reported by the next call, and then twice the ring's frames go through in order: the kernel's head and
    /// the driver's agree again (a slot left refused would hold the kernel's head there for good).
    /// </summary>
    [Test]
    public void A_frame_the_kernel_refuses_is_counted_given_back_and_the_ring_goes_on()
    {
        using AfPacketDriver driver = Open();
        using AfPacketDriver peer = OpenPeer();
        TestSwitches.TransmitRingMalformedFrames = 1;
        Assert.That(driver.TransmitBatch([AllocFrame(driver, 1000), AllocFrame(driver, 1001)]), Is.EqualTo(2), "both taken");
        Assert.That(TestSwitches.TransmitRingMalformedFrames, Is.Zero, "the switch was used");
        Assert.That(driver.TxDropped, Is.EqualTo(2), "the refused frame and the one after it, not sent");
        Assert.That(driver.TransmitRingRefused, Is.EqualTo(1));
        NetBufPtr probe = AllocFrame(driver, 1002);
        NetDriverException error = Assert.Throws<NetDriverException>(() => driver.TryTransmit(probe))!;
        Assert.That(error.Message, Does.Contain("EMSGSIZE").And.Contain("WRONG_FORMAT"));
        Assert.That(_pool.IsLent(probe), Is.True, "an exception: nothing was taken");
        _pool.FreeBulk([probe]);

        int total = 2 * driver.TransmitRingSlots;
        Task<List<int>> received = Task.Run(() => ReceiveSequences(peer, total, TimeSpan.FromSeconds(10)));
        int sent = 0;
        var clock = Stopwatch.StartNew();
        NetBufPtr next = AllocFrame(driver, 0);
        while (sent < total && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            _ = driver.RecycleTxBuffers();
            if (driver.TryTransmit(next))
            {
                sent++;
                next = sent < total ? AllocFrame(driver, sent) : default;
            }
        }

        Assert.That(sent, Is.EqualTo(total), "every frame was taken");

        List<int> sequences = received.GetAwaiter().GetResult();
        Assert.That(sequences, Is.EqualTo(Enumerable.Range(0, total)), "the frames after the refused one arrive, in order (not the refused ones)");
        Assert.That(driver.TxDropped, Is.EqualTo(2));
        _ = driver.RecycleTxBuffers();
        driver.Dispose();
        Assert.That(_pool.InUse, Is.Zero, "every buffer back");
    }

    private static NetBufPtr AllocFrame(AfPacketDriver driver, int sequence)
    {
        NetBufPtr buffer = driver.AllocTxBuffer(200);
        Span<byte> frame = buffer.Packet;
        frame.Fill(0x5A);
        NetBufNative.Wire.MacAddress.Broadcast.WriteTo(frame);
        new NetBufNative.Wire.MacAddress(0x02, 0, 0, 0, 0, 0x42).WriteTo(frame[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(frame[12..], TestEtherType);
        BinaryPrimitives.WriteInt32BigEndian(frame[14..], sequence);
        return buffer;
    }

    /// <summary>Receives test frames at <paramref name="peer"/> until <paramref name="count"/> came or the time is up; their sequence numbers in arrival order.</summary>
    private static List<int> ReceiveSequences(AfPacketDriver peer, int count, TimeSpan timeout)
    {
        var sequences = new List<int>(count);
        var batch = new NetBufPtr[64];
        var clock = Stopwatch.StartNew();
        while (sequences.Count < count && clock.Elapsed < timeout)
        {
            _ = peer.WaitForReceive(TimeSpan.FromMilliseconds(50));
            int received = peer.ReceiveBatch(batch);
            for (int i = 0; i < received; i++)
            {
                ReadOnlySpan<byte> frame = batch[i].Packet;
                if (frame.Length >= 18 && BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) == TestEtherType)
                {
                    sequences.Add(BinaryPrimitives.ReadInt32BigEndian(frame[14..]));
                }

                _ = peer.TryRecycleRxBuffer(batch[i]);
            }
        }

        return sequences;
    }

    private AfPacketDriver Open() => new(_pool, DriverEnd, new AfPacketDriverOptions
    {
        NetworkNamespace = _ns.Name,
        RxQueueSize = 8,
        TxQueueSize = RingQueueSize,
        ReceiveRing = receiveRing,
        TransmitRing = true,
    });

    private AfPacketDriver OpenPeer()
    {
        var peer = new AfPacketDriver(_peerPool, PeerEnd, new AfPacketDriverOptions { NetworkNamespace = _ns.Name, RxQueueSize = 512, TxQueueSize = 8 });
        DriverHarness.Post(peer, 512);
        return peer;
    }
}
