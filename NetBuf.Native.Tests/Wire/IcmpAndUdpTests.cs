using NetBufNative.Wire;
using NUnit.Framework;

namespace NetBufNative.Tests.Wire;

public sealed class IcmpAndUdpTests
{
    // A hand-built UDP datagram from 10.0.0.2:5353 to 10.0.0.1:53 carrying "hello", checksum 0x92e1.
    private const string HelloDatagram = "14e90035000d92e1" + "68656c6c6f";

    [Test]
    public void An_echo_request_shows_its_fields_and_data()
    {
        byte[] bytes = Frames.Bytes(Frames.PingRequest)[34..];
        Assert.That(IcmpV4Packet.TryParse(bytes, out var icmp), Is.True);
        Assert.That(icmp.Type, Is.EqualTo(IcmpV4Type.EchoRequest));
        Assert.That(icmp.Code, Is.Zero);
        Assert.That(icmp.Checksum, Is.EqualTo(0xa86b));
        Assert.That(icmp.IsChecksumValid, Is.True);
        Assert.That(icmp.EchoIdentifier, Is.EqualTo(0x1234));
        Assert.That(icmp.EchoSequence, Is.EqualTo(7));
        Assert.That(icmp.Message.Length, Is.EqualTo(64));
        Assert.That(icmp.Data.Length, Is.EqualTo(56));
        Assert.That(icmp.Data[0], Is.EqualTo((byte)'a'));
    }

    [Test]
    public void Icmp_setters_write_in_place_and_the_checksum_is_filled_on_request()
    {
        byte[] bytes = Frames.Bytes(Frames.PingRequest)[34..];
        Assert.That(IcmpV4Packet.TryParse(bytes, out var icmp), Is.True);
        icmp.Type = IcmpV4Type.EchoReply;
        Assert.That(icmp.IsChecksumValid, Is.False);
        icmp.FillChecksum();
        Assert.That(bytes, Is.EqualTo(Frames.Bytes(Frames.PingReply)[34..]));

        icmp.Type = IcmpV4Type.DestinationUnreachable;
        icmp.Code = 3;
        icmp.EchoIdentifier = 0xAAAA;
        icmp.EchoSequence = 0xBBBB;
        icmp.Checksum = 0xCCCC;
        Assert.That(bytes[..8], Is.EqualTo(Convert.FromHexString("0303ccccaaaabbbb")));
    }

    [Test]
    public void An_icmp_message_shorter_than_its_header_is_refused()
    {
        byte[] bytes = Frames.Bytes(Frames.PingRequest)[34..];
        for (int length = 0; length < 8; length++)
        {
            Assert.That(IcmpV4Packet.TryParse(bytes.AsSpan(0, length), out var none), Is.False);
            Assert.That(none.Message.IsEmpty, Is.True);
        }

        Assert.That(IcmpV4Packet.TryParse(bytes.AsSpan(0, 8), out var headerOnly), Is.True);
        Assert.That(headerOnly.Data.IsEmpty, Is.True);
    }

    [Test]
    public void A_created_echo_request_matches_the_hand_built_one()
    {
        byte[] buffer = Frames.Bytes(Frames.PingRequest)[34..];
        buffer.AsSpan(0, 8).Fill(0x99);
        Assert.That(IcmpV4Packet.TryCreate(buffer, IcmpV4Type.EchoRequest, 0, out var icmp), Is.True);
        Assert.That(buffer[..8], Is.EqualTo(Convert.FromHexString("0800000000000000")));
        icmp.EchoIdentifier = 0x1234;
        icmp.EchoSequence = 7;
        icmp.FillChecksum();
        Assert.That(buffer, Is.EqualTo(Frames.Bytes(Frames.PingRequest)[34..]));

        byte[] tooShort = new byte[7];
        Assert.That(IcmpV4Packet.TryCreate(tooShort, IcmpV4Type.EchoRequest, 0, out _), Is.False);
        Assert.That(tooShort, Is.All.Zero);
    }

    [Test]
    public void A_datagram_shows_its_ports_length_checksum_and_payload()
    {
        byte[] bytes = Convert.FromHexString(HelloDatagram + "0000");
        Assert.That(UdpDatagram.TryParse(bytes, out var udp), Is.True);
        Assert.That((udp.SourcePort, udp.DestinationPort, udp.Length, udp.Checksum), Is.EqualTo((5353, 53, 13, 0x92e1)));
        Assert.That(udp.Datagram.Length, Is.EqualTo(13), "bytes after the length are not part of it");
        Assert.That(udp.Payload.ToArray(), Is.EqualTo("hello"u8.ToArray()));
        Assert.That(udp.IsChecksumValid(Frames.PeerIp, Frames.OurIp), Is.True);
        Assert.That(udp.IsChecksumValid(Frames.OurIp, Frames.PeerIp), Is.True, "swapped addresses sum the same");
        Assert.That(udp.IsChecksumValid(Frames.PeerIp, new Ipv4Address(10, 0, 0, 3)), Is.False);
        bytes[8] ^= 1;
        Assert.That(udp.IsChecksumValid(Frames.PeerIp, Frames.OurIp), Is.False);
        udp.Checksum = 0;
        Assert.That(udp.IsChecksumValid(Frames.PeerIp, Frames.OurIp), Is.True, "0: the sender computed none");
    }

    [Test]
    public void A_created_datagram_matches_the_hand_built_one()
    {
        byte[] buffer = new byte[20];
        "hello"u8.CopyTo(buffer.AsSpan(8));
        Assert.That(UdpDatagram.TryCreate(buffer, 5353, 53, 5, out var udp), Is.True);
        Assert.That(udp.Checksum, Is.Zero);
        udp.FillChecksum(Frames.PeerIp, Frames.OurIp);
        Assert.That(buffer[..13], Is.EqualTo(Convert.FromHexString(HelloDatagram)));
        udp.SourcePort = 1;
        udp.DestinationPort = 2;
        Assert.That(buffer[..4], Is.EqualTo(new byte[] { 0, 1, 0, 2 }));
    }

    [Test]
    public void A_computed_checksum_of_zero_is_sent_as_all_ones()
    {
        // Payload ebd4 makes the datagram from port 1 to 2 between these addresses sum to 0xFFFF.
        byte[] buffer = Convert.FromHexString("0001000200000000ebd4");
        Assert.That(UdpDatagram.TryCreate(buffer, 1, 2, 2, out var udp), Is.True);
        udp.FillChecksum(Frames.PeerIp, Frames.OurIp);
        Assert.That(udp.Checksum, Is.EqualTo(0xFFFF));
        Assert.That(udp.IsChecksumValid(Frames.PeerIp, Frames.OurIp), Is.True);
    }

    [Test]
    public void Truncated_or_lying_datagrams_are_refused_and_creation_checks_its_lengths()
    {
        byte[] bytes = Convert.FromHexString(HelloDatagram);
        for (int length = 0; length < 13; length++)
        {
            Assert.That(UdpDatagram.TryParse(bytes.AsSpan(0, length), out var none), Is.False, $"{length} bytes");
            Assert.That(none.Datagram.IsEmpty, Is.True);
        }

        foreach (ushort lie in new ushort[] { 0, 7, 14, 65535 })
        {
            bytes[4] = (byte)(lie >> 8);
            bytes[5] = (byte)lie;
            Assert.That(UdpDatagram.TryParse(bytes, out _), Is.False, $"length field {lie}");
        }

        byte[] buffer = new byte[70000];
        Assert.That(UdpDatagram.TryCreate(buffer, 1, 2, -1, out _), Is.False);
        Assert.That(UdpDatagram.TryCreate(buffer, 1, 2, 65528, out _), Is.False);
        Assert.That(UdpDatagram.TryCreate(buffer.AsSpan(0, 12), 1, 2, 5, out _), Is.False);
        Assert.That(UdpDatagram.TryCreate(buffer.AsSpan(0, 7), 1, 2, 0, out _), Is.False);
        Assert.That(buffer, Is.All.Zero);
        Assert.That(UdpDatagram.TryCreate(buffer, 1, 2, 65527, out var largest), Is.True);
        Assert.That(largest.Length, Is.EqualTo(65535));
    }
}
