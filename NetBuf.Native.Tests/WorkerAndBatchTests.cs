using NUnit.Framework;

namespace NetBufNative.Tests;

/// <summary>
/// <see cref="NetBufWorker"/> (a thread's bound fast path) and <see cref="NetBufBatch"/> (a burst of
/// owned buffers): the same handles and checks as <see cref="NetBufPool.Alloc"/>, every error path,
/// and buffers counted back exactly once whatever the mix of views, moves and frees.
/// </summary>
[TestFixture(0)]
[TestFixture(16)]
public sealed class WorkerAndBatchTests(int cacheSize)
{
    private NetBufPool _pool = null!;

    [SetUp]
    public void SetUp() => _pool = new NetBufPool(64, 2048, new NetBufPoolOptions { ThreadCacheSize = cacheSize, DefaultHeadroom = 32 });

    [TearDown]
    public void TearDown() => _pool.Dispose();

    [Test]
    public void A_worker_allocates_ordinary_buffers_that_free_on_dispose()
    {
        using var worker = _pool.OpenWorker();
        Assert.That(worker.Pool, Is.SameAs(_pool));
        using (var buf = worker.Alloc())
        {
            Assert.That(buf.IsValid, Is.True);
            Assert.That(buf.Headroom, Is.EqualTo(32));
            buf.Append(100).Fill(7);
            Assert.That(_pool.InUse, Is.EqualTo(1));
        }

        Assert.That(worker.TryAlloc(out var second), Is.True);
        var box = second.IntoBox();
        Assert.That(_pool.InUse, Is.EqualTo(1));
        box.Dispose();
        Assert.That(_pool.InUse, Is.Zero);
        HandleOwnershipTests.AssertPoolHandsOutDistinctBuffers(_pool);
    }

    [Test]
    public void A_worker_reports_exhaustion_like_the_pool_and_recovers()
    {
        using var worker = _pool.OpenWorker();
        var boxes = new List<NetBufBox>();
        while (worker.TryAlloc(out var buf))
        {
            boxes.Add(buf.IntoBox());
        }

        Assert.That(boxes, Has.Count.EqualTo(64));
        Assert.Throws<NetBufPoolExhaustedException>(() => AllocWith(_pool));
        Assert.That(worker.TryAllocBatch(1, out var none), Is.False);
        Assert.That(none.Count, Is.Zero);
        boxes[0].Dispose();
        Assert.That(worker.TryAlloc(out var again), Is.True);
        again.Dispose();
        boxes.Skip(1).ToList().ForEach(b => b.Dispose());
        Assert.That(_pool.Available, Is.EqualTo(64));
    }

    [Test]
    public void A_default_worker_throws_a_disposed_one_still_works_and_a_disposed_pool_refuses_workers()
    {
        Assert.Throws<InvalidOperationException>(() => DefaultWorkerAlloc(_pool));
        var worker = _pool.OpenWorker();
        worker.Dispose();
        using (var buf = worker.Alloc())
        {
            Assert.That(buf.IsValid, Is.True, "Dispose ends the scope only: a worker holds nothing");
        }

        var open = _pool.OpenWorker();
        _pool.Dispose();
        try
        {
            open.Alloc();
            Assert.Fail("Alloc on a disposed pool's worker returned");
        }
        catch (ObjectDisposedException)
        {
        }

        Assert.Throws<ObjectDisposedException>(() => _pool.OpenWorker());
    }

    [TestCase(0)]
    [TestCase(-1)]
    [TestCase(NetBufBatch.MaxCount + 1)]
    public void A_batch_size_out_of_range_is_rejected(int count)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => BatchOf(_pool, count));
        Assert.That(ex!.ParamName, Is.EqualTo("count"));
        Assert.That(_pool.InUse, Is.Zero);
    }

    [Test]
    public void A_batch_is_all_or_nothing_and_its_dispose_returns_everything_once()
    {
        using var worker = _pool.OpenWorker();
        var held = new List<NetBufBox>();
        for (int i = 0; i < 40; i++)
        {
            held.Add(_pool.AllocBoxed());
        }

        Assert.That(worker.TryAllocBatch(NetBufBatch.MaxCount, out _), Is.False, "24 free, 32 asked");
        Assert.That(_pool.InUse, Is.EqualTo(40), "nothing taken");
        Assert.Throws<NetBufPoolExhaustedException>(() => BatchOf(_pool, NetBufBatch.MaxCount));
        held.ForEach(b => b.Dispose());

        var batch = worker.AllocBatch(NetBufBatch.MaxCount);
        Assert.That(batch.Count, Is.EqualTo(32));
        Assert.That(_pool.InUse, Is.EqualTo(32));
        var indices = new HashSet<int>();
        for (int i = 0; i < batch.Count; i++)
        {
            var view = batch[i];
            Assert.That(indices.Add(view.BufferIndex), Is.True, "distinct buffers");
            Assert.That(view.Headroom, Is.EqualTo(32));
            view.Append(i + 1).Fill((byte)i);
        }

        Assert.That(batch[5].PacketLength, Is.EqualTo(6), "views see the same buffer");
        batch.Dispose();
        Assert.That(batch.Count, Is.Zero);
        Assert.That(_pool.InUse, Is.Zero);
        batch.Dispose();
        Assert.That(_pool.Available, Is.EqualTo(64), "a second dispose does nothing");
        HandleOwnershipTests.AssertPoolHandsOutDistinctBuffers(_pool);
    }

    [Test]
    public void Views_of_a_batch_cannot_be_disposed_or_moved()
    {
        using var worker = _pool.OpenWorker();
        using var batch = worker.AllocBatch(2);
        Expect.Throws<InvalidOperationException>(batch[0], static (ref NetBuf b) => b.Dispose());
        Expect.Throws<InvalidOperationException>(batch[0], static (ref NetBuf b) => b.IntoBufPtr());
        Expect.Throws<InvalidOperationException>(batch[0], static (ref NetBuf b) => b.IntoBox());
        Assert.That(_pool.InUse, Is.EqualTo(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => ViewAt(_pool, 2));
    }

    [Test]
    public void Take_moves_an_entry_out_and_Add_moves_a_buffer_in()
    {
        using var worker = _pool.OpenWorker();
        var batch = worker.AllocBatch(3);
        var taken = batch.Take(1);
        Assert.That(taken.IsValid, Is.True);
        var ptr = taken.IntoBufPtr();
        Assert.That(taken.IsValid, Is.False);

        var restored = _pool.FromBufPtr(ptr);
        batch.Add(ref restored);
        Assert.That(restored.IsValid, Is.False, "moved into the batch");
        Assert.That(batch.Count, Is.EqualTo(4));

        var extra = _pool.Alloc();
        batch.Add(ref extra);
        Assert.That(_pool.InUse, Is.EqualTo(4));
        batch.Dispose();
        Assert.That(_pool.InUse, Is.Zero);
    }

    [Test]
    public void A_full_batch_takes_a_buffer_into_an_entry_moved_out_by_Take()
    {
        using var worker = _pool.OpenWorker();
        using var batch = worker.AllocBatch(NetBufBatch.MaxCount);
        var moved = batch.Take(7);
        int index = moved.BufferIndex;
        var box = moved.IntoBox();
        var back = box.IntoNetBuf();
        batch.Add(ref back);
        Assert.That(batch.Count, Is.EqualTo(NetBufBatch.MaxCount));
        Assert.That(batch[7].BufferIndex, Is.EqualTo(index));
        Assert.That(_pool.InUse, Is.EqualTo(NetBufBatch.MaxCount));
    }

    [Test]
    public void Taking_an_entry_twice_or_viewing_a_taken_entry_throws()
    {
        using var worker = _pool.OpenWorker();
        using var batch = worker.AllocBatch(2);
        using (var first = batch.Take(0))
        {
            Assert.That(first.IsValid, Is.True);
        }

        Assert.Throws<InvalidOperationException>(() => TakeFrom(_pool, takeTwice: true));
        Assert.That(_pool.InUse, Is.EqualTo(1));
    }

    [Test]
    public void Add_refuses_a_full_batch_another_pool_views_default_and_stale_handles()
    {
        using var other = new NetBufPool(4, 2048);
        using var worker = _pool.OpenWorker();
        var batch = worker.AllocBatch(NetBufBatch.MaxCount);
        try
        {
            var one = _pool.Alloc();
            try
            {
                batch.Add(ref one);
                Assert.Fail("a full batch took a buffer");
            }
            catch (InvalidOperationException ex)
            {
                Assert.That(ex.Message, Does.Contain("full"));
            }

            Assert.That(one.IsValid, Is.True, "left with its owner");
            one.Dispose();
        }
        finally
        {
            batch.Dispose();
        }

        var small = default(NetBufBatch);
        var foreign = other.Alloc();
        small.Add(ref foreign);
        var mine = _pool.Alloc();
        try
        {
            small.Add(ref mine);
            Assert.Fail("a batch took buffers of two pools");
        }
        catch (InvalidOperationException ex)
        {
            Assert.That(ex.Message, Does.Contain("one pool"));
        }

        mine.Dispose();
        small.Dispose();
        Assert.That(other.InUse, Is.Zero, "a default batch adopts the first buffer's pool");

        var box = _pool.AllocBoxed();
        var view = box.AsNetBuf();
        var empty = default(NetBufBatch);
        try
        {
            empty.Add(ref view);
            Assert.Fail("a batch took a view");
        }
        catch (InvalidOperationException)
        {
        }

        var none = default(NetBuf);
        try
        {
            empty.Add(ref none);
            Assert.Fail("a batch took an empty handle");
        }
        catch (InvalidOperationException)
        {
        }

        var stale = _pool.Alloc();
        var copy = stale;
        stale.Dispose();
        try
        {
            empty.Add(ref copy);
            Assert.Fail("a batch took a stale handle");
        }
        catch (ObjectDisposedException)
        {
        }

        box.Dispose();
        Assert.That(empty.Count, Is.Zero);
        Assert.That(_pool.InUse, Is.Zero);
    }

    [Test]
    public void A_stale_copy_of_a_batch_is_caught_and_changes_nothing()
    {
        using var worker = _pool.OpenWorker();
        var batch = worker.AllocBatch(4);
        var copy = batch;
        copy.Dispose();
        Assert.That(_pool.InUse, Is.Zero);
        using var reused = _pool.Alloc();
        try
        {
            batch.Dispose();
            Assert.Fail("a stale batch freed buffers again");
        }
        catch (ObjectDisposedException)
        {
        }

        Assert.That(reused.IsValid, Is.True, "the new owner keeps its buffer");
        Assert.That(_pool.InUse, Is.EqualTo(1));
    }

    [Test]
    public void Batches_and_workers_on_many_threads_never_share_a_buffer()
    {
        var owners = new int[_pool.Capacity];
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        long cycles = 0;
        var threads = Enumerable.Range(1, 4).Select(id => new Thread(() => ConcurrencyStressTests.Guard(failures, () =>
        {
            using var worker = _pool.OpenWorker();
            for (int round = 0; round < 2000 && failures.IsEmpty; round++)
            {
                if (!worker.TryAllocBatch(8, out var batch))
                {
                    continue;
                }

                for (int i = 0; i < batch.Count; i++)
                {
                    int previous = Interlocked.Exchange(ref owners[batch[i].BufferIndex], id);
                    if (previous != 0)
                    {
                        failures.Enqueue($"buffer {batch[i].BufferIndex} given to {id} while {previous} held it");
                    }
                }

                for (int i = 0; i < batch.Count; i++)
                {
                    Interlocked.Exchange(ref owners[batch[i].BufferIndex], 0);
                }

                batch.Dispose();
                Interlocked.Increment(ref cycles);
            }
        }))).ToList();

        threads.ForEach(t => t.Start());
        Deadlines.JoinAll(threads);
        Assert.That(failures, Is.Empty);
        Assert.That(Interlocked.Read(ref cycles), Is.GreaterThan(1000), "enough batches ran to mean something");
        _pool.Trim();
        Assert.That(_pool.Available, Is.EqualTo(_pool.Capacity));
    }

    private static void AllocWith(NetBufPool pool)
    {
        using var worker = pool.OpenWorker();
        worker.Alloc().Dispose();
    }

    private static void DefaultWorkerAlloc(NetBufPool pool)
    {
        _ = pool;
        NetBufWorker worker = default;
        worker.Alloc().Dispose();
    }

    private static void BatchOf(NetBufPool pool, int count)
    {
        using var worker = pool.OpenWorker();
        using var batch = worker.AllocBatch(count);
    }

    private static void ViewAt(NetBufPool pool, int index)
    {
        using var worker = pool.OpenWorker();
        using var batch = worker.AllocBatch(2);
        _ = batch[index];
    }

    private static void TakeFrom(NetBufPool pool, bool takeTwice)
    {
        using var worker = pool.OpenWorker();
        using var batch = worker.AllocBatch(1);
        batch.Take(0).Dispose();
        if (takeTwice)
        {
            _ = batch[0];
        }
    }
}
