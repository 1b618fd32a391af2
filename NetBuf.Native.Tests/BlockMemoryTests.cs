using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NetBufNative.Internal;
using NUnit.Framework;

namespace NetBufNative.Tests;

/// <summary>
/// <see cref="NetBufBlockMemory.PinnedArray"/>: the block in one pinned array, so a buffer's
/// <see cref="Memory{T}"/> is array-backed (<see cref="MemoryMarshal.TryGetArray{T}"/> succeeds
/// with a segment over the same bytes); the native default is not; limits and lifetime.
/// </summary>
[NonParallelizable]
public sealed class BlockMemoryTests
{
    [Test]
    public void A_pinned_array_block_hands_out_array_segments_of_the_same_bytes()
    {
        using var pool = new NetBufPool(16, 2048, new NetBufPoolOptions { BlockMemory = NetBufBlockMemory.PinnedArray, BlockAlignment = 4096 });
        Assert.That(pool.BlockMemory, Is.EqualTo(NetBufBlockMemory.PinnedArray));
        using var memoryPool = new NetBufMemoryPool(pool);
        using var owner = memoryPool.Rent();
        owner.Memory.Span.Fill(0x3C);
        Assert.That(MemoryMarshal.TryGetArray<byte>(owner.Memory, out var segment), Is.True);
        Assert.That(segment.Count, Is.EqualTo(2048));
        Assert.That(segment.ToArray(), Is.All.EqualTo(0x3C));
        segment.Array![segment.Offset] = 0x7E;
        Assert.That(owner.Memory.Span[0], Is.EqualTo(0x7E), "the segment is the buffer, not a copy");

        using var buf = pool.Alloc();
        buf.Append(100).Fill(9);
        Assert.That(MemoryMarshal.TryGetArray<byte>(buf.PacketMemory, out var packet), Is.True);
        Assert.That(packet.Count, Is.EqualTo(100));
        Assert.That(packet.ToArray(), Is.All.EqualTo(9));
        Assert.That(buf.PacketMemory.Span.SequenceEqual(packet.AsSpan()), Is.True);

        // Every buffer of the block is aligned as asked, inside the array.
        Assert.That((long)(pool.BufferAddress(0) % 4096), Is.Zero);
    }

    [Test]
    public void A_native_block_is_not_array_backed()
    {
        using var pool = new NetBufPool(4, 2048);
        Assert.That(pool.BlockMemory, Is.EqualTo(NetBufBlockMemory.Native));
        using var memoryPool = new NetBufMemoryPool(pool);
        using var owner = memoryPool.Rent();
        Assert.That(MemoryMarshal.TryGetArray<byte>(owner.Memory, out _), Is.False);
    }

    [Test]
    public void A_returned_buffer_refuses_its_segment()
    {
        using var pool = new NetBufPool(4, 2048, new NetBufPoolOptions { BlockMemory = NetBufBlockMemory.PinnedArray });
        using var memoryPool = new NetBufMemoryPool(pool);
        var owner = memoryPool.Rent();
        Memory<byte> memory = owner.Memory;
        owner.Dispose();
        Assert.Throws<ObjectDisposedException>(() => MemoryMarshal.TryGetArray<byte>(memory, out _));
    }

    [Test]
    public void Bad_block_options_are_rejected_with_what_to_change()
    {
        var tooBig = Assert.Throws<ArgumentOutOfRangeException>(() => _ = new NetBufPool(1_100_000, 2048, new NetBufPoolOptions { BlockMemory = NetBufBlockMemory.PinnedArray }));
        Assert.That(tooBig!.Message, Does.Contain("do not fit one array").And.Contain("BlockMemory = Native"));
        var unknown = Assert.Throws<ArgumentOutOfRangeException>(() => _ = new NetBufPool(4, 2048, new NetBufPoolOptions { BlockMemory = (NetBufBlockMemory)7 }));
        Assert.That(unknown!.Message, Does.Contain("BlockMemory"));
    }

    [Test]
    public void A_pinned_array_pool_collected_with_a_buffer_out_keeps_its_array()
    {
        long leaked = PoolBlock.LeakedBlocks;
        WeakReference array = Abandon();
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        Assert.That(PoolBlock.LeakedBlocks, Is.EqualTo(leaked + 1));
        Assert.That(array.IsAlive, Is.True, "kept reachable on purpose: a span may still point into it");
    }

    [Test]
    public void A_disposed_pinned_array_pool_lets_the_array_go_once_every_buffer_is_back()
    {
        WeakReference array = DisposeWithBufferOut(out NetBufBox box, out NetBufPool pool);
        GC.Collect();
        Assert.That(array.IsAlive, Is.True, "a buffer is still out");
        box.Dispose();
        Assert.That(pool.IsMemoryReleased, Is.True);
        GC.KeepAlive(pool);
        pool = null!;
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        Assert.That(array.IsAlive, Is.False);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference Abandon()
    {
        var pool = new NetBufPool(4, 2048, new NetBufPoolOptions { BlockMemory = NetBufBlockMemory.PinnedArray, ThreadCacheSize = 0 });
        _ = pool.AllocBoxed();
        return new WeakReference(pool.Memory.Array, trackResurrection: true);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference DisposeWithBufferOut(out NetBufBox box, out NetBufPool pool)
    {
        pool = new NetBufPool(4, 2048, new NetBufPoolOptions { BlockMemory = NetBufBlockMemory.PinnedArray, ThreadCacheSize = 0 });
        box = pool.AllocBoxed();
        var array = new WeakReference(pool.Memory.Array);
        pool.Dispose();
        return array;
    }
}
