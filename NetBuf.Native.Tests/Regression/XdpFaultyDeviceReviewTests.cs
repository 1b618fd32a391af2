using NetBufNative.Drivers;
using NetBufNative.Tests.Drivers;
using NUnit.Framework;

namespace NetBufNative.Tests.Regression;

/// <summary>A faulty AF_XDP device: a completion entry for a chunk that is posted on the fill ring (not in flight).</summary>
[NonParallelizable]
public sealed unsafe class XdpFaultyDeviceReviewTests
{
    [Test]
    public void A_completion_for_a_posted_receive_buffer_is_refused_not_freed_under_the_kernel()
    {
        using ConformanceRig rig = ConformanceRig.Create("xdp");
        var driver = (NetBufNative.Drivers.Linux.Xdp.XdpDriver)rig.Driver;
        var one = new NetBufPtr[1];
        Assert.That(rig.Pool.TryAllocBulk(one), Is.True);
        int postedIndex = one[0].BufferIndex;
        Assert.That(driver.TryRecycleRxBuffer(one[0]), Is.True);

        // The device completes a transmission of the posted chunk (it never was sent).
        var flags = System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance;
        object completion = typeof(NetBufNative.Drivers.Linux.Xdp.XdpDriver).GetField("_completion", flags)!.GetValue(driver)!;
        Type ring = completion.GetType();
        uint* producer = (uint*)System.Reflection.Pointer.Unbox(ring.GetField("_producer", flags)!.GetValue(completion)!);
        byte* entries = (byte*)System.Reflection.Pointer.Unbox(ring.GetField("_entries", flags)!.GetValue(completion)!);
        uint mask = (uint)ring.GetField("_mask", flags)!.GetValue(completion)!;
        uint p = Volatile.Read(ref *producer);
        ((ulong*)entries)[p & mask] = (ulong)postedIndex * (ulong)rig.Pool.BufferStride;
        Volatile.Write(ref *producer, p + 1);

        int recycled = driver.RecycleTxBuffers();
        TestContext.Out.WriteLine($"recycled {recycled}, held {driver.HeldBuffers}, rx invalid {driver.RxInvalid}");

        // Whoever allocates next owns the chunk the kernel still has on its fill ring.
        var owned = new List<NetBufPtr>();
        var ptr = new NetBufPtr[1];
        while (rig.Pool.TryAllocBulk(ptr))
        {
            new Span<byte>((void*)ptr[0].BufferAddress, rig.Pool.BufferLength).Fill(0xEE);
            owned.Add(ptr[0]);
        }

        rig.Inject(ConformanceRig.Frame(100, 7));
        Thread.Sleep(300);
        int corrupted = owned.Count(b => new Span<byte>((void*)b.BufferAddress, rig.Pool.BufferLength).IndexOfAnyExcept((byte)0xEE) >= 0);
        rig.Pool.FreeBulk(owned.ToArray());
        Assert.Multiple(() =>
        {
            Assert.That(recycled, Is.Zero, "a completion for a chunk that was never transmitted is refused");
            Assert.That(corrupted, Is.Zero, "the kernel wrote a received frame into a buffer the pool had given to someone else");
        });
    }
}
