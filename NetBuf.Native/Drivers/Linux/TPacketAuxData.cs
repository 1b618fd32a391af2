using System.Runtime.InteropServices;

namespace NetBufNative.Drivers.Linux;

/// <summary><c>struct tpacket_auxdata</c> (linux/if_packet.h, 20 bytes): what an AF_PACKET socket with
/// <c>PACKET_AUXDATA</c> set tells about each received frame, in a <c>SOL_PACKET</c> control message;
/// here for the 802.1Q tag the kernel took out of the frame.</summary>
[StructLayout(LayoutKind.Explicit, Size = 20)]
internal struct TPacketAuxData
{
    /// <summary>The structure's size, the least data a <c>PACKET_AUXDATA</c> message carries.</summary>
    public const int Size = 20;

    /// <summary><c>tp_status</c>: <c>TP_STATUS_*</c> flags.</summary>
    [FieldOffset(0)]
    public uint Status;

    /// <summary><c>tp_len</c>: the frame's length on the wire (without the removed tag).</summary>
    [FieldOffset(4)]
    public uint Length;

    /// <summary><c>tp_snaplen</c>: the bytes captured.</summary>
    [FieldOffset(8)]
    public uint SnapLength;

    /// <summary><c>tp_mac</c>.</summary>
    [FieldOffset(12)]
    public ushort MacOffset;

    /// <summary><c>tp_net</c>.</summary>
    [FieldOffset(14)]
    public ushort NetworkOffset;

    /// <summary><c>tp_vlan_tci</c>: the removed tag's control information (priority, DEI, VLAN id), host order.</summary>
    [FieldOffset(16)]
    public ushort VlanTci;

    /// <summary><c>tp_vlan_tpid</c>: the removed tag's protocol (0x8100 or 0x88A8), host order.</summary>
    [FieldOffset(18)]
    public ushort VlanTpid;
}
