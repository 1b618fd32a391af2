using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NetBufNative.Internal;

namespace NetBufNative;

// The per-thread caches: the fast paths, refill and flush, stealing, trimming and retiring (see ThreadCache).
public sealed unsafe partial class NetBufPool
{
    /// <summary>Registrations before the first sweep for exited threads' caches, and the least
    /// spacing between sweeps: a sweep walks every cache, so it runs when the registry has grown
    /// by half since the last one (amortized O(1) per registration), but not for every thread of a
    /// small program.</summary>
    private const int MinSweepThreshold = 8;

    /// <summary>How many times an allocation that found its cache and the shared list empty goes
    /// round the other caches while the pool still shows free buffers: each failed round means
    /// other threads took the buffers found (they made progress), so a small bound suffices; it
    /// keeps a thread from chasing buffers forever under extreme contention.</summary>
    private const int MaxStealRounds = 16;

    /// <summary>Called inside a refill, between taking buffers from the shared list and counting them
    /// in the cache (tests only: to hold a thread in that window).</summary>
    internal static Action? RefillHookForTesting { get; set; }

    /// <summary>How many times a thread's table missed both entries and the registry was searched (tests: a collision must not cost this).</summary>
    internal static long RegistrySearches => Interlocked.Read(ref s_registrySearches);

    /// <summary>
    /// Moves the buffers held in every thread's cache back to the shared free list, and forgets
    /// the caches of threads that have exited. Exited threads' caches are also retired
    /// automatically as new threads register; call this when a burst is over, or before measuring.
    /// </summary>
    /// <remarks>Thread-safe. Costs a process-wide memory barrier per non-empty cache; not for hot paths.</remarks>
    public void Trim()
    {
        foreach (ThreadCache cache in Volatile.Read(ref _registry).Caches)
        {
            if (Volatile.Read(ref cache.Count) > 0)
            {
                lock (cache.Gate)
                {
                    _ = DrainToSharedList(cache, keepOne: false);
                }
            }
        }

        lock (_registryLock)
        {
            RetireExitedCaches();
        }
    }

    /// <summary>Takes a free index: from this thread's cache when it has one, else from the shared list.</summary>
    /// <param name="cache">This thread's cache, or null when the pool has none.</param>
    /// <returns>The index, or <see cref="IndexFreeList{TPolicy}.Empty"/> (counted as a failure).</returns>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int TakeIndex(out ThreadCache? cache)
    {
        if (_cacheSize == 0)
        {
            cache = null;
            return TakeSharedIndex();
        }

        cache = CurrentCache();
        return TakeFromCache(cache);
    }

    /// <summary>Takes a free index from <paramref name="cache"/>, this thread's: the owner's fast path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int TakeFromCache(ThreadCache cache)
    {
        if (cache.Enter())
        {
            int count = cache.Count - 1;
            int[] items = cache.Items;
            if ((uint)count < (uint)items.Length)
            {
                int index = items[count];
                cache.Count = count;
                cache.Leave();

                // Statistics: a plain increment, as only this thread writes its cache's counters.
                cache.Allocations++;
                return index;
            }
        }

        cache.Leave();
        return TakeIndexSlow(cache);
    }

    /// <summary>Takes an index from the shared list (no thread cache), counting it in this thread's statistics.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal int TakeSharedIndex()
    {
        if (_diagnostics is not null)
        {
            return TakeSharedIndexDiagnosed(_diagnostics);
        }

        int index = _freeList.Pop(_slots, out int freeBefore);
        if (index < 0)
        {
            return OnTakeFailed(index);
        }

        CurrentCache().Allocations++;
        int inUse = _capacity - freeBefore + 1;
        if (inUse > Volatile.Read(ref _highWaterMark))
        {
            UpdateHighWaterMark(inUse);
        }

        return index;
    }

    /// <summary>
    /// <see cref="TakeSharedIndex"/> in the diagnostic mode: under the mode's gate, from the free list,
    /// else the oldest buffer in quarantine (it holds free buffers back, but never to the point of
    /// exhaustion), checked and armed.
    /// </summary>
    private int TakeSharedIndexDiagnosed(PoolDiagnostics diagnostics)
    {
        int index;
        lock (diagnostics.Gate)
        {
            index = _freeList.Pop(_slots);
            if (index == IndexFreeList<AbaTaggedPolicy>.Empty)
            {
                int released = diagnostics.ReleaseOldest();
                index = released >= 0 ? released : index;
            }

            if (index >= 0)
            {
                diagnostics.OnTaken(index);
            }
        }

        if (index < 0)
        {
            return OnTakeFailed(index);
        }

        CurrentCache().Allocations++;
        UpdateHighWaterMark(_capacity - _freeList.Count(_slots) - diagnostics.Quarantined);
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
    internal void PushToCache(ThreadCache cache, int index)
    {
        if (cache.Enter())
        {
            int count = cache.Count;
            int[] items = cache.Items;
            if ((uint)count < (uint)items.Length)
            {
                items[count] = index;
                cache.Count = count + 1;
                cache.Leave();
                return;
            }
        }

        cache.Leave();
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
        if (_diagnostics is not null)
        {
            // Under the mode's gate: the buffer leaving the quarantine reaches the list before any
            // take can look (see PoolDiagnostics.Gate).
            lock (_diagnostics.Gate)
            {
                index = _diagnostics.OnReturned(index);
                if (index >= 0 && !_freeList.TryPush(_slots, index))
                {
                    OnReturnedAfterClose();
                }
            }

            return;
        }

        if (!_freeList.TryPush(_slots, index))
        {
            OnReturnedAfterClose();
        }
    }

    /// <summary>This thread's cache for this pool, found in the thread's table or (rarely) made.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ThreadCache CurrentCache()
    {
        ThreadCache?[]? table = t_caches;
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

    /// <summary>
    /// The miss path of <see cref="CurrentCache()"/>: the table is two-way set-associative. Each
    /// pool has a primary entry (looked at inline) and a second entry <see cref="ThreadCache.TableWays"/>
    /// further on; a cache found in the second is swapped to the front, so a thread that alternates
    /// between two pools whose entries collide never takes the registry lock. Only when neither
    /// entry holds the cache is the registry searched (or a cache made), and the evicted primary
    /// moves to the second entry.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ThreadCache InstallCache()
    {
        ThreadCache?[] table = t_caches ??= new ThreadCache?[ThreadCache.TableSize];
        nint second = _cacheSlot + ThreadCache.TableWays;
        ThreadCache? primary = table[_cacheSlot];
        ThreadCache? other = table[second];
        if (other is not null && other.PoolStamp == _stamp)
        {
            table[second] = primary;
            table[_cacheSlot] = other;
            return other;
        }

        Interlocked.Increment(ref s_registrySearches);
        ThreadCache cache = FindOrCreateCache();
        table[second] = primary;
        table[_cacheSlot] = cache;
        return cache;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private ThreadCache FindOrCreateCache()
    {
        Thread current = Thread.CurrentThread;
        lock (_registryLock)
        {
            // The table entry may have been taken by another pool's cache; ours is still registered.
            foreach (ThreadCache existing in _registry.Caches)
            {
                if (existing.Owner == current)
                {
                    return existing;
                }
            }

            var cache = new ThreadCache(_stamp, _cacheSize, _ownerFence);
            if (IsDisposed)
            {
                // Created after disposal: born retired, so every operation takes the slow path.
                cache.Retired = true;
                cache.Frozen = 1;
            }

            if (_registry.Count >= _nextSweep)
            {
                RetireExitedCaches();
                _nextSweep = Math.Max(MinSweepThreshold, _registry.Count + (_registry.Count / 2));
            }

            Register(cache);
            return cache;
        }
    }

    /// <summary>Adds a cache to the registry; the caller holds the registry lock.</summary>
    private void Register(ThreadCache cache)
    {
        CacheRegistry registry = _registry;
        ThreadCache[] items = registry.Items;
        if (registry.Count == items.Length)
        {
            // Grow by doubling: readers of the old snapshot keep the old array.
            Array.Resize(ref items, Math.Max(4, items.Length * 2));
        }

        // Beyond the published count: invisible until the new snapshot is published.
        items[registry.Count] = cache;
        Volatile.Write(ref _registry, new CacheRegistry(items, registry.Count + 1, registry.RetiredAllocations));
    }

    /// <summary>
    /// Retires the caches of threads that have exited: their buffers go back to the shared list and
    /// their allocation counts into the registry's retired total, in one new snapshot so that
    /// statistics never count them twice or lose them. The caller holds the registry lock.
    /// </summary>
    private void RetireExitedCaches()
    {
        CacheRegistry registry = _registry;
        ReadOnlySpan<ThreadCache> caches = registry.Caches;
        int exited = 0;
        foreach (ThreadCache cache in caches)
        {
            if (!cache.Owner.IsAlive)
            {
                exited++;
            }
        }

        if (exited == 0)
        {
            return;
        }

        var live = new ThreadCache[Math.Max(4, caches.Length - exited)];
        int count = 0;
        long retired = registry.RetiredAllocations;
        foreach (ThreadCache cache in caches)
        {
            if (cache.Owner.IsAlive)
            {
                live[count++] = cache;
                continue;
            }

            lock (cache.Gate)
            {
                _ = DrainToSharedList(cache, keepOne: false);

                // Frozen for good: the owner has exited, nothing may use the cache again.
                cache.Retired = true;
                cache.Frozen = 1;
            }

            retired += Volatile.Read(ref cache.Allocations);
        }

        Volatile.Write(ref _registry, new CacheRegistry(live, count, retired));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private int TakeIndexSlow(ThreadCache cache)
    {
        for (int round = 0; ; round++)
        {
            lock (cache.Gate)
            {
                if (cache.Retired)
                {
                    ThrowDisposed();
                }

                // Thieves thaw the cache before they release the gate, so it is ours alone here.
                if (cache.Count > 0 || Refill(cache))
                {
                    cache.Allocations++;
                    return cache.Items[--cache.Count];
                }
            }

            // Our gate is released before we wait on any other: a thread never holds one gate
            // while waiting for another, so stealing cannot deadlock.
            int stolen = StealOne(cache);
            if (stolen >= 0)
            {
                cache.Allocations++;
                return stolen;
            }

            // Nothing found anywhere we looked. Buffers may have moved behind us (a drain into the
            // shared list, a cache refilled from it): look again while the pool shows any.
            if (round >= MaxStealRounds || CountAvailable() <= 0)
            {
                return OnTakeFailed(IndexFreeList<AbaTaggedPolicy>.Empty);
            }

            Thread.Yield();
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

        // Tests widen the window in which the taken buffers are in no list and no cache count.
        RefillHookForTesting?.Invoke();

        // The list's top (the most recently freed, warmest buffer) is used first.
        cache.Items.AsSpan(0, taken).Reverse();
        cache.Count = taken;
        UpdateHighWaterMark(_capacity - Available + 1); // + 1: the allocation this refill serves
        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ReturnIndexSlow(ThreadCache cache, int index)
    {
        lock (cache.Gate)
        {
            if (cache.Retired)
            {
                ReturnSharedIndex(index);
                return;
            }

            if (cache.Count == cache.Items.Length)
            {
                FlushColdest(cache, _cacheBatch);
            }

            cache.Items[cache.Count++] = index;
        }
    }

    /// <summary>Pushes the <paramref name="count"/> coldest (bottom) entries of a cache whose gate the caller holds to the shared list, in one CAS.</summary>
    private void FlushColdest(ThreadCache cache, int count)
    {
        PushOrCountAfterClose(cache.Items.AsSpan(0, count));
        cache.Items.AsSpan(count, cache.Count - count).CopyTo(cache.Items);
        cache.Count -= count;
    }

    /// <summary>
    /// When the shared list is empty, takes the buffers of other threads' caches (idle threads'
    /// and exited threads' included): keeps one for the caller and moves the rest to the shared
    /// list, so no buffer is stranded in an idle cache. Waits on a busy cache's gate (its holder
    /// is in a short slow path) instead of skipping it. The caller holds no gate.
    /// </summary>
    /// <returns>An index for the caller, or -1 when every other cache was empty, or one from the shared list.</returns>
    private int StealOne(ThreadCache mine)
    {
        // The shared list may have been refilled by another thief since our refill failed.
        int index = _freeList.Pop(_slots);
        if (index >= 0 || index == IndexFreeList<AbaTaggedPolicy>.Closed)
        {
            return index == IndexFreeList<AbaTaggedPolicy>.Closed ? OnTakeFailed(index) : index;
        }

        foreach (ThreadCache other in Volatile.Read(ref _registry).Caches)
        {
            if (other == mine || IsIdleAndEmpty(other))
            {
                continue;
            }

            lock (other.Gate)
            {
                index = DrainToSharedList(other, keepOne: true);
            }

            if (index >= 0)
            {
                return index;
            }
        }

        return -1;
    }

    /// <summary>
    /// Whether a cache can be skipped by a thief: it is empty and nobody is in its slow path. An
    /// empty cache whose gate is held may be in the middle of a refill, with buffers taken from the
    /// shared list but not yet counted anywhere, so the thief waits for the gate and looks again.
    /// </summary>
    /// <remarks>
    /// It takes the gate rather than trying it: the cost is the same when the gate is free, and a
    /// busy one must be waited for anyway; and <see cref="Monitor.TryEnter(object)"/> is not
    /// controlled by the systematic concurrency tests (under Coyote it succeeds on a held gate).
    /// </remarks>
    private static bool IsIdleAndEmpty(ThreadCache cache)
    {
        if (Volatile.Read(ref cache.Count) != 0)
        {
            return false;
        }

        if (TestSwitches.Enabled && TestSwitches.StealSkipsBusyGates)
        {
            // The put-back bug (tests only): an empty count is trusted without waiting for the gate.
            return true;
        }

        lock (cache.Gate)
        {
            return cache.Count == 0;
        }
    }

    /// <summary>Empties a cache whose gate the caller holds into the shared list, keeping one index if asked.</summary>
    /// <returns>The index kept, or -1 (nothing kept: the cache was empty or retired, or none was asked for).</returns>
    private int DrainToSharedList(ThreadCache cache, bool keepOne)
    {
        if (cache.Retired)
        {
            return -1;
        }

        cache.Freeze();
        int count = cache.Count;
        int kept = -1;
        if (keepOne && count > 0)
        {
            kept = cache.Items[--count];
        }

        PushOrCountAfterClose(cache.Items.AsSpan(0, count));
        cache.Count = 0;
        cache.Thaw();
        return kept;
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
        CacheRegistry registry;
        lock (_registryLock)
        {
            // Under the registry lock, so a cache created from now on is born retired.
            registry = _registry;
        }

        int drained = 0;
        foreach (ThreadCache cache in registry.Caches)
        {
            lock (cache.Gate)
            {
                if (cache.Retired)
                {
                    continue;
                }

                cache.Retired = true;
                cache.Freeze();
                drained += cache.Count;
                cache.Count = 0;
            }
        }

        return drained;
    }

    /// <summary>The shared list's count plus every cache's: may count a buffer twice (or miss one)
    /// while it moves between them, so callers clamp it.</summary>
    private int CountAvailable()
    {
        int available = _freeList.Count(_slots);
        foreach (ThreadCache cache in Volatile.Read(ref _registry).Caches)
        {
            available += Volatile.Read(ref cache.Count);
        }

        return available;
    }

    private static int AutomaticThreadCacheSize(int capacity)
    {
        // A quarter of the pool spread over one cache per core; tiny pools get none, as a cache
        // of fewer than 4 buffers amortizes nothing and only strands buffers.
        int size = Math.Min(AutoThreadCacheLimit, capacity / (4 * Environment.ProcessorCount));
        return size >= 4 ? size : 0;
    }
}
