namespace NetBufNative.Internal;

/// <summary>
/// An immutable snapshot of a pool's thread caches and of the allocations counted by caches
/// already retired, swapped as a whole so that readers (statistics, <see cref="NetBufPool.Available"/>,
/// stealing) see every allocation counted exactly once: either in a live cache or in
/// <see cref="RetiredAllocations"/>, never in both and never in neither.
/// </summary>
/// <remarks>
/// Appending a cache writes it into spare room of <see cref="Items"/> beyond <see cref="Count"/> and
/// publishes a new snapshot with a larger count, so readers of the old snapshot are unaffected and
/// registration is amortized O(1); removals copy the array.
/// </remarks>
internal sealed class CacheRegistry
{
    public CacheRegistry(ThreadCache[] items, int count, long retiredAllocations)
    {
        Items = items;
        Count = count;
        RetiredAllocations = retiredAllocations;
    }

    /// <summary>The empty registry of a new pool.</summary>
    public static CacheRegistry Empty { get; } = new([], 0, 0);

    /// <summary>The caches; only the first <see cref="Count"/> belong to this snapshot.</summary>
    public ThreadCache[] Items { get; }

    /// <summary>How many caches the snapshot holds.</summary>
    public int Count { get; }

    /// <summary>Allocations counted by caches that were retired (their threads exited).</summary>
    public long RetiredAllocations { get; }

    /// <summary>The caches of this snapshot.</summary>
    public ReadOnlySpan<ThreadCache> Caches => Items.AsSpan(0, Count);
}
