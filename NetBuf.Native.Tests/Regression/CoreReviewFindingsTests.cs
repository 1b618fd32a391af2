using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using NUnit.Framework;

namespace NetBufNative.Tests.Regression;

/// <summary>
/// Bugs found by the adversarial review of the redesigned core, each seen failing on the code
/// before its fix: batches that kept a second copy of a moved buffer, a copied MemoryHandle
/// disposed twice, frees above allocations in one snapshot, a thief that skipped a cache in the
/// middle of a refill, and two pools whose thread-cache entries collided.
/// </summary>
[NonParallelizable]
public sealed class CoreReviewFindingsTests
{
    [Test]
    public void A_buffer_added_to_a_batch_through_two_copies_is_refused_the_second_time()
    {
        using var pool = new NetBufPool(64, 2048, new NetBufPoolOptions { ThreadCacheSize = 8 });
        var batch = default(NetBufBatch);
        var first = pool.Alloc();
        var copy = first;
        batch.Add(ref first);
        try
        {
            batch.Add(ref copy);
            Assert.Fail("the same buffer went into the batch twice");
        }
        catch (ObjectDisposedException)
        {
        }

        batch.Dispose();
        pool.Trim();
        Assert.That(pool.Available, Is.EqualTo(64), "nothing lost");
    }

    [Test]
    public void An_entry_taken_through_a_copy_of_a_batch_leaves_the_original_stale_not_doubled()
    {
        using var pool = new NetBufPool(64, 2048, new NetBufPoolOptions { ThreadCacheSize = 8 });
        using var worker = pool.OpenWorker();
        var batch = worker.AllocBatch(4);
        var copy = batch;
        var taken = copy.Take(0);
        batch.Add(ref taken);
        try
        {
            batch.Dispose();
            Assert.Fail("the original batch disposed an entry moved out through its copy");
        }
        catch (ObjectDisposedException)
        {
        }

        Assert.That(pool.InUse, Is.EqualTo(4), "the failed dispose changed nothing");
        copy.Dispose();
        Assert.That(pool.InUse, Is.EqualTo(1), "the copy freed its three; the re-added buffer stays with the original");
        pool.Trim();
        Assert.That(pool.Available, Is.EqualTo(63), "no buffer lost or freed twice");
    }

    [Test]
    public void A_copy_of_a_MemoryHandle_disposed_twice_cannot_free_the_block_under_an_owner()
    {
        var pool = new NetBufPool(8, 2048, new NetBufPoolOptions { ThreadCacheSize = 0 });
        using var memoryPool = new NetBufMemoryPool(pool);
        var owner = memoryPool.Rent();
        MemoryHandle handle = owner.Memory.Pin();
        MemoryHandle copy = handle;
        handle.Dispose();
        copy.Dispose();
        var box = pool.AllocBoxed();
        owner.Dispose();
        pool.Dispose();
        Assert.That(pool.IsMemoryReleased, Is.False, "a box is still out");
        box.AsNetBuf().Append(8).Fill(1);
        box.Dispose();
        Assert.That(pool.IsMemoryReleased, Is.True);
    }

    [Test]
    public void Frees_never_exceed_allocations_within_a_snapshot_taken_concurrently()
    {
        using var pool = new NetBufPool(64, 2048, new NetBufPoolOptions { ThreadCacheSize = 8 });
        var failures = new ConcurrentQueue<string>();
        var clock = Stopwatch.StartNew();
        long snapshots = 0;
        var threads = Enumerable.Range(0, 3).Select(id => new Thread(() => ConcurrencyStressTests.Guard(failures, () =>
        {
            while (clock.Elapsed < StressBudget.Seconds(1) && failures.IsEmpty)
            {
                if (id == 0)
                {
                    using var buf = pool.Alloc();
                    continue;
                }

                var stats = pool.GetStatistics();
                Interlocked.Increment(ref snapshots);
                if (stats.TotalFrees > stats.TotalAllocations)
                {
                    failures.Enqueue($"frees {stats.TotalFrees} > allocations {stats.TotalAllocations}");
                }
            }
        }))).ToList();
        threads.ForEach(t => t.Start());
        Deadlines.JoinAll(threads);
        Assert.That(failures, Is.Empty);
        Assert.That(Interlocked.Read(ref snapshots), Is.GreaterThan(1000));
    }

    [Test]
    public void An_allocation_waits_for_a_refill_in_progress_instead_of_failing()
    {
        using var pool = new NetBufPool(64, 2048, new NetBufPoolOptions { ThreadCacheSize = 16 });
        var held = new List<NetBufBox>();
        for (int i = 0; i < 56; i++)
        {
            held.Add(pool.AllocBoxed());
        }

        pool.Trim();
        Assert.That(pool.SharedAvailable, Is.EqualTo(8), "8 free, all in the shared list");

        using var inRefill = new ManualResetEventSlim();
        Thread? refiller = null;
        NetBufPool.RefillHookForTesting = () =>
        {
            if (Thread.CurrentThread == refiller)
            {
                inRefill.Set();
                Thread.Sleep(300); // a preemption right after the refill took the last 8 buffers
            }
        };
        try
        {
            NetBufBox first = default;
            refiller = new Thread(() => first = pool.AllocBoxed());
            refiller.Start();
            Assert.That(inRefill.Wait(TimeSpan.FromSeconds(10)), Is.True);
            Assert.That(pool.TryAllocBoxed(out var second), Is.True, "7 buffers are free: the allocation must find one");
            Deadlines.Join(refiller);
            second.Dispose();
            first.Dispose();
        }
        finally
        {
            NetBufPool.RefillHookForTesting = null;
        }

        held.ForEach(b => b.Dispose());
        pool.Trim();
        Assert.That(pool.Available, Is.EqualTo(64));
    }

    [Test]
    public void Two_pools_whose_cache_entries_collide_do_not_search_the_registry_on_every_allocation()
    {
        var pools = new List<NetBufPool>();
        try
        {
            NetBufPool a = new(64, 2048, new NetBufPoolOptions { ThreadCacheSize = 8 });
            pools.Add(a);
            NetBufPool b;
            do
            {
                b = new NetBufPool(64, 2048, new NetBufPoolOptions { ThreadCacheSize = 8 });
                pools.Add(b);
            }
            while ((b.Stamp - a.Stamp) % 8 != 0);

            a.Alloc().Dispose();
            b.Alloc().Dispose();
            long before = NetBufPool.RegistrySearches;
            for (int i = 0; i < 1000; i++)
            {
                a.Alloc().Dispose();
                b.Alloc().Dispose();
            }

            Assert.That(NetBufPool.RegistrySearches - before, Is.LessThanOrEqualTo(2), "alternating between colliding pools stays in the thread's table");
        }
        finally
        {
            pools.ForEach(p => p.Dispose());
        }
    }
}
