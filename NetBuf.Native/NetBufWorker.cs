using System.Runtime.CompilerServices;
using NetBufNative.Internal;

namespace NetBufNative;

/// <summary>
/// One thread's fast path to a <see cref="NetBufPool"/>, for a processing loop: it binds the
/// thread's cache once, so its allocations skip the thread-static lookup that every
/// <see cref="NetBufPool.Alloc"/> pays. Open it with <see cref="NetBufPool.OpenWorker"/>:
/// <c>using var worker = pool.OpenWorker();</c>.
/// </summary>
/// <remarks>
/// <para>
/// The buffers it hands out are ordinary <see cref="NetBuf"/>s with every check of
/// <see cref="NetBufPool.Alloc"/>; a buffer freed by any thread, a steal of the cache when the pool
/// runs dry, <see cref="NetBufPool.Trim"/> and the pool's disposal all work as without a worker.
/// </para>
/// <para>
/// A <see langword="ref struct"/>, so it cannot be stored on the heap, captured, or carried across
/// an <see langword="await"/>: it never leaves the thread whose cache it bound, which is what makes
/// binding the cache once sound. Not thread-safe (it cannot be shared anyway).
/// </para>
/// </remarks>
public readonly ref struct NetBufWorker : IDisposable
{
    private readonly NetBufPool? _pool;
    private readonly ThreadCache? _cache;

    internal NetBufWorker(NetBufPool pool, ThreadCache? cache)
    {
        _pool = pool;
        _cache = cache;
    }

    /// <summary>The pool this worker allocates from.</summary>
    /// <exception cref="InvalidOperationException">The worker is default (not opened with <see cref="NetBufPool.OpenWorker"/>).</exception>
    public NetBufPool Pool => RequirePool();

    /// <summary>Allocates a buffer, as <see cref="NetBufPool.Alloc"/>.</summary>
    /// <returns>The buffer; dispose it to return it.</returns>
    /// <exception cref="NetBufPoolExhaustedException">Every buffer is in use.</exception>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    /// <exception cref="InvalidOperationException">The worker is default (not opened with <see cref="NetBufPool.OpenWorker"/>).</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public NetBuf Alloc()
    {
        if (!TryAlloc(out NetBuf buffer))
        {
            ThrowExhausted();
        }

        return buffer;
    }

    /// <summary>Allocates a buffer if one is free, as <see cref="NetBufPool.TryAlloc"/>.</summary>
    /// <param name="buffer">The buffer, or a default handle when the pool is exhausted.</param>
    /// <returns><see langword="false"/> only when every buffer is in use.</returns>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    /// <exception cref="InvalidOperationException">The worker is default (not opened with <see cref="NetBufPool.OpenWorker"/>).</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryAlloc(out NetBuf buffer)
    {
        NetBufPool pool = RequirePool();
        ThreadCache? cache = _cache;
        int index = cache is null ? pool.TakeSharedIndex() : pool.TakeFromCache(cache);
        if (index < 0)
        {
            buffer = default;
            return false;
        }

        ref BufferSlot slot = ref pool.SlotAt(index);
        buffer = new NetBuf(pool, index, ref slot, pool.Acquire(ref slot, BufferKind.Owned), cache);
        return true;
    }

    /// <summary>Allocates <paramref name="count"/> buffers at once, all or nothing, into a <see cref="NetBufBatch"/>.</summary>
    /// <param name="count">How many: 1 to <see cref="NetBufBatch.MaxCount"/>.</param>
    /// <returns>The batch; dispose it to return every buffer still in it.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is out of range.</exception>
    /// <exception cref="NetBufPoolExhaustedException">Fewer than <paramref name="count"/> buffers are free; nothing was allocated.</exception>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    /// <exception cref="InvalidOperationException">The worker is default (not opened with <see cref="NetBufPool.OpenWorker"/>).</exception>
    public NetBufBatch AllocBatch(int count)
    {
        if (!TryAllocBatch(count, out NetBufBatch batch))
        {
            ThrowExhausted();
        }

        return batch;
    }

    /// <summary>
    /// Allocates <paramref name="count"/> buffers at once, all or nothing, into a
    /// <see cref="NetBufBatch"/>: one handshake with the thread cache for the whole batch and no
    /// atomic operation per buffer, for receive and transmit loops that work a burst at a time.
    /// </summary>
    /// <param name="count">How many: 1 to <see cref="NetBufBatch.MaxCount"/>.</param>
    /// <param name="batch">The batch, or an empty one when the call returns false.</param>
    /// <returns><see langword="false"/> when fewer than <paramref name="count"/> buffers are free; nothing was allocated.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is out of range.</exception>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    /// <exception cref="InvalidOperationException">The worker is default (not opened with <see cref="NetBufPool.OpenWorker"/>).</exception>
    public bool TryAllocBatch(int count, out NetBufBatch batch)
    {
        NetBufPool pool = RequirePool();
        if ((uint)(count - 1) >= NetBufBatch.MaxCount)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(count), count, $"A batch holds 1 to {NetBufBatch.MaxCount} buffers.");
        }

        return NetBufBatch.TryAllocate(pool, _cache, count, out batch);
    }

    /// <summary>
    /// Ends the worker's scope (<c>using var worker = pool.OpenWorker();</c>). A worker holds no
    /// resource, so this does nothing: buffers it allocated are not affected, and the variable stays
    /// usable. (It is read-only so that a loop keeps the bound cache in registers.)
    /// </summary>
    public void Dispose()
    {
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowExhausted() =>
        throw new NetBufPoolExhaustedException(
            $"{_pool?.Name} is exhausted: all {_pool?.Capacity} buffers are in use (or fewer are free than the batch needs).");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private NetBufPool RequirePool()
    {
        NetBufPool? pool = _pool;
        if (pool is null)
        {
            ThrowNoWorker();
        }

        return pool;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowNoWorker() =>
        ThrowHelper.ThrowInvalidOperation("This NetBufWorker is default: open one with NetBufPool.OpenWorker().");
}
