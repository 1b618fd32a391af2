using System.Buffers.Binary;

namespace NetBufNative.Wire;

/// <summary>
/// Where the transport (TCP or UDP) segment of an Ethernet frame lies, found by parsing the frame: up to two VLAN tags,
/// an IPv4 header (not a fragment) or an IPv6 header with hop-by-hop and destination options before the transport
/// header. Every offset was checked against the frame, so spans built from them stay inside it.
/// </summary>
internal readonly struct TransportLayout
{
    /// <summary>IPv6 extension headers walked at most: a bound against a chain made to loop the parser.</summary>
    private const int MaxExtensionHeaders = 8;

    private const int Ipv6HeaderLength = 40;
    private const int TcpMinHeaderLength = 20;
    private const int TcpChecksumOffset = 16;
    private const int UdpChecksumOffset = 6;

    private TransportLayout(int networkOffset, bool isIpv6, IpProtocol protocol, int transportOffset, int transportLength)
    {
        NetworkOffset = networkOffset;
        IsIpv6 = isIpv6;
        Protocol = protocol;
        TransportOffset = transportOffset;
        TransportLength = transportLength;
    }

    /// <summary>Where the IP header starts.</summary>
    internal int NetworkOffset { get; }

    /// <summary>IPv6 (else IPv4).</summary>
    internal bool IsIpv6 { get; }

    /// <summary><see cref="IpProtocol.Tcp"/> or <see cref="IpProtocol.Udp"/>.</summary>
    internal IpProtocol Protocol { get; }

    /// <summary>Where the TCP or UDP header starts.</summary>
    internal int TransportOffset { get; }

    /// <summary>The segment's length, header included: to the IP packet's end (for UDP, the datagram's length field).</summary>
    internal int TransportLength { get; }

    /// <summary>Where the checksum field lies in the frame.</summary>
    internal int ChecksumOffset => TransportOffset + (Protocol == IpProtocol.Tcp ? TcpChecksumOffset : UdpChecksumOffset);

    /// <summary>Parses <paramref name="frame"/>. Never throws, never reads outside the span.</summary>
    /// <returns><see langword="false"/> when the frame is not a whole TCP or UDP segment over IPv4 or IPv6.</returns>
    internal static bool TryParse(ReadOnlySpan<byte> frame, out TransportLayout layout)
    {
        layout = default;
        if (!TryFindNetwork(frame, out int at, out bool isIpv6))
        {
            return false;
        }

        return isIpv6 ? TryParseIpv6(frame, at, out layout) : TryParseIpv4(frame, at, out layout);
    }

    /// <summary>The layout of a segment whose headers were checked by the caller (one cut from a checked super-packet).</summary>
    internal static TransportLayout ForSegment(int networkOffset, bool isIpv6, IpProtocol protocol, int transportOffset, int transportLength) =>
        new(networkOffset, isIpv6, protocol, transportOffset, transportLength);

    /// <summary>Finds the IP header after the Ethernet header and up to two VLAN tags.</summary>
    /// <returns><see langword="false"/> when the frame is too short or carries neither IPv4 nor IPv6.</returns>
    internal static bool TryFindNetwork(ReadOnlySpan<byte> frame, out int networkOffset, out bool isIpv6)
    {
        networkOffset = 0;
        isIpv6 = false;
        int at = EthernetFrame.UntaggedHeaderLength - 2;
        int etherType = 0;
        for (int tags = 0; tags <= 2; tags++)
        {
            if (at + 2 > frame.Length)
            {
                return false;
            }

            etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[at..]);
            at += 2;
            if (etherType is not (0x8100 or 0x88A8))
            {
                break;
            }

            at += 2;
        }

        networkOffset = at;
        isIpv6 = etherType == (int)EtherType.Ipv6;
        return etherType is (int)EtherType.Ipv4 or (int)EtherType.Ipv6;
    }

    /// <summary>The folded sum of the pseudo-header (addresses, protocol, <see cref="TransportLength"/>) of the segment in <paramref name="frame"/>.</summary>
    internal ushort PseudoHeaderSum(ReadOnlySpan<byte> frame) => PseudoHeaderSum(frame, TransportLength);

    /// <summary>The folded sum of the pseudo-header with the transport length <paramref name="length"/> (a segment cut from this one).</summary>
    internal ushort PseudoHeaderSum(ReadOnlySpan<byte> frame, int length)
    {
        // IPv4: source and destination are the 8 bytes at 12; IPv6: the 32 bytes at 8. The length is 32 bits in IPv6's
        // pseudo-header and 16 in IPv4's; as a sum of 16-bit words the two are the same.
        ReadOnlySpan<byte> addresses = IsIpv6 ? frame.Slice(NetworkOffset + 8, 32) : frame.Slice(NetworkOffset + 12, 8);
        return InternetChecksum.Sum(addresses, (uint)Protocol + (uint)(length >> 16) + (uint)(length & 0xFFFF));
    }

    private static bool TryParseIpv4(ReadOnlySpan<byte> frame, int at, out TransportLayout layout)
    {
        layout = default;
        if (frame.Length - at < Ipv4Packet.MinHeaderLength || frame[at] >> 4 != 4)
        {
            return false;
        }

        int headerLength = (frame[at] & 0xF) * 4;
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(frame[(at + 2)..]);
        if (headerLength < Ipv4Packet.MinHeaderLength || totalLength < headerLength || totalLength > frame.Length - at)
        {
            return false;
        }

        // A fragment (more fragments, or an offset) holds part of a segment: its checksum covers bytes not here.
        if ((BinaryPrimitives.ReadUInt16BigEndian(frame[(at + 6)..]) & 0x3FFF) != 0)
        {
            return false;
        }

        return TryTransport(frame, at, isIpv6: false, (IpProtocol)frame[at + 9], at + headerLength, totalLength - headerLength, out layout);
    }

    private static bool TryParseIpv6(ReadOnlySpan<byte> frame, int at, out TransportLayout layout)
    {
        layout = default;
        if (frame.Length - at < Ipv6HeaderLength || frame[at] >> 4 != 6)
        {
            return false;
        }

        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(frame[(at + 4)..]);
        if (payloadLength > frame.Length - at - Ipv6HeaderLength)
        {
            return false;
        }

        int end = at + Ipv6HeaderLength + payloadLength;
        int next = frame[at + 6];
        int header = at + Ipv6HeaderLength;
        for (int i = 0; i < MaxExtensionHeaders; i++)
        {
            // Hop-by-hop (0) and destination options (60) change nothing the checksum covers; a routing header (43)
            // changes the pseudo-header's destination, a fragment (44) or an authentication header (51) the data
            // covered: those and any other are not parsed.
            if (next is not (0 or 60))
            {
                return TryTransport(frame, at, isIpv6: true, (IpProtocol)next, header, end - header, out layout);
            }

            if (end - header < 8)
            {
                return false;
            }

            next = frame[header];
            header += (frame[header + 1] + 1) * 8;
            if (header > end)
            {
                return false;
            }
        }

        return false;
    }

    private static bool TryTransport(ReadOnlySpan<byte> frame, int networkOffset, bool isIpv6, IpProtocol protocol, int offset, int length, out TransportLayout layout)
    {
        layout = default;
        if (protocol == IpProtocol.Tcp)
        {
            if (length < TcpMinHeaderLength)
            {
                return false;
            }
        }
        else if (protocol == IpProtocol.Udp)
        {
            if (length < UdpDatagram.HeaderLength)
            {
                return false;
            }

            // The checksum covers the datagram as its length field bounds it (bytes after it are not the datagram's).
            int udpLength = BinaryPrimitives.ReadUInt16BigEndian(frame[(offset + 4)..]);
            if (udpLength < UdpDatagram.HeaderLength || udpLength > length)
            {
                return false;
            }

            length = udpLength;
        }
        else
        {
            return false;
        }

        layout = new TransportLayout(networkOffset, isIpv6, protocol, offset, length);
        return true;
    }
}
