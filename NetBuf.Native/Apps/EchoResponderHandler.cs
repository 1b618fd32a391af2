using NetBufNative.Processing;
using NetBufNative.Wire;

namespace NetBufNative.Apps;

/// <summary>
/// The echo responder as a <see cref="PacketLoop"/> handler: a host that answers ARP requests for its IPv4 address and
/// ICMP echo requests to it, each reply written over its request in the same buffer (<see cref="EchoResponder.TryAnswer"/>)
/// and sent back on the port it came from; every other frame is dropped and counted. No content of a frame makes it
/// throw: truncated, lying or hostile frames are counted as <see cref="Malformed"/>.
/// </summary>
/// <remarks>
/// Called on one loop's thread; the counters may be read from any thread (each a moment's value). Copies nothing and
/// allocates nothing per frame. <see cref="EchoResponderLoop"/> runs one over a single driver.
/// </remarks>
public sealed class EchoResponderHandler : IPacketHandler
{
    private long _arpReplies;
    private long _echoReplies;
    private long _ignored;
    private long _malformed;

    /// <summary>Creates a responder for <paramref name="address"/> that answers from <paramref name="macAddress"/>.</summary>
    /// <param name="macAddress">The responder's hardware address (a unicast one): ARP replies give it, and replies are sent from it.</param>
    /// <param name="address">The IPv4 address it answers for.</param>
    /// <exception cref="ArgumentException"><paramref name="address"/> is unspecified, broadcast or multicast, or <paramref name="macAddress"/> is a group address.</exception>
    public EchoResponderHandler(MacAddress macAddress, Ipv4Address address)
    {
        if (address.IsUnspecified || address.IsBroadcast || address.IsMulticast)
        {
            throw new ArgumentException($"{address} cannot be a host's address (unspecified, broadcast or multicast).", nameof(address));
        }

        if (macAddress.IsMulticast)
        {
            throw new ArgumentException($"{macAddress} is a group address; a host's hardware address is unicast.", nameof(macAddress));
        }

        MacAddress = macAddress;
        Address = address;
    }

    /// <summary>The hardware address replies are sent from.</summary>
    public MacAddress MacAddress { get; }

    /// <summary>The IPv4 address the responder answers for.</summary>
    public Ipv4Address Address { get; }

    /// <summary>ARP requests for <see cref="Address"/>, answered.</summary>
    public long ArpReplies => Volatile.Read(ref _arpReplies);

    /// <summary>ICMP echo requests to <see cref="Address"/>, answered.</summary>
    public long EchoReplies => Volatile.Read(ref _echoReplies);

    /// <summary>Well-formed frames not for the responder (other addresses or protocols, replies, broadcasts), dropped.</summary>
    public long Ignored => Volatile.Read(ref _ignored);

    /// <summary>Frames that do not parse (shorter than an Ethernet header; ARP or IPv4 truncated, lying about its length, or
    /// with a bad IPv4 header checksum), dropped.</summary>
    public long Malformed => Volatile.Read(ref _malformed);

    /// <inheritdoc/>
    public void OnReceived(PacketBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        for (int i = 0; i < batch.Count; i++)
        {
            Span<byte> bytes = batch.Frame(i);
            if (EchoResponder.TryAnswer(bytes, bytes.Length, MacAddress, Address, out int replyLength))
            {
                if (EthernetFrame.TryParse(bytes[..replyLength], out EthernetFrame reply) && reply.EtherType == EtherType.Arp)
                {
                    Volatile.Write(ref _arpReplies, _arpReplies + 1);
                }
                else
                {
                    Volatile.Write(ref _echoReplies, _echoReplies + 1);
                }

                // The reply starts where the request did; only its length may change (no Ethernet padding).
                if (replyLength != bytes.Length)
                {
                    batch.SetFrameLength(i, replyLength);
                }

                batch.Transmit(i, batch.Port);
            }
            else if (IsMalformed(bytes))
            {
                Volatile.Write(ref _malformed, _malformed + 1);
            }
            else
            {
                Volatile.Write(ref _ignored, _ignored + 1);
            }
        }
    }

    /// <summary>Whether an unanswered frame fails to parse: no whole Ethernet header, or ARP/IPv4 that is truncated, lies about its length or fails its checksum.</summary>
    private static bool IsMalformed(Span<byte> frame)
    {
        if (!EthernetFrame.TryParse(frame, out EthernetFrame ethernet))
        {
            return true;
        }

        return ethernet.EtherType switch
        {
            EtherType.Arp => !ArpPacket.TryParse(ethernet.Payload, out _),
            EtherType.Ipv4 => !Ipv4Packet.TryParse(ethernet.Payload, out Ipv4Packet ip) || !ip.IsHeaderChecksumValid,
            _ => false,
        };
    }
}
