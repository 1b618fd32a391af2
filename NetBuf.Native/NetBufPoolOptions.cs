namespace NetBufNative;

/// <summary>Optional settings of a <see cref="NetBufPool"/>.</summary>
/// <remarks>Read once by the <see cref="NetBufPool"/> constructor; later changes have no effect on a pool.</remarks>
public sealed class NetBufPoolOptions
{
    /// <summary>
    /// Alignment of the pool's native block, in bytes: a power of two from
    /// <see cref="NetBufPool.CacheLineSize"/> (the default) to 1 GiB. Pass
    /// <see cref="Environment.SystemPageSize"/> (or a huge-page size) for DMA-style use, e.g. to
    /// register the block with the kernel as an AF_XDP UMEM. Every buffer starts on a cache-line
    /// boundary whatever this is.
    /// </summary>
    public int BlockAlignment { get; init; } = NetBufPool.CacheLineSize;

    /// <summary>
    /// Headroom every freshly allocated buffer starts with: the header and packet regions begin
    /// this many bytes into the buffer, leaving room to <see cref="NetBuf.Prepend"/> headers
    /// without moving the packet (DPDK reserves 128 bytes the same way). 0 to the buffer length;
    /// default 0, as in the ArceOS original.
    /// </summary>
    public int DefaultHeadroom { get; init; }

    /// <summary>
    /// How many free buffers each thread may keep in its own cache, from which it allocates and
    /// to which it frees with no atomic operation (DPDK's per-lcore cache). 0 turns the cache off;
    /// <see langword="null"/> (the default) picks a size from the capacity: a quarter of the pool
    /// spread over one cache per core (capacity / (4 x <see cref="Environment.ProcessorCount"/>)), at
    /// most 32; when that is below 4 the pool gets no thread cache at all, so small pools (below 16
    /// buffers per core, e.g. 8 buffers on 2 cores) have none unless this is set. At most 1024. Buffers in
    /// caches are never stranded: when the shared list runs dry an allocation takes them from
    /// other threads' caches, and <see cref="NetBufPool.Trim"/> returns them all.
    /// </summary>
    public int? ThreadCacheSize { get; init; }

    /// <summary>
    /// Zero the whole block when the pool is created, so that every page is resident before the
    /// first packet and no first-touch page fault lands on the data path (for latency-critical
    /// users). Off by default: creating a pool then touches no data page, and the process's
    /// resident memory grows only with the buffers actually written.
    /// </summary>
    public bool PreFault { get; init; }

    /// <summary>
    /// Where the block of buffers lives: <see cref="NetBufBlockMemory.Native"/> (the default) or
    /// <see cref="NetBufBlockMemory.PinnedArray"/>, for consumers that need array-backed
    /// <see cref="Memory{T}"/> (Kestrel's socket transport, for one, when the pool is its memory pool).
    /// </summary>
    public NetBufBlockMemory BlockMemory { get; init; }

    /// <summary>
    /// The diagnostic mode (poison and quarantine of freed buffers, guard bytes, allocation stack
    /// traces, leak reports), for tests and debugging; <see langword="null"/> (the default) for
    /// none. It turns the thread caches off and costs a pool without it nothing. See
    /// <see cref="NetBufDiagnosticsOptions"/>.
    /// </summary>
    public NetBufDiagnosticsOptions? Diagnostics { get; init; }

    /// <summary>A name for exception messages and diagnostics; by default <c>NetBufPool#N</c>.</summary>
    public string? Name { get; init; }

    /// <summary>Bytes of metadata per buffer: 64 (one cache line each); 32 only for the benchmark that measures what the shared lines cost.</summary>
    internal int SlotStride { get; init; } = Internal.SlotTable.SlotSize;

    /// <summary>Makes the thread caches use the symmetric-fence handshake even where the process-wide barrier is real (tests).</summary>
    internal bool ForceOwnerFence { get; init; }
}
