using NUnit.Framework;

namespace NetBufNative.Tests;

[TestFixture(0)]
[TestFixture(16)]
public sealed class BulkTests(int cacheSize)
{
    private NetBufPool _pool = null!;

    [SetUp]
    public void CreatePool() =>
        _pool = new NetBufPool(64, 2048, new NetBufPoolOptions { ThreadCacheSize = cacheSize, DefaultHeadroom = 64 });

    [TearDown]
    public void DisposePool() => _pool.Dispose();

    [Test]
    public void TryAllocBulk_of_pointers_is_all_or_nothing()
    {
        var tooMany = new NetBufPtr[65];
        Assert.That(_pool.TryAllocBulk(tooMany), Is.False);
        Assert.That(tooMany, Is.All.EqualTo(default(NetBufPtr)), "left untouched");
        Assert.That(_pool.Available, Is.EqualTo(64));

        var ring = new NetBufPtr[40];
        Assert.That(_pool.TryAllocBulk(ring), Is.True);
        Assert.That(_pool.InUse, Is.EqualTo(40));
        Assert.That(ring.Select(p => p.BufferIndex), Is.Unique);
        Assert.That(ring.Select(p => (int)(p.PacketAddress - p.BufferAddress)), Is.All.EqualTo(64), "default headroom");
        Assert.That(ring.Select(p => p.PacketLength), Is.All.Zero);

        var more = new NetBufPtr[25];
        Assert.That(_pool.TryAllocBulk(more), Is.False, "only 24 left");
        Assert.That(_pool.InUse, Is.EqualTo(40));

        // A lent buffer from a bulk allocation restores like any other.
        using (var buf = _pool.FromBufPtr(ring[0]))
        {
            Assert.That(buf.Headroom, Is.EqualTo(64));
            buf.Append(10);
        }

        _pool.FreeBulk(ring.AsSpan(1));
        Assert.That(_pool.Available, Is.EqualTo(64));
        HandleOwnershipTests.AssertPoolHandsOutDistinctBuffers(_pool);
    }

    [Test]
    public void TryAllocBulk_of_boxes_is_all_or_nothing_and_FreeBulk_clears_the_span()
    {
        var boxes = new NetBufBox[64];
        Assert.That(_pool.TryAllocBulk(boxes), Is.True);
        Assert.That(boxes.Select(b => b.IsValid), Is.All.True);
        Assert.That(_pool.TryAllocBulk(new NetBufBox[1]), Is.False);
        boxes[3].AsNetBuf().Append(5);

        _pool.FreeBulk(boxes);
        Assert.That(boxes, Is.All.EqualTo(default(NetBufBox)));
        Assert.That(_pool.Available, Is.EqualTo(64));
        HandleOwnershipTests.AssertPoolHandsOutDistinctBuffers(_pool);
    }

    [Test]
    public void Empty_bulks_do_nothing()
    {
        Assert.That(_pool.TryAllocBulk(Span<NetBufPtr>.Empty), Is.True);
        Assert.That(_pool.TryAllocBulk(Span<NetBufBox>.Empty), Is.True);
        _pool.FreeBulk(ReadOnlySpan<NetBufPtr>.Empty);
        _pool.FreeBulk(Span<NetBufBox>.Empty);
        Assert.That(_pool.Available, Is.EqualTo(64));
    }

    [Test]
    public void FreeBulk_with_a_bad_pointer_throws_and_changes_nothing()
    {
        var ring = new NetBufPtr[8];
        Assert.That(_pool.TryAllocBulk(ring), Is.True);
        using var other = new NetBufPool(4, 2048);
        var foreign = other.Alloc().IntoBufPtr();

        var withForeign = ring.Append(foreign).ToArray();
        Assert.Throws<ArgumentException>(() => _pool.FreeBulk(withForeign));
        var withNull = ring.Append(default).ToArray();
        Assert.Throws<ArgumentException>(() => _pool.FreeBulk(withNull));
        _pool.FromBufPtr(ring[5]).IntoBufPtr();
        Assert.That(_pool.InUse, Is.EqualTo(8), "nothing was freed");

        // ring[5] was restored (and lent again under a new token): the old pointer is stale.
        Assert.Throws<InvalidOperationException>(() => _pool.FreeBulk(ring));
        Assert.That(_pool.InUse, Is.EqualTo(8));

        var valid = ring.Where((_, i) => i != 5).ToArray();
        _pool.FreeBulk(valid);
        Assert.That(_pool.InUse, Is.EqualTo(1));
        other.FromBufPtr(foreign).Dispose();
    }

    [Test]
    public void FreeBulk_with_a_pointer_listed_twice_frees_each_buffer_once_and_says_so()
    {
        var ring = new NetBufPtr[4];
        Assert.That(_pool.TryAllocBulk(ring), Is.True);
        var withDuplicate = ring.Append(ring[2]).ToArray();
        var ex = Assert.Throws<InvalidOperationException>(() => _pool.FreeBulk(withDuplicate));
        Assert.That(ex!.Message, Does.Contain("appears twice").And.Contain("The other 4 buffers were freed"));
        Assert.That(_pool.InUse, Is.Zero, "each buffer freed exactly once");
        HandleOwnershipTests.AssertPoolHandsOutDistinctBuffers(_pool);
    }

    [Test]
    public void FreeBulk_with_a_stale_or_foreign_box_throws_and_changes_nothing()
    {
        var boxes = new NetBufBox[6];
        Assert.That(_pool.TryAllocBulk(boxes), Is.True);
        var stale = boxes[1];
        stale.IntoNetBuf().IntoBox().Dispose();
        Assert.Throws<ObjectDisposedException>(() => _pool.FreeBulk(boxes));
        Assert.That(_pool.InUse, Is.EqualTo(6 - 1));
        Assert.That(boxes[0].IsValid && boxes[2].IsValid, Is.True);

        using var other = new NetBufPool(4, 2048);
        boxes[1] = other.AllocBoxed();
        Assert.Throws<ArgumentException>(() => _pool.FreeBulk(boxes));
        other.FreeBulk(boxes.AsSpan(1, 1));

        // The same box twice: validation cannot tell, so the first copy frees it, the second
        // fails, every other box is freed exactly once, and the span is cleared.
        boxes[1] = boxes[2];
        Assert.Throws<ObjectDisposedException>(() => _pool.FreeBulk(boxes), "the same box twice");
        Assert.That(boxes.ToArray(), Is.All.EqualTo(default(NetBufBox)), "cleared");
        Assert.That(_pool.Available, Is.EqualTo(64));
        Assert.That(stale.IsValid, Is.False);
    }

    [Test]
    public void Bulk_operations_after_dispose_throw()
    {
        var ring = new NetBufPtr[4];
        Assert.That(_pool.TryAllocBulk(ring), Is.True);
        _pool.Dispose();
        Assert.Throws<ObjectDisposedException>(() => _pool.TryAllocBulk(new NetBufPtr[2]));
        Assert.Throws<ObjectDisposedException>(() => _pool.TryAllocBulk(new NetBufBox[2]));
        Assert.That(_pool.IsMemoryReleased, Is.False);
        _pool.FreeBulk(ring);
        Assert.That(_pool.IsMemoryReleased, Is.True, "bulk returns count toward the release");
    }

    [Test]
    public void Large_bulks_work_beyond_the_stack_buffer()
    {
        using var big = new NetBufPool(1000, 2048, new NetBufPoolOptions { ThreadCacheSize = cacheSize });
        var ring = new NetBufPtr[600];
        Assert.That(big.TryAllocBulk(ring), Is.True);
        Assert.That(ring.Select(p => p.BufferIndex), Is.Unique);
        Assert.That(big.TryAllocBulk(new NetBufPtr[401]), Is.False);
        big.FreeBulk(ring);
        Assert.That(big.Available, Is.EqualTo(1000));
        HandleOwnershipTests.AssertPoolHandsOutDistinctBuffers(big);
    }

    [Test]
    public void Threads_bulk_allocating_and_freeing_never_share_a_buffer()
    {
        using var pool = new NetBufPool(256, 2048, new NetBufPoolOptions { ThreadCacheSize = cacheSize });
        var owners = new int[256];
        int violations = 0;
        var threads = Enumerable.Range(1, 6).Select(id => new Thread(() =>
        {
            var ring = new NetBufPtr[32];
            for (int i = 0; i < 3000; i++)
            {
                if (!pool.TryAllocBulk(ring))
                {
                    Thread.Yield();
                    continue;
                }

                foreach (var p in ring)
                {
                    if (Interlocked.Exchange(ref owners[p.BufferIndex], id) != 0)
                    {
                        Interlocked.Increment(ref violations);
                    }
                }

                foreach (var p in ring)
                {
                    if (Interlocked.Exchange(ref owners[p.BufferIndex], 0) != id)
                    {
                        Interlocked.Increment(ref violations);
                    }
                }

                pool.FreeBulk(ring);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        Deadlines.JoinAll(threads);
        Assert.That(violations, Is.Zero);
        Assert.That(pool.Available, Is.EqualTo(256));
        HandleOwnershipTests.AssertPoolHandsOutDistinctBuffers(pool);
    }
}
