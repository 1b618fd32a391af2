using NetBufNative.Internal;

namespace NetBufNative;

// Statistics: a cheap snapshot of per-thread counters.
public sealed unsafe partial class NetBufPool
{
    /// <summary>
    /// A snapshot of the pool's figures: capacity, buffers in use and available, the high-water
    /// mark of buffers in use, allocation failures (exhaustion) and the totals of allocations and
    /// frees. Allocations are counted per thread, without locks or atomic operations, and summed
    /// here; frees are derived from the allocations and the buffers in use, so the free path counts nothing.
    /// </summary>
    /// <returns>
    /// The snapshot. Under load it is approximate (its figures are not all taken at one instant),
    /// but <c>InUse</c> and <c>Available</c> are always between 0 and the capacity, and
    /// <c>TotalAllocations</c> and <c>TotalFrees</c> never decrease from one snapshot to the next
    /// (whichever thread takes them) and frees never exceed allocations, so they can be published as
    /// monotonic counters. When the pool is quiet the snapshot is exact.
    /// </returns>
    /// <remarks>Thread-safe; O(number of threads that use the pool).</remarks>
    public NetBufPoolStatistics GetStatistics()
    {
        CacheRegistry registry = Volatile.Read(ref _registry);
        long allocations = registry.RetiredAllocations;
        foreach (ThreadCache cache in registry.Caches)
        {
            allocations += Volatile.Read(ref cache.Allocations);
        }

        int available = Available;
        int inUse = IsDisposed ? InUse : Math.Max(0, _capacity - available - Quarantined);
        UpdateHighWaterMark(inUse);

        // Each cache's count only grows and the registry moves a retired cache's count into its
        // total in the same snapshot, so the sum only grows too; the maximum with what was already
        // published covers concurrent snapshots that finish in another order.
        allocations = PublishMonotonic(ref _publishedAllocations, allocations);

        // In use and allocations are read at different instants, so their difference can dip
        // below a figure already published: publish the largest seen, and never above allocations.
        long frees = PublishMonotonic(ref _publishedFrees, Math.Min(allocations, Math.Max(0, allocations - inUse)));

        // Another snapshot may have published larger figures meanwhile (the frees just returned can
        // be its): every published frees figure is at most the allocations published before it,
        // so reading the allocations again keeps frees <= allocations within this snapshot.
        allocations = Math.Max(allocations, Volatile.Read(ref _publishedAllocations));
        return new NetBufPoolStatistics(
            _capacity,
            inUse,
            available,
            Volatile.Read(ref _highWaterMark),
            Interlocked.Read(ref _allocationFailures),
            allocations,
            frees,
            DiagnosticReports);
    }

    /// <summary>Raises <paramref name="published"/> to <paramref name="value"/> if that is higher.</summary>
    /// <returns>The published figure: the larger of the two.</returns>
    private static long PublishMonotonic(ref long published, long value)
    {
        long seen = Volatile.Read(ref published);
        while (value > seen)
        {
            long actual = Interlocked.CompareExchange(ref published, value, seen);
            if (actual == seen)
            {
                return value;
            }

            seen = actual;
        }

        return seen;
    }

    /// <summary>Raises the high-water mark to <paramref name="inUse"/> if that is higher.</summary>
    private void UpdateHighWaterMark(int inUse)
    {
        int mark = Volatile.Read(ref _highWaterMark);
        while (inUse > mark)
        {
            int seen = Interlocked.CompareExchange(ref _highWaterMark, inUse, mark);
            if (seen == mark)
            {
                return;
            }

            mark = seen;
        }
    }
}
