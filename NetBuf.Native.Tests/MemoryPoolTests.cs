using System.Buffers;
using System.IO.Pipelines;
using NUnit.Framework;

namespace NetBufNative.Tests;

public sealed class MemoryPoolTests
{
    [Test]
    public void Rent_hands_out_a_whole_native_buffer_and_dispose_returns_it()
    {
        using var pool = new NetBufPool(4, 2048);
        using var memoryPool = new NetBufMemoryPool(pool);
        Assert.That(memoryPool.MaxBufferSize, Is.EqualTo(2048));
        Assert.That(memoryPool.Pool, Is.SameAs(pool));

        var owner = memoryPool.Rent(100);
        Assert.That(owner.Memory.Length, Is.EqualTo(2048));
        owner.Memory.Span.Fill(7);
        Assert.That(pool.InUse, Is.EqualTo(1));
        owner.Dispose();
        Assert.That(pool.InUse, Is.Zero);

        using var whole = memoryPool.Rent();
        using var exact = memoryPool.Rent(2048);
        using var any = memoryPool.Rent(0);
        Assert.That(new[] { whole.Memory.Length, exact.Memory.Length, any.Memory.Length }, Is.All.EqualTo(2048));
    }

    [Test]
    public unsafe void Pinning_is_free_and_gives_the_buffer_address()
    {
        using var pool = new NetBufPool(4, 2048);
        using var memoryPool = new NetBufMemoryPool(pool);
        using var owner = memoryPool.Rent();
        using MemoryHandle handle = owner.Memory.Pin();
        using MemoryHandle offset = owner.Memory[10..].Pin();
        fixed (byte* span = owner.Memory.Span)
        {
            Assert.That((nint)handle.Pointer, Is.EqualTo((nint)span));
        }

        Assert.That((long)((nint)offset.Pointer - (nint)handle.Pointer), Is.EqualTo(10));
        Assert.That((long)(nint)handle.Pointer % NetBufPool.CacheLineSize, Is.Zero);
    }

    [TestCase(-2)]
    [TestCase(2049)]
    [TestCase(int.MaxValue)]
    public void Rent_beyond_the_buffer_length_throws(int size)
    {
        using var pool = new NetBufPool(4, 2048);
        using var memoryPool = new NetBufMemoryPool(pool);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => memoryPool.Rent(size));
        Assert.That(ex!.ParamName, Is.EqualTo("minBufferSize"));
        Assert.That(pool.InUse, Is.Zero);
    }

    [Test]
    public void Exhaustion_and_disposal_throw()
    {
        var pool = new NetBufPool(1, 2048);
        using var memoryPool = new NetBufMemoryPool(pool, ownsPool: true);
        var owner = memoryPool.Rent();
        Assert.Throws<NetBufPoolExhaustedException>(() => memoryPool.Rent());
        owner.Dispose();
        memoryPool.Dispose();
        Assert.That(pool.IsDisposed, Is.True, "the memory pool owned the buffer pool");
        Assert.Throws<ObjectDisposedException>(() => memoryPool.Rent());
        Assert.Throws<ArgumentNullException>(() => _ = new NetBufMemoryPool(null!));
    }

    [Test]
    public void Disposing_an_owner_twice_throws_and_its_memory_is_dead()
    {
        using var pool = new NetBufPool(4, 2048);
        using var memoryPool = new NetBufMemoryPool(pool);
        var owner = memoryPool.Rent();
        owner.Dispose();
        Assert.Throws<ObjectDisposedException>(owner.Dispose);
        Assert.Throws<ObjectDisposedException>(() => _ = owner.Memory);
        Assert.That(pool.InUse, Is.Zero);
        HandleOwnershipTests.AssertPoolHandsOutDistinctBuffers(pool);
    }

    [Test]
    public void A_pipe_on_the_pool_carries_tens_of_megabytes_intact_and_returns_every_buffer()
    {
        const long Total = 32L * 1024 * 1024;
        using var pool = new NetBufPool(128, 2048, new NetBufPoolOptions { Name = "pipe" });
        using var memoryPool = new NetBufMemoryPool(pool);
        var pipe = new Pipe(new PipeOptions(pool: memoryPool, minimumSegmentSize: 2048, useSynchronizationContext: false));

        static byte ByteAt(long position) => (byte)((position * 31) ^ (position >> 11));

        var writer = Task.Run(async () =>
        {
            var random = new Random(42);
            long written = 0;
            while (written < Total)
            {
                int size = (int)Math.Min(random.Next(1, 6000), Total - written);
                Memory<byte> memory = pipe.Writer.GetMemory(Math.Min(size, 2048));
                int chunk = Math.Min(size, memory.Length);
                Span<byte> span = memory.Span;
                for (int i = 0; i < chunk; i++)
                {
                    span[i] = ByteAt(written + i);
                }

                pipe.Writer.Advance(chunk);
                written += chunk;
                if (random.Next(4) == 0)
                {
                    await pipe.Writer.FlushAsync();
                }
            }

            await pipe.Writer.FlushAsync();
            await pipe.Writer.CompleteAsync();
        });

        var reader = Task.Run(async () =>
        {
            long read = 0;
            long mismatches = 0;
            while (true)
            {
                ReadResult result = await pipe.Reader.ReadAsync();
                foreach (ReadOnlyMemory<byte> segment in result.Buffer)
                {
                    ReadOnlySpan<byte> span = segment.Span;
                    for (int i = 0; i < span.Length; i++)
                    {
                        if (span[i] != ByteAt(read + i))
                        {
                            mismatches++;
                        }
                    }

                    read += span.Length;
                }

                pipe.Reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }

            await pipe.Reader.CompleteAsync();
            return (read, mismatches);
        });

        Task.WaitAll(writer, reader);
        Assert.That(reader.Result.read, Is.EqualTo(Total));
        Assert.That(reader.Result.mismatches, Is.Zero);
        var stats = pool.GetStatistics();
        Assert.That(stats.TotalAllocations, Is.GreaterThan(Total / 2048 / 2), "the pipe's segments came from the pool");
        Assert.That(stats.TotalFrees, Is.EqualTo(stats.TotalAllocations));
        Assert.That(pool.Available, Is.EqualTo(pool.Capacity), "every buffer is back");
    }

    [Test]
    public void Steady_state_rent_and_dispose_allocate_nothing()
    {
        using var pool = new NetBufPool(64, 2048);
        using var memoryPool = new NetBufMemoryPool(pool);
        for (int i = 0; i < 200; i++)
        {
            memoryPool.Rent().Dispose();
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            using IMemoryOwner<byte> owner = memoryPool.Rent();
            owner.Memory.Span[0] = 1;
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }
}
