namespace NetBufNative;

/// <summary>
/// Buffers of a <see cref="NetBufPool"/> set aside for one holder by <see cref="NetBufPool.Reserve"/>, until
/// <see cref="Dispose"/>: bookkeeping that lets the pool refuse holders it cannot cover all together.
/// </summary>
/// <remarks>Thread-safe: <see cref="Dispose"/> may be called from any thread, any number of times; it releases once.</remarks>
public sealed class NetBufPoolReservation : IDisposable
{
    private readonly NetBufPool _pool;
    private int _released;

    internal NetBufPoolReservation(NetBufPool pool, int buffers, string owner)
    {
        _pool = pool;
        Buffers = buffers;
        Owner = owner;
    }

    /// <summary>How many buffers are reserved.</summary>
    public int Buffers { get; }

    /// <summary>Who holds them, as given to <see cref="NetBufPool.Reserve"/>.</summary>
    public string Owner { get; }

    /// <summary>Whether <see cref="Dispose"/> has released the buffers.</summary>
    public bool IsReleased => Volatile.Read(ref _released) != 0;

    /// <summary>Releases the buffers: <see cref="NetBufPool.Reserved"/> goes down by <see cref="Buffers"/>. Calling it again does nothing.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            _pool.Release(this);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Buffers} buffers of {_pool.Name} reserved by {Owner}{(IsReleased ? " (released)" : string.Empty)}";
}
