namespace NetBufNative;

/// <summary>A snapshot of a <see cref="NetBufPool"/>'s figures, from <see cref="NetBufPool.GetStatistics"/>.</summary>
/// <param name="Capacity">How many buffers the pool holds.</param>
/// <param name="InUse">Buffers out of the pool (owned, boxed or lent).</param>
/// <param name="Available">Buffers that can be allocated (shared list and thread caches).</param>
/// <param name="HighWaterMark">The most buffers seen in use at once: not exact with thread caches.
/// It is sampled when a thread cache refills and on every snapshot (an exact figure would need a
/// shared counter on every allocation and free, the cost the caches exist to remove), so it can
/// trail the true peak by up to one cache's size (<see cref="NetBufPool.ThreadCacheSize"/>) per
/// thread. Exact for a pool without thread caches.</param>
/// <param name="AllocationFailures">Allocations that found the pool exhausted.</param>
/// <param name="TotalAllocations">Buffers allocated since the pool was created.</param>
/// <param name="TotalFrees">Buffers returned since the pool was created: the allocations less
/// the buffers in use, so the free path needs no counter.</param>
/// <param name="DiagnosticReports">Reports of the diagnostic mode (write after free, overflow, leak); 0 without it.</param>
public readonly record struct NetBufPoolStatistics(
    int Capacity,
    int InUse,
    int Available,
    int HighWaterMark,
    long AllocationFailures,
    long TotalAllocations,
    long TotalFrees,
    long DiagnosticReports = 0);
