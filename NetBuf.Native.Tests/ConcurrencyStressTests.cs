using System.Collections.Concurrent;
using System.Diagnostics;
using NUnit.Framework;

namespace NetBufNative.Tests;

/// <summary>
/// Many threads (more than this machine's cores) allocate, write, convert and free, each for a
/// bounded number of iterations and time. An ownership table updated with Interlocked.Exchange
/// catches at once a buffer handed to two owners; a per-thread pattern catches another thread
/// writing into a buffer it does not own; the final counts catch a lost buffer.
/// </summary>
[NonParallelizable]
public sealed class ConcurrencyStressTests
{
    private static readonly TimeSpan TimeBudget = StressBudget.Seconds(3);

    /// <summary>How long a test may run on to reach its minimum of work when the machine is busy:
    /// not reaching it by then means the threads are not making progress (a livelock or a lost
    /// buffer), which is a failure, not an inconclusive run.</summary>
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    /// <summary>Cycles each thread must complete, whatever the load: a few thousand interleavings
    /// of the alloc/convert/free path per thread, where a run of 9 cycles proved nothing.</summary>
    private const int MinCyclesPerThread = 2_000;

    [TestCase(64, 8, 200_000, null)]
    [TestCase(64, 8, 200_000, 0)]
    [TestCase(4, 8, 200_000, 0)]
    [TestCase(1, 4, 50_000, 0)]
    [TestCase(16, 8, 100_000, 8)]
    [TestCase(4, 8, 50_000, 4)]
    public void Threads_alloc_write_convert_and_free_without_ever_sharing_a_buffer(int capacity, int threads, int iterationsPerThread, int? cacheSize)
    {
        using var pool = new NetBufPool(capacity, 2048, new NetBufPoolOptions { ThreadCacheSize = cacheSize });
        var owners = new int[capacity];
        var failures = new ConcurrentQueue<string>();
        long completed = 0;
        var clock = Stopwatch.StartNew();
        long minimum = (long)threads * Math.Min(MinCyclesPerThread, iterationsPerThread);

        using var start = new Barrier(threads);
        var workers = Enumerable.Range(1, threads).Select(id => new Thread(() => Guard(failures, () =>
        {
            var random = new Random(id);
            start.SignalAndWait();
            // Until the iterations are done, or the budget is spent and the minimum reached, or the deadline.
            for (int i = 0; i < iterationsPerThread && failures.IsEmpty && clock.Elapsed < Deadline &&
                (clock.Elapsed < TimeBudget || Interlocked.Read(ref completed) < minimum); i++)
            {
                if (!pool.TryAlloc(out var buf))
                {
                    Thread.Yield();
                    continue;
                }

                int index = buf.BufferIndex;
                int previous = Interlocked.Exchange(ref owners[index], id);
                if (previous != 0)
                {
                    failures.Enqueue($"buffer {index} given to thread {id} while thread {previous} owned it");
                }

                byte pattern = (byte)((id * 31) + i);
                buf.Append(64).Fill(pattern);
                if (random.Next(4) == 0)
                {
                    Thread.Yield();
                }

                switch (random.Next(3))
                {
                    case 0:
                        var ptr = buf.IntoBufPtr();
                        buf = pool.FromBufPtr(ptr);
                        break;
                    case 1:
                        var box = buf.IntoBox();
                        buf = box.IntoNetBuf();
                        break;
                    default:
                        var boxed = buf.IntoBox();
                        var lent = boxed.IntoBufPtr();
                        buf = pool.FromBufPtr(lent);
                        break;
                }

                if (buf.PacketLength != 64 || buf.Packet.IndexOfAnyExcept(pattern) >= 0)
                {
                    failures.Enqueue($"thread {id} found buffer {index} overwritten");
                }

                previous = Interlocked.Exchange(ref owners[index], 0);
                if (previous != id)
                {
                    failures.Enqueue($"thread {id} released buffer {index} but the table said {previous}");
                }

                buf.Dispose();
                Interlocked.Increment(ref completed);
            }
        }))).ToList();

        workers.ForEach(t => t.Start());
        Deadlines.JoinAll(workers);

        Assert.That(failures, Is.Empty);
        Assert.That(completed, Is.GreaterThanOrEqualTo(minimum), $"the threads completed too few cycles within {Deadline.TotalSeconds} s");
        Assert.That(pool.Available, Is.EqualTo(capacity), "no buffer was lost");
        Assert.That(pool.InUse, Is.Zero);
        HandleOwnershipTests.AssertPoolHandsOutDistinctBuffers(pool);
        TestContext.Out.WriteLine($"{completed} cycles in {clock.Elapsed.TotalMilliseconds:F0} ms");
    }

    [Test]
    public void Boxes_and_pointers_handed_between_threads_arrive_intact_and_all_come_back()
    {
        const int Capacity = 32;
        int perProducer = StressBudget.Operations(20_000);
        using var pool = new NetBufPool(Capacity, 2048, new NetBufPoolOptions { ThreadCacheSize = 8 });
        using var boxes = new BlockingCollection<NetBufBox>(boundedCapacity: 8);
        using var pointers = new BlockingCollection<NetBufPtr>(boundedCapacity: 8);
        var failures = new ConcurrentQueue<string>();
        long consumed = 0;
        var clock = Stopwatch.StartNew();

        void Produce(int id)
        {
            for (int i = 0; i < perProducer; i++)
            {
                NetBuf buf;
                while (!pool.TryAlloc(out buf))
                {
                    // The consumers return every buffer: waiting past the deadline means one was lost.
                    if (clock.Elapsed > Deadline)
                    {
                        throw new TimeoutException($"producer {id} found no free buffer for {Deadline.TotalSeconds} s");
                    }

                    Thread.Yield();
                }

                BitConverter.TryWriteBytes(buf.Append(8), ((long)id << 32) | (uint)i);
                if ((i & 1) == 0)
                {
                    boxes.Add(buf.IntoBox());
                }
                else
                {
                    pointers.Add(buf.IntoBufPtr());
                }
            }
        }

        void Check(NetBuf buf)
        {
            if (buf.PacketLength != 8 || (BitConverter.ToInt64(buf.Packet) & 0xFFFF_FFFF) >= perProducer)
            {
                failures.Enqueue($"a handed-over packet arrived damaged: {buf.PacketLength} bytes");
            }

            Interlocked.Increment(ref consumed);
        }

        // Threads of their own (LongRunning): four tasks that block on the collections would wait for the
        // thread pool to inject threads on a 2-core machine, half a second each.
        var producers = new[] { Task.Factory.StartNew(() => Produce(1), TaskCreationOptions.LongRunning), Task.Factory.StartNew(() => Produce(2), TaskCreationOptions.LongRunning) };
        var boxConsumer = Task.Factory.StartNew(() =>
        {
            foreach (var box in boxes.GetConsumingEnumerable())
            {
                using var buf = box.IntoNetBuf();
                Check(buf);
            }
        }, TaskCreationOptions.LongRunning);
        var pointerConsumer = Task.Factory.StartNew(() =>
        {
            foreach (var ptr in pointers.GetConsumingEnumerable())
            {
                using var buf = pool.FromBufPtr(ptr);
                Check(buf);
            }
        }, TaskCreationOptions.LongRunning);

        try
        {
            Assert.That(Task.WaitAll(producers, Deadline), Is.True, "the producers did not finish");
        }
        finally
        {
            boxes.CompleteAdding();
            pointers.CompleteAdding();
        }

        Assert.That(Task.WaitAll([boxConsumer, pointerConsumer], Deadline), Is.True, "the consumers did not finish");

        Assert.That(failures, Is.Empty);
        Assert.That(consumed, Is.EqualTo(2 * perProducer));
        Assert.That(pool.Available, Is.EqualTo(Capacity));
    }

    [Test]
    public void Of_two_threads_restoring_one_pointer_exactly_one_wins()
    {
        using var pool = new NetBufPool(2, 2048);
        for (int round = 0; round < 2000; round++)
        {
            var ptr = pool.Alloc().IntoBufPtr();
            int wins = 0;
            using var start = new Barrier(2);
            void Race()
            {
                start.SignalAndWait();
                if (pool.TryFromBufPtr(ptr, out var buf))
                {
                    Interlocked.Increment(ref wins);
                    buf.Dispose();
                }
            }

            var other = Task.Run(Race);
            Race();
            Deadlines.Wait(other);
            Assert.That(wins, Is.EqualTo(1), $"round {round}");
        }

        Assert.That(pool.Available, Is.EqualTo(2));
    }

    [Test]
    public void Of_two_threads_disposing_copies_of_one_box_exactly_one_succeeds()
    {
        using var pool = new NetBufPool(2, 2048);
        for (int round = 0; round < 2000; round++)
        {
            var box = pool.AllocBoxed();
            int successes = 0, rejections = 0;
            using var start = new Barrier(2);
            void Race(NetBufBox copy)
            {
                start.SignalAndWait();
                try
                {
                    copy.Dispose();
                    Interlocked.Increment(ref successes);
                }
                catch (ObjectDisposedException)
                {
                    Interlocked.Increment(ref rejections);
                }
            }

            var other = Task.Run(() => Race(box));
            Race(box);
            Deadlines.Wait(other);
            Assert.That((successes, rejections), Is.EqualTo((1, 1)), $"round {round}");
        }

        Assert.That(pool.Available, Is.EqualTo(2));
        HandleOwnershipTests.AssertPoolHandsOutDistinctBuffers(pool);
    }

    /// <summary>Runs a worker thread's body, recording an exception as a failure instead of crashing the test host.</summary>
    internal static void Guard(ConcurrentQueue<string> failures, Action body)
    {
        try
        {
            body();
        }
        catch (Exception ex)
        {
            failures.Enqueue($"a worker thread threw {ex}");
        }
    }
}
