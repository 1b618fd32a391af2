using NetBufNative.Internal;

namespace NetBufNative;

// Statistics: a cheap snapshot of per-thread counters.
public sealed unsafe partial class NetBufPool
{
    /// <summary>
    /// A snapshot of the pool's figures: capacity, buffers in use and available, the high-water
    /// mark of buffers in use, allocation failures (exhaustion) and the totals of allocations and
    /// frees. Allocations are counted per thread, without locks or atomic operations, and summed
    /// here; frees are the allocations less the buffers in use, so the free path counts nothing.
    /// </summary>
    /// <returns>The snapshot; its figures are each consistent, not all taken at one instant.</returns>
    /// <remarks>Thread-safe; O(number of threads that used the pool).</remarks>
    public NetBufPoolStatistics GetStatistics()
    {
        long allocations = Volatile.Read(ref _retiredAllocations);
        foreach (ThreadCache cache in Volatile.Read(ref _caches))
        {
            allocations += Volatile.Read(ref cache.Allocations);
        }

        int available = Available;
        int inUse = IsDisposed ? InUse : _capacity - available;
        long frees = Math.Max(0, allocations - inUse);
        UpdateHighWaterMark(inUse);
        return new NetBufPoolStatistics(
            _capacity,
            inUse,
            available,
            Volatile.Read(ref _highWaterMark),
            Interlocked.Read(ref _allocationFailures),
            allocations,
            frees);
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
