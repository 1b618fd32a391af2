using System.Runtime.InteropServices;

namespace NetBufNative.Drivers.Linux.Xdp;

/// <summary><c>struct xdp_desc</c> (16 bytes): an entry of the rx and tx rings, a frame in the UMEM.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct XdpDesc
{
    /// <summary><c>addr</c>: the frame's offset in the UMEM (its chunk's offset plus where the frame starts in it).</summary>
    [FieldOffset(0)]
    public ulong Address;

    /// <summary><c>len</c>: the frame's length.</summary>
    [FieldOffset(8)]
    public uint Length;

    /// <summary><c>options</c>: 0 (no multi-buffer frames, no transmit metadata).</summary>
    [FieldOffset(12)]
    public uint Options;
}
