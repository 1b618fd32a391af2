using System.Runtime.CompilerServices;
using NUnit.Framework;

namespace NetBufNative.Tests;

public sealed class PoolAllocationTests
{
    [Test]
    public void Alloc_gives_an_empty_buffer_of_the_pool_length()
    {
        using var pool = new NetBufPool(2, 2048);
        using var buf = pool.Alloc();
        Assert.That(buf.IsValid, Is.True);
        Assert.That(buf.Pool, Is.SameAs(pool));
        Assert.That(buf.Capacity, Is.EqualTo(2048));
        Assert.That(buf.HeaderLength, Is.Zero);
        Assert.That(buf.PacketLength, Is.Zero);
        Assert.That(buf.Headroom, Is.Zero);
        Assert.That(buf.Tailroom, Is.EqualTo(2048));
        Assert.That(pool.Available, Is.EqualTo(1));
        Assert.That(pool.InUse, Is.EqualTo(1));
    }

    [Test]
    public void Buffers_are_distinct_and_do_not_overlap()
    {
        using var pool = new NetBufPool(3, 1526);
        using var a = pool.Alloc();
        using var b = pool.Alloc();
        using var c = pool.Alloc();
        a.RawBuffer.Fill(0xAA);
        b.RawBuffer.Fill(0xBB);
        c.RawBuffer.Fill(0xCC);
        Assert.That(a.RawBuffer.ToArray(), Is.All.EqualTo(0xAA));
        Assert.That(b.RawBuffer.ToArray(), Is.All.EqualTo(0xBB));
        Assert.That(c.RawBuffer.ToArray(), Is.All.EqualTo(0xCC));
        Assert.That(new[] { a.BufferIndex, b.BufferIndex, c.BufferIndex }, Is.Unique);
    }

    [Test]
    public void Alloc_on_an_exhausted_pool_throws_naming_the_pool_and_recovers_after_a_return()
    {
        using var pool = new NetBufPool(2, 2048, new NetBufPoolOptions { Name = "tx-ring" });
        var first = pool.Alloc();
        using var second = pool.Alloc();
        var ex = Assert.Throws<NetBufPoolExhaustedException>(() => pool.Alloc());
        Assert.That(ex!.Message, Does.Contain("tx-ring").And.Contain("all 2 buffers"));
        Assert.Throws<NetBufPoolExhaustedException>(() => pool.AllocBoxed());
        Assert.That(pool.TryAlloc(out var none), Is.False);
        Assert.That(none.IsValid, Is.False);
        Assert.That(pool.TryAllocBoxed(out var noBox), Is.False);
        Assert.That(noBox.IsValid, Is.False);
        Assert.That(pool.Available, Is.Zero);
        Assert.That(pool.InUse, Is.EqualTo(2));

        first.Dispose();
        Assert.That(pool.Available, Is.EqualTo(1));
        Assert.That(pool.TryAlloc(out var again), Is.True);
        Assert.That(again.IsValid, Is.True);
        again.Dispose();
    }

    [Test]
    public void TryAlloc_and_TryAllocBoxed_succeed_while_buffers_are_free()
    {
        using var pool = new NetBufPool(2, 2048);
        Assert.That(pool.TryAlloc(out var buf), Is.True);
        Assert.That(pool.TryAllocBoxed(out var box), Is.True);
        Assert.That(buf.IsValid && box.IsValid, Is.True);
        Assert.That(pool.InUse, Is.EqualTo(2));
        buf.Dispose();
        box.Dispose();
        Assert.That(pool.Available, Is.EqualTo(2));
    }

    [Test]
    public void The_free_list_is_last_in_first_out()
    {
        using var pool = new NetBufPool(8, 2048);
        var buf = pool.Alloc();
        int index = buf.BufferIndex;
        buf.Dispose();
        using var again = pool.Alloc();
        Assert.That(again.BufferIndex, Is.EqualTo(index), "the most recently returned buffer is the warmest");
    }

    [Test]
    public void Available_tracks_every_allocation_and_return()
    {
        using var pool = new NetBufPool(16, 2048);
        var boxes = new List<NetBufBox>();
        for (int i = 1; i <= 16; i++)
        {
            boxes.Add(pool.AllocBoxed());
            Assert.That(pool.Available, Is.EqualTo(16 - i));
            Assert.That(pool.InUse, Is.EqualTo(i));
        }

        for (int i = 0; i < boxes.Count; i++)
        {
            boxes[i].Dispose();
            Assert.That(pool.Available, Is.EqualTo(i + 1));
        }
    }

    [Test]
    public void Alloc_after_dispose_throws_ObjectDisposedException()
    {
        var pool = new NetBufPool(2, 2048, new NetBufPoolOptions { Name = "gone" });
        pool.Dispose();
        Assert.That(pool.IsDisposed, Is.True);
        var ex = Assert.Throws<ObjectDisposedException>(() => pool.Alloc());
        Assert.That(ex!.Message, Does.Contain("gone"));
        Assert.Throws<ObjectDisposedException>(() => pool.TryAlloc(out _));
        Assert.Throws<ObjectDisposedException>(() => pool.AllocBoxed());
        Assert.Throws<ObjectDisposedException>(() => pool.TryAllocBoxed(out _));
        Assert.That(pool.Available, Is.Zero);
        Assert.That(pool.IsMemoryReleased, Is.True, "nothing was out, so the block is freed at once");
    }

    [Test]
    public void Dispose_twice_is_harmless()
    {
        var pool = new NetBufPool(2, 2048);
        pool.Dispose();
        Assert.DoesNotThrow(pool.Dispose);
        Assert.That(pool.IsMemoryReleased, Is.True);
    }

    [Test]
    public void Buffers_out_at_dispose_stay_usable_and_the_block_is_freed_when_the_last_returns()
    {
        var pool = new NetBufPool(4, 2048);
        var buf = pool.Alloc();
        var box = pool.AllocBoxed();
        var ptr = pool.Alloc().IntoBufPtr();
        buf.Append(100).Fill(7);

        pool.Dispose();
        Assert.That(pool.IsMemoryReleased, Is.False);
        Assert.That(pool.InUse, Is.EqualTo(3));
        Assert.That(buf.Packet.ToArray(), Is.All.EqualTo(7), "still readable after the pool is disposed");

        buf.Dispose();
        Assert.That(pool.InUse, Is.EqualTo(2));
        box.Dispose();
        Assert.That(pool.IsMemoryReleased, Is.False);

        var restored = pool.FromBufPtr(ptr);
        restored.Append(10).Fill(1);
        Assert.That(pool.IsMemoryReleased, Is.False);
        restored.Dispose();
        Assert.That(pool.IsMemoryReleased, Is.True);
        Assert.That(pool.InUse, Is.Zero);

        // Stale handles still fail cleanly: they read managed metadata only, never the freed block.
        Expect.Throws<ObjectDisposedException>(buf, static (ref NetBuf b) => _ = b.Packet.Length);
        Expect.Throws<ObjectDisposedException>(restored, static (ref NetBuf b) => b.Dispose());
    }

    [Test]
    public void Dispose_racing_with_returns_frees_the_block_exactly_once()
    {
        for (int round = 0; round < StressBudget.Operations(200); round++)
        {
            var pool = new NetBufPool(64, 2048);
            var boxes = new NetBufBox[64];
            for (int i = 0; i < boxes.Length; i++)
            {
                boxes[i] = pool.AllocBoxed();
            }

            using var start = new Barrier(3);
            var returner1 = Task.Run(() => { start.SignalAndWait(); for (int i = 0; i < 32; i++) { boxes[i].Dispose(); } });
            var returner2 = Task.Run(() => { start.SignalAndWait(); for (int i = 32; i < 64; i++) { boxes[i].Dispose(); } });
            start.SignalAndWait();
            pool.Dispose();
            Deadlines.WaitAll(returner1, returner2);

            Assert.That(pool.IsMemoryReleased, Is.True, $"round {round}");
            Assert.That(pool.InUse, Is.Zero);
        }
    }

    [TestCase(0)]
    [TestCase(8)]
    public void An_abandoned_pool_is_freed_by_its_finalizer(int cacheSize)
    {
        // With a cache too: this thread's cache table must not keep the pool alive.
        WeakReference block = AllocateAndAbandon(cacheSize);
        for (int i = 0; i < 10 && block.IsAlive; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        Assert.That(block.IsAlive, Is.False, "the native block's handle was finalized");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference AllocateAndAbandon(int cacheSize)
    {
        var pool = new NetBufPool(64, 2048, new NetBufPoolOptions { ThreadCacheSize = cacheSize });
        pool.AllocBoxed().Dispose();
        var buf = pool.Alloc();
        buf.Append(10);
        var field = typeof(NetBufPool).GetField("_memory", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!;
        return new WeakReference(field.GetValue(pool), trackResurrection: true);
    }
}
