using System.Diagnostics;
using NetBufNative.Drivers.Linux;
using NetBufNative.Drivers.Linux.Xdp;
using NUnit.Framework;

namespace NetBufNative.Tests.Drivers.Linux.Xdp;

/// <summary>
/// Two interfaces, one pool: an <see cref="XdpDriver"/> on each of two veth pairs inside a namespace
/// made for the test, both over the same pool and neither sharing the other's UMEM (each registers
/// the pool's block as a UMEM of its own). A frame one driver receives is transmitted by the other
/// from the same buffer, no copy, both ways; AF_PACKET sockets on the far ends send and check them
/// byte for byte. What sharing does not do: <see cref="XdpMultiQueueTests"/>.
/// </summary>
[NonParallelizable]
public sealed class XdpForwardingTests
{
    private const string HostA = "nbha0";
    private const string DriverA = "nbda0";
    private const string HostB = "nbhb0";
    private const string DriverB = "nbdb0";

    /// <summary>An EtherType for local experiments (IEEE 802): no protocol of the kernel answers it.</summary>
    private const ushort ExperimentalEtherType = 0x88B5;

    private TestNamespace _ns = null!;
    private NetBufPool _pool = null!;
    private NetBufPool _hostPool = null!;

    [SetUp]
    public void SetUp()
    {
        _ns = TestNamespace.Create();
        _ns.AddVethPair(HostA, DriverA);
        _ns.AddVethPair(HostB, DriverB);
        _pool = XdpDriver.CreatePool(512, name: "xdp-forward");
        _hostPool = new NetBufPool(256, 2048, new NetBufPoolOptions { Name = "hosts" });
    }

    [TearDown]
    public void TearDown()
    {
        _pool?.Dispose();
        _hostPool?.Dispose();
        _ns?.Dispose();
    }

    [Test]
    public void Two_drivers_on_two_interfaces_over_one_pool_forward_frames_from_the_buffers_they_arrived_in()
    {
        var options = new XdpDriverOptions { NetworkNamespace = _ns.Name, BindMode = XdpBindMode.Copy, RxQueueSize = 64, TxQueueSize = 64 };
        using var hostA = new AfPacketDriver(_hostPool, HostA, new AfPacketDriverOptions { NetworkNamespace = _ns.Name, RxQueueSize = 64, TxQueueSize = 64 });
        using var hostB = new AfPacketDriver(_hostPool, HostB, new AfPacketDriverOptions { NetworkNamespace = _ns.Name, RxQueueSize = 64, TxQueueSize = 64 });
        DriverHarness.Post(hostA, 64);
        DriverHarness.Post(hostB, 64);
        using (var a = new XdpDriver(_pool, DriverA, options))
        using (var b = new XdpDriver(_pool, DriverB, options))
        {
            DriverHarness.Post(a, 32);
            DriverHarness.Post(b, 32);
            Forward(hostA, a, b, hostB, first: 1);
            Forward(hostB, b, a, hostA, first: 100);
            Assert.That(a.RxInvalid + b.RxInvalid, Is.Zero);
            Assert.That(_pool.InUse, Is.EqualTo(a.HeldBuffers + b.HeldBuffers), "every buffer out is held by one of the drivers");
        }

        Assert.That(_pool.InUse, Is.Zero, "both drivers gave every buffer back");
    }

    /// <summary>Sends frames from <paramref name="from"/> to <paramref name="into"/>, which hands each to <paramref name="outOf"/> to transmit; <paramref name="to"/> must get them all, in order.</summary>
    private void Forward(AfPacketDriver from, XdpDriver into, XdpDriver outOf, AfPacketDriver to, int first)
    {
        const int Count = 20;
        var sent = new List<byte[]>();
        for (int i = 0; i < Count; i++)
        {
            // 60 to 1500 bytes: short frames and full ones.
            byte[] frame = Frame(into.MacAddress, (ushort)(first + i), 60 + (i * 1440 / (Count - 1)));
            sent.Add(frame);
            DriverHarness.Send(from, frame);
        }

        var batch = new NetBufPtr[16];
        var fresh = new NetBufPtr[16];
        var received = new List<byte[]>();
        long transmittedBefore = outOf.TxFrames;
        var clock = Stopwatch.StartNew();
        while (received.Count < Count && clock.Elapsed < DriverHarness.ReplyTimeout)
        {
            _ = into.WaitForReceive(TimeSpan.FromMilliseconds(10));
            int count = into.ReceiveBatch(batch);
            if (count > 0)
            {
                // The buffers the frames arrived in go out of the other interface as they are.
                Assert.That(outOf.TransmitBatch(batch.AsSpan(0, count)), Is.EqualTo(count), "the other driver takes the buffers");
                Assert.That(_pool.TryAllocBulk(fresh.AsSpan(0, count)), Is.True);
                foreach (NetBufPtr buffer in fresh.AsSpan(0, count))
                {
                    Assert.That(into.TryRecycleRxBuffer(buffer), Is.True, "fresh buffers for the receive queue");
                }
            }

            _ = outOf.RecycleTxBuffers();
            while (to.TryReceive(out NetBufPtr frame))
            {
                byte[] bytes = frame.Packet.ToArray();
                Assert.That(to.TryRecycleRxBuffer(frame), Is.True);
                if (bytes.Length >= 14 && ((bytes[12] << 8) | bytes[13]) == ExperimentalEtherType)
                {
                    received.Add(bytes);
                }
            }
        }

        Assert.That(received, Is.EqualTo(sent), $"every frame, in order, byte for byte ({into.GetStatistics()}; {outOf.GetStatistics()})");
        Assert.That(outOf.TxFrames - transmittedBefore, Is.EqualTo(Count));
        clock.Restart();
        while (outOf.HeldBuffers > 32 && clock.Elapsed < DriverHarness.ReplyTimeout)
        {
            _ = outOf.RecycleTxBuffers();
            Thread.Sleep(1);
        }

        Assert.That(outOf.HeldBuffers, Is.EqualTo(32), "every forwarded buffer completed and went back to the pool");
    }

    /// <summary>A frame to <paramref name="destination"/> of the experimental EtherType: a sequence number and a payload pattern, <paramref name="length"/> bytes in all.</summary>
    private static byte[] Frame(NetBufNative.Wire.MacAddress destination, ushort sequence, int length)
    {
        var frame = new byte[length];
        TestFrames.Write(frame, destination);
        TestFrames.Write(frame.AsSpan(6), TestFrames.TestMac);
        frame[12] = ExperimentalEtherType >> 8;
        frame[13] = ExperimentalEtherType & 0xFF;
        frame[14] = (byte)(sequence >> 8);
        frame[15] = (byte)sequence;
        for (int i = 16; i < length; i++)
        {
            frame[i] = (byte)(sequence + i);
        }

        return frame;
    }
}
