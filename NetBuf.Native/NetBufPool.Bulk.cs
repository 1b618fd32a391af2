using System.Runtime.CompilerServices;
using NetBufNative.Internal;

namespace NetBufNative;

// Bulk allocation and return for driver rings: a batch at a time, one CAS on the shared list at most.
public sealed unsafe partial class NetBufPool
{
    /// <summary>
    /// Allocates <paramref name="pointers"/>.Length buffers, all or nothing, each lent as a
    /// <see cref="NetBufPtr"/> with empty regions after <see cref="DefaultHeadroom"/>: ready to post
    /// to a device's receive ring. One CAS on the shared list for the whole batch at most.
    /// </summary>
    /// <param name="pointers">Receives the pointers; left untouched when the call returns false.</param>
    /// <returns><see langword="false"/> when fewer buffers are free; nothing was allocated.</returns>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    /// <remarks>Thread-safe, lock-free on the shared list, no GC allocation.</remarks>
    [SkipLocalsInit] // The scratch indices are written before they are read: no need to zero 1 KiB per call.
    public bool TryAllocBulk(Span<NetBufPtr> pointers)
    {
        using var scratch = new IndexScratch(pointers.Length, stackalloc int[IndexScratch.StackLength]);
        Span<int> indices = scratch.Indices;
        if (!TryTakeIndices(indices))
        {
            return false;
        }

        for (int i = 0; i < indices.Length; i++)
        {
            int index = indices[i];
            pointers[i] = MakePointer(index, Acquire(index, BufferKind.Lent), _defaultRegions);
        }

        return true;
    }

    /// <summary>
    /// Allocates <paramref name="boxes"/>.Length buffers, all or nothing, each owned by a
    /// <see cref="NetBufBox"/> with empty regions. One CAS on the shared list for the whole batch at most.
    /// </summary>
    /// <param name="boxes">Receives the boxes; left untouched when the call returns false.</param>
    /// <returns><see langword="false"/> when fewer buffers are free; nothing was allocated.</returns>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    /// <remarks>Thread-safe, lock-free on the shared list, no GC allocation.</remarks>
    [SkipLocalsInit] // The scratch indices are written before they are read: no need to zero 1 KiB per call.
    public bool TryAllocBulk(Span<NetBufBox> boxes)
    {
        using var scratch = new IndexScratch(boxes.Length, stackalloc int[IndexScratch.StackLength]);
        Span<int> indices = scratch.Indices;
        if (!TryTakeIndices(indices))
        {
            return false;
        }

        for (int i = 0; i < indices.Length; i++)
        {
            boxes[i] = new NetBufBox(this, indices[i], Acquire(indices[i], BufferKind.Boxed));
        }

        return true;
    }

    /// <summary>
    /// Returns every buffer lent as <paramref name="pointers"/> (a device's completed transmit
    /// ring, say) with one CAS on the shared list at most.
    /// </summary>
    /// <param name="pointers">The pointers; each must be lent by this pool and appear once.</param>
    /// <exception cref="ArgumentException">A pointer is null, or was not lent by this pool; nothing was changed.</exception>
    /// <exception cref="InvalidOperationException">A pointer is no longer lent (restored or freed already); nothing was
    /// changed. Or, only when another thread restores or frees a copy of one of these pointers at this very moment, or a
    /// pointer appears twice in the span: that pointer was not taken, and every other one was freed (the message says so).</exception>
    /// <remarks>
    /// Thread-safe. The whole batch is validated before anything is taken, so a bad pointer leaves
    /// every buffer as it was. Each pointer is then taken with one CAS, so a pointer freed here and
    /// restored elsewhere at the same time is taken by exactly one of them; nothing taken is ever
    /// put back, so the other side never fails for a buffer that ends up lent after all.
    /// </remarks>
    [SkipLocalsInit] // The scratch indices are written before they are read: no need to zero 1 KiB per call.
    public void FreeBulk(ReadOnlySpan<NetBufPtr> pointers)
    {
        for (int i = 0; i < pointers.Length; i++)
        {
            NetBufPtr pointer = pointers[i];
            PointerCheck check = CheckFromThisPool(pointer);
            if (check == PointerCheck.Valid && Volatile.Read(ref _slots[pointer.BufferIndex].State) != (pointer.Token ^ _pointerSalt))
            {
                check = PointerCheck.Stale;
            }

            if (check != PointerCheck.Valid)
            {
                ThrowInvalidPointer(pointer, check);
            }
        }

        using var scratch = new IndexScratch(pointers.Length, stackalloc int[IndexScratch.StackLength]);
        Span<int> indices = scratch.Indices;
        int taken = 0;
        int lost = -1;
        for (int i = 0; i < pointers.Length; i++)
        {
            NetBufPtr pointer = pointers[i];
            ulong lent = pointer.Token ^ _pointerSalt;
            if (Interlocked.CompareExchange(ref _slots[pointer.BufferIndex].State, BufferToken.Next(lent, BufferKind.Free), lent) == lent)
            {
                indices[taken++] = pointer.BufferIndex;
            }
            else if (lost < 0)
            {
                // Restored or freed by another thread since the validation, or listed twice.
                lost = i;
            }
        }

        ReturnIndices(indices[..taken]);
        if (lost >= 0)
        {
            ThrowHelper.ThrowInvalidOperation(
                $"{pointers[lost]} (at {lost}) was restored or freed elsewhere while this batch was being freed, or appears twice; " +
                $"it was not taken. The other {taken} buffers were freed.");
        }
    }

    /// <summary>
    /// Disposes every box in <paramref name="boxes"/> with one CAS on the shared list at most,
    /// and clears the span.
    /// </summary>
    /// <param name="boxes">The boxes; default boxes are skipped.</param>
    /// <exception cref="ObjectDisposedException">A box is stale (disposed or moved); nothing was changed. Or, only when
    /// another thread disposes or moves a copy of one of these boxes at this very moment, or a box appears twice: that box
    /// was not taken, every other one was freed, and the span was cleared.</exception>
    /// <exception cref="ArgumentException">A box belongs to another pool; nothing was changed.</exception>
    /// <remarks>Thread-safe in the same sense as <see cref="FreeBulk(ReadOnlySpan{NetBufPtr})"/>.</remarks>
    [SkipLocalsInit] // The scratch indices are written before they are read: no need to zero 1 KiB per call.
    public void FreeBulk(Span<NetBufBox> boxes)
    {
        for (int i = 0; i < boxes.Length; i++)
        {
            NetBufBox box = boxes[i];
            NetBufPool? owner = box.PoolOrNull;
            if (owner is null)
            {
                continue;
            }

            if (!ReferenceEquals(owner, this))
            {
                ThrowHelper.ThrowArgument(nameof(boxes), $"{box} does not belong to {_name}.");
            }

            if (Volatile.Read(ref _slots[box.Index].State) != box.Token)
            {
                ThrowStale(box.Index, box.Token);
            }
        }

        using var scratch = new IndexScratch(boxes.Length, stackalloc int[IndexScratch.StackLength]);
        Span<int> indices = scratch.Indices;
        int taken = 0;
        int lost = -1;
        for (int i = 0; i < boxes.Length; i++)
        {
            NetBufBox box = boxes[i];
            if (box.PoolOrNull is null)
            {
                continue;
            }

            ulong token = box.Token;
            if (Interlocked.CompareExchange(ref _slots[box.Index].State, BufferToken.Next(token, BufferKind.Free), token) == token)
            {
                indices[taken++] = box.Index;
            }
            else if (lost < 0)
            {
                lost = i;
            }
        }

        ReturnIndices(indices[..taken]);
        if (lost >= 0)
        {
            NetBufBox box = boxes[lost];
            boxes.Clear();
            ThrowStale(box.Index, box.Token);
        }

        boxes.Clear();
    }

    /// <summary>Takes <paramref name="destination"/>.Length free indices, all or nothing: from this thread's cache first, the rest in one batch from the shared list.</summary>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    internal bool TryTakeIndices(Span<int> destination)
    {
        if (destination.IsEmpty)
        {
            if (IsDisposed)
            {
                ThrowDisposed();
            }

            return true;
        }

        // Without a thread cache the thread's cache object still holds its counters.
        return TryTakeIndices(CurrentCache(), destination);
    }

    /// <summary>Takes <paramref name="destination"/>.Length (at least 1) free indices, all or nothing, for the thread owning <paramref name="cache"/>.</summary>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    internal bool TryTakeIndices(ThreadCache cache, Span<int> destination)
    {
        bool taken = _cacheSize != 0 ? TryTakeIndicesCached(cache, destination) : TryTakeIndicesShared(destination);
        if (taken)
        {
            cache.Allocations += destination.Length;
        }
        else
        {
            Interlocked.Increment(ref _allocationFailures);
        }

        return taken;
    }

    private bool TryTakeIndicesShared(Span<int> destination)
    {
        if (_diagnostics is not null)
        {
            return TryTakeIndicesDiagnosed(_diagnostics, destination);
        }

        int taken = _freeList.PopBatch(_slots, destination, allOrNothing: true);
        if (taken == IndexFreeList<AbaTaggedPolicy>.Closed)
        {
            ThrowDisposed();
        }

        if (taken == 0)
        {
            return false;
        }

        UpdateHighWaterMark(_capacity - _freeList.Count(_slots));
        return true;
    }

    /// <summary>
    /// <see cref="TryTakeIndicesShared"/> in the diagnostic mode: under the mode's gate, so no buffer
    /// is between the quarantine and the list; when the list is short, only as many buffers as are
    /// missing leave the quarantine (checked), so a ring refilled until it fails does not flush it.
    /// </summary>
    private bool TryTakeIndicesDiagnosed(PoolDiagnostics diagnostics, Span<int> destination)
    {
        int taken;
        lock (diagnostics.Gate)
        {
            taken = _freeList.PopBatch(_slots, destination, allOrNothing: true);
            if (taken == 0)
            {
                int missing = destination.Length - _freeList.Count(_slots);
                if (missing <= diagnostics.Quarantined)
                {
                    for (int i = 0; i < missing; i++)
                    {
                        int released = diagnostics.ReleaseOldest();
                        if (released >= 0)
                        {
                            PushOrCountAfterClose([released]);
                        }
                    }

                    taken = _freeList.PopBatch(_slots, destination, allOrNothing: true);
                }
            }

            if (taken > 0)
            {
                foreach (int index in destination)
                {
                    diagnostics.OnTaken(index);
                }
            }
        }

        if (taken == IndexFreeList<AbaTaggedPolicy>.Closed)
        {
            ThrowDisposed();
        }

        if (taken == 0)
        {
            return false;
        }

        UpdateHighWaterMark(_capacity - _freeList.Count(_slots) - diagnostics.Quarantined);
        return true;
    }

    /// <summary>Takes <paramref name="destination"/>.Length indices from <paramref name="cache"/>
    /// (this thread's) on the owner's fast path, or through the slow path.</summary>
    internal bool TryTakeIndicesCached(ThreadCache cache, Span<int> destination)
    {
        int needed = destination.Length;
        if (cache.Enter() && cache.Count >= needed)
        {
            int start = cache.Count - needed;
            cache.Items.AsSpan(start, needed).CopyTo(destination);
            cache.Count = start;
            cache.Leave();
            return true;
        }

        cache.Leave();
        return TryTakeIndicesSlow(cache, destination);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryTakeIndicesSlow(ThreadCache cache, Span<int> destination)
    {
        for (int round = 0; ; round++)
        {
            lock (cache.Gate)
            {
                if (cache.Retired)
                {
                    ThrowDisposed();
                }

                // Take what the cache has, and the rest from the shared list in one batch.
                int fromCache = Math.Min(cache.Count, destination.Length);
                Span<int> rest = destination[fromCache..];
                int taken = rest.IsEmpty ? 0 : _freeList.PopBatch(_slots, rest, allOrNothing: true);
                if (taken == IndexFreeList<AbaTaggedPolicy>.Closed)
                {
                    ThrowDisposed();
                }

                if (taken == rest.Length)
                {
                    cache.Items.AsSpan(cache.Count - fromCache, fromCache).CopyTo(destination);
                    cache.Count -= fromCache;
                    UpdateHighWaterMark(_capacity - Available);
                    return true;
                }
            }

            // Not enough: move every other cache's buffers to the shared list (waiting on busy
            // gates, holding none of ours), then try again while the pool shows enough.
            StealAll(cache);
            if (round >= MaxStealRounds || CountAvailable() < destination.Length)
            {
                return false;
            }
        }
    }

    /// <summary>Drains every other cache into the shared list; the caller holds no gate.</summary>
    private void StealAll(ThreadCache mine)
    {
        foreach (ThreadCache other in Volatile.Read(ref _registry).Caches)
        {
            if (other != mine && !IsIdleAndEmpty(other))
            {
                lock (other.Gate)
                {
                    _ = DrainToSharedList(other, keepOne: false);
                }
            }
        }
    }

    /// <summary>Puts free indices (their states already free) into this thread's cache, or the shared list in one batch.</summary>
    internal void ReturnIndices(ReadOnlySpan<int> indices)
    {
        if (indices.IsEmpty)
        {
            return;
        }

        if (_cacheSize != 0)
        {
            ReturnIndicesToCache(CurrentCache(), indices);
            return;
        }

        if (_diagnostics is not null)
        {
            foreach (int index in indices)
            {
                ReturnSharedIndex(index);
            }

            return;
        }

        PushOrCountAfterClose(indices);
    }

    /// <summary>Puts free indices into <paramref name="cache"/> (this thread's), flushing its coldest entries to make room.</summary>
    internal void ReturnIndicesToCache(ThreadCache cache, ReadOnlySpan<int> indices)
    {
        if (cache.Enter() && cache.Count + indices.Length <= cache.Items.Length)
        {
            indices.CopyTo(cache.Items.AsSpan(cache.Count));
            cache.Count += indices.Length;
            cache.Leave();
            return;
        }

        cache.Leave();
        ReturnIndicesSlow(cache, indices);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ReturnIndicesSlow(ThreadCache cache, ReadOnlySpan<int> indices)
    {
        lock (cache.Gate)
        {
            int size = cache.Items.Length;
            if (cache.Retired || indices.Length > size)
            {
                PushOrCountAfterClose(indices);
                return;
            }

            // Keep the batch (the warmest buffers) and flush the coldest entries it displaces.
            int overflow = cache.Count + indices.Length - size;
            if (overflow > 0)
            {
                FlushColdest(cache, Math.Max(overflow, Math.Min(_cacheBatch, cache.Count)));
            }

            indices.CopyTo(cache.Items.AsSpan(cache.Count));
            cache.Count += indices.Length;
        }
    }
}
