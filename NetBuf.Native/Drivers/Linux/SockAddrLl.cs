using System.Runtime.InteropServices;

namespace NetBufNative.Drivers.Linux;

/// <summary><c>struct sockaddr_ll</c> (20 bytes): a link-layer address of an AF_PACKET socket.</summary>
[StructLayout(LayoutKind.Explicit, Size = 20)]
internal struct SockAddrLl
{
    /// <summary>The structure's size, as passed to <c>bind</c> and expected back from <c>recvmsg</c>.</summary>
    public const int Size = 20;

    /// <summary><c>sll_family</c>: <c>AF_PACKET</c>.</summary>
    [FieldOffset(0)]
    public ushort Family;

    /// <summary><c>sll_protocol</c>: the Ethernet protocol, in network byte order.</summary>
    [FieldOffset(2)]
    public ushort Protocol;

    /// <summary><c>sll_ifindex</c>.</summary>
    [FieldOffset(4)]
    public int InterfaceIndex;

    /// <summary><c>sll_hatype</c>: <c>ARPHRD_*</c>.</summary>
    [FieldOffset(8)]
    public ushort HardwareType;

    /// <summary><c>sll_pkttype</c>: <c>PACKET_HOST</c>, <c>PACKET_OUTGOING</c>, ...</summary>
    [FieldOffset(10)]
    public byte PacketType;

    /// <summary><c>sll_halen</c>.</summary>
    [FieldOffset(11)]
    public byte AddressLength;

    /// <summary>The first byte of <c>sll_addr</c> (8 bytes).</summary>
    [FieldOffset(12)]
    public byte Address0;
}
