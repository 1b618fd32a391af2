using NetBufNative.Internal;
using NUnit.Framework;

namespace NetBufNative.Tests;

public sealed class PoolConstructionTests
{
    [TestCase(1526)]
    [TestCase(2048)]
    [TestCase(65535)]
    public void Accepts_buffer_lengths_at_and_inside_the_bounds(int bufferLength)
    {
        using var pool = new NetBufPool(4, bufferLength);
        Assert.That(pool.BufferLength, Is.EqualTo(bufferLength));
        Assert.That(pool.Capacity, Is.EqualTo(4));
        Assert.That(pool.Available, Is.EqualTo(4));
        Assert.That(pool.InUse, Is.Zero);
        Assert.That(pool.BlockAlignment, Is.EqualTo(NetBufPool.CacheLineSize));
        Assert.That(pool.DefaultHeadroom, Is.Zero);
        Assert.That(pool.IsDisposed, Is.False);
    }

    [TestCase(1525)]
    [TestCase(65536)]
    [TestCase(0)]
    [TestCase(-1)]
    [TestCase(int.MaxValue)]
    public void Rejects_buffer_lengths_outside_the_bounds(int bufferLength)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => _ = new NetBufPool(4, bufferLength));
        Assert.That(ex!.ParamName, Is.EqualTo("bufferLength"));
        Assert.That(ex.Message, Does.Contain("1526").And.Contain("65535"));
        Assert.That(ex.ActualValue, Is.EqualTo(bufferLength));
    }

    [TestCase(0)]
    [TestCase(-1)]
    [TestCase(int.MinValue)]
    [TestCase(int.MaxValue)]
    public void Rejects_capacities_outside_the_bounds(int capacity)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => _ = new NetBufPool(capacity, 2048));
        Assert.That(ex!.ParamName, Is.EqualTo("capacity"));
        Assert.That(ex.Message, Does.Contain("between 1 and"));
    }

    [Test]
    public void Accepts_a_capacity_of_one()
    {
        using var pool = new NetBufPool(1, 2048);
        using var buf = pool.Alloc();
        Assert.That(pool.TryAlloc(out _), Is.False);
    }

    [Test]
    public void Block_length_is_checked_against_the_address_space()
    {
        Assert.That(NetBufPool.TryComputeBlockLength(1000, 2048, ulong.MaxValue, out ulong length), Is.True);
        Assert.That(length, Is.EqualTo(2_048_000UL));

        // On a 32-bit process nint.MaxValue is 2^31-1: 2^20 buffers of 2048 bytes (2 GiB) overflow it.
        Assert.That(NetBufPool.TryComputeBlockLength(1 << 20, 2048, int.MaxValue, out _), Is.False);
        Assert.That(NetBufPool.TryComputeBlockLength(int.MaxValue, 65536, (ulong)long.MaxValue, out length), Is.True);
        Assert.That(length, Is.EqualTo((ulong)int.MaxValue * 65536UL), "the product must not wrap");
    }

    [TestCase(1526, 1536)]
    [TestCase(1600, 1600)]
    [TestCase(2048, 2048)]
    [TestCase(2049, 2112)]
    [TestCase(65535, 65536)]
    public void Stride_is_the_length_rounded_up_to_a_cache_line(int bufferLength, int stride)
    {
        using var pool = new NetBufPool(2, bufferLength);
        Assert.That(pool.BufferStride, Is.EqualTo(stride));
    }

    [TestCase(1526, 64)]
    [TestCase(1527, 64)]
    [TestCase(2050, 4096)]
    [TestCase(9000, 128)]
    public void Every_buffer_starts_on_a_cache_line_and_the_block_on_the_requested_alignment(int bufferLength, int alignment)
    {
        const int Capacity = 37;
        using var pool = new NetBufPool(Capacity, bufferLength, new NetBufPoolOptions { BlockAlignment = alignment });
        var pointers = new NetBufPtr[Capacity];
        for (int i = 0; i < Capacity; i++)
        {
            var buf = pool.Alloc();
            pointers[i] = buf.IntoBufPtr();
        }

        Assert.That(pool.BlockAlignment, Is.EqualTo(alignment));
        var addresses = pointers.Select(p => (long)p.BufferAddress).Order().ToArray();
        Assert.That(addresses[0] % alignment, Is.Zero, "block alignment");
        foreach (long address in addresses)
        {
            Assert.That(address % NetBufPool.CacheLineSize, Is.Zero);
        }

        for (int i = 1; i < Capacity; i++)
        {
            Assert.That(addresses[i] - addresses[i - 1], Is.EqualTo(pool.BufferStride), "buffers are contiguous");
        }

        foreach (var p in pointers)
        {
            pool.FromBufPtr(p).Dispose();
        }

        Assert.That(pool.Available, Is.EqualTo(Capacity));
    }

    [Test]
    public void Page_alignment_can_be_requested()
    {
        int page = Environment.SystemPageSize;
        using var pool = new NetBufPool(3, 4096, new NetBufPoolOptions { BlockAlignment = page });
        var buf = pool.Alloc();
        var ptr = buf.IntoBufPtr();
        Assert.That(ptr.BufferIndex, Is.Zero);
        Assert.That((long)ptr.BufferAddress % page, Is.Zero);
        pool.FromBufPtr(ptr).Dispose();
    }

    [TestCase(0)]
    [TestCase(32)]
    [TestCase(96)]
    [TestCase(int.MinValue)]
    [TestCase(-64)]
    public void Rejects_bad_block_alignments(int alignment)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(
            () => _ = new NetBufPool(2, 2048, new NetBufPoolOptions { BlockAlignment = alignment }));
        Assert.That(ex!.Message, Does.Contain("BlockAlignment"));
    }

    [TestCase(-1)]
    [TestCase(2049)]
    public void Rejects_bad_default_headroom(int headroom)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(
            () => _ = new NetBufPool(2, 2048, new NetBufPoolOptions { DefaultHeadroom = headroom }));
        Assert.That(ex!.Message, Does.Contain("DefaultHeadroom"));
    }

    [Test]
    public void Default_headroom_applies_to_every_allocation()
    {
        using var pool = new NetBufPool(2, 2048, new NetBufPoolOptions { DefaultHeadroom = 128 });
        Assert.That(pool.DefaultHeadroom, Is.EqualTo(128));
        using var buf = pool.Alloc();
        Assert.That(buf.Headroom, Is.EqualTo(128));
        Assert.That(buf.Tailroom, Is.EqualTo(2048 - 128));
        Assert.That(buf.Prepend(14).Length, Is.EqualTo(14));
    }

    [Test]
    public void Name_comes_from_the_options_or_is_generated()
    {
        using var named = new NetBufPool(1, 2048, new NetBufPoolOptions { Name = "rx0" });
        using var anonymous = new NetBufPool(1, 2048);
        Assert.That(named.Name, Is.EqualTo("rx0"));
        Assert.That(anonymous.Name, Does.StartWith("NetBufPool#"));
        Assert.That(named.ToString(), Does.Contain("rx0").And.Contain("1 available"));
    }

    [Test]
    public void Every_metadata_slot_has_a_cache_line_of_its_own_after_the_array_header()
    {
        Assert.That(System.Runtime.CompilerServices.Unsafe.SizeOf<BufferSlot>(), Is.LessThanOrEqualTo(SlotTable.SlotSize));
        for (int capacity = 1; capacity <= 9; capacity++)
        {
            var table = SlotTable.Allocate(capacity);
            Assert.That(table.Stride, Is.EqualTo(64));
            nint first = SlotAddress(ref table[0]);
            Assert.That((long)(first % 64), Is.Zero, "the first slot starts a cache line");
            for (int i = 1; i < capacity; i++)
            {
                Assert.That((long)(SlotAddress(ref table[i]) - SlotAddress(ref table[i - 1])), Is.EqualTo(64));
            }
        }
    }

    [Test]
    public void A_zeroed_slot_table_is_a_free_list_of_every_buffer_in_order()
    {
        var slots = SlotTable.Allocate(5);
        var list = new IndexFreeList<AbaTaggedPolicy>();
        list.Initialize(slots);
        Assert.That(list.Count(slots), Is.EqualTo(5));
        Assert.That(Enumerable.Range(0, 5).Select(_ => list.Pop(slots)), Is.EqualTo(Enumerable.Range(0, 5)));
        Assert.That(list.Pop(slots), Is.EqualTo(IndexFreeList<AbaTaggedPolicy>.Empty));
    }

    private static unsafe nint SlotAddress(ref BufferSlot slot) => (nint)System.Runtime.CompilerServices.Unsafe.AsPointer(ref slot);
}
