namespace NetBufNative.Drivers.Linux.Xdp;

/// <summary>
/// Constants of AF_XDP (<c>linux/if_xdp.h</c>, <c>linux/socket.h</c>, <c>linux/if_link.h</c>), shared by
/// x86-64 and AArch64, checked on this project's machines (docs: linux-packet-io).
/// </summary>
internal static class XdpConstants
{
    // linux/socket.h
    internal const int AF_XDP = 44;
    internal const int SOL_XDP = 283;

    // linux/if_xdp.h: socket options.
    internal const int XDP_MMAP_OFFSETS = 1;
    internal const int XDP_RX_RING = 2;
    internal const int XDP_TX_RING = 3;
    internal const int XDP_UMEM_REG = 4;
    internal const int XDP_UMEM_FILL_RING = 5;
    internal const int XDP_UMEM_COMPLETION_RING = 6;
    internal const int XDP_STATISTICS = 7;
    internal const int XDP_OPTIONS = 8;

    // linux/if_xdp.h: sockaddr_xdp flags.
    internal const ushort XDP_SHARED_UMEM = 1;
    internal const ushort XDP_COPY = 2;
    internal const ushort XDP_ZEROCOPY = 4;
    internal const ushort XDP_USE_NEED_WAKEUP = 8;

    // linux/if_xdp.h: XDP_OPTIONS flags and the ring flags word.
    internal const uint XDP_OPTIONS_ZEROCOPY = 1;
    internal const uint XDP_RING_NEED_WAKEUP = 1;

    // linux/if_xdp.h: mmap offsets of the four rings.
    internal const long XDP_PGOFF_RX_RING = 0;
    internal const long XDP_PGOFF_TX_RING = 0x80000000;
    internal const long XDP_UMEM_PGOFF_FILL_RING = 0x100000000;
    internal const long XDP_UMEM_PGOFF_COMPLETION_RING = 0x180000000;

    // linux/if_link.h: attach modes of an XDP program.
    internal const uint XDP_FLAGS_SKB_MODE = 2;
    internal const uint XDP_FLAGS_DRV_MODE = 4;

    // sys/mman.h
    internal const int PROT_READ = 1;
    internal const int PROT_WRITE = 2;
    internal const int MAP_SHARED = 1;
    internal const int MAP_POPULATE = 0x8000;

    /// <summary>Where the kernel puts a received frame in a chunk (<c>XDP_PACKET_HEADROOM</c>): room for an XDP program to push headers.</summary>
    internal const int PacketHeadroom = 256;

    /// <summary>The smallest chunk the kernel accepts (<c>XDP_UMEM_MIN_CHUNK_SIZE</c>).</summary>
    internal const int MinChunkSize = 2048;
}
