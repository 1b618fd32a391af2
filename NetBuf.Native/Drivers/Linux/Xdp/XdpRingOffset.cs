using System.Runtime.InteropServices;

namespace NetBufNative.Drivers.Linux.Xdp;

/// <summary><c>struct xdp_ring_offset</c> (32 bytes): where one ring's indices, flags and entries lie in its mapping.</summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
internal struct XdpRingOffset
{
    /// <summary><c>producer</c>: the u32 producer index.</summary>
    [FieldOffset(0)]
    public ulong Producer;

    /// <summary><c>consumer</c>: the u32 consumer index.</summary>
    [FieldOffset(8)]
    public ulong Consumer;

    /// <summary><c>desc</c>: the first entry.</summary>
    [FieldOffset(16)]
    public ulong Descriptors;

    /// <summary><c>flags</c>: the u32 flags word (<c>XDP_RING_NEED_WAKEUP</c>).</summary>
    [FieldOffset(24)]
    public ulong Flags;
}
