using System.Buffers;
using System.Runtime.InteropServices;

namespace NetBufNative.Internal;

/// <summary>
/// A <see cref="MemoryManager{T}"/> over one pool buffer's native memory, so that the buffer can
/// be a <see cref="Memory{T}"/> (for <see cref="NetBufMemoryPool"/>, <see cref="NetBufWriter"/> and
/// <see cref="NetBuf.PacketMemory"/>). One per buffer, made on first use and reused for every later
/// rental, so steady-state use allocates nothing.
/// </summary>
/// <remarks>
/// <see cref="GetSpan"/> and <see cref="Pin"/> refuse a buffer that is back in its pool. A pin holds
/// a reference on the pool's native block, so the block is not freed (even after the pool is
/// disposed) until every <see cref="MemoryHandle"/> is disposed: sockets and streams pin memory for
/// asynchronous I/O, and the kernel may still be writing through that address.
/// </remarks>
internal sealed unsafe class BufferMemoryManager : MemoryManager<byte>
{
    private readonly NetBufPool _pool;
    private readonly int _index;

    /// <summary>The token of the current <see cref="NetBufMemoryPool"/> rental, or 0 when not rented.</summary>
    private ulong _rentalToken;

    /// <summary>Pins not yet released; each holds one reference on the pool's block.</summary>
    private int _pins;

    public BufferMemoryManager(NetBufPool pool, int index)
    {
        _pool = pool;
        _index = index;
    }

    /// <summary>Starts a <see cref="NetBufMemoryPool"/> rental of the (boxed) buffer, which the caller has just allocated.</summary>
    public void BeginRental(ulong boxedToken) => Volatile.Write(ref _rentalToken, boxedToken);

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The buffer is free (returned to its pool).</exception>
    public override Span<byte> GetSpan()
    {
        ThrowIfReturned();
        return _pool.CreateSpan(_index, 0, _pool.BufferLength);
    }

    /// <summary>
    /// The buffer as a segment of the pool's pinned array, when the pool's block is one
    /// (<see cref="NetBufBlockMemory.PinnedArray"/>): what <see cref="MemoryMarshal.TryGetArray{T}"/>
    /// returns, for consumers that need array-backed memory. No copy.
    /// </summary>
    /// <param name="segment">The buffer's segment, or default.</param>
    /// <returns><see langword="false"/> for a native block, or once the block was freed.</returns>
    /// <exception cref="ObjectDisposedException">The buffer is free (returned to its pool).</exception>
    protected override bool TryGetArray(out ArraySegment<byte> segment)
    {
        byte[]? array = _pool.Memory.Array;
        if (array is null)
        {
            segment = default;
            return false;
        }

        ThrowIfReturned();
        segment = new ArraySegment<byte>(array, _pool.Memory.ArrayOffset + (_index * _pool.BufferStride), _pool.BufferLength);
        return true;
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="elementIndex"/> is outside the buffer.</exception>
    /// <exception cref="ObjectDisposedException">The buffer is free (returned to its pool), or the pool's memory is freed.</exception>
    public override MemoryHandle Pin(int elementIndex = 0)
    {
        if ((uint)elementIndex > (uint)_pool.BufferLength)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(elementIndex), elementIndex, "The index must be inside the buffer.");
        }

        // Reference first, check second: once the reference is held the block cannot be freed,
        // and if the buffer was already free we give the reference back and refuse.
        if (!_pool.Memory.TryAddReference())
        {
            ThrowHelper.ThrowObjectDisposed(nameof(IMemoryOwner<byte>), $"The memory of {_pool.Name} has been freed.");
        }

        if (BufferToken.KindOf(Volatile.Read(ref _pool.SlotAt(_index).State)) == BufferKind.Free)
        {
            _pool.Memory.Release();
            ThrowReturned();
        }

        Interlocked.Increment(ref _pins);

        // Native memory never moves: the handle needs no GC pin; its Dispose calls Unpin, which
        // releases the block reference taken above.
        return new MemoryHandle((byte*)_pool.BufferAddress(_index) + elementIndex, default, this);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Releases one pin's reference on the block. <see cref="MemoryHandle"/> is a struct, so a copy of
    /// a handle disposed twice unpins twice: unpins beyond the pins taken are ignored, so that such
    /// a copy can never release a reference it does not hold. (Undetectable: with two live pins of
    /// one buffer, an extra unpin of one releases the other's reference early.)
    /// </remarks>
    public override void Unpin()
    {
        int pins = Volatile.Read(ref _pins);
        while (pins > 0)
        {
            int seen = Interlocked.CompareExchange(ref _pins, pins - 1, pins);
            if (seen == pins)
            {
                _pool.Memory.Release();
                return;
            }

            pins = seen;
        }
    }

    /// <summary>Ends the rental: returns the buffer to the pool.</summary>
    /// <exception cref="ObjectDisposedException">The rental was already disposed.</exception>
    protected override void Dispose(bool disposing)
    {
        // One CAS from the token read to 0: of two racing disposes exactly one wins, and a
        // dispose that read an old rental's token can never clear a newer rental's.
        ulong token = Volatile.Read(ref _rentalToken);
        if (TestSwitches.Enabled && TestSwitches.RentalDisposeWithoutCompareExchange && token != 0)
        {
            // The put-back bug (tests only): check, then clear, with a window in between.
            Volatile.Write(ref _rentalToken, 0);
            _pool.Return(_index, token);
            return;
        }

        if (token == 0 || Interlocked.CompareExchange(ref _rentalToken, 0, token) != token)
        {
            ThrowHelper.ThrowObjectDisposed(nameof(IMemoryOwner<byte>), $"This rental of buffer {_index} of {_pool.Name} was already disposed.");
        }

        _pool.Return(_index, token);
    }

    private void ThrowIfReturned()
    {
        if (BufferToken.KindOf(Volatile.Read(ref _pool.SlotAt(_index).State)) == BufferKind.Free)
        {
            ThrowReturned();
        }
    }

    private void ThrowReturned() =>
        ThrowHelper.ThrowObjectDisposed(nameof(IMemoryOwner<byte>), $"Buffer {_index} of {_pool.Name} was returned to its pool.");
}
