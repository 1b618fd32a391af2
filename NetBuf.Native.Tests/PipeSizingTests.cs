using System.Buffers;
using System.IO.Pipelines;
using NUnit.Framework;

namespace NetBufNative.Tests;

/// <summary>
/// Pipes over a <see cref="NetBufMemoryPool"/>: the default options run a small pool dry before
/// back-pressure starts and make stream readers and writers bypass the pool; the options that
/// <see cref="NetBufMemoryPool"/> creates do neither.
/// </summary>
public sealed class PipeSizingTests
{
    /// <summary>The pool: 16 buffers of 2 KiB, 32 KiB in all, under the default 64 KiB pause threshold.</summary>
    private const int Buffers = 16;
    private const int BufferLength = 2048;

    [Test]
    public async Task A_default_Pipe_runs_a_small_pool_dry_before_its_writer_pauses()
    {
        using var pool = new NetBufPool(Buffers, BufferLength);
        using var memoryPool = new NetBufMemoryPool(pool);
        var pipe = new Pipe(new PipeOptions(pool: memoryPool));
        byte[] chunk = new byte[1024];

        long written = 0;
        var failure = Assert.ThrowsAsync<NetBufPoolExhaustedException>(async () =>
        {
            // No reader: a writer with working back-pressure would pause, not fail.
            while (true)
            {
                ValueTask<FlushResult> flush = pipe.Writer.WriteAsync(chunk);
                Assert.That(flush.IsCompleted, Is.True, "paused before the pool ran dry");
                await flush;
                written += chunk.Length;
            }
        });

        Assert.That(failure, Is.Not.Null);
        Assert.That(written, Is.EqualTo(Buffers * BufferLength), "it fails at 32 KiB, below the 64 KiB pause threshold");
        await pipe.Writer.CompleteAsync();
        await pipe.Reader.CompleteAsync();
        Assert.That(pool.InUse, Is.Zero);
    }

    [Test]
    public async Task Sized_Pipe_options_pause_the_writer_before_the_pool_runs_dry_and_carry_every_byte()
    {
        using var pool = new NetBufPool(Buffers, BufferLength, new NetBufPoolOptions { ThreadCacheSize = 0 });
        using var memoryPool = new NetBufMemoryPool(pool);
        PipeOptions options = memoryPool.CreatePipeOptions(maxBuffers: Buffers);
        Assert.That(options.Pool, Is.SameAs(memoryPool));
        Assert.That(options.MinimumSegmentSize, Is.EqualTo(BufferLength));
        Assert.That(options.PauseWriterThreshold, Is.EqualTo((Buffers - 2) * BufferLength));
        Assert.That(options.ResumeWriterThreshold, Is.EqualTo((Buffers - 2) * BufferLength / 2));

        // No reader yet: the writer pauses, and the pool still has a buffer.
        var pipe = new Pipe(options);
        byte[] chunk = new byte[BufferLength];
        int writes = 0;
        Task<FlushResult> flush;
        while ((flush = pipe.Writer.WriteAsync(chunk).AsTask()).IsCompleted)
        {
            writes++;
            Assert.That(writes, Is.LessThan(Buffers), "the writer never paused");
        }

        Assert.That(writes, Is.EqualTo(Buffers - 3), "paused at the write that reached 14 buffers");
        Assert.That(pool.InUse, Is.LessThan(Buffers));
        await pipe.Reader.CompleteAsync();
        await flush;
        await pipe.Writer.CompleteAsync();

        // A writer of random chunks up to a buffer against a reader that consumes part of what it
        // sees (and examines no further, so that a paused writer is never waited for): 4 MiB go through 16 buffers, byte for byte.
        pipe = new Pipe(memoryPool.CreatePipeOptions(maxBuffers: Buffers));
        const int Total = 4 << 20;
        var random = new Random(12);
        byte[] source = new byte[Total];
        random.NextBytes(source);
        Task writer = Task.Run(async () =>
        {
            var chunks = new Random(34);
            for (int offset = 0; offset < Total;)
            {
                int length = Math.Min(chunks.Next(1, BufferLength + 1), Total - offset);
                await pipe.Writer.WriteAsync(source.AsMemory(offset, length));
                offset += length;
            }

            await pipe.Writer.CompleteAsync();
        });

        byte[] received = new byte[Total];
        int at = 0;
        var consume = new Random(56);
        while (true)
        {
            ReadResult result = await pipe.Reader.ReadAsync();
            long take = result.IsCompleted ? result.Buffer.Length : consume.NextInt64(0, result.Buffer.Length + 1);
            result.Buffer.Slice(0, take).CopyTo(received.AsSpan(at));
            at += (int)take;
            pipe.Reader.AdvanceTo(result.Buffer.GetPosition(take));
            if (result.IsCompleted)
            {
                break;
            }
        }

        await writer;
        await pipe.Reader.CompleteAsync();
        Assert.That(at, Is.EqualTo(Total));
        Assert.That(received.AsSpan().SequenceEqual(source), Is.True);
        Assert.That(pool.GetStatistics().AllocationFailures, Is.Zero, "the pool never ran dry");
        Assert.That(pool.InUse, Is.Zero);
    }

    [Test]
    public void Pipe_options_refuse_a_share_outside_the_pool()
    {
        using var pool = new NetBufPool(Buffers, BufferLength);
        using var memoryPool = new NetBufMemoryPool(pool);
        Assert.Throws<ArgumentOutOfRangeException>(() => memoryPool.CreatePipeOptions(NetBufMemoryPool.MinimumBuffersPerPipe - 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => memoryPool.CreatePipeOptions(Buffers + 1));
        Assert.That(memoryPool.CreatePipeOptions(NetBufMemoryPool.MinimumBuffersPerPipe).PauseWriterThreshold, Is.EqualTo(BufferLength));
    }

    [Test]
    public async Task A_stream_reader_uses_the_pool_only_with_the_sized_options()
    {
        using var pool = new NetBufPool(Buffers, BufferLength);
        using var memoryPool = new NetBufMemoryPool(pool);
        byte[] data = new byte[100_000];
        new Random(78).NextBytes(data);

        // The default 4096-byte read buffer exceeds the 2048-byte buffers: the pool is never used.
        byte[] bypassed = await ReadAll(PipeReader.Create(new MemoryStream(data), new StreamPipeReaderOptions(pool: memoryPool)));
        Assert.That(bypassed, Is.EqualTo(data));
        Assert.That(pool.GetStatistics().TotalAllocations, Is.Zero, "the default options bypass the pool");

        StreamPipeReaderOptions options = memoryPool.CreateStreamPipeReaderOptions();
        Assert.That(options.BufferSize, Is.EqualTo(BufferLength));
        byte[] pooled = await ReadAll(PipeReader.Create(new MemoryStream(data), options));
        Assert.That(pooled, Is.EqualTo(data));
        Assert.That(pool.GetStatistics().TotalAllocations, Is.GreaterThanOrEqualTo(data.Length / BufferLength), "every read went into a pool buffer");
        Assert.That(pool.InUse, Is.Zero);
    }

    [Test]
    public async Task A_stream_writer_uses_the_pool_with_its_default_options()
    {
        // Its segments are clamped to MaxBufferSize (unlike the reader's buffer), so no helper is needed.
        using var pool = new NetBufPool(Buffers, BufferLength);
        using var memoryPool = new NetBufMemoryPool(pool);
        byte[] data = new byte[100_000];
        new Random(90).NextBytes(data);

        var stream = new MemoryStream();
        await WriteAll(PipeWriter.Create(stream, new StreamPipeWriterOptions(pool: memoryPool)), data);
        Assert.That(stream.ToArray(), Is.EqualTo(data));
        Assert.That(pool.GetStatistics().TotalAllocations, Is.Positive);
        Assert.That(pool.InUse, Is.Zero);
    }

    private static async Task<byte[]> ReadAll(PipeReader reader)
    {
        var output = new MemoryStream();
        while (true)
        {
            ReadResult result = await reader.ReadAsync();
            foreach (ReadOnlyMemory<byte> segment in result.Buffer)
            {
                output.Write(segment.Span);
            }

            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }

        await reader.CompleteAsync();
        return output.ToArray();
    }

    private static async Task WriteAll(PipeWriter writer, byte[] data)
    {
        // Chunks below a buffer, flushed every few writes, as a protocol writer would.
        for (int offset = 0; offset < data.Length; offset += 1000)
        {
            int length = Math.Min(1000, data.Length - offset);
            data.AsSpan(offset, length).CopyTo(writer.GetSpan(length));
            writer.Advance(length);
            if (offset % 5000 == 0)
            {
                await writer.FlushAsync();
            }
        }

        await writer.CompleteAsync();
    }
}
