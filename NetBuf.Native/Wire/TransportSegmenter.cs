using System.Buffers.Binary;

namespace NetBufNative.Wire;

/// <summary>
/// Software segmentation of a TCP or UDP super-packet (what Linux calls GSO, and a veth hands to a packet socket whole:
/// one frame of up to 64 KiB with one set of headers) into frames of at most one segment's payload each, as the kernel's
/// <c>tcp_gso_segment</c> and <c>__udp_gso_segment</c> would have cut them: every segment gets the headers, its IP
/// length, an IPv4 identification one higher than the previous one and a new IPv4 header checksum; TCP segments get
/// their sequence numbers, FIN and PSH only on the last, CWR only on the first; every segment gets a full TCP or UDP
/// checksum.
/// </summary>
/// <remarks>The caller checked the headers (<see cref="Headers"/>): this type only writes inside the spans it is given.</remarks>
internal static class TransportSegmenter
{
    private const byte TcpFin = 0x01;
    private const byte TcpPsh = 0x08;
    private const byte TcpCwr = 0x80;

    /// <summary>Where a super-packet's headers lie: checked against its first bytes by <see cref="TryReadHeaders"/>.</summary>
    internal readonly record struct Headers(int NetworkOffset, bool IsIpv6, IpProtocol Protocol, int TransportOffset, int Length);

    /// <summary>
    /// Reads and checks the headers of a super-packet whose transport header starts at <paramref name="transportOffset"/>
    /// (a virtio-net header's <c>csum_start</c>): Ethernet and up to two VLAN tags, the IP version expected, a transport
    /// header wholly inside <paramref name="head"/>.
    /// </summary>
    /// <param name="head">The super-packet's first bytes (at least its headers).</param>
    /// <param name="transportOffset">Where the TCP or UDP header starts.</param>
    /// <param name="isIpv6">The IP version the segmentation type says.</param>
    /// <param name="protocol">TCP or UDP, as the segmentation type says.</param>
    /// <param name="headers">The headers' layout; <see cref="Headers.Length"/> is every header's bytes, TCP options included.</param>
    /// <returns><see langword="false"/> when they do not check out.</returns>
    internal static bool TryReadHeaders(ReadOnlySpan<byte> head, int transportOffset, bool isIpv6, IpProtocol protocol, out Headers headers)
    {
        headers = default;
        if (!TransportLayout.TryFindNetwork(head, out int network, out bool foundIpv6) || foundIpv6 != isIpv6 ||
            head.Length - network < (isIpv6 ? 40 : Ipv4Packet.MinHeaderLength) || head[network] >> 4 != (isIpv6 ? 6 : 4))
        {
            return false;
        }

        int networkHeader = isIpv6 ? 40 : (head[network] & 0xF) * 4;
        if (networkHeader < Ipv4Packet.MinHeaderLength || transportOffset < network + networkHeader || transportOffset > head.Length)
        {
            return false;
        }

        // IPv4's protocol must be the transport's; IPv6 may have extension headers between (their lengths do not change).
        if (!isIpv6 && head[network + 9] != (byte)protocol)
        {
            return false;
        }

        int transportHeader;
        if (protocol == IpProtocol.Tcp)
        {
            if (head.Length - transportOffset < 20)
            {
                return false;
            }

            transportHeader = (head[transportOffset + 12] >> 4) * 4;
            if (transportHeader < 20)
            {
                return false;
            }
        }
        else
        {
            transportHeader = UdpDatagram.HeaderLength;
        }

        if (transportHeader > head.Length - transportOffset)
        {
            return false;
        }

        headers = new Headers(network, isIpv6, protocol, transportOffset, transportOffset + transportHeader);
        return true;
    }

    /// <summary>
    /// Makes <paramref name="segment"/> (headers as in the super-packet, then its payload) segment number
    /// <paramref name="index"/>: lengths, identification, sequence number, flags and checksums.
    /// </summary>
    /// <param name="segment">The segment: <see cref="Headers.Length"/> header bytes and its payload, nothing after.</param>
    /// <param name="headers">The super-packet's headers.</param>
    /// <param name="index">The segment's number, 0 for the first.</param>
    /// <param name="segmentSize">The payload of every segment but the last (the virtio-net header's <c>gso_size</c>).</param>
    /// <param name="last">Whether it is the last segment.</param>
    internal static void Fix(Span<byte> segment, in Headers headers, int index, int segmentSize, bool last)
    {
        int network = headers.NetworkOffset;
        int transport = headers.TransportOffset;
        if (headers.IsIpv6)
        {
            BinaryPrimitives.WriteUInt16BigEndian(segment[(network + 4)..], (ushort)(segment.Length - network - 40));
        }
        else
        {
            Span<byte> ip = segment[network..];
            BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(segment.Length - network));
            BinaryPrimitives.WriteUInt16BigEndian(ip[4..], (ushort)(BinaryPrimitives.ReadUInt16BigEndian(ip[4..]) + index));
            int headerLength = (ip[0] & 0xF) * 4;
            ip.Slice(10, 2).Clear();
            BinaryPrimitives.WriteUInt16BigEndian(ip[10..], InternetChecksum.Compute(ip[..headerLength]));
        }

        if (headers.Protocol == IpProtocol.Tcp)
        {
            Span<byte> tcp = segment[transport..];
            uint sequence = BinaryPrimitives.ReadUInt32BigEndian(tcp[4..]);
            BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], unchecked(sequence + (uint)(index * segmentSize)));
            if (!last)
            {
                tcp[13] &= unchecked((byte)~(TcpFin | TcpPsh));
            }

            if (index > 0)
            {
                tcp[13] &= unchecked((byte)~TcpCwr);
            }
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(segment[(transport + 4)..], (ushort)(segment.Length - transport));
        }

        TransportChecksum.Fill(segment, TransportLayout.ForSegment(network, headers.IsIpv6, headers.Protocol, transport, segment.Length - transport));
    }
}
