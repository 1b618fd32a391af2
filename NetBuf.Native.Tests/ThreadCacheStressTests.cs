using System.Collections.Concurrent;
using System.Diagnostics;
using NUnit.Framework;

namespace NetBufNative.Tests;

/// <summary>
/// The thread caches' handshake under fire: owners allocate and free on their fast paths while
/// other threads steal (a nearly exhausted pool), trim, and dispose the pool. An ownership table
/// catches a buffer given to two owners at once; the final counts catch a lost one.
/// </summary>
[NonParallelizable]
public sealed class ThreadCacheStressTests
{
    [Test]
    public void Steals_and_concurrent_trims_never_hand_a_buffer_to_two_owners()
    {
        const int Capacity = 48;
        const int Threads = 6;
        using var pool = new NetBufPool(Capacity, 2048, new NetBufPoolOptions { ThreadCacheSize = 8 });
        var owners = new int[Capacity];
        var failures = new ConcurrentQueue<string>();
        var clock = Stopwatch.StartNew();
        var budget = StressBudget.Seconds(2);

        // A minimum of work whatever the load (20,000 cycles: thousands of steals and trims), run
        // on past the budget to reach it; not reaching it by the deadline is a failure (no progress).
        const long MinCycles = 20_000;
        var deadline = TimeSpan.FromSeconds(30);
        long cycles = 0;
        using var stop = new CancellationTokenSource();

        var trimmer = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                pool.Trim();
                Thread.Sleep(1);
            }
        });

        var workers = Enumerable.Range(1, Threads).Select(id => new Thread(() => ConcurrencyStressTests.Guard(failures, () =>
        {
            var held = new Queue<NetBufBox>();
            var random = new Random(id);
            while ((clock.Elapsed < budget || Interlocked.Read(ref cycles) < MinCycles) && clock.Elapsed < deadline && failures.IsEmpty)
            {
                // Hold up to 10 buffers each: 6 x 10 > 48, so the pool runs dry and threads steal.
                if (held.Count < 10 && pool.TryAllocBoxed(out var box))
                {
                    int index = box.AsNetBuf().BufferIndex;
                    int previous = Interlocked.Exchange(ref owners[index], id);
                    if (previous != 0)
                    {
                        failures.Enqueue($"buffer {index} given to thread {id} while thread {previous} held it");
                    }

                    held.Enqueue(box);
                }
                else if (held.Count > 0)
                {
                    var done = held.Dequeue();
                    int index = done.AsNetBuf().BufferIndex;
                    if (Interlocked.Exchange(ref owners[index], 0) != id)
                    {
                        failures.Enqueue($"thread {id} lost its claim on buffer {index}");
                    }

                    done.Dispose();
                    Interlocked.Increment(ref cycles);
                }

                if (random.Next(16) == 0)
                {
                    Thread.Yield();
                }
            }

            while (held.TryDequeue(out var box))
            {
                Interlocked.Exchange(ref owners[box.AsNetBuf().BufferIndex], 0);
                box.Dispose();
            }
        }))).ToList();

        trimmer.Start();
        workers.ForEach(t => t.Start());
        Deadlines.JoinAll(workers);
        stop.Cancel();
        Deadlines.Join(trimmer);

        Assert.That(failures, Is.Empty);
        Assert.That(cycles, Is.GreaterThanOrEqualTo(MinCycles), $"too few cycles within {deadline.TotalSeconds} s");
        Assert.That(pool.Available, Is.EqualTo(Capacity));
        var stats = pool.GetStatistics();
        Assert.That(stats.TotalFrees, Is.EqualTo(stats.TotalAllocations));
        HandleOwnershipTests.AssertPoolHandsOutDistinctBuffers(pool);
    }

    [Test]
    public void Disposing_the_pool_under_load_frees_the_block_once_when_the_last_buffer_returns()
    {
        for (int round = 0; round < 20; round++)
        {
            var pool = new NetBufPool(64, 2048, new NetBufPoolOptions { ThreadCacheSize = 8 });
            var unexpected = new ConcurrentQueue<Exception>();
            using var started = new CountdownEvent(4);
            var workers = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
            {
                var held = new List<NetBufBox>();
                started.Signal();
                try
                {
                    while (true)
                    {
                        if (pool.TryAllocBoxed(out var box))
                        {
                            held.Add(box);
                        }

                        if (held.Count > 5)
                        {
                            held[0].Dispose();
                            held.RemoveAt(0);
                        }
                    }
                }
                catch (ObjectDisposedException)
                {
                    // The pool closed: give back what is held, as an owner must.
                }
                catch (Exception ex)
                {
                    unexpected.Enqueue(ex);
                }

                held.ForEach(b => b.Dispose());
            })).ToList();

            workers.ForEach(t => t.Start());
            started.Wait();
            Thread.Sleep(5);
            pool.Dispose();
            Deadlines.JoinAll(workers);

            Assert.That(unexpected, Is.Empty, $"round {round}");
            Assert.That(pool.IsMemoryReleased, Is.True, $"round {round}: every buffer came back, so the block is freed");
            Assert.That(pool.InUse, Is.Zero);
        }
    }
}
