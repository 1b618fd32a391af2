using System.Runtime.InteropServices;

namespace NetBufNative.Drivers.Linux.Xdp;

/// <summary><c>struct xdp_mmap_offsets</c> (128 bytes): the layout of the four rings, from <c>getsockopt(XDP_MMAP_OFFSETS)</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
internal struct XdpMmapOffsets
{
    /// <summary>The structure's size.</summary>
    public const int Size = 128;

    /// <summary><c>rx</c>.</summary>
    [FieldOffset(0)]
    public XdpRingOffset Rx;

    /// <summary><c>tx</c>.</summary>
    [FieldOffset(32)]
    public XdpRingOffset Tx;

    /// <summary><c>fr</c>: the fill ring.</summary>
    [FieldOffset(64)]
    public XdpRingOffset Fill;

    /// <summary><c>cr</c>: the completion ring.</summary>
    [FieldOffset(96)]
    public XdpRingOffset Completion;
}
