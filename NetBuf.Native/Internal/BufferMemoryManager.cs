using System.Buffers;
using NetBufNative.Internal;

namespace NetBufNative.Internal;

/// <summary>
/// A <see cref="MemoryManager{T}"/> over one pool buffer's native memory, so that the buffer can
/// be a <see cref="Memory{T}"/> (for <see cref="NetBufMemoryPool"/>, <see cref="NetBufWriter"/> and
/// <see cref="NetBuf.PacketMemory"/>). One per buffer, made on first use and reused for every later
/// rental, so steady-state use allocates nothing. Pinning is free: the memory never moves.
/// </summary>
internal sealed unsafe class BufferMemoryManager : MemoryManager<byte>
{
    private readonly NetBufPool _pool;
    private readonly int _index;

    /// <summary>The token of the current <see cref="NetBufMemoryPool"/> rental, or 0 when not rented.</summary>
    private uint _rentalToken;

    public BufferMemoryManager(NetBufPool pool, int index)
    {
        _pool = pool;
        _index = index;
    }

    /// <summary>Starts a <see cref="NetBufMemoryPool"/> rental of the (boxed) buffer.</summary>
    public void BeginRental(uint boxedToken) => _rentalToken = boxedToken;

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The buffer is free (returned to its pool).</exception>
    public override Span<byte> GetSpan()
    {
        if (BufferToken.KindOf(Volatile.Read(ref _pool.SlotAt(_index).State)) == BufferKind.Free)
        {
            ThrowHelper.ThrowObjectDisposed(nameof(IMemoryOwner<byte>), $"Buffer {_index} of {_pool.Name} was returned to its pool.");
        }

        return _pool.CreateSpan(_index, 0, _pool.BufferLength);
    }

    /// <inheritdoc/>
    public override MemoryHandle Pin(int elementIndex = 0)
    {
        if ((uint)elementIndex > (uint)_pool.BufferLength)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(elementIndex), elementIndex, "The index must be inside the buffer.");
        }

        // Native memory never moves: the handle needs no GC pin and Unpin has nothing to undo.
        return new MemoryHandle((byte*)_pool.BufferAddress(_index) + elementIndex, default, this);
    }

    /// <inheritdoc/>
    public override void Unpin()
    {
    }

    /// <summary>Ends the rental: returns the buffer to the pool.</summary>
    /// <exception cref="ObjectDisposedException">The rental was already disposed.</exception>
    protected override void Dispose(bool disposing)
    {
        uint token = _rentalToken;
        if (token == 0)
        {
            ThrowHelper.ThrowObjectDisposed(nameof(IMemoryOwner<byte>), $"This rental of buffer {_index} of {_pool.Name} was already disposed.");
        }

        _rentalToken = 0;
        _pool.Return(_index, token);
    }
}
