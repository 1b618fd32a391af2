using NetBufNative.Drivers;
using NetBufNative.Internal;
using NetBufNative.Tests.Drivers;
using NetBufNative.Wire;
using NUnit.Framework;

namespace NetBufNative.Tests.Regression;

/// <summary>
/// A hostile review of the driver layer: pointers whose regions were forged after they were lent.
/// </summary>
[NonParallelizable]
public sealed class DriverHostileReviewTests
{
    /// <summary>A copy of a current lending with its regions rewritten to reach past the buffer (the token is real).</summary>
    private static NetBufPtr ForgeRegions(NetBufPtr real, int offset, int headerLength, int packetLength) =>
        new(real.BufferAddress, real.BufferIndex, real.Token, RegionWord.Make(offset, headerLength, packetLength));

    [Test]
    public void A_hand_over_keeps_the_pools_regions_not_the_pointers()
    {
        using var pool = new NetBufPool(8, 2048);
        NetBuf owned = pool.Alloc();
        owned.SetPacketLength(60);
        NetBufPtr real = owned.IntoBufPtr();
        NetBufPtr forged = ForgeRegions(real, 2000, 40, 1000);
        if (pool.TryHandOver(forged, out NetBufPtr handedOver))
        {
            Assert.Multiple(() =>
            {
                Assert.That(handedOver.PacketLength, Is.EqualTo(real.PacketLength), "the packet the pool lent");
                Assert.That(handedOver.HeaderLength, Is.EqualTo(real.HeaderLength));
                Assert.That(handedOver.HeaderAddress, Is.EqualTo(real.HeaderAddress));
                Assert.That(RegressionSupport.IsInsideBuffer(pool, handedOver.BufferIndex, handedOver.PacketWithHeader), Is.True);
            });
            pool.FreeBulk([handedOver]);
        }
        else
        {
            pool.FreeBulk([real]);
        }
    }

    [Test]
    public void A_frame_whose_pointer_regions_were_forged_past_its_buffer_sends_only_its_own_buffer()
    {
        using var pool = new NetBufPool(16, 2048);
        using var driver = new LoopbackDriver(pool, queueSize: 4);
        Assert.That(driver.TryRecycleRxBuffer(driver.AllocTxBuffer(0)), Is.True);
        NetBufPtr real = driver.AllocTxBuffer(60);

        // 1000 bytes from offset 2000 of a 2048-byte buffer: 952 bytes of the next buffer would go on the wire.
        NetBufPtr forged = ForgeRegions(real, 2000, 0, 1000);
        Assert.That(driver.TryTransmit(forged), Is.True, "the lending is current: the pool's regions count, not the pointer's");
        Assert.That(driver.TryReceive(out NetBufPtr received), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(RegressionSupport.IsInsideBuffer(pool, received.BufferIndex, received.PacketWithHeader), Is.True, "the frame reached past its buffer");
            Assert.That(received.PacketLength, Is.EqualTo(60), "the frame the buffer was lent with");
        });
        pool.FreeBulk([received]);
    }

    [Test]
    public void A_frame_too_long_for_the_device_is_refused_whatever_its_pointer_says()
    {
        using var pool = new NetBufPool(16, 2048);
        using var driver = new FakeDevice(pool, maxFrameLength: 1514);
        NetBufPtr real = pool.Alloc().IntoBufPtr();
        NetBuf owned = pool.FromBufPtr(real);
        owned.SetPacketLength(1800);
        real = owned.IntoBufPtr();

        // The copy claims 60 bytes; the buffer was lent with 1800, more than the device's 1514.
        NetBufPtr forged = ForgeRegions(real, (int)(real.HeaderAddress - real.BufferAddress), 0, 60);
        var error = Assert.Throws<NetDriverException>(() => driver.TryTransmit(forged), "a frame of 1800 bytes taken for a 1514-byte device");
        Assert.That(error!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
        Assert.That(pool.IsLent(real), Is.True, "nothing was taken");
        pool.FreeBulk([real]);
    }
}
