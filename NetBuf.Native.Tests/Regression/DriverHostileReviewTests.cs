using NetBufNative.Apps;
using NetBufNative.Drivers;
using NetBufNative.Internal;
using NetBufNative.Tests.Drivers;
using NetBufNative.Wire;
using NUnit.Framework;

namespace NetBufNative.Tests.Regression;

/// <summary>
/// A hostile review of the driver layer: pointers whose regions were forged after they were lent, and the echo
/// responder over a device whose post fails after the core took the buffer.
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

    /// <summary>A device whose post fails on its first burst (the core has handed the buffers over by then).</summary>
    private sealed class FailingPostDevice(NetBufPool pool) : NetDriver(pool)
    {
        private readonly Queue<NetBufPtr> _posted = new();

        public int FailPosts { get; set; }

        public override string DeviceName => "failpost0";

        public override MacAddress MacAddress => new(0x02, 0, 0, 0, 0, 7);

        public override int RxQueueSize => 8;

        public override int TxQueueSize => 8;

        public override int HeldBuffers => _posted.Count;

        protected override int RxRoom => 8 - _posted.Count;

        protected override int TxRoom => 8;

        protected override void PostRxBurst(ReadOnlySpan<NetBufPtr> buffers)
        {
            if (FailPosts > 0)
            {
                FailPosts--;
                throw new NetDriverException(NetDriverErrorKind.Io, "post fault put in by the test");
            }

            foreach (NetBufPtr buffer in buffers)
            {
                _posted.Enqueue(buffer);
            }
        }

        protected override int ReceiveBurst(Span<NetBufPtr> destination) => 0;

        protected override void TransmitBurst(ReadOnlySpan<NetBufPtr> frames) => throw new InvalidOperationException("not used");

        protected override int TakeCompleted(Span<NetBufPtr> destination) => 0;

        protected override bool HasReceived() => false;

        protected override bool WaitForReceiveCore(TimeSpan timeout, CancellationToken cancellationToken) => false;

        protected override bool WaitForTransmitCore(TimeSpan timeout, CancellationToken cancellationToken) => true;

        protected override void CloseDevice()
        {
        }

        protected override int TakeHeld(Span<NetBufPtr> destination)
        {
            int count = 0;
            while (count < destination.Length && _posted.TryDequeue(out NetBufPtr posted))
            {
                destination[count++] = posted;
            }

            return count;
        }
    }

    [Test]
    public void A_post_that_fails_after_the_hand_over_counts_as_taken_and_the_next_receive_reports_it()
    {
        using var pool = new NetBufPool(16, 2048);
        using var driver = new FailingPostDevice(pool) { FailPosts = 1 };
        NetBufPtr buffer = pool.Alloc().IntoBufPtr();
        Assert.That(driver.TryRecycleRxBuffer(buffer), Is.True, "taken: the caller's copy went stale at the hand-over");
        Assert.Multiple(() =>
        {
            Assert.That(pool.IsLent(buffer), Is.False);
            Assert.That(pool.InUse, Is.Zero, "the buffer the device did not take is back in the pool");
        });
        var error = Assert.Throws<NetDriverException>(() => driver.TryReceive(out _));
        Assert.That(error!.Kind, Is.EqualTo(NetDriverErrorKind.Io), "the device's error, at the next receive");
    }

    [Test]
    public void The_responder_loses_no_buffer_when_its_drivers_post_fails_after_the_hand_over()
    {
        using var pool = new NetBufPool(32, 2048);
        var driver = new FailingPostDevice(pool) { FailPosts = 1 };
        var loop = new EchoResponderLoop(driver, new Ipv4Address(10, 0, 0, 1), new EchoResponderLoopOptions { BatchSize = 4, PostedBuffers = 8 });
        Exception? thrown = null;
        try
        {
            _ = loop.ProcessBatch();
        }
        catch (Exception e)
        {
            thrown = e;
        }

        int heldByDriver = driver.HeldBuffers;
        driver.Dispose();
        Assert.Multiple(() =>
        {
            // The device error (Io) is counted and the loop goes on (a responder outlives a transient fault); no
            // exception of the loop's own clean-up escapes.
            Assert.That(thrown, Is.Null, "an Io error is counted, not thrown");
            Assert.That(loop.Counters.DeviceErrors, Is.EqualTo(1));
            Assert.That(loop.Counters.ToString(), Is.Not.Empty);
            Assert.That(pool.InUse, Is.Zero, $"buffers lost by the loop (the driver held {heldByDriver} before its disposal)");
        });
    }
}
