namespace NetBufNative.Internal;

/// <summary>
/// One thread's LIFO magazine of free buffer indices for one pool (DPDK's per-lcore mempool
/// cache). Its owner allocates from and frees into it with no atomic operation; it refills from
/// and flushes to the shared free list in batches, one CAS per batch.
/// </summary>
/// <remarks>
/// <para>
/// Other threads may take a cache's buffers (a steal when the shared list runs dry, a trim, the
/// pool's disposal). They synchronize with the owner's atomic-free fast path by an asymmetric
/// Dekker handshake: the owner writes <see cref="Active"/> = 1, then reads <see cref="Frozen"/>,
/// with plain (volatile) accesses; a thief writes <see cref="Frozen"/> = 1, then calls
/// <see cref="Interlocked.MemoryBarrierProcessWide"/>, then waits for <see cref="Active"/> = 0.
/// The process-wide barrier runs a full fence on every core, so either the thief sees the
/// owner's <see cref="Active"/> = 1 and waits, or the owner's read of <see cref="Frozen"/> comes
/// after the fence and sees 1, and the owner takes its slow path, which waits on
/// <see cref="Gate"/>, held by the thief. The expensive side is the rare one.
/// </para>
/// <para>
/// The cache holds no reference to its pool, so a cache left in a thread's table never keeps an
/// abandoned pool (and its native block) alive; the pool holds its caches.
/// </para>
/// </remarks>
internal sealed class ThreadCache
{
    /// <summary>Entries in a thread's table of caches, direct-mapped by pool stamp: eight, so a
    /// thread working with a few pools (an rx and a tx pool, say) keeps all their caches at hand;
    /// a power of two, for a mask instead of a division.</summary>
    public const int TableSize = 8;

    /// <summary>The owner's flag: 1 while it is inside a fast-path operation.</summary>
    public int Active;

    /// <summary>Set by a thief (or for good by the pool's disposal) to send the owner to its slow path.</summary>
    public int Frozen;

    /// <summary>How many indices <see cref="Items"/> holds, bottom first.</summary>
    public int Count;

    /// <summary>Set under <see cref="Gate"/> when the pool is disposed: the cache takes nothing any more.</summary>
    public bool Retired;

    /// <summary>Buffers this thread allocated from the pool; written by the owner only.</summary>
    public long Allocations;

    public ThreadCache(long poolStamp, int size)
    {
        PoolStamp = poolStamp;
        Items = new int[size];
        Owner = Thread.CurrentThread;
    }

    /// <summary>The unique stamp of the pool this cache belongs to.</summary>
    public long PoolStamp { get; }

    /// <summary>The thread whose cache this is.</summary>
    public Thread Owner { get; }

    /// <summary>The magazine.</summary>
    public int[] Items { get; }

    /// <summary>Taken by thieves while the cache is frozen, and by the owner on its slow path.</summary>
    public Lock Gate { get; } = new();
}
