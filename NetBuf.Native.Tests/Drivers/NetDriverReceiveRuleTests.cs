using NetBufNative.Drivers;
using NUnit.Framework;

namespace NetBufNative.Tests.Drivers;

/// <summary>What the driver core checks of every received frame, whichever driver received it.</summary>
public sealed class NetDriverReceiveRuleTests
{
    [Test]
    public void A_received_frame_shorter_than_the_devices_smallest_is_dropped_and_counted_and_its_buffer_goes_back()
    {
        using var pool = new NetBufPool(32, 2048);
        using var device = new FakeDevice(pool, maxFrameLength: 1514);
        for (int i = 0; i < 3; i++)
        {
            Assert.That(device.TryRecycleRxBuffer(pool.Alloc().IntoBufPtr()), Is.True);
        }

        // 14 bytes (an Ethernet header) is the fake device's smallest frame: 5 is a runt, 14 and 60 are frames.
        device.Arriving.Enqueue(60);
        device.Arriving.Enqueue(5);
        device.Arriving.Enqueue(14);
        var frames = new NetBufPtr[4];
        int n = device.ReceiveBatch(frames);
        Assert.That(n, Is.EqualTo(2), "the runt was not handed out");
        Assert.That(frames[0].PacketLength, Is.EqualTo(60));
        Assert.That(frames[1].PacketLength, Is.EqualTo(14));
        Assert.That(device.RxDropped, Is.EqualTo(1));
        pool.FreeBulk(frames.AsSpan(0, n));
        Assert.That(pool.InUse, Is.Zero, "the runt's buffer went back to the pool");
    }
}
