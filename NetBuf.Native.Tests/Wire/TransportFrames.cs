using System.Buffers.Binary;

namespace NetBufNative.Tests.Wire;

/// <summary>
/// TCP and UDP frames over IPv4 and IPv6 built by hand for the checksum and segmentation tests, with an independent
/// reference checksum (<see cref="Frames.ReferenceChecksum"/> over an explicitly built pseudo-header).
/// </summary>
internal static class TransportFrames
{
    internal const int Ethernet = 14;

    /// <summary>A frame: Ethernet (optionally one VLAN tag), IPv4 or IPv6 (optionally an 8-byte hop-by-hop header), TCP (20 + options bytes) or UDP, the payload.</summary>
    internal static byte[] Build(bool ipv6, bool tcp, byte[] payload, int tcpOptions = 0, bool vlan = false, bool hopByHop = false, byte tcpFlags = 0x18)
    {
        int l2 = Ethernet + (vlan ? 4 : 0);
        int ipHeader = ipv6 ? 40 + (hopByHop ? 8 : 0) : 20;
        int l4Header = tcp ? 20 + tcpOptions : 8;
        var frame = new byte[l2 + ipHeader + l4Header + payload.Length];
        for (int i = 0; i < 12; i++)
        {
            frame[i] = (byte)(0x10 + i);
        }

        int at = 12;
        if (vlan)
        {
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(at), 0x8100);
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(at + 2), 42);
            at += 4;
        }

        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(at), ipv6 ? (ushort)0x86DD : (ushort)0x0800);
        int l3 = l2;
        int l4 = l3 + ipHeader;
        byte protocol = tcp ? (byte)6 : (byte)17;
        if (ipv6)
        {
            frame[l3] = 0x60;
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(l3 + 4), (ushort)(frame.Length - l3 - 40));
            frame[l3 + 6] = hopByHop ? (byte)0 : protocol;
            frame[l3 + 7] = 64;
            for (int i = 0; i < 32; i++)
            {
                frame[l3 + 8 + i] = (byte)(0xA0 + i);
            }

            if (hopByHop)
            {
                frame[l3 + 40] = protocol;
                frame[l3 + 41] = 0;
                frame[l3 + 42] = 1; // PadN option filling the rest
                frame[l3 + 43] = 4;
            }
        }
        else
        {
            frame[l3] = 0x45;
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(l3 + 2), (ushort)(frame.Length - l3));
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(l3 + 4), 0x1234);
            frame[l3 + 6] = 0x40; // DF
            frame[l3 + 8] = 64;
            frame[l3 + 9] = protocol;
            new byte[] { 10, 77, 0, 1, 10, 77, 0, 2 }.CopyTo(frame, l3 + 12);
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(l3 + 10), Frames.ReferenceChecksum(frame.AsSpan(l3, 20)));
        }

        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(l4), 40000);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(l4 + 2), 5001);
        if (tcp)
        {
            BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(l4 + 4), 0xFFFF_F000);
            BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(l4 + 8), 77);
            frame[l4 + 12] = (byte)((l4Header / 4) << 4);
            frame[l4 + 13] = tcpFlags;
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(l4 + 14), 512);
            for (int i = 0; i < tcpOptions; i++)
            {
                frame[l4 + 20 + i] = 1; // NOP
            }
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(l4 + 4), (ushort)(frame.Length - l4));
        }

        payload.CopyTo(frame, l4 + l4Header);
        return frame;
    }

    /// <summary>Where the transport header starts in a frame of <see cref="Build"/>.</summary>
    internal static int TransportOffset(bool ipv6, bool vlan = false, bool hopByHop = false) =>
        Ethernet + (vlan ? 4 : 0) + (ipv6 ? 40 + (hopByHop ? 8 : 0) : 20);

    /// <summary>The correct checksum of the segment at <paramref name="l4"/>, from a pseudo-header built byte by byte.</summary>
    internal static ushort Reference(byte[] frame, int l3, int l4, bool ipv6, bool tcp, int? length = null)
    {
        int segmentLength = length ?? (frame.Length - l4);
        byte[] segment = frame.AsSpan(l4, segmentLength).ToArray();
        segment.AsSpan(tcp ? 16 : 6, 2).Clear();
        ushort checksum = Frames.ReferenceChecksum([.. Pseudo(frame, l3, segmentLength, ipv6, tcp), .. segment]);
        return !tcp && checksum == 0 ? (ushort)0xFFFF : checksum;
    }

    /// <summary>The pseudo-header's folded sum, as a Linux sender leaves it in the field of a partial checksum.</summary>
    internal static ushort PartialField(byte[] frame, int l3, int l4, bool ipv6, bool tcp) =>
        (ushort)~Frames.ReferenceChecksum(Pseudo(frame, l3, frame.Length - l4, ipv6, tcp));

    private static byte[] Pseudo(byte[] frame, int l3, int segmentLength, bool ipv6, bool tcp)
    {
        byte protocol = tcp ? (byte)6 : (byte)17;
        return ipv6
            ? [.. frame.AsSpan(l3 + 8, 32), (byte)(segmentLength >> 24), (byte)(segmentLength >> 16), (byte)(segmentLength >> 8), (byte)segmentLength, 0, 0, 0, protocol]
            : [.. frame.AsSpan(l3 + 12, 8), 0, protocol, (byte)(segmentLength >> 8), (byte)segmentLength];
    }
}
