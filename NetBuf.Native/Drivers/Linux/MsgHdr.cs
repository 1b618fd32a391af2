using System.Runtime.InteropServices;

namespace NetBufNative.Drivers.Linux;

/// <summary><c>struct msghdr</c> (56 bytes on 64-bit Linux): one message of <c>recvmsg</c>/<c>sendmsg</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 56)]
internal struct MsgHdr
{
    /// <summary><c>msg_name</c>: the peer address (a <c>sockaddr_ll</c> here), or null.</summary>
    [FieldOffset(0)]
    public nint Name;

    /// <summary><c>msg_namelen</c>: its length in, the length written out.</summary>
    [FieldOffset(8)]
    public uint NameLength;

    /// <summary><c>msg_iov</c>.</summary>
    [FieldOffset(16)]
    public nint IoVecs;

    /// <summary><c>msg_iovlen</c>.</summary>
    [FieldOffset(24)]
    public nuint IoVecCount;

    /// <summary><c>msg_control</c>: ancillary data, unused (null).</summary>
    [FieldOffset(32)]
    public nint Control;

    /// <summary><c>msg_controllen</c>.</summary>
    [FieldOffset(40)]
    public nuint ControlLength;

    /// <summary><c>msg_flags</c>: on receive, <c>MSG_TRUNC</c> when the frame did not fit.</summary>
    [FieldOffset(48)]
    public int Flags;
}
