using System.Runtime.InteropServices;

namespace NetBufNative.Drivers.Linux;

/// <summary><c>struct iovec</c> (16 bytes on 64-bit Linux): one piece of memory for a vectored call.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct IoVec
{
    /// <summary><c>iov_base</c>.</summary>
    [FieldOffset(0)]
    public nint Base;

    /// <summary><c>iov_len</c>.</summary>
    [FieldOffset(8)]
    public nuint Length;
}
