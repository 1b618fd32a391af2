using System.Buffers.Binary;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using NetBufNative.Drivers;
using NetBufNative.Drivers.Linux;
using NetBufNative.Wire;
using NUnit.Framework;

namespace NetBufNative.Tests.Drivers.Linux;

/// <summary>
/// <see cref="AfPacketDriver.GetStatistics"/> and the <c>netbuf.afpacket.*</c> metrics: a second AF_PACKET socket on
/// the other end of a veth pair floods the driver's socket, which is not receiving and has a small receive buffer, so
/// the kernel drops frames; the drops and the frames that reached the socket are checked against what was sent and
/// what the driver then received, and the totals against a second read (the kernel resets its counters on each).
/// </summary>
[NonParallelizable]
public sealed class AfPacketStatisticsTests
{
    private const string FloodEnd = "nbk0";
    private const string DriverEnd = "nbd0";

    /// <summary>An EtherType no stack answers (IEEE 802 local experimental), so the flood provokes no frame.</summary>
    private const ushort FloodEtherType = 0x88B5;

    /// <summary>A flood frame's length: the shortest Ethernet frame (without its FCS), the most frames for the buffer.</summary>
    private const int FloodFrameLength = 60;

    /// <summary>Frames the flood sends: ten times what the receive buffer of <see cref="SmallReceiveBuffer"/> holds.</summary>
    private const int FloodFrames = 2000;

    /// <summary>The receive buffer asked for: 16 KiB (32 KiB as the kernel counts), room for some tens of small frames.</summary>
    private const int SmallReceiveBuffer = 16 * 1024;

    private TestNamespace _ns = null!;
    private NetBufPool _pool = null!;
    private NetBufPool _floodPool = null!;

    [SetUp]
    public void SetUp()
    {
        _ns = TestNamespace.Create();
        _ns.AddVethPair(FloodEnd, DriverEnd);
        _pool = new NetBufPool(256, 2048, new NetBufPoolOptions { Name = "afpacket-statistics" });
        _floodPool = new NetBufPool(128, 2048, new NetBufPoolOptions { Name = "afpacket-flood" });
    }

    [TearDown]
    public void TearDown()
    {
        _pool?.Dispose();
        _floodPool?.Dispose();
        _ns?.Dispose();
    }

    [Test]
    public void A_flood_the_driver_does_not_take_overflows_the_socket_and_the_kernel_drops_are_counted_and_kept()
    {
        using var driver = new AfPacketDriver(_pool, DriverEnd, new AfPacketDriverOptions
        {
            NetworkNamespace = _ns.Name,
            RxQueueSize = 128,
            TxQueueSize = 16,
            ReceiveBufferSize = SmallReceiveBuffer,
        });
        using var flooder = new AfPacketDriver(_floodPool, FloodEnd, new AfPacketDriverOptions { NetworkNamespace = _ns.Name, RxQueueSize = 1, TxQueueSize = 64 });
        Assert.That(driver.ReceiveBufferSize, Is.EqualTo(2 * SmallReceiveBuffer), "SO_RCVBUFFORCE as root: the kernel doubles it");
        AfPacketStatistics empty = driver.GetStatistics();
        Assert.That((empty.Packets, empty.Drops), Is.EqualTo((0L, 0L)));

        long sent = Flood(flooder, driver.MacAddress, FloodFrames);
        Assert.That(sent, Is.EqualTo(FloodFrames), "the flooder's socket took every frame");

        // The frames are on their way through the veth's backlog: wait until the socket's count stops growing.
        AfPacketStatistics flooded = WaitUntilSettled(driver);
        Assert.That(flooded.Drops, Is.GreaterThan(0), $"the socket, not receiving, overflowed: {flooded}");

        (int floodReceived, int otherReceived) = Drain(driver);
        TestContext.Out.WriteLine($"sent {sent}, {flooded}; received {floodReceived} of the flood and {otherReceived} other frames");
        AfPacketStatistics totals = driver.GetStatistics();
        Assert.Multiple(() =>
        {
            Assert.That(floodReceived, Is.GreaterThan(0), "what the buffer held was received");
            Assert.That(floodReceived + totals.Drops, Is.LessThanOrEqualTo(sent), "no frame is both received and dropped, none counted twice");
            Assert.That(totals.Packets, Is.EqualTo(driver.RxFrames + driver.RxDropped + totals.Drops), "every frame that reached the socket was received or dropped by the kernel");
            Assert.That(driver.RxDropped, Is.Zero);
            Assert.That(totals.Drops, Is.EqualTo(flooded.Drops), "draining the queue drops nothing more");
        });

        // The kernel reset its counters at every read above: the totals stay.
        AfPacketStatistics again = driver.GetStatistics();
        Assert.That((again.Packets, again.Drops), Is.EqualTo((totals.Packets, totals.Drops)));
        Assert.That(again.ToString(), Does.Contain($"{again.Drops} dropped"));
    }

    [Test]
    public void The_totals_are_published_as_metrics_tagged_with_the_device_and_the_socket()
    {
        using var driver = new AfPacketDriver(_pool, DriverEnd, new AfPacketDriverOptions
        {
            NetworkNamespace = _ns.Name,
            RxQueueSize = 64,
            TxQueueSize = 16,
            ReceiveBufferSize = SmallReceiveBuffer,
        });
        using var flooder = new AfPacketDriver(_floodPool, FloodEnd, new AfPacketDriverOptions { NetworkNamespace = _ns.Name, RxQueueSize = 1, TxQueueSize = 64 });
        var measured = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == NetBufMetrics.MeterName && instrument.Name.StartsWith("netbuf.afpacket.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            bool device = false;
            bool socket = false;
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                device |= tag.Key == "netbuf.device.name" && Equals(tag.Value, DriverEnd);
                socket |= tag.Key == "netbuf.afpacket.socket" && Equals(tag.Value, driver.SocketNumber);
            }

            if (device && socket)
            {
                measured[instrument.Name] = value;
            }
        });
        listener.Start();

        long sent = Flood(flooder, driver.MacAddress, FloodFrames);
        AfPacketStatistics flooded = WaitUntilSettled(driver);
        (int received, _) = Drain(driver);
        AfPacketStatistics statistics = driver.GetStatistics();
        listener.RecordObservableInstruments();

        Assert.That(sent, Is.EqualTo(FloodFrames));
        Assert.That(flooded.Drops, Is.GreaterThan(0));
        Assert.That(received, Is.GreaterThan(0));
        Assert.That(measured["netbuf.afpacket.socket_drops"], Is.EqualTo(statistics.Drops));
        Assert.That(measured["netbuf.afpacket.socket_packets"], Is.EqualTo(statistics.Packets));
        Assert.That(measured["netbuf.afpacket.rx_frames"], Is.EqualTo(driver.RxFrames));
        Assert.That(measured["netbuf.afpacket.tx_frames"], Is.Zero);

        // A disposed driver leaves the instruments.
        driver.Dispose();
        measured.Clear();
        listener.RecordObservableInstruments();
        Assert.That(measured, Is.Empty);
        Assert.That(Assert.Throws<NetDriverException>(() => driver.GetStatistics())!.Kind, Is.EqualTo(NetDriverErrorKind.BadState));
    }

    [Test]
    public void A_receive_buffer_size_out_of_range_is_refused_before_anything_is_opened()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new AfPacketDriver(_pool, DriverEnd, new AfPacketDriverOptions { NetworkNamespace = _ns.Name, ReceiveBufferSize = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AfPacketDriver(_pool, DriverEnd, new AfPacketDriverOptions { NetworkNamespace = _ns.Name, ReceiveBufferSize = int.MaxValue / 2 + 1 }));
        using var driver = new AfPacketDriver(_pool, DriverEnd, new AfPacketDriverOptions { NetworkNamespace = _ns.Name, RxQueueSize = 16, TxQueueSize = 16 });
        Assert.That(driver.ReceiveBufferSize, Is.GreaterThan(0), "the kernel's default");
    }

    /// <summary>Sends <paramref name="count"/> minimal frames of <see cref="FloodEtherType"/> to <paramref name="destination"/>, as fast as the socket takes them.</summary>
    /// <returns>How many the flooder's socket sent.</returns>
    private static long Flood(AfPacketDriver flooder, MacAddress destination, int count)
    {
        var batch = new NetBufPtr[32];
        int queued = 0;
        var clock = Stopwatch.StartNew();
        while (queued < count && clock.Elapsed < DriverHarness.ReplyTimeout)
        {
            _ = flooder.RecycleTxBuffers();
            int wanted = Math.Min(batch.Length, count - queued);
            for (int i = 0; i < wanted; i++)
            {
                batch[i] = flooder.AllocTxBuffer(FloodFrameLength);
                Span<byte> frame = batch[i].Packet;
                frame.Clear();
                destination.WriteTo(frame);
                flooder.MacAddress.WriteTo(frame[6..]);
                BinaryPrimitives.WriteUInt16BigEndian(frame[12..], FloodEtherType);
                BinaryPrimitives.WriteInt32BigEndian(frame[14..], queued + i);
            }

            int accepted = flooder.TransmitBatch(batch.AsSpan(0, wanted));
            flooder.Pool.FreeBulk(batch.AsSpan(accepted, wanted - accepted));
            queued += accepted;
            if (accepted < wanted)
            {
                _ = flooder.WaitForTransmit(TimeSpan.FromMilliseconds(10));
            }
        }

        // Frames the socket had no room for wait in the driver's queue until a later call sends them.
        while (flooder.HeldBuffers > 0 && clock.Elapsed < DriverHarness.ReplyTimeout)
        {
            _ = flooder.RecycleTxBuffers();
            Thread.Sleep(1);
        }

        return flooder.TxFrames - flooder.TxDropped;
    }

    /// <summary>Reads the statistics until two reads 100 ms apart agree: the flood has all reached the socket or been lost before it.</summary>
    private static AfPacketStatistics WaitUntilSettled(AfPacketDriver driver)
    {
        AfPacketStatistics last = driver.GetStatistics();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < DriverHarness.ReplyTimeout)
        {
            Thread.Sleep(100);
            AfPacketStatistics now = driver.GetStatistics();
            if (now.Packets == last.Packets)
            {
                return now;
            }

            last = now;
        }

        return last;
    }

    /// <summary>Posts buffers and receives until nothing comes for 200 ms.</summary>
    /// <returns>Frames of the flood received, and other frames.</returns>
    private static (int Flood, int Other) Drain(AfPacketDriver driver)
    {
        DriverHarness.Post(driver, driver.RxQueueSize);
        var batch = new NetBufPtr[32];
        int flood = 0;
        int other = 0;
        while (driver.WaitForReceive(TimeSpan.FromMilliseconds(200)))
        {
            int received = driver.ReceiveBatch(batch);
            for (int i = 0; i < received; i++)
            {
                ReadOnlySpan<byte> frame = batch[i].Packet;
                if (frame.Length >= EthernetFrame.UntaggedHeaderLength && BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) == FloodEtherType)
                {
                    flood++;
                }
                else
                {
                    other++;
                }

                Assert.That(driver.TryRecycleRxBuffer(batch[i]), Is.True);
            }
        }

        return (flood, other);
    }
}
