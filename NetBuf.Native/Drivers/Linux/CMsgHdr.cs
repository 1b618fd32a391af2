using System.Runtime.InteropServices;

namespace NetBufNative.Drivers.Linux;

/// <summary><c>struct cmsghdr</c> (16 bytes on 64-bit Linux): the header of one control message in a
/// <c>msghdr</c>'s control buffer; its data follows at <see cref="Size"/> (the header, aligned to 8).</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct CMsgHdr
{
    /// <summary>The header's size, where the data starts (<c>CMSG_LEN(0)</c>).</summary>
    public const int Size = 16;

    /// <summary><c>cmsg_len</c>: header and data, without the padding after the data.</summary>
    [FieldOffset(0)]
    public nuint Length;

    /// <summary><c>cmsg_level</c>: the protocol, e.g. <c>SOL_PACKET</c>.</summary>
    [FieldOffset(8)]
    public int Level;

    /// <summary><c>cmsg_type</c>: the message, e.g. <c>PACKET_AUXDATA</c>.</summary>
    [FieldOffset(12)]
    public int Type;

    /// <summary><c>CMSG_ALIGN</c>: <paramref name="length"/> rounded up to 8 bytes, where the next message starts.</summary>
    public static nuint Align(nuint length) => (length + 7) & ~(nuint)7;
}
