using System.Runtime.InteropServices;

namespace NetBufNative.Drivers.Linux;

/// <summary><c>struct pollfd</c> (8 bytes): a descriptor, the events waited for, the events seen.</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
internal struct PollFd
{
    /// <summary><c>fd</c>.</summary>
    [FieldOffset(0)]
    public int Fd;

    /// <summary><c>events</c>: what to wait for.</summary>
    [FieldOffset(4)]
    public short Events;

    /// <summary><c>revents</c>: what happened.</summary>
    [FieldOffset(6)]
    public short ReturnedEvents;
}
