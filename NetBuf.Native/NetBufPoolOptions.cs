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

    /// <summary>A name for exception messages and diagnostics; by default <c>NetBufPool#N</c>.</summary>
    public string? Name { get; init; }
}
