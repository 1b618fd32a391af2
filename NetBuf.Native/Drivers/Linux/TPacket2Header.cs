using System.Runtime.InteropServices;

namespace NetBufNative.Drivers.Linux;

/// <summary><c>struct tpacket2_hdr</c> (linux/if_packet.h, 32 bytes): the head of each frame slot of a
/// <c>TPACKET_V2</c> ring: in a receive ring (<c>PACKET_RX_RING</c>) the kernel writes the frame after it at
/// <see cref="MacOffset"/> and hands the slot over by setting <see cref="Status"/> to <see cref="LinuxConstants.TP_STATUS_USER"/>;
/// in a transmit ring (<c>PACKET_TX_RING</c>) the driver writes the frame at <see cref="PacketTransmitRing.DataOffset"/>, its
/// length in <see cref="Length"/>, and requests it (<see cref="LinuxConstants.TP_STATUS_SEND_REQUEST"/>).</summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
internal struct TPacket2Header
{
    /// <summary>The structure's size, already a multiple of <c>TPACKET_ALIGNMENT</c> (16): the slot's
    /// <c>struct sockaddr_ll</c> starts here.</summary>
    public const int Size = 32;

    /// <summary><c>tp_status</c>: <see cref="LinuxConstants.TP_STATUS_KERNEL"/> while the kernel owns the slot, else
    /// <see cref="LinuxConstants.TP_STATUS_USER"/> and flags (<c>TP_STATUS_VLAN_VALID</c>, ...).</summary>
    [FieldOffset(0)]
    public uint Status;

    /// <summary><c>tp_len</c>: the frame's length (without a tag the kernel took out).</summary>
    [FieldOffset(4)]
    public uint Length;

    /// <summary><c>tp_snaplen</c>: the bytes of it in the slot (fewer than <see cref="Length"/> when the slot was too small).</summary>
    [FieldOffset(8)]
    public uint SnapLength;

    /// <summary><c>tp_mac</c>: where the frame starts, from the slot's start; the virtio-net header lies just before it.</summary>
    [FieldOffset(12)]
    public ushort MacOffset;

    /// <summary><c>tp_net</c>: where the network header starts.</summary>
    [FieldOffset(14)]
    public ushort NetworkOffset;

    /// <summary><c>tp_vlan_tci</c>: the removed tag's control information, host order.</summary>
    [FieldOffset(24)]
    public ushort VlanTci;

    /// <summary><c>tp_vlan_tpid</c>: the removed tag's protocol, host order.</summary>
    [FieldOffset(26)]
    public ushort VlanTpid;
}

/// <summary><c>struct tpacket_req</c> (16 bytes): the shape of a ring asked for with <c>PACKET_RX_RING</c> or <c>PACKET_TX_RING</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct TPacketRequest
{
    /// <summary><c>tp_block_size</c>: bytes per block, a multiple of the page size and of <see cref="FrameSize"/>.</summary>
    public uint BlockSize;

    /// <summary><c>tp_block_nr</c>: blocks.</summary>
    public uint BlockCount;

    /// <summary><c>tp_frame_size</c>: bytes per frame slot, a multiple of 16.</summary>
    public uint FrameSize;

    /// <summary><c>tp_frame_nr</c>: slots, <see cref="BlockCount"/> times the slots per block.</summary>
    public uint FrameCount;
}
