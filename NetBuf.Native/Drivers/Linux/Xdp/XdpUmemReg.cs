using System.Runtime.InteropServices;

namespace NetBufNative.Drivers.Linux.Xdp;

/// <summary><c>struct xdp_umem_reg</c> (32 bytes): the memory an AF_XDP socket's frames live in, for <c>XDP_UMEM_REG</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
internal struct XdpUmemReg
{
    /// <summary>The structure's size as passed to <c>setsockopt</c> (with <c>tx_metadata_len</c>, Linux 6.8+; older kernels accept 24 and 28).</summary>
    public const int Size = 32;

    /// <summary><c>addr</c>: the start of the region, page-aligned.</summary>
    [FieldOffset(0)]
    public ulong Address;

    /// <summary><c>len</c>: the region's length in bytes.</summary>
    [FieldOffset(8)]
    public ulong Length;

    /// <summary><c>chunk_size</c>: one frame's chunk, a power of two from 2048 to the page size (aligned mode).</summary>
    [FieldOffset(16)]
    public uint ChunkSize;

    /// <summary><c>headroom</c>: bytes the kernel leaves free in a chunk before <c>XDP_PACKET_HEADROOM</c>.</summary>
    [FieldOffset(20)]
    public uint Headroom;

    /// <summary><c>flags</c>: 0 (aligned chunks).</summary>
    [FieldOffset(24)]
    public uint Flags;

    /// <summary><c>tx_metadata_len</c>: 0 (no transmit metadata).</summary>
    [FieldOffset(28)]
    public uint TxMetadataLength;
}
