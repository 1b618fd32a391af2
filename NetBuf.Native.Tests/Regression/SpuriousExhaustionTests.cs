using System.Collections.Concurrent;
using System.Diagnostics;
using NUnit.Framework;

namespace NetBufNative.Tests.Regression;

/// <summary>
/// A free buffer parked in another thread's cache must be found. One thread
/// parks all the buffers of the pool in its cache; two other threads then allocate at once. At
/// most two buffers are ever out, so <see cref="NetBufPool.TryAllocBoxed"/> must never return
/// false and <see cref="NetBufPool.AllocBoxed"/> must never throw, however the two steals interleave.
/// </summary>
[NonParallelizable]
public sealed class SpuriousExhaustionTests
{
    private const int Capacity = 64;
    private static readonly TimeSpan Budget = StressBudget.Seconds(3);
    private static readonly TimeSpan JoinTimeout = TimeSpan.FromSeconds(15);

    [Test]
    public void Allocation_never_fails_while_buffers_sit_in_an_idle_threads_cache()
    {
        using var pool = new NetBufPool(Capacity, 2048, new NetBufPoolOptions { ThreadCacheSize = Capacity });
        var failures = new ConcurrentQueue<string>();
        var clock = Stopwatch.StartNew();
        int rounds = 0;
        int parkedRounds = 0;

        // Each round: the parker (alive and idle while the others allocate) takes every buffer and
        // frees them all on its own thread, into its cache; then it fires the starting gun and
        // blocks, and both allocators, spinning on the gun, allocate at the same moment.
        int round = 0; // the gun: the round number, -1 to stop
        using var done = new SemaphoreSlim(0);

        void Parker()
        {
            var boxes = new NetBufBox[Capacity];
            for (int r = 1; clock.Elapsed < Budget && failures.IsEmpty; r++)
            {
                pool.Trim(); // the allocators' caches back to the shared list, so the next line cannot fail
                for (int i = 0; i < Capacity; i++)
                {
                    boxes[i] = pool.AllocBoxed();
                }

                foreach (NetBufBox box in boxes)
                {
                    box.Dispose();
                }

                if (pool.SharedAvailable == 0)
                {
                    parkedRounds++;
                }

                Volatile.Write(ref round, r);
                if (!done.Wait(JoinTimeout) || !done.Wait(JoinTimeout))
                {
                    failures.Enqueue($"round {r}: the allocators did not finish");
                    break;
                }

                rounds = r;
            }

            Volatile.Write(ref round, -1);
        }

        void Allocator(bool throwing)
        {
            for (int seen = 0; ;)
            {
                if (!RegressionSupport.SpinUntil(() => Volatile.Read(ref round) != seen, clock, Budget + JoinTimeout))
                {
                    failures.Enqueue("the parker did not start a round");
                    return;
                }

                seen = Volatile.Read(ref round);
                if (seen < 0)
                {
                    return;
                }

                for (int i = 0; i < 4; i++)
                {
                    int available = pool.Available;
                    if (throwing)
                    {
                        try
                        {
                            pool.AllocBoxed().Dispose();
                        }
                        catch (InvalidOperationException ex) when (ex is not ObjectDisposedException)
                        {
                            failures.Enqueue($"round {seen}: AllocBoxed threw with {available} of {Capacity} available before the call: {ex.Message}");
                        }
                    }
                    else if (pool.TryAllocBoxed(out NetBufBox box))
                    {
                        box.Dispose();
                    }
                    else
                    {
                        failures.Enqueue($"round {seen}: TryAllocBoxed returned false with {available} of {Capacity} available before the call");
                    }
                }

                done.Release();
            }
        }

        RegressionSupport.RunThreads(failures, JoinTimeout, Parker, () => Allocator(false), () => Allocator(true));

        Assert.That(failures, Is.Empty, () => $"after {rounds} rounds ({parkedRounds} with every buffer parked): {RegressionSupport.Describe(failures)}");
        Assert.That(rounds, Is.GreaterThan(100));
        pool.Trim();
        Assert.That(pool.Available, Is.EqualTo(Capacity));
    }
}
