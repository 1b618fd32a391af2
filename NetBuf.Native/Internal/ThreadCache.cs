namespace NetBufNative.Internal;

/// <summary>
/// One thread's LIFO magazine of free buffer indices for one pool (DPDK's per-lcore mempool
/// cache). Its owner allocates from and frees into it with no atomic operation; it refills from
/// and flushes to the shared free list in batches, one CAS per batch.
/// </summary>
/// <remarks>
/// <para>
/// Other threads may take a cache's buffers (a steal when the shared list runs dry, a trim, the
/// retirement of an exited thread's cache, the pool's disposal). They synchronize with the owner's
/// atomic-free fast path by an asymmetric Dekker handshake: the owner writes <see cref="Active"/> = 1,
/// then reads <see cref="Frozen"/>, with volatile accesses; a thief writes <see cref="Frozen"/> = 1,
/// then calls <see cref="Interlocked.MemoryBarrierProcessWide"/>, then waits for
/// <see cref="Active"/> = 0. The process-wide barrier runs a full fence on every core, so either the
/// thief sees the owner's <see cref="Active"/> = 1 and waits, or the owner's read of
/// <see cref="Frozen"/> comes after the fence and sees 1, and the owner takes its slow path, which
/// waits on <see cref="Gate"/>, held by the thief. The expensive side is the rare one.
/// </para>
/// <para>
/// The JIT does not move the owner's volatile read of <see cref="Frozen"/> above its volatile
/// write of <see cref="Active"/>: RyuJIT marks both as ordered side effects and never reorders
/// volatile accesses with each other, so they reach the CPU in program order. The only reordering
/// left is the CPU's own (a store buffered past a later load), which is exactly what the thief's
/// process-wide barrier rules out. Where that barrier is not known to be real
/// (<see cref="ProcessWideBarrier"/>), <see cref="OwnerFence"/> is set and the owner runs a full
/// fence between the two accesses, making the handshake an ordinary symmetric Dekker.
/// </para>
/// <para>
/// The cache holds no reference to its pool, so a cache left in a thread's table never keeps an
/// abandoned pool (and its native block) alive; the pool holds its caches.
/// </para>
/// </remarks>
internal sealed class ThreadCache
{
    /// <summary>Sets in a thread's table of caches, indexed by pool stamp: eight, so a thread working
    /// with a few pools (an rx and a tx pool, say) keeps all their caches at hand; a power of two,
    /// for a mask instead of a division.</summary>
    public const int TableWays = 8;

    /// <summary>Entries in a thread's table: two per set (two-way set-associative, see
    /// <c>NetBufPool.InstallCache</c>), so two pools whose stamps collide do not evict each other.</summary>
    public const int TableSize = 2 * TableWays;

    /// <summary>The owner's flag: 1 while it is inside a fast-path operation.</summary>
    public int Active;

    /// <summary>Set by a thief (or for good by retirement) to send the owner to its slow path.</summary>
    public int Frozen;

    /// <summary>How many indices <see cref="Items"/> holds, bottom first.</summary>
    public int Count;

    /// <summary>Set under <see cref="Gate"/> when the pool is disposed or the owner exited: the cache takes nothing any more.</summary>
    public bool Retired;

    /// <summary>Buffers this thread allocated from the pool; written by the owner only.</summary>
    public long Allocations;

    public ThreadCache(long poolStamp, int size, bool ownerFence)
    {
        PoolStamp = poolStamp;
        Items = new int[size];
        Owner = Thread.CurrentThread;
        OwnerFence = ownerFence;
    }

    /// <summary>The unique stamp of the pool this cache belongs to.</summary>
    public long PoolStamp { get; }

    /// <summary>The thread whose cache this is.</summary>
    public Thread Owner { get; }

    /// <summary>The magazine.</summary>
    public int[] Items { get; }

    /// <summary>Whether the owner fences between its two handshake accesses (see remarks).</summary>
    public bool OwnerFence { get; }

    /// <summary>Taken by thieves while the cache is frozen, and by the owner on its slow path.</summary>
    /// <remarks>
    /// A monitor on a plain object rather than a <see cref="Lock"/>: only the slow paths take it
    /// (once per refill, flush or steal, so the few nanoseconds <see cref="Lock"/> saves do not
    /// show), and <see cref="Monitor"/> is what the systematic concurrency tests (Coyote 1.7, which
    /// does not know <see cref="Lock"/>) can control; a contended <see cref="Lock"/> hangs their
    /// scheduler.
    /// </remarks>
    public object Gate { get; } = new();

    /// <summary>
    /// The owner's entry into a fast-path operation: announces it and tells whether the cache is
    /// still the owner's to use (not frozen by a thief). Always pair with <see cref="Leave"/>.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public bool Enter()
    {
        Volatile.Write(ref Active, 1);
        if (OwnerFence)
        {
            Interlocked.MemoryBarrier();
        }

        return Volatile.Read(ref Frozen) == 0;
    }

    /// <summary>The owner's exit from a fast-path operation.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void Leave() => Volatile.Write(ref Active, 0);

    /// <summary>
    /// The thief's half of the handshake; the caller holds <see cref="Gate"/>. When this returns the
    /// owner is outside its fast path and will stay out (it finds <see cref="Frozen"/> set) until
    /// <see cref="Thaw"/>.
    /// </summary>
    public void Freeze()
    {
        Volatile.Write(ref Frozen, 1);
        if (OwnerFence)
        {
            Interlocked.MemoryBarrier();
        }
        else
        {
            Interlocked.MemoryBarrierProcessWide();
        }

        SpinWait spin = default;
        while (Volatile.Read(ref Active) != 0)
        {
            spin.SpinOnce();
        }
    }

    /// <summary>Lets the owner back onto its fast path; the caller holds <see cref="Gate"/>.</summary>
    public void Thaw() => Volatile.Write(ref Frozen, 0);
}
