using NetBufNative.Drivers;
using NUnit.Framework;

namespace NetBufNative.Tests.Drivers;

/// <summary>The core's record of a device that is gone for good (<c>NetDriver.DeviceGone</c>), with no real device in the way.</summary>
public sealed class NetDriverGoneTests
{
    [Test]
    public void Once_a_driver_finds_its_device_gone_every_receive_transmit_and_wait_throws_bad_state_and_posting_and_recycling_still_work()
    {
        using var pool = new NetBufPool(64, 2048);
        var device = new FakeDevice(pool, 1514);
        NetBufPtr sent = Frame(pool);
        Assert.That(device.TryTransmit(sent), Is.True);
        device.Vanished = true;

        var first = Assert.Throws<NetDriverException>(() => device.ReceiveBatch(new NetBufPtr[4]));
        Assert.That(first!.Kind, Is.EqualTo(NetDriverErrorKind.BadState));
        Assert.That(first.ErrorNumber, Is.EqualTo(19));
        Assert.That(first.Message, Does.Contain("fake0 is gone (removed by the test)").And.Contain("dispose the driver"));

        // The device would report nothing any more: the core keeps saying it.
        device.Vanished = false;
        NetBufPtr frame = Frame(pool);
        foreach (TestDelegate call in new TestDelegate[]
        {
            () => device.ReceiveBatch(new NetBufPtr[4]),
            () => device.TryReceive(out _),
            () => device.WaitForReceive(Timeout.InfiniteTimeSpan),
            () => device.WaitForTransmit(Timeout.InfiniteTimeSpan),
            () => device.TransmitBatch([frame]),
            () => device.TryTransmit(frame),
        })
        {
            var later = Assert.Throws<NetDriverException>(call);
            Assert.That(later!.Kind, Is.EqualTo(NetDriverErrorKind.BadState));
            Assert.That(later.Message, Is.EqualTo(first.Message));
        }

        Assert.That(pool.IsLent(frame), Is.True, "the refused transmit took nothing");
        Assert.That(device.RecycleTxBuffers(), Is.EqualTo(1), "a sent buffer still comes back");
        Assert.That(device.TryRecycleRxBuffer(frame), Is.True, "posting still works, so a loop can drain and dispose");
        device.Dispose();
        Assert.That(pool.InUse, Is.Zero);
    }

    private static NetBufPtr Frame(NetBufPool pool)
    {
        NetBuf buffer = pool.Alloc();
        buffer.SetPacketLength(60);
        return buffer.IntoBufPtr();
    }
}
