using System.Collections.Concurrent;
using NUnit.Framework;

namespace NetBufNative.Tests;

/// <summary>
/// The per-thread cache: sizing, and the rule that no buffer is ever stranded in a cache: when
/// the shared list runs dry an allocation takes the buffers of other threads' caches (idle or
/// exited threads included), <see cref="NetBufPool.Trim"/> returns them all, and disposal counts them.
/// </summary>
[NonParallelizable]
public sealed class ThreadCacheTests
{
    [Test]
    public void Automatic_size_depends_on_the_capacity_and_zero_turns_the_cache_off()
    {
        // Large enough for the 32 cap on any machine: the automatic size is a quarter of the
        // pool over one cache per core.
        using var tiny = new NetBufPool(4, 2048);
        using var large = new NetBufPool(1 << 18, 2048);
        using var off = new NetBufPool(4096, 2048, new NetBufPoolOptions { ThreadCacheSize = 0 });
        using var chosen = new NetBufPool(64, 2048, new NetBufPoolOptions { ThreadCacheSize = 10 });
        Assert.That(tiny.ThreadCacheSize, Is.Zero);
        Assert.That(large.ThreadCacheSize, Is.EqualTo(32));
        Assert.That(off.ThreadCacheSize, Is.Zero);
        Assert.That(chosen.ThreadCacheSize, Is.EqualTo(10));
    }

    [TestCase(-1)]
    [TestCase(1025)]
    public void Rejects_bad_cache_sizes(int size)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(
            () => _ = new NetBufPool(64, 2048, new NetBufPoolOptions { ThreadCacheSize = size }));
        Assert.That(ex!.Message, Does.Contain("ThreadCacheSize"));
    }

    [Test]
    public void Cached_buffers_count_as_available_and_Trim_returns_them_to_the_shared_list()
    {
        using var pool = new NetBufPool(64, 2048, new NetBufPoolOptions { ThreadCacheSize = 16 });
        var boxes = new List<NetBufBox>();
        for (int i = 0; i < 20; i++)
        {
            boxes.Add(pool.AllocBoxed());
        }

        Assert.That(pool.InUse, Is.EqualTo(20));
        boxes.ForEach(b => b.Dispose());
        Assert.That(pool.Available, Is.EqualTo(64), "buffers in this thread's cache are available");
        Assert.That(CachedCount(pool), Is.GreaterThan(0));

        pool.Trim();
        Assert.That(CachedCount(pool), Is.Zero);
        Assert.That(pool.Available, Is.EqualTo(64));
        HandleOwnershipTests.AssertPoolHandsOutDistinctBuffers(pool);
    }

    [Test]
    public void Buffers_cached_by_idle_threads_are_taken_when_the_shared_list_runs_dry()
    {
        const int Capacity = 64;
        using var pool = new NetBufPool(Capacity, 2048, new NetBufPoolOptions { ThreadCacheSize = 16 });
        using var cached = new CountdownEvent(8);
        using var release = new ManualResetEventSlim();

        // Eight threads each take and free eight buffers (their caches keep them), then idle.
        var idlers = Enumerable.Range(0, 8).Select(_ => new Thread(() =>
        {
            var mine = new List<NetBufBox>();
            for (int i = 0; i < 8; i++)
            {
                mine.Add(pool.AllocBoxed());
            }

            mine.ForEach(b => b.Dispose());
            cached.Signal();
            release.Wait();
        })).ToList();
        idlers.ForEach(t => t.Start());
        Deadlines.Wait(cached);
        Assert.That(CachedCount(pool), Is.EqualTo(Capacity), "every buffer sits in an idle thread's cache");

        // This thread can still allocate every buffer.
        var all = new List<NetBufBox>();
        while (pool.TryAllocBoxed(out var box))
        {
            all.Add(box);
        }

        release.Set();
        Deadlines.JoinAll(idlers);
        Assert.That(all, Has.Count.EqualTo(Capacity));
        Assert.That(all.Select(b => b.AsNetBuf().BufferIndex), Is.Unique);
        all.ForEach(b => b.Dispose());
        Assert.That(pool.Available, Is.EqualTo(Capacity));
    }

    [Test]
    public void Buffers_cached_by_an_exited_thread_are_not_lost()
    {
        using var pool = new NetBufPool(32, 2048, new NetBufPoolOptions { ThreadCacheSize = 16 });
        var worker = new Thread(() =>
        {
            var mine = new List<NetBufBox>();
            for (int i = 0; i < 12; i++)
            {
                mine.Add(pool.AllocBoxed());
            }

            mine.ForEach(b => b.Dispose());
        });
        worker.Start();
        Deadlines.Join(worker);

        Assert.That(pool.Available, Is.EqualTo(32));
        HandleOwnershipTests.AssertPoolHandsOutDistinctBuffers(pool);
        pool.Trim();
        Assert.That(CacheCount(pool), Is.EqualTo(1), "Trim forgets the exited thread's cache; this thread's stays");
    }

    [Test]
    public void Every_thread_eventually_allocates_when_caches_could_hold_more_than_the_pool()
    {
        // 16 threads x 16 cached > 64 buffers: without stealing, some threads would starve.
        const int Capacity = 64;
        const int Threads = 16;
        const int AllocationsPerThread = 2000;
        using var pool = new NetBufPool(Capacity, 2048, new NetBufPoolOptions { ThreadCacheSize = 16 });
        var done = new int[Threads];
        var failures = new ConcurrentQueue<string>();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        using var start = new Barrier(Threads);

        var threads = Enumerable.Range(0, Threads).Select(id => new Thread(() => ConcurrencyStressTests.Guard(failures, () =>
        {
            start.SignalAndWait();
            var held = new Queue<NetBufBox>();
            while (done[id] < AllocationsPerThread && DateTime.UtcNow < deadline)
            {
                if (pool.TryAllocBoxed(out var box))
                {
                    held.Enqueue(box);
                    done[id]++;
                }
                else
                {
                    Thread.Yield();
                }

                // Hold up to four at a time, so the pool really runs dry.
                if (held.Count > 4 || (held.Count > 0 && done[id] % 3 == 0))
                {
                    held.Dequeue().Dispose();
                }
            }

            while (held.TryDequeue(out var box))
            {
                box.Dispose();
            }
        }))).ToList();

        threads.ForEach(t => t.Start());
        Deadlines.JoinAll(threads);

        Assert.That(done, Is.All.EqualTo(AllocationsPerThread), "every thread got all its allocations");
        Assert.That(failures, Is.Empty);
        Assert.That(pool.Available, Is.EqualTo(Capacity));
        HandleOwnershipTests.AssertPoolHandsOutDistinctBuffers(pool);
    }

    [Test]
    public void Disposal_counts_cached_buffers_as_returned()
    {
        var pool = new NetBufPool(64, 2048, new NetBufPoolOptions { ThreadCacheSize = 16 });
        var boxes = Enumerable.Range(0, 10).Select(_ => pool.AllocBoxed()).ToList();
        var outstanding = boxes[0];
        boxes.Skip(1).ToList().ForEach(b => b.Dispose());
        Assert.That(CachedCount(pool), Is.GreaterThanOrEqualTo(9), "the frees went to the cache (with what the refills brought)");

        pool.Dispose();
        Assert.That(pool.IsMemoryReleased, Is.False, "one buffer is still out");
        Assert.That(pool.InUse, Is.EqualTo(1));
        Assert.Throws<ObjectDisposedException>(() => pool.AllocBoxed(), "the cache must not serve a disposed pool");
        outstanding.Dispose();
        Assert.That(pool.IsMemoryReleased, Is.True);
    }

    [Test]
    public void A_thread_that_first_uses_a_pool_after_disposal_returns_through_the_closed_path()
    {
        var pool = new NetBufPool(64, 2048, new NetBufPoolOptions { ThreadCacheSize = 16 });
        var box = pool.AllocBoxed();
        pool.Dispose();
        var other = new Thread(() => box.Dispose());
        other.Start();
        Deadlines.Join(other);
        Assert.That(pool.IsMemoryReleased, Is.True);
    }

    [Test]
    public void Pools_used_alternately_by_one_thread_keep_separate_caches()
    {
        var pools = Enumerable.Range(0, 12)
            .Select(_ => new NetBufPool(64, 2048, new NetBufPoolOptions { ThreadCacheSize = 8 }))
            .ToList();
        for (int round = 0; round < 50; round++)
        {
            foreach (var pool in pools)
            {
                var buf = pool.Alloc();
                Assert.That(buf.Pool, Is.SameAs(pool));
                buf.Dispose();
            }
        }

        foreach (var pool in pools)
        {
            Assert.That(pool.Available, Is.EqualTo(64));
            Assert.That(CacheCount(pool), Is.EqualTo(1), "one cache per thread even when the table slot is shared");
            pool.Dispose();
            Assert.That(pool.IsMemoryReleased, Is.True);
        }
    }

    private static int CachedCount(NetBufPool pool) => pool.Available - pool.SharedAvailable;

    private static int CacheCount(NetBufPool pool) => pool.ThreadCacheCount;
}
