using System.Runtime.CompilerServices;
using NetBufNative.Internal;

namespace NetBufNative;

/// <summary>
/// Up to <see cref="MaxCount"/> buffers owned together by one thread, allocated and freed a burst
/// at a time (<see cref="NetBufWorker.AllocBatch"/>, <see cref="Dispose"/>): one handshake with the
/// thread cache per batch and, per buffer, a plain check and store of its state word, no atomic
/// operation. For receive and transmit loops: allocate a burst, fill or hand out each buffer, free
/// what is left in one go.
/// </summary>
/// <remarks>
/// <para>
/// Each entry is an owned buffer. <see cref="this[int]"/> gives a view to read and write it (the view
/// cannot be disposed or moved); <see cref="Take"/> moves an entry out as an ordinary
/// <see cref="NetBuf"/> (to box it, lend it to a device, keep it); <see cref="Add"/> moves a
/// <see cref="NetBuf"/> in (to collect buffers that are done and free them together).
/// <see cref="Dispose"/> returns every buffer still in the batch and leaves it empty.
/// </para>
/// <para>
/// A <see langword="ref struct"/>, like <see cref="NetBuf"/>, so its buffers never leave the owning
/// thread and the per-buffer state changes need no atomic operation. Not thread-safe. Its inline
/// storage is about 400 bytes of stack.
/// </para>
/// </remarks>
public ref struct NetBufBatch : IDisposable
{
    /// <summary>The most buffers a batch holds: 32, the burst size DPDK's and most drivers' receive
    /// and transmit loops use (enough to amortize the handshake, small enough for the stack).</summary>
    public const int MaxCount = 32;

    private NetBufPool? _pool;
    private ThreadCache? _cache;
    private IndexBuffer _indices;

    /// <summary>Each entry's token; 0 for an entry moved out by <see cref="Take"/> (no state word is 0 while owned).</summary>
    private TokenBuffer _tokens;
    private int _count;

    /// <summary>How many entries the batch has (entries moved out by <see cref="Take"/> included, until <see cref="Dispose"/>).</summary>
    public readonly int Count => _count;

    /// <summary>A view of entry <paramref name="index"/>, to read and write its buffer. Not an owner: it cannot be disposed or moved.</summary>
    /// <param name="index">The entry, 0 to <see cref="Count"/> - 1.</param>
    /// <returns>The view.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is out of range.</exception>
    /// <exception cref="InvalidOperationException">The entry was moved out with <see cref="Take"/>.</exception>
    public readonly NetBuf this[int index]
    {
        get
        {
            ulong token = TokenAt(index);
            return new NetBuf(_pool!, _indices[index], token, cache: null, view: true);
        }
    }

    /// <summary>Moves entry <paramref name="index"/> out of the batch as an ordinary owned <see cref="NetBuf"/>.</summary>
    /// <param name="index">The entry, 0 to <see cref="Count"/> - 1.</param>
    /// <returns>The buffer; the entry is empty afterwards.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is out of range.</exception>
    /// <exception cref="InvalidOperationException">The entry was already moved out.</exception>
    /// <exception cref="ObjectDisposedException">The entry is stale (its buffer was freed through a copy of the batch).</exception>
    public NetBuf Take(int index)
    {
        ulong token = TokenAt(index);
        NetBufPool pool = _pool!;
        int buffer = _indices[index];

        // A real move: a new generation, so a copy of this batch that still holds the entry is stale.
        ulong moved = pool.TransferOwned(buffer, token, BufferKind.Owned);
        _tokens[index] = 0;
        return new NetBuf(pool, buffer, moved, _cache);
    }

    /// <summary>Moves <paramref name="buffer"/> into the batch (as a new last entry, or when the batch is full
    /// into an entry moved out by <see cref="Take"/>); the variable holds nothing afterwards.</summary>
    /// <param name="buffer">An owned buffer of the batch's pool (any pool if the batch has none yet).</param>
    /// <exception cref="InvalidOperationException">The batch is full (no entry free), the buffer belongs to another pool, the handle holds no buffer, or it is a view.</exception>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    public void Add(ref NetBuf buffer)
    {
        // Append, or when the batch is full reuse an entry moved out by Take.
        int entry = _count;
        if (entry == MaxCount)
        {
            entry = ((ReadOnlySpan<ulong>)_tokens).IndexOf(0ul);
            if (entry < 0)
            {
                ThrowHelper.ThrowInvalidOperation($"The batch is full: it holds at most {MaxCount} buffers.");
            }
        }

        NetBufPool pool = buffer.TakeOwnership(out int index, out ulong token);
        if (_pool is null)
        {
            _pool = pool;
        }
        else if (!ReferenceEquals(_pool, pool))
        {
            ThrowHelper.ThrowInvalidOperation($"{buffer.ToString()} belongs to {pool.Name}, this batch to {_pool.Name}: a batch holds buffers of one pool.");
        }

        // A real move: a new generation, so any other copy of the handle is stale from now on
        // (it could otherwise be added again, or disposed under the batch).
        ulong moved = pool.TransferOwned(index, token, BufferKind.Owned);
        _indices[entry] = index;
        _tokens[entry] = moved;
        _count = Math.Max(_count, entry + 1);
        buffer = default;
    }

    /// <summary>Returns every buffer still in the batch to its pool, in one go, and empties the batch. Calling it again does nothing.</summary>
    /// <exception cref="ObjectDisposedException">An entry's buffer was freed another way (through a copy of the batch); nothing was returned.</exception>
    [SkipLocalsInit] // The freed indices are written before they are read.
    public void Dispose()
    {
        NetBufPool? pool = _pool;
        int count = _count;
        if (pool is null || count == 0)
        {
            return;
        }

        // Check every entry first, so a stale one leaves everything as it was. The tokens are Owned
        // tokens, which only this thread holds: nothing can change between the check and the store,
        // so the second pass writes without reading again.
        SlotTable.Cursor slots = pool.OpenSlots();
        for (int i = 0; i < count; i++)
        {
            ulong token = _tokens[i];
            if (token != 0 && Volatile.Read(ref slots[_indices[i]].State) != token)
            {
                pool.ThrowStale(_indices[i], token);
            }
        }

        Span<int> freed = stackalloc int[MaxCount];
        int n = 0;
        for (int i = 0; i < count; i++)
        {
            ulong token = _tokens[i];
            if (token != 0)
            {
                int index = _indices[i];
                Volatile.Write(ref slots[index].State, BufferToken.Next(token, BufferKind.Free));
                freed[n++] = index;
            }
        }

        _count = 0;
        if (n > 0)
        {
            if (_cache is not null)
            {
                pool.ReturnIndicesToCache(_cache, freed[..n]);
            }
            else
            {
                pool.ReturnIndices(freed[..n]);
            }
        }
    }

    /// <inheritdoc/>
    public override readonly string ToString() =>
        _pool is null ? "NetBufBatch(empty)" : $"NetBufBatch({_pool.Name}, {_count} entries)";

    /// <summary>Allocates <paramref name="count"/> (1 to <see cref="MaxCount"/>) buffers into a new batch, all or nothing.</summary>
    /// <remarks>Writes the batch in place without zeroing it first: entries past the count are never
    /// read (every reader is bounded by <c>_count</c>), so 400 bytes need not be cleared per batch.</remarks>
    internal static bool TryAllocate(NetBufPool pool, ThreadCache? cache, int count, out NetBufBatch batch)
    {
        Unsafe.SkipInit(out batch);
        batch._pool = pool;
        batch._cache = cache;
        batch._count = 0;
        Span<int> taken = ((Span<int>)batch._indices)[..count];
        if (!pool.TryTakeIndices(cache ?? pool.CurrentCache(), taken))
        {
            batch._pool = null;
            batch._cache = null;
            return false;
        }

        Span<ulong> tokens = batch._tokens;
        SlotTable.Cursor slots = pool.OpenSlots();
        for (int i = 0; i < taken.Length; i++)
        {
            tokens[i] = pool.Acquire(ref slots[taken[i]], BufferKind.Owned);
        }

        batch._count = count;
        return true;
    }

    private readonly ulong TokenAt(int index)
    {
        if ((uint)index >= (uint)_count)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(index), index, $"The batch has {_count} entries.");
        }

        ulong token = _tokens[index];
        if (token == 0)
        {
            ThrowHelper.ThrowInvalidOperation($"Entry {index} of the batch was moved out with Take.");
        }

        return token;
    }

    [InlineArray(MaxCount)]
    private struct IndexBuffer
    {
        private int _element;
    }

    [InlineArray(MaxCount)]
    private struct TokenBuffer
    {
        private ulong _element;
    }
}
