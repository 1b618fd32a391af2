using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NetBufNative.Internal;

namespace NetBufNative;

// The per-thread caches: the fast paths, refill and flush, stealing, trimming and retiring (see ThreadCache).
public sealed unsafe partial class NetBufPool
{
    /// <summary>
    /// Moves the buffers held in every thread's cache back to the shared free list, and forgets
    /// the caches of threads that have exited. Call it when a burst is over, or before measuring.
    /// </summary>
    /// <remarks>Thread-safe. Costs a process-wide memory barrier per non-empty cache; not for hot paths.</remarks>
    public void Trim()
    {
        foreach (ThreadCache cache in Volatile.Read(ref _caches))
        {
            if (Volatile.Read(ref cache.Count) > 0)
            {
                cache.Gate.Enter();
                try
                {
                    DrainToSharedList(cache);
                }
                finally
                {
                    cache.Gate.Exit();
                }
            }
        }

        lock (_registryLock)
        {
            ThreadCache[] live = Array.FindAll(_caches, c => c.Owner.IsAlive || Volatile.Read(ref c.Count) > 0);
            if (live.Length != _caches.Length)
            {
                // The exited threads' counters move to the pool before their caches are dropped.
                foreach (ThreadCache gone in _caches.Except(live))
                {
                    Interlocked.Add(ref _retiredAllocations, Volatile.Read(ref gone.Allocations));
                }

                Volatile.Write(ref _caches, live);
            }
        }
    }

    /// <summary>Takes a free index: from this thread's cache when it has one, else from the shared list.</summary>
    /// <param name="cache">This thread's cache, or null when the pool has none.</param>
    /// <returns>The index, or <see cref="IndexFreeList{TPolicy}.Empty"/> (counted as a failure).</returns>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int TakeIndex(out ThreadCache? cache)
    {
        // Read first, unconditionally: in a loop the JIT can then hoist the thread-static access.
        ThreadCache?[]? table = t_caches;
        if (_cacheSize == 0)
        {
            cache = null;
            return TakeSharedIndex();
        }

        cache = CurrentCache(table);
        Volatile.Write(ref cache.Active, 1);
        if (Volatile.Read(ref cache.Frozen) == 0)
        {
            int count = cache.Count - 1;
            int[] items = cache.Items;
            if ((uint)count < (uint)items.Length)
            {
                int index = items[count];
                cache.Count = count;
                Volatile.Write(ref cache.Active, 0);

                // Statistics: a plain increment, as only this thread writes its cache's counters.
                cache.Allocations++;
                return index;
            }
        }

        Volatile.Write(ref cache.Active, 0);
        return TakeIndexSlow(cache);
    }

    /// <summary>Takes an index from the shared list (no thread cache), counting it in this thread's statistics.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int TakeSharedIndex()
    {
        int index = _freeList.Pop(_slots, out int freeBefore);
        if (index < 0)
        {
            return OnTakeFailed(index);
        }

        CurrentCache().Allocations++;
        int inUse = _capacity - freeBefore + 1;
        if (inUse > _highWaterMark)
        {
            UpdateHighWaterMark(inUse);
        }

        return index;
    }

    /// <summary>Turns a failed take into <see cref="ObjectDisposedException"/> (closed) or a counted failure (empty).</summary>
    private int OnTakeFailed(int listResult)
    {
        if (listResult == IndexFreeList<AbaTaggedPolicy>.Closed)
        {
            ThrowDisposed();
        }

        Interlocked.Increment(ref _allocationFailures);
        return IndexFreeList<AbaTaggedPolicy>.Empty;
    }

    /// <summary>Puts a free index into <paramref name="cache"/>, which belongs to this thread: the owner's
    /// half of the handshake described on <see cref="ThreadCache"/>, no atomic operation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void PushToCache(ThreadCache cache, int index)
    {
        Volatile.Write(ref cache.Active, 1);
        if (Volatile.Read(ref cache.Frozen) == 0)
        {
            int count = cache.Count;
            int[] items = cache.Items;
            if ((uint)count < (uint)items.Length)
            {
                items[count] = index;
                cache.Count = count + 1;
                Volatile.Write(ref cache.Active, 0);
                return;
            }
        }

        Volatile.Write(ref cache.Active, 0);
        ReturnIndexSlow(cache, index);
    }

    /// <summary>Puts a free index (its state already free) into this thread's cache or the shared list.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ReturnIndex(int index)
    {
        if (_cacheSize != 0)
        {
            PushToCache(CurrentCache(), index);
            return;
        }

        ReturnSharedIndex(index);
    }

    /// <summary>Returns an index to the shared list (no thread cache).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ReturnSharedIndex(int index)
    {
        if (!_freeList.TryPush(_slots, index))
        {
            OnReturnedAfterClose();
        }
    }

    /// <summary>This thread's cache for this pool, found in the thread's table or (rarely) made.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ThreadCache CurrentCache() => CurrentCache(t_caches);

    /// <summary>This thread's cache for this pool, given the thread's table.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ThreadCache CurrentCache(ThreadCache?[]? table)
    {
        if (table is not null)
        {
            // No bounds check needed: a table is always ThreadCache.TableSize long and the
            // index is masked to fit.
            ThreadCache? cache = Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(table), _cacheSlot);
            if (cache is not null && cache.PoolStamp == _stamp)
            {
                return cache;
            }
        }

        return InstallCache();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private ThreadCache InstallCache()
    {
        ThreadCache?[] table = t_caches ??= new ThreadCache?[ThreadCache.TableSize];
        return table[_cacheSlot] = FindOrCreateCache();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private ThreadCache FindOrCreateCache()
    {
        Thread current = Thread.CurrentThread;
        lock (_registryLock)
        {
            // The table entry may have been taken by another pool's cache; ours is still registered.
            foreach (ThreadCache existing in _caches)
            {
                if (existing.Owner == current)
                {
                    return existing;
                }
            }

            var cache = new ThreadCache(_stamp, _cacheSize);
            if (IsDisposed)
            {
                // Created after disposal: born retired, so every operation takes the slow path.
                cache.Retired = true;
                cache.Frozen = 1;
            }

            Volatile.Write(ref _caches, [.. _caches, cache]);
            return cache;
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private int TakeIndexSlow(ThreadCache cache)
    {
        cache.Gate.Enter();
        try
        {
            if (cache.Retired)
            {
                ThrowDisposed();
            }

            // Thieves unfreeze before they release the gate, so the cache is ours alone here.
            if (cache.Count == 0 && !Refill(cache) && !(StealFromOtherCaches(cache) && Refill(cache)))
            {
                return OnTakeFailed(IndexFreeList<AbaTaggedPolicy>.Empty);
            }

            cache.Allocations++;
            return cache.Items[--cache.Count];
        }
        finally
        {
            cache.Gate.Exit();
        }
    }

    /// <summary>Fills an empty cache (whose gate the caller holds) with up to half its size from the shared list, in one CAS.</summary>
    /// <returns>Whether it got any buffer.</returns>
    /// <exception cref="ObjectDisposedException">The pool closed.</exception>
    private bool Refill(ThreadCache cache)
    {
        int taken = _freeList.PopBatch(_slots, cache.Items.AsSpan(0, _cacheBatch), allOrNothing: false);
        if (taken == IndexFreeList<AbaTaggedPolicy>.Closed)
        {
            ThrowDisposed();
        }

        if (taken == 0)
        {
            return false;
        }

        // The list's top (the most recently freed, warmest buffer) is used first.
        cache.Items.AsSpan(0, taken).Reverse();
        cache.Count = taken;
        UpdateHighWaterMark(_capacity - Available + 1); // + 1: the allocation this refill serves
        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ReturnIndexSlow(ThreadCache cache, int index)
    {
        cache.Gate.Enter();
        try
        {
            if (cache.Retired)
            {
                ReturnSharedIndex(index);
                return;
            }

            if (cache.Count == cache.Items.Length)
            {
                // Flush the bottom (coldest) half in one CAS and keep the warm top.
                int flushed = _cacheBatch;
                PushOrCountAfterClose(cache.Items.AsSpan(0, flushed));
                cache.Items.AsSpan(flushed, cache.Count - flushed).CopyTo(cache.Items);
                cache.Count -= flushed;
            }

            cache.Items[cache.Count++] = index;
        }
        finally
        {
            cache.Gate.Exit();
        }
    }

    /// <summary>
    /// When the shared list is empty, moves the buffers of other threads' caches (including
    /// those of threads that have exited) to it, so that no buffer is stranded in an idle cache.
    /// </summary>
    /// <returns>Whether any buffer was moved.</returns>
    private bool StealFromOtherCaches(ThreadCache mine)
    {
        bool moved = false;
        foreach (ThreadCache other in Volatile.Read(ref _caches))
        {
            // TryEnter: never wait on another cache's gate while holding ours (no lock cycle).
            if (other == mine || Volatile.Read(ref other.Count) == 0 || !other.Gate.TryEnter())
            {
                continue;
            }

            try
            {
                moved |= DrainToSharedList(other);
            }
            finally
            {
                other.Gate.Exit();
            }
        }

        return moved;
    }

    /// <summary>Empties a cache whose gate the caller holds into the shared list.</summary>
    /// <returns>Whether it held any buffer.</returns>
    private bool DrainToSharedList(ThreadCache cache)
    {
        if (cache.Retired)
        {
            return false;
        }

        FreezeAgainstOwner(cache);
        int count = cache.Count;
        PushOrCountAfterClose(cache.Items.AsSpan(0, count));
        cache.Count = 0;
        Volatile.Write(ref cache.Frozen, 0);
        return count > 0;
    }

    /// <summary>The thief's half of the handshake described on <see cref="ThreadCache"/>; the caller holds the gate.</summary>
    private static void FreezeAgainstOwner(ThreadCache cache)
    {
        Volatile.Write(ref cache.Frozen, 1);
        Interlocked.MemoryBarrierProcessWide();
        SpinWait spin = default;
        while (Volatile.Read(ref cache.Active) != 0)
        {
            spin.SpinOnce();
        }
    }

    /// <summary>Pushes indices taken out of a cache; if the pool closed meanwhile, counts them as returned.</summary>
    private void PushOrCountAfterClose(ReadOnlySpan<int> indices)
    {
        if (!_freeList.TryPushBatch(_slots, indices))
        {
            for (int i = 0; i < indices.Length; i++)
            {
                OnReturnedAfterClose();
            }
        }
    }

    /// <summary>Retires every cache for the pool's disposal.</summary>
    /// <returns>How many free buffers the caches held.</returns>
    private int RetireCaches()
    {
        ThreadCache[] caches;
        lock (_registryLock)
        {
            // Under the registry lock, so a cache created from now on is born retired.
            caches = _caches;
        }

        int drained = 0;
        foreach (ThreadCache cache in caches)
        {
            cache.Gate.Enter();
            try
            {
                cache.Retired = true;
                FreezeAgainstOwner(cache);
                drained += cache.Count;
                cache.Count = 0;
            }
            finally
            {
                cache.Gate.Exit();
            }
        }

        return drained;
    }

    private static int AutomaticThreadCacheSize(int capacity)
    {
        // A quarter of the pool spread over one cache per core; tiny pools get none, as a cache
        // of fewer than 4 buffers amortizes nothing and only strands buffers.
        int size = Math.Min(AutoThreadCacheLimit, capacity / (4 * Environment.ProcessorCount));
        return size >= 4 ? size : 0;
    }
}
