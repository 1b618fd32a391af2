using System.Collections.Concurrent;
using NUnit.Framework;

namespace NetBufNative.Tests;

/// <summary>
/// Bulk calls and batches at their edges: default boxes skipped by <c>FreeBulk</c>, an empty bulk
/// call on a disposed pool, bulk takes that must gather buffers from this thread's cache, the shared
/// list and other threads' caches, the quarantine and high-water mark under bulk calls, a batch
/// refilled after a <c>Take</c>, and the messages of the batch's and worker's exceptions.
/// </summary>
[NonParallelizable]
public sealed class BulkAndBatchMutationTests
{
    [Test]
    public void FreeBulk_of_boxes_skips_default_boxes_wherever_they_are()
    {
        using var pool = new NetBufPool(4, 2048, new NetBufPoolOptions { ThreadCacheSize = 0 });
        var boxes = new NetBufBox[4];
        boxes[1] = pool.AllocBoxed();
        boxes[3] = pool.AllocBoxed();

        pool.FreeBulk(boxes);

        Assert.That(boxes, Is.All.EqualTo(default(NetBufBox)));
        Assert.That(pool.Available, Is.EqualTo(4));
        HandleOwnershipTests.AssertPoolHandsOutDistinctBuffers(pool);
    }

    [Test]
    public void FreeBulk_of_a_box_of_another_pool_names_the_box_and_the_pool()
    {
        using var mine = new NetBufPool(2, 2048, new NetBufPoolOptions { Name = "mine" });
        using var theirs = new NetBufPool(2, 2048, new NetBufPoolOptions { Name = "theirs" });
        var boxes = new[] { mine.AllocBoxed(), theirs.AllocBoxed() };

        var ex = Assert.Throws<ArgumentException>(() => mine.FreeBulk(boxes));

        Assert.That(ex!.Message, Does.Contain(boxes[1].ToString()).And.Contain("does not belong to mine"));
        Assert.That(boxes.Select(b => b.IsValid), Is.All.True, "nothing was changed");
        mine.FreeBulk(boxes.AsSpan(0, 1));
        theirs.FreeBulk(boxes.AsSpan(1, 1));
    }

    [Test]
    public void An_empty_bulk_allocation_on_a_disposed_pool_throws()
    {
        var pool = new NetBufPool(2, 2048);
        pool.Dispose();

        Assert.Throws<ObjectDisposedException>(() => pool.TryAllocBulk(Span<NetBufPtr>.Empty));
        Assert.Throws<ObjectDisposedException>(() => pool.TryAllocBulk(Span<NetBufBox>.Empty));
    }

    [Test]
    public void A_bulk_allocation_takes_this_threads_cached_buffers_together_with_the_shared_list()
    {
        using var pool = new NetBufPool(64, 2048, new NetBufPoolOptions { ThreadCacheSize = 16 });
        for (int i = 0; i < 8; i++)
        {
            pool.Alloc().Dispose();
        }

        var all = new NetBufBox[64];
        Assert.That(pool.TryAllocBulk(all), Is.True, "every buffer is free, some in this thread's cache");
        Assert.That(all.Select(b => b.Index), Is.Unique);
        Assert.That(pool.Available, Is.Zero);
        pool.FreeBulk(all);

        // The high-water mark saw the whole batch, though nothing is in use when it is read.
        Assert.That(pool.GetStatistics().HighWaterMark, Is.EqualTo(64));
    }

    [Test]
    public void The_high_water_mark_counts_a_bulk_allocation_through_a_thread_cache()
    {
        using var pool = new NetBufPool(64, 2048, new NetBufPoolOptions { ThreadCacheSize = 16 });
        var boxes = new NetBufBox[40];
        Assert.That(pool.TryAllocBulk(boxes), Is.True);
        pool.FreeBulk(boxes);

        NetBufPoolStatistics stats = pool.GetStatistics();
        Assert.That(stats.InUse, Is.Zero);
        Assert.That(stats.HighWaterMark, Is.EqualTo(40));
    }

    [TestCase(64, TestName = "A_bulk_allocation_of_every_buffer_steals_from_another_threads_cache")]
    [TestCase(60, TestName = "A_bulk_allocation_of_most_buffers_steals_from_another_threads_cache")]
    public void A_bulk_allocation_steals_from_another_threads_cache(int count)
    {
        using var pool = new NetBufPool(64, 2048, new NetBufPoolOptions { ThreadCacheSize = 32 });
        var other = new Thread(() =>
        {
            var boxes = new NetBufBox[16];
            Assert.That(pool.TryAllocBulk(boxes), Is.True);
            pool.FreeBulk(boxes); // into the other thread's cache, which outlives the thread until a sweep
        });
        other.Start();
        other.Join();

        var taken = new NetBufPtr[count];
        Assert.That(pool.TryAllocBulk(taken), Is.True, "returns false only when fewer buffers are free");
        Assert.That(taken.Select(p => p.BufferIndex), Is.Unique);
        Assert.That(pool.Available, Is.EqualTo(64 - count));
        pool.FreeBulk(taken);
        Assert.That(pool.Available, Is.EqualTo(64));
    }

    [Test]
    public void A_bulk_allocation_short_of_the_shared_list_releases_only_the_missing_buffers_from_quarantine()
    {
        using var pool = DiagnosticPool(8, quarantine: 4, new ConcurrentQueue<NetBufDiagnostic>());
        var boxes = new NetBufBox[8];
        Assert.That(pool.TryAllocBulk(boxes), Is.True);
        pool.FreeBulk(boxes);
        Assert.That(pool.Available, Is.EqualTo(4), "the last 4 freed stay in quarantine");

        var ring = new NetBufPtr[5];
        Assert.That(pool.TryAllocBulk(ring), Is.True);
        Assert.That(pool.Available, Is.Zero, "one buffer left the quarantine, the one missing");
        Assert.That(pool.InUse, Is.EqualTo(5));
        pool.FreeBulk(ring);
    }

    [Test]
    public void A_bulk_allocation_in_the_diagnostic_mode_fails_when_too_few_are_free_and_throws_once_disposed()
    {
        var pool = DiagnosticPool(4, quarantine: 1, new ConcurrentQueue<NetBufDiagnostic>());
        var ring = new NetBufPtr[5];
        Assert.That(pool.TryAllocBulk(ring), Is.False);
        Assert.That(ring, Is.All.EqualTo(default(NetBufPtr)), "left untouched");
        Assert.That(pool.Available, Is.EqualTo(4));
        Assert.That(pool.GetStatistics().AllocationFailures, Is.EqualTo(1));

        pool.Dispose();

        Assert.Throws<ObjectDisposedException>(() => pool.TryAllocBulk(new NetBufPtr[1]));
    }

    [Test]
    public void Bulk_calls_in_the_diagnostic_mode_keep_freed_buffers_in_quarantine_and_track_the_high_water_mark()
    {
        using var pool = DiagnosticPool(8, quarantine: 2, new ConcurrentQueue<NetBufDiagnostic>());
        pool.Alloc().Dispose();
        pool.Alloc().Dispose();
        Assert.That(pool.Available, Is.EqualTo(6));

        var boxes = new NetBufBox[3];
        Assert.That(pool.TryAllocBulk(boxes), Is.True);
        pool.FreeBulk(boxes);

        Assert.That(pool.Available, Is.EqualTo(6), "the quarantine still holds the 2 most recently freed");
        NetBufPoolStatistics stats = pool.GetStatistics();
        Assert.That(stats.InUse, Is.Zero);
        Assert.That(stats.HighWaterMark, Is.EqualTo(3));
    }

    [Test]
    public void A_full_batch_takes_a_new_buffer_into_the_first_entry_moved_out()
    {
        using var pool = new NetBufPool(64, 2048);
        using var worker = pool.OpenWorker();
        var batch = worker.AllocBatch(NetBufBatch.MaxCount);
        try
        {
            batch.Take(0).Dispose();
            var extra = worker.Alloc();
            int index = extra.BufferIndex;
            batch.Add(ref extra);

            Assert.That(batch.Count, Is.EqualTo(NetBufBatch.MaxCount));
            Assert.That(batch[0].BufferIndex, Is.EqualTo(index));
        }
        finally
        {
            batch.Dispose();
        }

        Assert.That(pool.Available, Is.EqualTo(64));
    }

    [Test]
    public void A_default_batch_or_one_whose_allocation_failed_disposes_as_a_no_op()
    {
        using var pool = new NetBufPool(2, 2048);
        using var worker = pool.OpenWorker();
        NetBufBatch empty = default;
        empty.Dispose();
        Assert.That(empty.ToString(), Is.EqualTo("NetBufBatch(empty)"));

        Assert.That(worker.TryAllocBatch(3, out NetBufBatch failed), Is.False);
        failed.Dispose();
        Assert.That(pool.Available, Is.EqualTo(2));
    }

    [Test]
    public void A_batch_describes_its_pool_and_count()
    {
        using var pool = new NetBufPool(8, 2048, new NetBufPoolOptions { Name = "rx" });
        using var worker = pool.OpenWorker();
        var batch = worker.AllocBatch(3);
        Assert.That(batch.ToString(), Is.EqualTo("NetBufBatch(rx, 3 entries)"));
        batch.Dispose();
        Assert.That(pool.Available, Is.EqualTo(8));
    }

    [Test]
    public void Batch_and_worker_exceptions_say_what_went_wrong()
    {
        using var pool = new NetBufPool(2, 2048, new NetBufPoolOptions { Name = "tiny" });
        using var worker = pool.OpenWorker();
        var batch = worker.AllocBatch(2);
        try
        {
            string? outOfRange = null;
            try
            {
                batch.Take(2).Dispose();
            }
            catch (ArgumentOutOfRangeException ex)
            {
                outOfRange = ex.Message;
            }

            Assert.That(outOfRange, Does.Contain("The batch has 2 entries."));

            batch.Take(1).Dispose();
            string? moved = null;
            try
            {
                batch.Take(1).Dispose();
            }
            catch (InvalidOperationException ex)
            {
                moved = ex.Message;
            }

            Assert.That(moved, Does.Contain("Entry 1 of the batch was moved out with Take."));

            var count = Assert.Throws<ArgumentOutOfRangeException>(() => AllocBatchOf(pool, 0));
            Assert.That(count!.Message, Does.Contain($"A batch holds 1 to {NetBufBatch.MaxCount} buffers."));

            using var last = pool.Alloc();
            var exhausted = Assert.Throws<NetBufPoolExhaustedException>(() => AllocOne(pool));
            Assert.That(exhausted!.Message, Does.Contain("tiny is exhausted: all 2 buffers are in use"));

            var noWorker = Assert.Throws<InvalidOperationException>(() => default(NetBufWorker).Alloc());
            Assert.That(noWorker!.Message, Does.Contain("open one with NetBufPool.OpenWorker()"));
        }
        finally
        {
            batch.Dispose();
        }

        static void AllocBatchOf(NetBufPool pool, int count)
        {
            using var worker = pool.OpenWorker();
            worker.TryAllocBatch(count, out NetBufBatch batch);
            batch.Dispose();
        }

        static void AllocOne(NetBufPool pool)
        {
            using var worker = pool.OpenWorker();
            worker.Alloc().Dispose();
        }
    }

    internal static NetBufPool DiagnosticPool(int capacity, int quarantine, ConcurrentQueue<NetBufDiagnostic> reports, int sampleRate = 1) =>
        new(capacity, 2048, new NetBufPoolOptions
        {
            Name = "diag",
            Diagnostics = new NetBufDiagnosticsOptions { QuarantineLength = quarantine, StackTraceSampleRate = sampleRate, OnReport = reports.Enqueue },
        });
}
