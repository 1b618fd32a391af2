using System.Buffers;
using NUnit.Framework;

namespace NetBufNative.Tests.Regression;

/// <summary>
/// <see cref="Memory{T}.Pin"/> on a <see cref="NetBufMemoryPool"/> rental. Pinning
/// checks the rental as <see cref="Memory{T}.Span"/> does (no address of a returned buffer is
/// handed out), and an outstanding pin keeps the pool's block from being freed until it is released,
/// as sockets and streams pin <see cref="Memory{T}"/> across asynchronous I/O.
/// </summary>
public sealed class MemoryPinTests
{
    [Test]
    public void Pin_after_the_rental_was_disposed_throws()
    {
        using var pool = new NetBufPool(4, 2048);
        using var memoryPool = new NetBufMemoryPool(pool);
        IMemoryOwner<byte> owner = memoryPool.Rent();
        Memory<byte> memory = owner.Memory; // kept past the rental, as a misbehaving caller would
        MemoryHandle handle = memory.Pin();
        owner.Dispose();

        Assert.Throws<ObjectDisposedException>(() => memory.Pin().Dispose());
        handle.Dispose();
        Assert.That(pool.Available, Is.EqualTo(4));
    }

    [Test]
    public unsafe void An_outstanding_pin_keeps_the_block_until_it_is_released()
    {
        var pool = new NetBufPool(4, 2048);
        var memoryPool = new NetBufMemoryPool(pool, ownsPool: true);
        IMemoryOwner<byte> owner = memoryPool.Rent();
        MemoryHandle handle = owner.Memory.Pin();
        Assert.That((nint)handle.Pointer, Is.Not.Zero);

        owner.Dispose();
        memoryPool.Dispose(); // disposes the pool: every buffer is back, only the pin remains
        Assert.That(pool.IsDisposed, Is.True);
        Assert.That(pool.IsMemoryReleased, Is.False, "the block was freed under an outstanding pin");

        handle.Dispose();
        Assert.That(pool.IsMemoryReleased, Is.True, "the last pin was released, so the block is freed");
    }
}
