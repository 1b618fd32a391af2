using System.Collections.Concurrent;
using System.Diagnostics;
using NUnit.Framework;

namespace NetBufNative.Tests.Regression;

/// <summary>
/// <see cref="NetBufPool.GetStatistics"/> under churn (threads allocating and
/// freeing, short-lived threads exiting, <see cref="NetBufPool.Trim"/> in a loop). A snapshot may
/// be approximate, but never outside 0..Capacity, and the totals published as monotonic counters
/// never go down between two snapshots taken one after the other by the same reader.
/// </summary>
[NonParallelizable]
public sealed class StatisticsUnderChurnTests
{
    private const int Capacity = 64;
    private static readonly TimeSpan Budget = StressBudget.Seconds(2);
    private static readonly TimeSpan JoinTimeout = TimeSpan.FromSeconds(15);

    [Test]
    public void Snapshots_stay_in_range_and_the_totals_never_decrease_under_churn()
    {
        using var pool = new NetBufPool(Capacity, 2048, new NetBufPoolOptions { ThreadCacheSize = 8 });
        var failures = new ConcurrentQueue<string>();
        var clock = Stopwatch.StartNew();
        int stop = 0;
        long samples = 0;
        bool Running() => Volatile.Read(ref stop) == 0;

        void Churn(int seed, int limit)
        {
            var random = new Random(seed);
            var held = new Queue<NetBufBox>();
            for (int i = 0; i < limit && Running(); i++)
            {
                if (held.Count < 6 && random.Next(3) != 0 && pool.TryAllocBoxed(out NetBufBox box))
                {
                    held.Enqueue(box);
                }
                else if (held.Count > 0)
                {
                    held.Dequeue().Dispose();
                }
            }

            while (held.TryDequeue(out NetBufBox box))
            {
                box.Dispose();
            }
        }

        void LongLived(int seed) => Churn(seed, int.MaxValue);

        void ShortLived()
        {
            for (int n = 0; Running(); n++)
            {
                var thread = new Thread(() => RegressionSupport.Guard(failures, () => Churn(1000 + n, 200)));
                thread.Start();
                if (!thread.Join(JoinTimeout))
                {
                    failures.Enqueue("a short-lived thread did not finish");
                    return;
                }
            }
        }

        void Trimmer()
        {
            while (Running())
            {
                pool.Trim();
                Thread.Yield();
            }
        }

        void Sampler()
        {
            NetBufPoolStatistics previous = pool.GetStatistics();
            while (clock.Elapsed < Budget && failures.Count < 20)
            {
                NetBufPoolStatistics now = pool.GetStatistics();
                samples++;
                if (now.InUse is < 0 or > Capacity || now.Available is < 0 or > Capacity)
                {
                    failures.Enqueue($"out of range: {now}");
                }

                if (now.TotalAllocations < previous.TotalAllocations || now.TotalFrees < previous.TotalFrees)
                {
                    failures.Enqueue($"a total went down: {previous} then {now}");
                }

                if (now.TotalFrees > now.TotalAllocations)
                {
                    failures.Enqueue($"more frees than allocations: {now}");
                }

                previous = now;
            }

            Volatile.Write(ref stop, 1);
        }

        RegressionSupport.RunThreads(failures, JoinTimeout, () => LongLived(1), () => LongLived(2), ShortLived, Trimmer, Sampler);

        Assert.That(failures, Is.Empty, () => $"in {samples} samples: {RegressionSupport.Describe(failures)}");
        pool.Trim();
        NetBufPoolStatistics end = pool.GetStatistics();
        Assert.That(end.InUse, Is.Zero);
        Assert.That(end.TotalFrees, Is.EqualTo(end.TotalAllocations));
    }
}
