using System.Collections.Concurrent;
using NUnit.Framework;

namespace NetBufNative.Tests.Regression;

/// <summary>
/// The caches of threads that have exited must not pile up. 5,000 short-lived
/// threads (at most <see cref="BatchSize"/> alive at once) each allocate and free one buffer;
/// afterwards, without <see cref="NetBufPool.Trim"/>, the pool knows only a bounded number of
/// caches and the idle buffers are back in the shared list.
/// </summary>
[NonParallelizable]
public sealed class ExitedThreadCacheTests
{
    private const int ThreadCount = 5000;
    private const int BatchSize = 50;
    private const int CacheSize = 4;

    /// <summary>
    /// Caches the pool may still know at the end: at most <see cref="BatchSize"/> threads are ever
    /// alive at once, and a retirement amortized over registrations (a sweep each time the registry
    /// doubles, say) may leave up to twice that many, plus the test's thread and the probe thread.
    /// The old code kept all 5,000.
    /// </summary>
    private const int MaxCaches = (2 * BatchSize) + 2;

    /// <summary>Large enough that no thread ever has to steal: every exited thread's cache keeps
    /// what it took, unless the pool retires it.</summary>
    private const int Capacity = 16384;

    [Test]
    public void Caches_of_exited_threads_are_retired_and_their_buffers_returned_without_trim()
    {
        using var pool = new NetBufPool(Capacity, NetBufPool.MinBufferLength, new NetBufPoolOptions { ThreadCacheSize = CacheSize });
        var failures = new ConcurrentQueue<string>();
        var timeout = TimeSpan.FromSeconds(20);

        for (int started = 0; started < ThreadCount; started += BatchSize)
        {
            Action[] batch = Enumerable.Range(0, BatchSize).Select(_ => (Action)(() => pool.Alloc().Dispose())).ToArray();
            RegressionSupport.RunThreads(failures, timeout, batch);
        }

        // One more allocation from a new thread, which may be what triggers the retirement.
        RegressionSupport.RunThreads(failures, timeout, () => pool.Alloc().Dispose());

        Assert.That(failures, Is.Empty, () => RegressionSupport.Describe(failures));
        int caches = pool.ThreadCacheCount;
        int shared = pool.SharedAvailable;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(caches, Is.LessThanOrEqualTo(MaxCaches), "thread caches still registered");
            Assert.That(shared, Is.GreaterThanOrEqualTo(Capacity - (MaxCaches * CacheSize)), "free buffers in the shared list");
            Assert.That(pool.Available, Is.EqualTo(Capacity));
        }
    }
}
