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
            uint token = Acquire(index, BufferKind.Lent);
            pointers[i] = new NetBufPtr(BufferAddress(index), index, token, _defaultHeadroom, 0, 0);
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
    /// ring, say) with one CAS on the shared list at most. If any pointer is invalid, the ones
    /// before it are put back as they were.
    /// </summary>
    /// <param name="pointers">The pointers; each must be lent by this pool and appear once.</param>
    /// <exception cref="ArgumentException">A pointer is null, or not from this pool; nothing was changed.</exception>
    /// <exception cref="InvalidOperationException">A pointer was already restored or freed, or appears twice; nothing was changed.</exception>
    /// <remarks>Thread-safe: a pointer freed here and restored elsewhere at the same time is taken by exactly one of them.</remarks>
    [SkipLocalsInit] // The scratch indices are written before they are read: no need to zero 1 KiB per call.
    public void FreeBulk(ReadOnlySpan<NetBufPtr> pointers)
    {
        using var scratch = new IndexScratch(pointers.Length, stackalloc int[IndexScratch.StackLength]);
        Span<int> indices = scratch.Indices;
        for (int i = 0; i < pointers.Length; i++)
        {
            NetBufPtr pointer = pointers[i];
            PointerCheck check = CheckFromThisPool(pointer);
            uint lent = pointer.Token;
            if (check == PointerCheck.Valid &&
                Interlocked.CompareExchange(ref SlotAt(pointer.BufferIndex).State, BufferToken.Next(lent, BufferKind.Free), lent) != lent)
            {
                // Restored or freed already, raced with a restore elsewhere, or listed twice.
                check = PointerCheck.Stale;
            }

            if (check != PointerCheck.Valid)
            {
                // Undo the ones taken so far (still exclusively ours), so nothing changed.
                for (int j = 0; j < i; j++)
                {
                    Volatile.Write(ref SlotAt(pointers[j].BufferIndex).State, pointers[j].Token);
                }

                ThrowInvalidPointer(pointer, check);
            }

            indices[i] = pointer.BufferIndex;
        }

        ReturnIndices(indices);
    }

    /// <summary>
    /// Disposes every box in <paramref name="boxes"/> with one CAS on the shared list at most,
    /// and clears the span. If any box is invalid, the ones before it are put back as they were.
    /// </summary>
    /// <param name="boxes">The boxes; default boxes are skipped.</param>
    /// <exception cref="ObjectDisposedException">A box is stale (disposed or moved), or appears twice; nothing was changed.</exception>
    /// <exception cref="ArgumentException">A box belongs to another pool; nothing was changed.</exception>
    /// <remarks>Thread-safe in the same sense as <see cref="FreeBulk(ReadOnlySpan{NetBufPtr})"/>.</remarks>
    [SkipLocalsInit] // The scratch indices are written before they are read: no need to zero 1 KiB per call.
    public void FreeBulk(Span<NetBufBox> boxes)
    {
        using var scratch = new IndexScratch(boxes.Length, stackalloc int[IndexScratch.StackLength]);
        Span<int> indices = scratch.Indices;
        int count = 0;
        for (int i = 0; i < boxes.Length; i++)
        {
            NetBufBox box = boxes[i];
            NetBufPool? owner = box.PoolOrNull;
            if (owner is null)
            {
                continue;
            }

            uint token = box.Token;
            bool foreign = !ReferenceEquals(owner, this);
            if (foreign || Interlocked.CompareExchange(ref SlotAt(box.Index).State, BufferToken.Next(token, BufferKind.Free), token) != token)
            {
                // Undo the ones taken so far (still exclusively ours), so nothing changed.
                for (int j = 0; j < i; j++)
                {
                    if (boxes[j].PoolOrNull is not null)
                    {
                        Volatile.Write(ref SlotAt(boxes[j].Index).State, boxes[j].Token);
                    }
                }

                if (foreign)
                {
                    ThrowHelper.ThrowArgument(nameof(boxes), $"{box} does not belong to {_name}.");
                }

                // Disposed or moved already, raced with another copy, or listed twice.
                ThrowStale(box.Index, token);
            }

            indices[count++] = box.Index;
        }

        ReturnIndices(indices[..count]);
        boxes.Clear();
    }

    /// <summary>Takes <paramref name="destination"/>.Length free indices, all or nothing: from this thread's cache first, the rest in one batch from the shared list.</summary>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    private bool TryTakeIndices(Span<int> destination)
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
        ThreadCache cache = CurrentCache();
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

    private bool TryTakeIndicesCached(ThreadCache cache, Span<int> destination)
    {
        int needed = destination.Length;
        Volatile.Write(ref cache.Active, 1);
        if (Volatile.Read(ref cache.Frozen) == 0 && cache.Count >= needed)
        {
            int start = cache.Count - needed;
            cache.Items.AsSpan(start, needed).CopyTo(destination);
            cache.Count = start;
            Volatile.Write(ref cache.Active, 0);
            return true;
        }

        Volatile.Write(ref cache.Active, 0);
        return TryTakeIndicesSlow(cache, destination);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryTakeIndicesSlow(ThreadCache cache, Span<int> destination)
    {
        cache.Gate.Enter();
        try
        {
            if (cache.Retired)
            {
                ThrowDisposed();
            }

            // Take what the cache has, and the rest from the shared list in one batch.
            int fromCache = Math.Min(cache.Count, destination.Length);
            Span<int> rest = destination[fromCache..];
            for (int attempt = 0; attempt < 2; attempt++)
            {
                int taken = _freeList.PopBatch(_slots, rest, allOrNothing: true);
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

                if (!StealFromOtherCaches(cache))
                {
                    break;
                }
            }

            return false;
        }
        finally
        {
            cache.Gate.Exit();
        }
    }

    /// <summary>Puts free indices (their states already free) into this thread's cache, or the shared list in one batch.</summary>
    private void ReturnIndices(ReadOnlySpan<int> indices)
    {
        if (indices.IsEmpty)
        {
            return;
        }

        if (_cacheSize != 0)
        {
            ThreadCache cache = CurrentCache();
            Volatile.Write(ref cache.Active, 1);
            if (Volatile.Read(ref cache.Frozen) == 0 && cache.Count + indices.Length <= cache.Items.Length)
            {
                indices.CopyTo(cache.Items.AsSpan(cache.Count));
                cache.Count += indices.Length;
                Volatile.Write(ref cache.Active, 0);
                return;
            }

            Volatile.Write(ref cache.Active, 0);
        }

        PushOrCountAfterClose(indices);
    }
}
