using System.Runtime.InteropServices;

namespace NetBufNative.Drivers.Linux;

/// <summary><c>struct mmsghdr</c> (64 bytes on 64-bit Linux): one message of <c>recvmmsg</c>/<c>sendmmsg</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
internal struct MMsgHdr
{
    /// <summary><c>msg_hdr</c>.</summary>
    [FieldOffset(0)]
    public MsgHdr Header;

    /// <summary><c>msg_len</c>: bytes received or sent for this message.</summary>
    [FieldOffset(56)]
    public uint Length;
}
