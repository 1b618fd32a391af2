using System.Runtime.InteropServices;

namespace NetBufNative.Drivers.Linux;

/// <summary><c>struct tpacket_stats</c> (linux/if_packet.h, 8 bytes): what <c>getsockopt(SOL_PACKET, PACKET_STATISTICS)</c>
/// returns for a packet socket without a TPACKET_V3 ring, counted since the previous read (the read resets both).</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
internal struct TPacketStats
{
    /// <summary>The structure's size.</summary>
    public const int Size = 8;

    /// <summary><c>tp_packets</c>: frames that reached the socket, those queued for it and those dropped (the kernel adds <c>tp_drops</c> in).</summary>
    [FieldOffset(0)]
    public uint Packets;

    /// <summary><c>tp_drops</c>: frames the socket dropped, its receive queue full (or a copy failed).</summary>
    [FieldOffset(4)]
    public uint Drops;
}
