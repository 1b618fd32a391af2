using NetBufNative.Internal;
using NUnit.Framework;

namespace NetBufNative.Tests;

/// <summary>
/// The thread caches' documented rules, pinned down where the mutation run showed that no test
/// looked: the automatic cache size formula at its edges, what a steal takes (one buffer for the
/// thief, the rest of the victim's cache to the shared list) and how it is counted, the
/// high-water mark raised by refills and by the diagnostic mode's takes, one cache per thread and
/// pool even after the thread's table evicted it, and a drained cache thawed for its owner.
/// </summary>
[NonParallelizable]
public sealed class ThreadCacheMutationTests
{
    [Test]
    public void Automatic_size_is_a_quarter_of_the_pool_per_core_and_none_below_four()
    {
        // Documented: capacity / (4 x ProcessorCount), at most 32; below 4 the pool gets no cache.
        int perCore = 4 * Environment.ProcessorCount;
        using var exactlyFour = new NetBufPool(4 * perCore, 2048);
        using var justBelowFour = new NetBufPool((4 * perCore) - 1, 2048);
        using var two = new NetBufPool(2 * perCore, 2048);
        using var eight = new NetBufPool(8 * perCore, 2048);
        Assert.That(exactlyFour.ThreadCacheSize, Is.EqualTo(4), "4 is the smallest cache the pool makes");
        Assert.That(justBelowFour.ThreadCacheSize, Is.Zero, "3 per core rounds down to no cache");
        Assert.That(two.ThreadCacheSize, Is.Zero, "2 per core: no cache");
        Assert.That(eight.ThreadCacheSize, Is.EqualTo(8));
    }

    [Test]
    public void A_steal_keeps_one_buffer_for_the_thief_and_moves_the_rest_to_the_shared_list()
    {
        const int Capacity = 16;
        using var pool = new NetBufPool(Capacity, 2048, new NetBufPoolOptions { ThreadCacheSize = Capacity });
        using var filled = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var victim = new Thread(() =>
        {
            var boxes = new List<NetBufBox>();
            for (int i = 0; i < Capacity; i++)
            {
                boxes.Add(pool.AllocBoxed());
            }

            // Every buffer now sits in this thread's cache, which stays registered while it waits.
            boxes.ForEach(b => b.Dispose());
            filled.Set();
            release.Wait(Deadlines.Default);
        });
        victim.Start();
        try
        {
            Deadlines.Wait(filled);
            Assert.That(pool.SharedAvailable, Is.Zero, "precondition: the victim's cache holds every buffer");

            Assert.That(pool.TryAlloc(out NetBuf buffer), Is.True);
            using (buffer)
            {
                Assert.That(pool.SharedAvailable, Is.EqualTo(Capacity - 1), "the rest of the victim's cache went to the shared list");
                Assert.That(pool.Available, Is.EqualTo(Capacity - 1), "and no cache holds any");
                NetBufPoolStatistics stats = pool.GetStatistics();
                Assert.That(stats.TotalAllocations, Is.EqualTo(Capacity + 1), "the stolen buffer counts as the thief's allocation");
                Assert.That(stats.InUse, Is.EqualTo(1));
            }
        }
        finally
        {
            release.Set();
            Deadlines.Join(victim);
        }
    }

    [Test]
    public void A_refill_raises_the_high_water_mark_to_include_the_allocation_it_serves()
    {
        using var pool = new NetBufPool(64, 2048, new NetBufPoolOptions { ThreadCacheSize = 16 });
        pool.Alloc().Dispose();
        Assert.That(pool.GetStatistics().HighWaterMark, Is.EqualTo(1), "one buffer was in use");

        // Nine buffers out: the first refill took 8, the ninth allocation refilled again.
        var boxes = new List<NetBufBox>();
        for (int i = 0; i < 9; i++)
        {
            boxes.Add(pool.AllocBoxed());
        }

        boxes.ForEach(b => b.Dispose());
        NetBufPoolStatistics stats = pool.GetStatistics();
        Assert.That(stats.InUse, Is.Zero);
        Assert.That(stats.HighWaterMark, Is.EqualTo(9), "the second refill saw 8 out plus the one it served");
    }

    [Test]
    public void The_diagnostic_mode_counts_allocations_and_excludes_quarantined_buffers_from_the_high_water_mark()
    {
        using var pool = new NetBufPool(16, 2048, new NetBufPoolOptions
        {
            Diagnostics = new NetBufDiagnosticsOptions { QuarantineLength = 4, StackTraceSampleRate = 0 },
        });
        var boxes = new List<NetBufBox>();
        for (int i = 0; i < 3; i++)
        {
            boxes.Add(pool.AllocBoxed());
        }

        // The three go to the quarantine: free, but neither available nor in use.
        boxes.ForEach(b => b.Dispose());
        using (NetBuf one = pool.Alloc())
        {
            one.Append(1);
        }

        NetBufPoolStatistics stats = pool.GetStatistics();
        Assert.That(stats.TotalAllocations, Is.EqualTo(4));
        Assert.That(stats.TotalFrees, Is.EqualTo(4));
        Assert.That(stats.HighWaterMark, Is.EqualTo(3), "the peak was three out; quarantined buffers are not in use");
    }

    [Test]
    public void A_thread_keeps_one_cache_per_pool_after_its_table_evicted_it()
    {
        // Three pools whose stamps share a set of the thread's two-way table: using all three
        // evicts the first, whose cache must then be found in the registry, not made again.
        var pools = new List<NetBufPool>();
        try
        {
            var sameSet = new List<NetBufPool>();
            while (sameSet.Count < 3)
            {
                var pool = new NetBufPool(16, 2048, new NetBufPoolOptions { ThreadCacheSize = 4 });
                pools.Add(pool);
                if (sameSet.Count == 0 || (pool.Stamp & (ThreadCache.TableWays - 1)) == (sameSet[0].Stamp & (ThreadCache.TableWays - 1)))
                {
                    sameSet.Add(pool);
                }
            }

            foreach (NetBufPool pool in sameSet)
            {
                pool.Alloc().Dispose();
            }

            NetBufPool first = sameSet[0];
            first.Alloc().Dispose();
            Assert.That(first.ThreadCacheCount, Is.EqualTo(1), "one cache for this thread, found again in the registry");
            Assert.That(first.Available, Is.EqualTo(16));
            Assert.That(first.InUse, Is.Zero);
        }
        finally
        {
            pools.ForEach(p => p.Dispose());
        }
    }

    [Test]
    public void Trim_leaves_the_callers_cache_thawed_for_its_fast_path()
    {
        using var pool = new NetBufPool(64, 2048, new NetBufPoolOptions { ThreadCacheSize = 8 });
        pool.Alloc().Dispose();
        ThreadCache cache = pool.CurrentCache();
        Assert.That(cache.Count, Is.GreaterThan(0), "precondition: the cache holds buffers");

        pool.Trim();
        Assert.That(cache.Count, Is.Zero);
        Assert.That(Volatile.Read(ref cache.Frozen), Is.Zero, "a drain thaws the cache: the owner is back on its fast path");
        Assert.That(cache.Enter(), Is.True);
        cache.Leave();
    }
}
