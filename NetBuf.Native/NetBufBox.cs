using NetBufNative.Internal;

namespace NetBufNative;

/// <summary>
/// An owner of a pool buffer that, unlike <see cref="NetBuf"/>, can be stored in fields, arrays,
/// collections and driver queues: the port of ArceOS's <c>NetBufBox</c> (<c>Box&lt;NetBuf&gt;</c>).
/// Dispose it to return the buffer.
/// </summary>
/// <remarks>
/// <para>
/// A small struct (a pool reference, an index and a token), so boxing a buffer costs no GC
/// allocation. Read and write the buffer through <see cref="AsNetBuf"/>. As with
/// <see cref="NetBuf"/>, the move methods (<see cref="IntoNetBuf"/>, <see cref="IntoBufPtr"/>)
/// clear the variable they are called on, and any other copy becomes stale: using it throws
/// <see cref="ObjectDisposedException"/>, so the buffer never has two owners.
/// </para>
/// <para>Not thread-safe: one owner at a time. Handing a box to another thread through a
/// synchronized queue hands over the buffer.</para>
/// </remarks>
public struct NetBufBox : IDisposable, IEquatable<NetBufBox>
{
    private NetBufPool? _pool;
    private int _index;
    private ulong _token;

    internal NetBufBox(NetBufPool pool, int index, ulong token)
    {
        _pool = pool;
        _index = index;
        _token = token;
    }

    /// <summary>Whether this box currently owns a buffer.</summary>
    public readonly bool IsValid => _pool is not null && Volatile.Read(ref _pool.SlotAt(_index).State) == _token;

    /// <summary>The pool the buffer belongs to.</summary>
    /// <exception cref="InvalidOperationException">The box holds no buffer.</exception>
    public readonly NetBufPool Pool => RequirePool();

    /// <summary>
    /// A <see cref="NetBuf"/> view of the boxed buffer, with all its regions and length
    /// operations. The view does not own the buffer: it cannot be disposed or moved, and becomes
    /// stale when the box is disposed or moved.
    /// </summary>
    /// <returns>The view.</returns>
    /// <exception cref="ObjectDisposedException">The box is stale.</exception>
    /// <exception cref="InvalidOperationException">The box holds no buffer.</exception>
    public readonly NetBuf AsNetBuf()
    {
        NetBufPool pool = RequirePool();
        _ = ref pool.OwnedSlot(_index, _token);
        return new NetBuf(pool, _index, _token, view: true);
    }

    /// <summary>Moves the buffer out of the box into a <see cref="NetBuf"/>; this variable holds nothing afterwards.</summary>
    /// <returns>The buffer.</returns>
    /// <exception cref="ObjectDisposedException">The box is stale.</exception>
    /// <exception cref="InvalidOperationException">The box holds no buffer.</exception>
    public NetBuf IntoNetBuf()
    {
        NetBufPool pool = RequirePool();
        ulong owned = pool.Transfer(_index, _token, BufferKind.Owned);
        NetBuf buffer = new(pool, _index, owned);
        this = default;
        return buffer;
    }

    /// <summary>Moves the buffer into a <see cref="NetBufPtr"/> for unsafe driver code; this variable holds nothing afterwards.</summary>
    /// <returns>The pointer.</returns>
    /// <exception cref="ObjectDisposedException">The box is stale.</exception>
    /// <exception cref="InvalidOperationException">The box holds no buffer.</exception>
    public NetBufPtr IntoBufPtr()
    {
        NetBufPool pool = RequirePool();
        NetBufPtr pointer = pool.Lend(ref pool.SlotAt(_index), _index, _token);
        this = default;
        return pointer;
    }

    /// <summary>Returns the buffer to its pool. Does nothing on a default box or one whose buffer was moved out.</summary>
    /// <exception cref="ObjectDisposedException">The buffer was already disposed (a second dispose, or through a copy of the box).</exception>
    public readonly void Dispose()
    {
        // The fields stay as they are, so a second Dispose of this variable is caught as stale.
        _pool?.Return(_index, _token);
    }

    /// <summary>Whether both boxes are the same handle (same pool, buffer and generation).</summary>
    /// <param name="other">The other box.</param>
    /// <returns><see langword="true"/> when they are the same handle.</returns>
    public readonly bool Equals(NetBufBox other) =>
        ReferenceEquals(_pool, other._pool) && _index == other._index && _token == other._token;

    /// <inheritdoc/>
    public override readonly bool Equals(object? obj) => obj is NetBufBox other && Equals(other);

    /// <inheritdoc/>
    public override readonly int GetHashCode() => HashCode.Combine(_pool, _index, _token);

    /// <inheritdoc/>
    public override readonly string ToString() =>
        _pool is null ? "NetBufBox(none)" : $"NetBufBox({_pool.Name}, buffer {_index}{(IsValid ? string.Empty : ", stale")})";

    /// <summary>Whether two boxes are the same handle.</summary>
    /// <param name="left">One box.</param>
    /// <param name="right">The other box.</param>
    /// <returns><see langword="true"/> when they are the same handle.</returns>
    public static bool operator ==(NetBufBox left, NetBufBox right) => left.Equals(right);

    /// <summary>Whether two boxes are different handles.</summary>
    /// <param name="left">One box.</param>
    /// <param name="right">The other box.</param>
    /// <returns><see langword="true"/> when they are different handles.</returns>
    public static bool operator !=(NetBufBox left, NetBufBox right) => !left.Equals(right);

    /// <summary>The pool, or null for a default or moved-from box.</summary>
    internal readonly NetBufPool? PoolOrNull => _pool;

    /// <summary>The buffer's index in its pool.</summary>
    internal readonly int Index => _index;

    /// <summary>The box's token.</summary>
    internal readonly ulong Token => _token;

    private readonly NetBufPool RequirePool()
    {
        NetBufPool? pool = _pool;
        if (pool is null)
        {
            ThrowHelper.ThrowNoBuffer();
        }

        return pool;
    }
}
