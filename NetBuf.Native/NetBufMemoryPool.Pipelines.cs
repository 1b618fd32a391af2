using System.IO.Pipelines;
using NetBufNative.Internal;

namespace NetBufNative;

/// <summary>Options for <c>System.IO.Pipelines</c> sized from the pool, so that a pipe uses the pool and its back-pressure starts before the pool runs dry.</summary>
public sealed partial class NetBufMemoryPool
{
    /// <summary>
    /// The fewest buffers a pipe can be given: one for the reader's partly consumed first segment,
    /// one for the write that crosses the pause threshold, and at least one below the threshold.
    /// </summary>
    public const int MinimumBuffersPerPipe = 3;

    /// <summary>
    /// Options for a <see cref="Pipe"/> that holds at most <paramref name="maxBuffers"/> of the
    /// pool's buffers: segments of one whole buffer (<see cref="MaxBufferSize"/>), the writer paused
    /// at (<paramref name="maxBuffers"/> - 2) buffers' worth of unconsumed bytes and resumed at half
    /// that (the ratio of <see cref="PipeOptions.Default"/>, 32 KiB of 64 KiB).
    /// </summary>
    /// <remarks>
    /// <para>
    /// The bound holds for a writer that flushes (<c>WriteAsync</c>, or <c>FlushAsync</c> after at most
    /// one buffer's worth of <c>GetMemory</c>/<c>Advance</c>) and asks for at most
    /// <see cref="MaxBufferSize"/> bytes at a time: the writer can add one buffer past the threshold
    /// before its flush pauses, and the reader's first segment can be partly consumed. A single
    /// <c>WriteAsync</c> larger than a buffer takes as many buffers as it needs before any pause; a
    /// size hint above <see cref="MaxBufferSize"/> makes the pipe take that segment from
    /// <see cref="System.Buffers.ArrayPool{T}.Shared"/> instead of this pool.
    /// </para>
    /// <para>
    /// The default <see cref="PipeOptions"/> pause at 64 KiB: a pipe over a pool with less than
    /// that (plus two buffers) to spare runs the pool dry before back-pressure starts, and
    /// <c>GetMemory</c> throws <see cref="NetBufPoolExhaustedException"/>. Give each pipe its share
    /// of the <see cref="NetBufPool.Capacity"/>: the sum over all pipes that can be full at once must
    /// not exceed it.
    /// </para>
    /// <para>Thread-safe.</para>
    /// </remarks>
    /// <param name="maxBuffers">The buffers this pipe may hold: from <see cref="MinimumBuffersPerPipe"/> to the pool's capacity.</param>
    /// <param name="readerScheduler">The reader's scheduler, as for <see cref="PipeOptions"/>.</param>
    /// <param name="writerScheduler">The writer's scheduler, as for <see cref="PipeOptions"/>.</param>
    /// <param name="useSynchronizationContext">As for <see cref="PipeOptions"/>.</param>
    /// <returns>Options whose pool is this memory pool.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxBuffers"/> is out of range.</exception>
    public PipeOptions CreatePipeOptions(
        int maxBuffers,
        PipeScheduler? readerScheduler = null,
        PipeScheduler? writerScheduler = null,
        bool useSynchronizationContext = true)
    {
        if (maxBuffers < MinimumBuffersPerPipe || maxBuffers > _pool.Capacity)
        {
            ThrowHelper.ThrowArgumentOutOfRange(
                nameof(maxBuffers), maxBuffers, $"A pipe needs {MinimumBuffersPerPipe} to {_pool.Capacity} (the pool's capacity) buffers.");
        }

        long pause = (long)(maxBuffers - 2) * MaxBufferSize;
        return new PipeOptions(
            pool: this,
            readerScheduler: readerScheduler,
            writerScheduler: writerScheduler,
            pauseWriterThreshold: pause,
            resumeWriterThreshold: pause / 2,
            minimumSegmentSize: MaxBufferSize,
            useSynchronizationContext: useSynchronizationContext);
    }

    /// <summary>
    /// Options for <see cref="PipeReader.Create(Stream, StreamPipeReaderOptions?)"/> that read into
    /// this pool's buffers: a read buffer of <see cref="MaxBufferSize"/>. (The default, 4096 bytes,
    /// exceeds the buffers of a 2048-byte pool, and the reader then silently rents from
    /// <see cref="System.Buffers.ArrayPool{T}.Shared"/> instead.)
    /// </summary>
    /// <remarks>A stream reader has no back-pressure: it holds one buffer per read that the consumer
    /// has not consumed yet. (<see cref="PipeWriter.Create(Stream, StreamPipeWriterOptions?)"/> needs
    /// no such options: its segments are clamped to <see cref="MaxBufferSize"/>, so it uses the pool
    /// whenever a size hint fits a buffer.) Thread-safe.</remarks>
    /// <param name="leaveOpen">Whether completing the reader leaves the stream open.</param>
    /// <param name="useZeroByteReads">As for <see cref="StreamPipeReaderOptions"/>: wait for data with a zero-byte read before renting a buffer.</param>
    /// <returns>Options whose pool is this memory pool.</returns>
    public StreamPipeReaderOptions CreateStreamPipeReaderOptions(bool leaveOpen = false, bool useZeroByteReads = false) =>
        new(pool: this, bufferSize: MaxBufferSize, minimumReadSize: -1, leaveOpen: leaveOpen, useZeroByteReads: useZeroByteReads);
}
