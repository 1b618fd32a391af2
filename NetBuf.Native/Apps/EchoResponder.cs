using NetBufNative.Drivers.Linux;
using NetBufNative.Internal;
using NetBufNative.Wire;

namespace NetBufNative.Apps;

/// <summary>
/// The core of an ARP and ICMP echo responder: looks at one received Ethernet frame and, when it is
/// an ARP request for our IPv4 address or an ICMP echo request to it, rewrites the same buffer into
/// the reply. Pure and allocation-free: no copy of the payload, no state, nothing but the frame's
/// bytes is read or written.
/// </summary>
/// <remarks>
/// <para>What is answered (everything else is left for the caller, and the frame is not changed):</para>
/// <list type="bullet">
/// <item><description>
/// ARP (Ethernet/IPv4) requests whose target protocol address is ours, sent to the broadcast
/// address or to our MAC address (a unicast refresh). Probes with sender address 0.0.0.0 (RFC 5227)
/// are answered too, as Linux does. The reply goes to the request's sender hardware address.
/// </description></item>
/// <item><description>
/// ICMP echo requests (type 8, code 0) sent to our MAC address and our IPv4 address, with correct IPv4
/// header and ICMP checksums, not fragmented. Pings to a broadcast or multicast MAC or IP address
/// are ignored (as Linux's <c>icmp_echo_ignore_broadcasts</c> does), and so are packets from sources
/// Linux drops as martians: our own IPv4 address, 0/8, 127/8, multicast and reserved (224/4, 240/4)
/// addresses, and frames from our own or the all-zero MAC address. ARP from those, and ARP
/// announcements of our own address, are not answered either.
/// </description></item>
/// </list>
/// <para>
/// IP options are parsed: malformed ones make the packet ignored, and so do source-route options
/// (LSRR, SSRR; Linux drops source-routed packets by default). The reply does not echo the other
/// options (RFC 1122 3.2.2.6 asks for record-route and timestamp to be echoed, a SHOULD): they are
/// overwritten with end-of-list padding, keeping the header's length so that no byte of the payload
/// moves. The reply's time to live is <see cref="Ipv4Packet.DefaultTimeToLive"/>, its IPv4 checksum
/// is recomputed (at most 60 bytes) and its ICMP checksum updated incrementally (RFC 1624), so the
/// cost does not grow with the echo's data.
/// </para>
/// <para>
/// An 802.1Q tag in the frame is kept: the reply goes back on the same VLAN. Over a
/// <see cref="TapDriver"/> frames arrive as they were on the wire. The kernel takes the outer tag
/// off a frame before an AF_PACKET socket sees it, and <see cref="AfPacketDriver"/> puts it back
/// (<see cref="AfPacketDriverOptions.RestoreVlanTags"/>, the default), so over it too a VLAN's
/// requests are answered on their VLAN; with that option off they arrive, and are answered,
/// untagged. Ethernet padding after the IPv4 packet or the ARP packet is not part of the reply (a
/// NIC pads short frames; TAP and AF_PACKET need no padding). Pure: thread-safe for distinct
/// buffers.
/// </para>
/// </remarks>
public static class EchoResponder
{
    // IP option types (RFC 791): end of option list, no operation, and the two source routes.
    private const byte OptionEndOfList = 0;
    private const byte OptionNoOperation = 1;
    private const byte OptionLooseSourceRoute = 0x83;
    private const byte OptionStrictSourceRoute = 0x89;

    // The first 16-bit word of an echo request and of an echo reply: type, then code 0.
    private const ushort EchoRequestWord = (ushort)IcmpV4Type.EchoRequest << 8;
    private const ushort EchoReplyWord = (ushort)IcmpV4Type.EchoReply << 8;

    /// <summary>
    /// Answers the frame in place when it is an ARP request for <paramref name="ourAddress"/> or an
    /// ICMP echo request to it (see the remarks on <see cref="EchoResponder"/> for exactly which).
    /// </summary>
    /// <param name="frame">The buffer holding the received frame at its start; the reply is written over it.</param>
    /// <param name="frameLength">The received frame's length, without the frame check sequence.</param>
    /// <param name="ourMac">Our MAC address.</param>
    /// <param name="ourAddress">Our IPv4 address.</param>
    /// <param name="replyLength">The reply's length from the start of <paramref name="frame"/>, or 0.</param>
    /// <returns>
    /// <see langword="true"/> when <paramref name="frame"/> now holds the reply to transmit;
    /// <see langword="false"/> for every other frame (truncated, malformed, hostile or simply not
    /// ours), which is left unchanged. Never throws for any content of the frame.
    /// </returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="frameLength"/> is negative or beyond the buffer.</exception>
    public static bool TryAnswer(Span<byte> frame, int frameLength, MacAddress ourMac, Ipv4Address ourAddress, out int replyLength)
    {
        if ((uint)frameLength > (uint)frame.Length)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(frameLength), frameLength, $"The frame length must be between 0 and {frame.Length} (the buffer's length).");
        }

        replyLength = 0;
        if (!EthernetFrame.TryParse(frame[..frameLength], out EthernetFrame ethernet) || ethernet.Source.IsMulticast ||
            ethernet.Source == ourMac || ethernet.Source.Value == 0)
        {
            // A group address is never a source, and a reply must not go to one; a frame from our
            // own address (a loop, or another host claiming it) or from the all-zero address is not
            // a host asking.
            return false;
        }

        return ethernet.EtherType switch
        {
            EtherType.Arp => TryAnswerArp(ethernet, ourMac, ourAddress, out replyLength),
            EtherType.Ipv4 => TryAnswerEcho(ethernet, ourMac, ourAddress, out replyLength),
            _ => false,
        };
    }

    private static bool TryAnswerArp(EthernetFrame ethernet, MacAddress ourMac, Ipv4Address ourAddress, out int replyLength)
    {
        replyLength = 0;
        MacAddress destination = ethernet.Destination;
        if ((!destination.IsBroadcast && destination != ourMac) ||
            !ArpPacket.TryParse(ethernet.Payload, out ArpPacket arp) ||
            arp.Operation != ArpOperation.Request ||
            arp.TargetProtocolAddress != ourAddress)
        {
            return false;
        }

        MacAddress requester = arp.SenderHardwareAddress;
        Ipv4Address requesterAddress = arp.SenderProtocolAddress;
        // A probe (sender 0.0.0.0, RFC 5227) is answered; an announcement of our own address (a
        // conflict) and martian senders are not.
        if (requester.IsMulticast || requester == ourMac || requester.Value == 0 ||
            (!requesterAddress.IsUnspecified && IsMartian(requesterAddress, ourAddress)))
        {
            return false;
        }

        ethernet.Destination = requester;
        ethernet.Source = ourMac;
        arp.Operation = ArpOperation.Reply;
        arp.TargetHardwareAddress = requester;
        arp.TargetProtocolAddress = requesterAddress;
        arp.SenderHardwareAddress = ourMac;
        arp.SenderProtocolAddress = ourAddress;
        replyLength = ethernet.HeaderLength + ArpPacket.Length;
        return true;
    }

    private static bool TryAnswerEcho(EthernetFrame ethernet, MacAddress ourMac, Ipv4Address ourAddress, out int replyLength)
    {
        replyLength = 0;
        if (ethernet.Destination != ourMac ||
            !Ipv4Packet.TryParse(ethernet.Payload, out Ipv4Packet ip) ||
            ip.Protocol != IpProtocol.Icmp ||
            ip.Destination != ourAddress ||
            ip.IsFragment ||
            !ip.IsHeaderChecksumValid)
        {
            return false;
        }

        Ipv4Address requester = ip.Source;
        if (requester.IsUnspecified || IsMartian(requester, ourAddress) || !AreOptionsAcceptable(ip.Options))
        {
            return false;
        }

        if (!IcmpV4Packet.TryParse(ip.Payload, out IcmpV4Packet icmp) ||
            icmp.Type != IcmpV4Type.EchoRequest ||
            icmp.Code != 0 ||
            !icmp.IsChecksumValid)
        {
            return false;
        }

        ethernet.Destination = ethernet.Source;
        ethernet.Source = ourMac;

        ip.Options.Clear();
        ip.Destination = requester;
        ip.Source = ourAddress;
        ip.TimeToLive = Ipv4Packet.DefaultTimeToLive;
        ip.FillHeaderChecksum();

        icmp.Type = IcmpV4Type.EchoReply;
        ushort checksum = InternetChecksum.Update(icmp.Checksum, EchoRequestWord, EchoReplyWord);
        if (checksum == 0)
        {
            // The incremental update gives 0 for an all-zero message, whose checksum is 0xFFFF;
            // summing again settles it (and costs only on this rare path).
            icmp.FillChecksum();
        }
        else
        {
            icmp.Checksum = checksum;
        }

        replyLength = ethernet.HeaderLength + ip.TotalLength;
        return true;
    }

    // Sources no host on the wire can have, which Linux drops as martians: our own address, 0/8,
    // loopback 127/8, multicast 224/4 and the reserved 240/4 with the broadcast 255.255.255.255.
    private static bool IsMartian(Ipv4Address source, Ipv4Address ourAddress)
    {
        uint first = source.Value >> 24;
        return source == ourAddress || first is 0 or 127 || first >= 224;
    }

    // Walks the options (RFC 791): false for a malformed list or a source route.
    private static bool AreOptionsAcceptable(ReadOnlySpan<byte> options)
    {
        int i = 0;
        while (i < options.Length)
        {
            byte type = options[i];
            if (type == OptionEndOfList)
            {
                return true;
            }

            if (type == OptionNoOperation)
            {
                i++;
                continue;
            }

            // Every other option is type, length (counting both), data.
            if (i + 1 >= options.Length)
            {
                return false;
            }

            int length = options[i + 1];
            if (length < 2 || length > options.Length - i || type is OptionLooseSourceRoute or OptionStrictSourceRoute)
            {
                return false;
            }

            i += length;
        }

        return true;
    }
}
