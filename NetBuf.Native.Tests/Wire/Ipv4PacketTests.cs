using System.Globalization;
using System.Buffers.Binary;
using NetBufNative.Wire;
using NUnit.Framework;

namespace NetBufNative.Tests.Wire;

public sealed class Ipv4PacketTests
{
    private static byte[] Packet(string frame) => Frames.Bytes(frame)[14..];

    [Test]
    public void A_packet_shows_every_header_field()
    {
        byte[] bytes = Packet(Frames.PingRequest);
        Assert.That(Ipv4Packet.TryParse(bytes, out var ip), Is.True);
        Assert.That(ip.Version, Is.EqualTo(4));
        Assert.That(ip.HeaderLength, Is.EqualTo(20));
        Assert.That(ip.TotalLength, Is.EqualTo(84));
        Assert.That(ip.TypeOfService, Is.Zero);
        Assert.That(ip.Identification, Is.EqualTo(0x1c46));
        Assert.That(ip.DontFragment, Is.True);
        Assert.That(ip.MoreFragments, Is.False);
        Assert.That(ip.FragmentOffset, Is.Zero);
        Assert.That(ip.IsFragment, Is.False);
        Assert.That(ip.TimeToLive, Is.EqualTo(63));
        Assert.That(ip.Protocol, Is.EqualTo(IpProtocol.Icmp));
        Assert.That(ip.HeaderChecksum, Is.EqualTo(0x0b61));
        Assert.That(ip.IsHeaderChecksumValid, Is.True);
        Assert.That(ip.Source, Is.EqualTo(Frames.PeerIp));
        Assert.That(ip.Destination, Is.EqualTo(Frames.OurIp));
        Assert.That(ip.Options.IsEmpty, Is.True);
        Assert.That(ip.Header.Length, Is.EqualTo(20));
        Assert.That(ip.Packet.Length, Is.EqualTo(84));
        Assert.That(ip.Payload.Length, Is.EqualTo(64));
        Assert.That(ip.Payload[0], Is.EqualTo(8), "the ICMP type");
    }

    [Test]
    public void Options_extend_the_header_and_the_checksum_covers_them()
    {
        byte[] bytes = Packet(Frames.PingRequestWithOptions);
        Assert.That(Ipv4Packet.TryParse(bytes, out var ip), Is.True);
        Assert.That(ip.HeaderLength, Is.EqualTo(28));
        Assert.That(ip.Options.ToArray(), Is.EqualTo(Convert.FromHexString("0707040000000000")));
        Assert.That(ip.Payload.Length, Is.EqualTo(64));
        Assert.That(ip.Payload[0], Is.EqualTo(8));
        Assert.That(ip.IsHeaderChecksumValid, Is.True);
        bytes[22] ^= 0x40;
        Assert.That(ip.IsHeaderChecksumValid, Is.False, "a changed option byte breaks the checksum");
        ip.FillHeaderChecksum();
        Assert.That(ip.IsHeaderChecksumValid, Is.True);
        Assert.That(ip.HeaderChecksum, Is.EqualTo(Frames.ReferenceChecksumWithZeroField(bytes.AsSpan(0, 28), 10)));
    }

    [Test]
    public void Padding_after_the_total_length_is_not_part_of_the_packet()
    {
        byte[] padded = [.. Packet(Frames.PingRequest), 0xEE, 0xEE, 0xEE];
        Assert.That(Ipv4Packet.TryParse(padded, out var ip), Is.True);
        Assert.That(ip.Packet.Length, Is.EqualTo(84));
        Assert.That(ip.Payload.Length, Is.EqualTo(64));
        Assert.That(ip.Payload[^1], Is.EqualTo(0x3f));
    }

    [Test]
    public void Setters_write_the_fields_and_the_checksum_is_filled_on_request()
    {
        byte[] bytes = Packet(Frames.PingRequest);
        Assert.That(Ipv4Packet.TryParse(bytes, out var ip), Is.True);
        ip.TypeOfService = 0xB8;
        ip.Identification = 0xBEEF;
        ip.DontFragment = false;
        ip.MoreFragments = true;
        ip.FragmentOffset = 185;
        ip.TimeToLive = 1;
        ip.Protocol = IpProtocol.Udp;
        ip.Source = new Ipv4Address(192, 0, 2, 1);
        ip.Destination = new Ipv4Address(198, 51, 100, 7);
        Assert.That(ip.IsHeaderChecksumValid, Is.False, "setters leave the checksum alone");
        ip.FillHeaderChecksum();
        Assert.That(ip.IsHeaderChecksumValid, Is.True);
        Assert.That(bytes[..20], Is.EqualTo(Convert.FromHexString(
            "45b80054beef" + "20b9" + "0111" + Frames.ReferenceChecksumWithZeroField(bytes.AsSpan(0, 20), 10).ToString("x4", CultureInfo.InvariantCulture) + "c0000201c6336407")));
        Assert.That((ip.TypeOfService, ip.Identification, ip.DontFragment, ip.MoreFragments, ip.FragmentOffset, ip.TimeToLive, ip.Protocol),
            Is.EqualTo((0xB8, 0xBEEF, false, true, 185, 1, IpProtocol.Udp)));

        ip.DontFragment = true;
        ip.MoreFragments = false;
        Assert.That(BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(6)), Is.EqualTo(0x4000 | 185));
        ip.HeaderChecksum = 0x1234;
        Assert.That(bytes[10..12], Is.EqualTo(new byte[] { 0x12, 0x34 }));
    }

    [Test]
    public void Fragments_are_flagged_by_either_more_fragments_or_an_offset()
    {
        byte[] bytes = Packet(Frames.PingRequest);
        Assert.That(Ipv4Packet.TryParse(bytes, out var ip), Is.True);
        ip.MoreFragments = true;
        Assert.That(ip.IsFragment, Is.True, "first fragment");
        ip.FragmentOffset = Ipv4Packet.MaxFragmentOffset;
        Assert.That(ip.FragmentOffset, Is.EqualTo(8191));
        Assert.That(ip.DontFragment, Is.True, "the offset leaves the flags alone");
        ip.MoreFragments = false;
        Assert.That(ip.IsFragment, Is.True, "last fragment");
        ip.FragmentOffset = 0;
        Assert.That(ip.IsFragment, Is.False);
    }

    [TestCase(-1)]
    [TestCase(8192)]
    public void A_fragment_offset_beyond_13_bits_throws_and_changes_nothing(int offset)
    {
        byte[] bytes = Packet(Frames.PingRequest);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() =>
        {
            Assert.That(Ipv4Packet.TryParse(bytes, out var ip), Is.True);
            ip.FragmentOffset = offset;
        });
        Assert.That(ex!.Message, Does.Contain("13 bits"));
        Assert.That(bytes, Is.EqualTo(Packet(Frames.PingRequest)));
    }

    [Test]
    public void Every_truncation_of_a_packet_is_refused()
    {
        byte[] bytes = Packet(Frames.PingRequestWithOptions);
        for (int length = 0; length < bytes.Length; length++)
        {
            Assert.That(Ipv4Packet.TryParse(bytes.AsSpan(0, length), out var none), Is.False, $"{length} of {bytes.Length} bytes");
            Assert.That(none.Packet.IsEmpty, Is.True);
        }
    }

    [TestCase(0x65, 84, "version 6")]
    [TestCase(0x44, 84, "header of 4 words (16 bytes)")]
    [TestCase(0x40, 84, "header of 0 words")]
    [TestCase(0x4F, 84, "header of 60 bytes is fine, but then the total must cover it: 84 does")]
    [TestCase(0x45, 19, "total length under the header")]
    [TestCase(0x45, 85, "total length past the bytes")]
    [TestCase(0x45, 65535, "total length far past the bytes")]
    public void Lying_lengths_and_versions_are_refused(int versionAndLength, int totalLength, string what)
    {
        byte[] bytes = Packet(Frames.PingRequest);
        bytes[0] = (byte)versionAndLength;
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(2), (ushort)totalLength);
        bool expected = versionAndLength == 0x4F;
        Assert.That(Ipv4Packet.TryParse(bytes, out var ip), Is.EqualTo(expected), what);
        if (expected)
        {
            Assert.That((ip.HeaderLength, ip.Payload.Length), Is.EqualTo((60, 24)));
        }

        bytes[0] = 0x4F;
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(2), 59);
        Assert.That(Ipv4Packet.TryParse(bytes, out _), Is.False, "a 60-byte header in a 59-byte packet");
    }

    [Test]
    public void A_created_packet_has_a_valid_header_and_parses_back()
    {
        byte[] buffer = new byte[100];
        buffer.AsSpan().Fill(0x77);
        Assert.That(Ipv4Packet.TryCreate(buffer, 13, IpProtocol.Udp, Frames.PeerIp, Frames.OurIp, out var created), Is.True);
        Assert.That(created.TotalLength, Is.EqualTo(33));
        Assert.That(created.Payload.ToArray(), Is.All.EqualTo(0x77), "the payload is not touched");
        Assert.That(created.IsHeaderChecksumValid, Is.True);
        Assert.That(buffer[..20], Is.EqualTo(Convert.FromHexString(
            "450000210000000040" + "11" + Frames.ReferenceChecksumWithZeroField(buffer.AsSpan(0, 20), 10).ToString("x4", CultureInfo.InvariantCulture) + "0a0000020a000001")));
        Assert.That(Ipv4Packet.TryParse(buffer, out var parsed), Is.True);
        Assert.That((parsed.TotalLength, parsed.TimeToLive, parsed.Source, parsed.Destination),
            Is.EqualTo((33, Ipv4Packet.DefaultTimeToLive, Frames.PeerIp, Frames.OurIp)));
    }

    [Test]
    public void Creation_refuses_negative_oversized_or_unfitting_payloads_and_writes_nothing()
    {
        byte[] buffer = new byte[70000];
        Assert.That(Ipv4Packet.TryCreate(buffer, -1, IpProtocol.Udp, default, default, out _), Is.False);
        Assert.That(Ipv4Packet.TryCreate(buffer, 65516, IpProtocol.Udp, default, default, out _), Is.False, "65536 bytes in all");
        Assert.That(Ipv4Packet.TryCreate(buffer.AsSpan(0, 40), 21, IpProtocol.Udp, default, default, out _), Is.False);
        Assert.That(Ipv4Packet.TryCreate(buffer.AsSpan(0, 19), 0, IpProtocol.Udp, default, default, out _), Is.False);
        Assert.That(buffer, Is.All.Zero);
        Assert.That(Ipv4Packet.TryCreate(buffer, 65515, IpProtocol.Udp, default, default, out var largest), Is.True);
        Assert.That(largest.TotalLength, Is.EqualTo(65535));
        Assert.That(Ipv4Packet.TryCreate(buffer.AsSpan(0, 20), 0, IpProtocol.Udp, default, default, out var empty), Is.True);
        Assert.That(empty.Payload.IsEmpty, Is.True);
    }
}
