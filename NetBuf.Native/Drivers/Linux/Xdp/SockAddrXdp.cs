using System.Runtime.InteropServices;

namespace NetBufNative.Drivers.Linux.Xdp;

/// <summary><c>struct sockaddr_xdp</c> (16 bytes): the interface queue an AF_XDP socket binds to.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct SockAddrXdp
{
    /// <summary>The structure's size, as passed to <c>bind</c>.</summary>
    public const int Size = 16;

    /// <summary><c>sxdp_family</c>: <c>AF_XDP</c>.</summary>
    [FieldOffset(0)]
    public ushort Family;

    /// <summary><c>sxdp_flags</c>: <c>XDP_COPY</c>, <c>XDP_ZEROCOPY</c>, <c>XDP_USE_NEED_WAKEUP</c>, <c>XDP_SHARED_UMEM</c>.</summary>
    [FieldOffset(2)]
    public ushort Flags;

    /// <summary><c>sxdp_ifindex</c>.</summary>
    [FieldOffset(4)]
    public uint InterfaceIndex;

    /// <summary><c>sxdp_queue_id</c>.</summary>
    [FieldOffset(8)]
    public uint QueueId;

    /// <summary><c>sxdp_shared_umem_fd</c>.</summary>
    [FieldOffset(12)]
    public uint SharedUmemFd;
}
