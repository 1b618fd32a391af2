using System.Runtime.InteropServices;

namespace NetBufNative.Drivers.Linux;

/// <summary>
/// <c>struct packet_mreq</c> (linux/if_packet.h, 16 bytes): a membership of a packet socket, here
/// <c>PACKET_MR_PROMISC</c>, which the kernel counts per socket and drops when the socket closes.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal unsafe struct PacketMReq
{
    /// <summary>The structure's size.</summary>
    public const int Size = 16;

    /// <summary><c>mr_ifindex</c>.</summary>
    [FieldOffset(0)]
    public int InterfaceIndex;

    /// <summary><c>mr_type</c>: <c>PACKET_MR_*</c>.</summary>
    [FieldOffset(4)]
    public ushort Type;

    /// <summary><c>mr_alen</c>: the address length (0 for promiscuous mode).</summary>
    [FieldOffset(6)]
    public ushort AddressLength;

    /// <summary><c>mr_address</c>.</summary>
    [FieldOffset(8)]
    public fixed byte Address[8];
}
