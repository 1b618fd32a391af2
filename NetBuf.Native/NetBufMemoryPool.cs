using System.Buffers;
using NetBufNative.Internal;

namespace NetBufNative;

/// <summary>
/// A <see cref="MemoryPool{T}"/> whose buffers are <see cref="NetBufPool"/> buffers in native
/// memory, for <c>System.IO.Pipelines</c> (<c>new PipeOptions(pool: memoryPool)</c>) and any API
/// that takes a <see cref="MemoryPool{T}"/>.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="Rent"/> hands out an <see cref="IMemoryOwner{T}"/> whose <see cref="Memory{T}"/> is
/// one whole pool buffer. Its memory never moves, so <see cref="Memory{T}.Pin"/> needs no GC pin; a
/// pin holds the pool's native block until its <see cref="MemoryHandle"/> is disposed (even past the
/// pool's disposal), and pinning a returned buffer throws <see cref="ObjectDisposedException"/>. Each
/// buffer has one reusable owner object, made the first time the buffer is rented, so renting
/// and disposing in steady state allocates nothing on the GC heap.
/// </para>
/// <para>
/// Disposing an owner returns the buffer; disposing it again throws
/// <see cref="ObjectDisposedException"/>. As with every pooled owner object (Kestrel's pool
/// works the same way), that is detected until the buffer is rented again: the owner object is
/// then reused, so a stale reference must not be disposed or used. The <see cref="Memory{T}"/> of a
/// returned owner must not be used either.
/// </para>
/// <para>Thread-safe: <see cref="Rent"/> may be called from any thread.</para>
/// </remarks>
public sealed partial class NetBufMemoryPool : MemoryPool<byte>
{
    private readonly NetBufPool _pool;
    private readonly bool _ownsPool;

    /// <summary>Creates a memory pool over <paramref name="pool"/>.</summary>
    /// <param name="pool">The buffer pool to rent from.</param>
    /// <param name="ownsPool">Whether disposing this memory pool disposes <paramref name="pool"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="pool"/> is null.</exception>
    public NetBufMemoryPool(NetBufPool pool, bool ownsPool = false)
    {
        ArgumentNullException.ThrowIfNull(pool);
        _pool = pool;
        _ownsPool = ownsPool;
    }

    /// <summary>The buffer pool this memory pool rents from.</summary>
    public NetBufPool Pool => _pool;

    /// <summary>The length of every buffer: <see cref="NetBufPool.BufferLength"/>.</summary>
    public override int MaxBufferSize => _pool.BufferLength;

    /// <summary>Rents one pool buffer.</summary>
    /// <param name="minBufferSize">The least length needed, up to <see cref="MaxBufferSize"/>; -1 (the default) for a whole buffer.</param>
    /// <returns>The owner of a buffer of exactly <see cref="MaxBufferSize"/> bytes; dispose it to return the buffer.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="minBufferSize"/> is below -1 or above <see cref="MaxBufferSize"/>.</exception>
    /// <exception cref="InvalidOperationException">Every buffer of the pool is in use.</exception>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        if (minBufferSize < -1 || minBufferSize > _pool.BufferLength)
        {
            ThrowHelper.ThrowArgumentOutOfRange(
                nameof(minBufferSize), minBufferSize, $"The size must be between -1 (any) and {_pool.BufferLength} (MaxBufferSize).");
        }

        NetBufBox box = _pool.AllocBoxed();
        BufferMemoryManager manager = _pool.MemoryManagerOf(box.Index);
        manager.BeginRental(box.Token);
        return manager;
    }

    /// <summary>Disposes the buffer pool if this memory pool owns it.</summary>
    /// <param name="disposing">Whether this is a call to <see cref="IDisposable.Dispose"/>.</param>
    protected override void Dispose(bool disposing)
    {
        if (disposing && _ownsPool)
        {
            _pool.Dispose();
        }
    }
}
