using System.Buffers.Binary;
using NetBufNative.Apps;
using NetBufNative.Wire;

namespace NetBufNative.Tests.Fuzz;

/// <summary>
/// The wire-format parsers and the pure responder, each fed one frame that ends where readable
/// memory ends (<see cref="GuardedPage"/>). Checked: no exception but the documented ones, every
/// view inside the given bytes, checksums equal to a textbook RFC 1071 sum, setters writing back
/// what the getters read without touching other bytes, and the responder's replies well formed.
/// </summary>
internal static class WireTargets
{
    /// <summary>The responder's hardware address in every target (as in the wire tests' frames).</summary>
    public static readonly MacAddress OurMac = MacAddress.Parse("02:00:00:00:00:01");

    /// <summary>The responder's IPv4 address in every target.</summary>
    public static readonly Ipv4Address OurIp = new(10, 0, 0, 1);

    /// <summary>EthernetFrame.TryParse and the view's fields.</summary>
    /// <param name="input">The frame.</param>
    public static void Ethernet(ReadOnlySpan<byte> input)
    {
        Span<byte> frame = GuardedPage.Place(input);
        byte[] before = frame.ToArray();
        bool parsed = EthernetFrame.TryParse(frame, out EthernetFrame view);
        bool tagged = frame.Length >= 14 && BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) == 0x8100;
        int needed = tagged ? 18 : 14;
        FuzzFindingException.Check(parsed == frame.Length >= needed, $"EthernetFrame.TryParse returned {parsed} for {frame.Length} bytes (tagged {tagged})");
        if (!parsed)
        {
            return;
        }

        FuzzFindingException.Check(view.HasVlanTag == tagged && view.HeaderLength == needed, "Ethernet header length wrong");
        FuzzFindingException.Check(view.Frame.Length == frame.Length && GuardedPage.IsWithin(view.Frame, frame), "Ethernet view is not the frame");
        FuzzFindingException.Check(GuardedPage.IsWithin(view.Payload, frame) && view.Payload.Length == frame.Length - needed, "Ethernet payload outside the frame");
        FuzzFindingException.Check((ushort)view.EtherType == BinaryPrimitives.ReadUInt16BigEndian(frame[(needed - 2)..]), "EtherType read from the wrong place");
        FuzzFindingException.Check(view.VlanId == (view.VlanTagControl & 0xFFF) && view.VlanPriority == view.VlanTagControl >> 13, "VLAN fields inconsistent");
        view.Destination = view.Destination;
        view.Source = view.Source;
        view.EtherType = view.EtherType;
        FuzzFindingException.Check(frame.SequenceEqual(before), "writing back the Ethernet fields changed the frame");
    }

    /// <summary>ArpPacket.TryParse and the view's fields.</summary>
    /// <param name="input">The packet (an Ethernet payload).</param>
    public static void Arp(ReadOnlySpan<byte> input)
    {
        Span<byte> packet = GuardedPage.Place(input);
        byte[] before = packet.ToArray();
        if (!ArpPacket.TryParse(packet, out ArpPacket arp))
        {
            FuzzFindingException.Check(packet.SequenceEqual(before), "a failed ARP parse changed the bytes");
            return;
        }

        FuzzFindingException.Check(packet.Length >= ArpPacket.Length, $"ARP parsed from {packet.Length} bytes");
        FuzzFindingException.Check(GuardedPage.IsWithin(arp.Packet, packet) && arp.Packet.Length == ArpPacket.Length, "ARP view outside the bytes or of the wrong length");
        FuzzFindingException.Check(BinaryPrimitives.ReadUInt32BigEndian(packet) == 0x0001_0800 && packet[4] == 6 && packet[5] == 4, "ARP parsed with other than Ethernet/IPv4 fields");
        arp.Operation = arp.Operation;
        arp.SenderHardwareAddress = arp.SenderHardwareAddress;
        arp.SenderProtocolAddress = arp.SenderProtocolAddress;
        arp.TargetHardwareAddress = arp.TargetHardwareAddress;
        arp.TargetProtocolAddress = arp.TargetProtocolAddress;
        FuzzFindingException.Check(packet.SequenceEqual(before), "writing back the ARP fields changed the bytes");
    }

    /// <summary>Ipv4Packet.TryParse, the view's fields and its header checksum.</summary>
    /// <param name="input">The packet (an Ethernet payload).</param>
    public static void Ipv4(ReadOnlySpan<byte> input)
    {
        Span<byte> packet = GuardedPage.Place(input);
        byte[] before = packet.ToArray();
        if (!Ipv4Packet.TryParse(packet, out Ipv4Packet ip))
        {
            return;
        }

        int headerLength = (packet[0] & 0xF) * 4;
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]);
        FuzzFindingException.Check(
            packet[0] >> 4 == 4 && headerLength >= 20 && totalLength >= headerLength && totalLength <= packet.Length,
            $"IPv4 parsed with IHL {headerLength}, total {totalLength}, {packet.Length} bytes");
        FuzzFindingException.Check(ip.HeaderLength == headerLength && ip.TotalLength == totalLength && ip.Version == 4, "IPv4 lengths wrong");
        FuzzFindingException.Check(
            GuardedPage.IsWithin(ip.Packet, packet) && GuardedPage.IsWithin(ip.Header, ip.Packet) &&
            GuardedPage.IsWithin(ip.Options, ip.Header) && GuardedPage.IsWithin(ip.Payload, ip.Packet) &&
            ip.Payload.Length == totalLength - headerLength && ip.Options.Length == headerLength - 20,
            "IPv4 views outside the packet");
        FuzzFindingException.Check(ip.IsHeaderChecksumValid == (Reference.Sum(packet[..headerLength], 0) == 0xFFFF), "IPv4 header checksum differs from the reference sum");
        _ = ip.FragmentOffset + (ip.DontFragment ? 1 : 0) + (ip.MoreFragments ? 1 : 0) + (ip.IsFragment ? 1 : 0) + ip.TypeOfService + ip.Identification;
        ip.TimeToLive = ip.TimeToLive;
        ip.Protocol = ip.Protocol;
        ip.Source = ip.Source;
        ip.Destination = ip.Destination;
        ip.HeaderChecksum = ip.HeaderChecksum;
        ip.TypeOfService = ip.TypeOfService;
        ip.Identification = ip.Identification;
        FuzzFindingException.Check(packet.SequenceEqual(before), "writing back the IPv4 fields changed the bytes");
        ip.FillHeaderChecksum();
        FuzzFindingException.Check(ip.IsHeaderChecksumValid && Reference.Sum(packet[..headerLength], 0) == 0xFFFF, "IPv4 header checksum not valid after FillHeaderChecksum");
        FuzzFindingException.Check(packet[..10].SequenceEqual(before.AsSpan(0, 10)) && packet[12..].SequenceEqual(before.AsSpan(12)), "FillHeaderChecksum wrote outside the checksum");
    }

    /// <summary>IcmpV4Packet.TryParse, its fields and checksum.</summary>
    /// <param name="input">The message (an IPv4 payload).</param>
    public static void Icmp(ReadOnlySpan<byte> input)
    {
        Span<byte> message = GuardedPage.Place(input);
        byte[] before = message.ToArray();
        bool parsed = IcmpV4Packet.TryParse(message, out IcmpV4Packet icmp);
        FuzzFindingException.Check(parsed == message.Length >= IcmpV4Packet.HeaderLength, $"ICMP TryParse returned {parsed} for {message.Length} bytes");
        if (!parsed)
        {
            return;
        }

        FuzzFindingException.Check(GuardedPage.IsWithin(icmp.Message, message) && icmp.Message.Length == message.Length && GuardedPage.IsWithin(icmp.Data, message), "ICMP views outside the message");
        FuzzFindingException.Check(icmp.IsChecksumValid == (Reference.Sum(message, 0) == 0xFFFF), "ICMP checksum differs from the reference sum");
        _ = icmp.EchoIdentifier + icmp.EchoSequence;
        icmp.Type = icmp.Type;
        icmp.Code = icmp.Code;
        icmp.Checksum = icmp.Checksum;
        icmp.EchoIdentifier = icmp.EchoIdentifier;
        icmp.EchoSequence = icmp.EchoSequence;
        FuzzFindingException.Check(message.SequenceEqual(before), "writing back the ICMP fields changed the bytes");
        icmp.FillChecksum();
        FuzzFindingException.Check(icmp.IsChecksumValid && Reference.Sum(message, 0) == 0xFFFF, "ICMP checksum not valid after FillChecksum");
    }

    /// <summary>UdpDatagram.TryParse, its fields and its pseudo-header checksum.</summary>
    /// <param name="input">Eight bytes of source and destination address, then the datagram.</param>
    public static void Udp(ReadOnlySpan<byte> input)
    {
        var reader = new InputReader(input);
        var source = new Ipv4Address((uint)reader.Int32());
        var destination = new Ipv4Address((uint)reader.Int32());
        Span<byte> datagram = GuardedPage.Place(reader.Rest);
        bool parsed = UdpDatagram.TryParse(datagram, out UdpDatagram udp);
        int length = datagram.Length >= 8 ? BinaryPrimitives.ReadUInt16BigEndian(datagram[4..]) : -1;
        FuzzFindingException.Check(parsed == (length >= 8 && length <= datagram.Length), $"UDP TryParse returned {parsed} for length field {length} and {datagram.Length} bytes");
        if (!parsed)
        {
            return;
        }

        FuzzFindingException.Check(GuardedPage.IsWithin(udp.Datagram, datagram) && udp.Length == length && GuardedPage.IsWithin(udp.Payload, udp.Datagram), "UDP views outside the datagram");
        uint pseudo = Reference.PseudoHeaderSum(source, destination, 17, length);
        bool expected = udp.Checksum == 0 || Reference.Sum(datagram[..length], pseudo) == 0xFFFF;
        FuzzFindingException.Check(udp.IsChecksumValid(source, destination) == expected, "UDP checksum differs from the reference sum");
        udp.SourcePort = udp.SourcePort;
        udp.DestinationPort = udp.DestinationPort;
        udp.FillChecksum(source, destination);
        FuzzFindingException.Check(udp.Checksum != 0 && udp.IsChecksumValid(source, destination) && Reference.Sum(datagram[..length], pseudo) == 0xFFFF, "UDP checksum not valid after FillChecksum");
    }

    /// <summary>InternetChecksum.Sum, Compute, IsValid and Update against the textbook sum.</summary>
    /// <param name="input">Four bytes of initial sum, two of an old and two of a new word, then the data.</param>
    public static void Checksum(ReadOnlySpan<byte> input)
    {
        var reader = new InputReader(input);
        uint initial = (uint)reader.Int32();
        ushort oldWord = reader.UInt16();
        ushort newWord = reader.UInt16();
        Span<byte> data = GuardedPage.Place(reader.Rest);
        ushort expected = Reference.Sum(data, initial);
        FuzzFindingException.Check(InternetChecksum.Sum(data, initial) == expected, $"Sum of {data.Length} bytes with {initial:x} differs from the reference");
        FuzzFindingException.Check(InternetChecksum.Compute(data) == (ushort)~Reference.Sum(data, 0), "Compute differs from the reference");
        FuzzFindingException.Check(InternetChecksum.IsValid(data, initial) == (expected == 0xFFFF), "IsValid differs from the reference");

        // RFC 1624: changing one 16-bit word, the updated checksum verifies over the changed data.
        if (data.Length >= 2)
        {
            byte[] changed = data.ToArray();
            BinaryPrimitives.WriteUInt16BigEndian(changed, oldWord);
            ushort checksum = (ushort)~Reference.Sum(changed, 0);
            if (checksum != 0xFFFF)
            {
                BinaryPrimitives.WriteUInt16BigEndian(changed, newWord);
                ushort updated = InternetChecksum.Update(checksum, oldWord, newWord);
                ushort sum = Reference.Sum(changed, updated);
                FuzzFindingException.Check(sum == 0xFFFF || (updated == 0 && Reference.Sum(changed, 0) == 0), $"Update({checksum:x}, {oldWord:x}, {newWord:x}) = {updated:x} does not verify");
            }
        }
    }

    /// <summary>EchoResponder.TryAnswer on a frame ending at the guard page, followed by a differential check of the reply.</summary>
    /// <param name="input">The frame.</param>
    public static void Responder(ReadOnlySpan<byte> input)
    {
        Span<byte> frame = GuardedPage.Place(input);
        byte[] before = frame.ToArray();
        bool answered = EchoResponder.TryAnswer(frame, frame.Length, OurMac, OurIp, out int replyLength);
        if (!answered)
        {
            FuzzFindingException.Check(replyLength == 0 && frame.SequenceEqual(before), "an unanswered frame was changed");
            return;
        }

        CheckReply(before, frame, replyLength);
    }

    /// <summary>Checks a reply the responder wrote over <paramref name="request"/>: within the request, well formed, ours.</summary>
    /// <param name="request">The request as it was.</param>
    /// <param name="reply">The buffer holding the reply at its start.</param>
    /// <param name="replyLength">The reply's length.</param>
    public static void CheckReply(ReadOnlySpan<byte> request, Span<byte> reply, int replyLength)
    {
        FuzzFindingException.Check(replyLength > 0 && replyLength <= request.Length, $"reply of {replyLength} bytes to a request of {request.Length}");
        FuzzFindingException.Check(reply[replyLength..request.Length].SequenceEqual(request[replyLength..]), "the responder wrote past its reply");
        Span<byte> bytes = reply[..replyLength];
        FuzzFindingException.Check(EthernetFrame.TryParse(bytes, out EthernetFrame ethernet), "reply is not an Ethernet frame");
        FuzzFindingException.Check(ethernet.Source == OurMac && !ethernet.Destination.IsMulticast, "reply not from us, or to a group address");
        FuzzFindingException.Check(ethernet.HasVlanTag == (BinaryPrimitives.ReadUInt16BigEndian(request[12..]) == 0x8100), "VLAN tag not kept");
        if (ethernet.EtherType == EtherType.Arp)
        {
            FuzzFindingException.Check(ArpPacket.TryParse(ethernet.Payload, out ArpPacket arp) && ethernet.Payload.Length == ArpPacket.Length, "ARP reply malformed or padded");
            FuzzFindingException.Check(
                arp.Operation == ArpOperation.Reply && arp.SenderHardwareAddress == OurMac && arp.SenderProtocolAddress == OurIp &&
                arp.TargetHardwareAddress == ethernet.Destination,
                "ARP reply fields wrong");
            return;
        }

        FuzzFindingException.Check(ethernet.EtherType == EtherType.Ipv4, $"reply of EtherType {ethernet.EtherType}");
        FuzzFindingException.Check(Ipv4Packet.TryParse(ethernet.Payload, out Ipv4Packet ip) && ip.TotalLength == ethernet.Payload.Length, "IPv4 reply malformed or padded");
        FuzzFindingException.Check(Reference.Sum(ip.Header, 0) == 0xFFFF, "IPv4 reply header checksum wrong");
        FuzzFindingException.Check(ip.Source == OurIp && ip.Protocol == IpProtocol.Icmp && !ip.IsFragment && ip.TimeToLive == Ipv4Packet.DefaultTimeToLive, "IPv4 reply fields wrong");
        FuzzFindingException.Check(!ip.Destination.IsBroadcast && !ip.Destination.IsMulticast && !ip.Destination.IsUnspecified, "echo reply to a group or unspecified address");
        FuzzFindingException.Check(IcmpV4Packet.TryParse(ip.Payload, out IcmpV4Packet icmp) && icmp.Type == IcmpV4Type.EchoReply && icmp.Code == 0, "ICMP reply malformed");
        FuzzFindingException.Check(Reference.Sum(icmp.Message, 0) == 0xFFFF, "ICMP reply checksum wrong");
    }

    /// <summary>Textbook one's complement sums, one big-endian word at a time: what the library is checked against.</summary>
    internal static class Reference
    {
        /// <summary>The folded one's complement sum of <paramref name="data"/> plus <paramref name="initial"/>.</summary>
        /// <param name="data">The bytes; an odd last byte is the high byte of a word.</param>
        /// <param name="initial">A sum to start from (folded in).</param>
        /// <returns>The 16-bit sum, not complemented.</returns>
        public static ushort Sum(ReadOnlySpan<byte> data, uint initial)
        {
            ulong sum = initial;
            for (int i = 0; i < data.Length; i += 2)
            {
                sum += i + 1 < data.Length ? BinaryPrimitives.ReadUInt16BigEndian(data[i..]) : (uint)(data[i] << 8);
            }

            while (sum > 0xFFFF)
            {
                sum = (sum & 0xFFFF) + (sum >> 16);
            }

            return (ushort)sum;
        }

        /// <summary>The sum of the IPv4 pseudo-header (RFC 768).</summary>
        /// <param name="source">The source address.</param>
        /// <param name="destination">The destination address.</param>
        /// <param name="protocol">The protocol number.</param>
        /// <param name="length">The upper-layer length.</param>
        /// <returns>The unfolded sum.</returns>
        public static uint PseudoHeaderSum(Ipv4Address source, Ipv4Address destination, byte protocol, int length) =>
            (source.Value >> 16) + (source.Value & 0xFFFF) + (destination.Value >> 16) + (destination.Value & 0xFFFF) + protocol + (uint)length;
    }
}
