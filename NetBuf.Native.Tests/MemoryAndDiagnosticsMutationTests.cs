using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NUnit.Framework;

namespace NetBufNative.Tests;

/// <summary>
/// The memory manager behind a buffer's <see cref="Memory{T}"/>: pins at the buffer's end and past it,
/// pins refused once the buffer or the block is gone (without keeping the block), a pin keeping the
/// block until its own handle is disposed, a rental disposed twice; and the diagnostic mode's
/// reports: the quarantine's length, a write after free at the buffer's first byte, a write after
/// free found when the pool is disposed, a failed bulk take that must not touch the records of
/// buffers in use, and stack traces only when sampled, with file and line.
/// </summary>
[NonParallelizable]
public sealed class MemoryAndDiagnosticsMutationTests
{
    [Test]
    public void An_empty_packet_at_the_very_end_of_the_buffer_can_be_pinned()
    {
        using var pool = new NetBufPool(2, 2048, new NetBufPoolOptions { DefaultHeadroom = 0 });
        using var buf = pool.Alloc();
        buf.ReserveHeadroom(2048);

        Memory<byte> memory = buf.PacketMemory;
        Assert.That(memory.IsEmpty, Is.True);
        using MemoryHandle handle = memory.Pin();
        unsafe
        {
            Assert.That((nint)handle.Pointer, Is.EqualTo(buf.Pool.BufferAddress(buf.BufferIndex) + 2048));
        }
    }

    [Test]
    public void Pinning_past_the_end_of_the_buffer_is_refused()
    {
        using var pool = new NetBufPool(2, 2048);
        using var buf = pool.Alloc();
        MemoryManager<byte> manager = ManagerOf(buf.PacketMemory);

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => manager.Pin(2049));

        Assert.That(ex!.Message, Does.Contain("The index must be inside the buffer."));
        Assert.That(ex.ParamName, Is.EqualTo("elementIndex"));
    }

    [Test]
    public void A_pin_refused_for_a_returned_buffer_does_not_keep_the_block_and_later_pins_say_it_is_freed()
    {
        var pool = new NetBufPool(2, 2048, new NetBufPoolOptions { Name = "gone" });
        NetBuf buf = pool.Alloc();
        MemoryManager<byte> manager = ManagerOf(buf.PacketMemory);
        buf.Dispose();

        var returned = Assert.Throws<ObjectDisposedException>(() => manager.Pin());
        Assert.That(returned!.Message, Does.Contain($"Buffer {buf.BufferIndex} of gone was returned to its pool."));
        var span = Assert.Throws<ObjectDisposedException>(() => _ = manager.GetSpan());
        Assert.That(span!.Message, Does.Contain("was returned to its pool"));

        pool.Dispose();

        Assert.That(pool.Memory.IsReleased, Is.True, "the refused pin gave its reference back");
        var freed = Assert.Throws<ObjectDisposedException>(() => manager.Pin());
        Assert.That(freed!.Message, Does.Contain("The memory of gone has been freed."));
        Assert.That(pool.Memory.TimesFreed, Is.EqualTo(1));
    }

    [Test]
    public void Each_pin_keeps_the_block_until_its_own_handle_is_disposed()
    {
        var pool = new NetBufPool(2, 2048, new NetBufPoolOptions { Name = "pinned" });
        NetBuf buf = pool.Alloc();
        Memory<byte> memory = buf.PacketMemory;
        MemoryHandle first = memory.Pin();
        MemoryHandle second = memory.Pin();
        buf.Dispose();
        pool.Dispose();

        first.Dispose();
        Assert.That(pool.Memory.IsReleased, Is.False, "the second pin still holds the block");

        second.Dispose();
        Assert.That(pool.Memory.IsReleased, Is.True);
        Assert.That(pool.Memory.TimesFreed, Is.EqualTo(1));
    }

    [Test]
    public void Disposing_a_rental_twice_says_it_was_already_disposed_and_returns_nothing_twice()
    {
        using var pool = new NetBufPool(4, 2048, new NetBufPoolOptions { Name = "rent" });
        using var memoryPool = new NetBufMemoryPool(pool);
        IMemoryOwner<byte> owner = memoryPool.Rent();
        owner.Dispose();
        Assert.That(pool.Available, Is.EqualTo(4));

        var ex = Assert.Throws<ObjectDisposedException>(owner.Dispose);

        Assert.That(ex!.Message, Does.Contain("of rent was already disposed."));
        Assert.That(pool.Available, Is.EqualTo(4));
        HandleOwnershipTests.AssertPoolHandsOutDistinctBuffers(pool);
    }

    [Test]
    public void The_quarantine_holds_exactly_its_length_of_freed_buffers()
    {
        using var pool = BulkAndBatchMutationTests.DiagnosticPool(8, quarantine: 3, new ConcurrentQueue<NetBufDiagnostic>());
        var buffers = new NetBufBox[8];
        for (int i = 0; i < buffers.Length; i++)
        {
            buffers[i] = pool.AllocBoxed();
        }

        foreach (NetBufBox box in buffers)
        {
            box.Dispose();
        }

        Assert.That(pool.Available, Is.EqualTo(5));
        Assert.That(pool.InUse, Is.Zero);
    }

    [Test]
    public unsafe void A_write_after_free_at_the_first_byte_of_the_buffer_is_reported()
    {
        var reports = new ConcurrentQueue<NetBufDiagnostic>();
        using var pool = BulkAndBatchMutationTests.DiagnosticPool(4, quarantine: 1, reports);
        NetBufPtr pointer = pool.Alloc().IntoBufPtr();
        pool.FromBufPtr(pointer).Dispose();
        *(byte*)pointer.BufferAddress = 0x55; // the bug: an address kept past its buffer's return

        // Push it out of the quarantine (1 long) with another free.
        pool.Alloc().Dispose();

        Assert.That(reports.Select(r => (r.Kind, r.BufferIndex, r.Offset)), Is.EqualTo(new[] { (NetBufDiagnosticKind.WriteAfterFree, pointer.BufferIndex, 0) }));
    }

    [Test]
    public unsafe void A_write_after_free_to_a_buffer_still_in_quarantine_is_reported_when_the_pool_is_disposed()
    {
        var reports = new ConcurrentQueue<NetBufDiagnostic>();
        var pool = BulkAndBatchMutationTests.DiagnosticPool(4, quarantine: 2, reports);
        NetBufPtr pointer = pool.Alloc().IntoBufPtr();
        pool.FromBufPtr(pointer).Dispose();
        ((byte*)pointer.BufferAddress)[7] = 0x55;
        Assert.That(reports, Is.Empty, "still in quarantine");

        pool.Dispose();

        Assert.That(reports.Select(r => (r.Kind, r.BufferIndex, r.Offset)), Is.EqualTo(new[] { (NetBufDiagnosticKind.WriteAfterFree, pointer.BufferIndex, 7) }));
    }

    [Test]
    public void Stack_traces_are_taken_only_when_sampled_and_give_file_and_line()
    {
        using var sampled = BulkAndBatchMutationTests.DiagnosticPool(4, quarantine: 1, new ConcurrentQueue<NetBufDiagnostic>(), sampleRate: 1);
        using var unsampled = BulkAndBatchMutationTests.DiagnosticPool(4, quarantine: 1, new ConcurrentQueue<NetBufDiagnostic>(), sampleRate: 0);
        NetBufBox a = AllocateTheLeak(sampled);
        NetBufBox b = AllocateTheLeak(unsampled);

        string? trace = sampled.GetOutstandingBuffers().Single().AllocatedAt;
        Assert.That(trace, Does.Contain(nameof(AllocateTheLeak)));
        Assert.That(trace, Does.Contain(nameof(MemoryAndDiagnosticsMutationTests) + ".cs:line "));
        Assert.That(unsampled.GetOutstandingBuffers().Single().AllocatedAt, Is.Null);
        a.Dispose();
        b.Dispose();
    }

    [Test]
    public void A_failed_bulk_take_in_the_diagnostic_mode_leaves_the_records_of_buffers_in_use_alone()
    {
        using var pool = BulkAndBatchMutationTests.DiagnosticPool(8, quarantine: 2, new ConcurrentQueue<NetBufDiagnostic>());
        NetBufBox leak = AllocateTheLeak(pool);

        // More than the pool holds: nothing is taken (the destination is written only in part).
        Assert.That(pool.TryTakeIndices(new int[9]), Is.False);

        NetBufDiagnostic outstanding = pool.GetOutstandingBuffers().Single();
        Assert.That(outstanding.BufferIndex, Is.EqualTo(leak.Index));
        Assert.That(outstanding.Kind, Is.EqualTo(NetBufDiagnosticKind.Leak));
        Assert.That(outstanding.Offset, Is.EqualTo(-1), "documented: -1 for a leak, in the diagnostic mode too");
        Assert.That(outstanding.AllocatedAt, Does.Contain(nameof(AllocateTheLeak)));
        Assert.That(pool.Available, Is.EqualTo(7));
        leak.Dispose();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static NetBufBox AllocateTheLeak(NetBufPool pool) => pool.AllocBoxed();

    private static MemoryManager<byte> ManagerOf(Memory<byte> memory)
    {
        Assert.That(MemoryMarshal.TryGetMemoryManager<byte, MemoryManager<byte>>(memory, out MemoryManager<byte>? manager), Is.True);
        return manager!;
    }
}
