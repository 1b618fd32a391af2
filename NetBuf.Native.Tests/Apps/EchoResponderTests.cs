using System.Buffers.Binary;
using CsCheck;
using NetBufNative.Apps;
using NetBufNative.Tests.Wire;
using NetBufNative.Wire;
using NUnit.Framework;

namespace NetBufNative.Tests.Apps;

public sealed class EchoResponderTests
{
    private static readonly MacAddress OurMac = Frames.OurMac;
    private static readonly Ipv4Address OurIp = Frames.OurIp;

    /// <summary>Frames the responder must leave alone, each one a valid request changed in one way.</summary>
    private static IEnumerable<TestCaseData> Ignored()
    {
        static TestCaseData Ping(string name, Action<byte[]> change, bool fixIp = true, bool fixIcmp = true) =>
            new TestCaseData(Mutated(Frames.PingRequest, change, fixIp, fixIcmp)).SetName("Ignores ping: " + name);
        static TestCaseData Arp(string name, Action<byte[]> change) =>
            new TestCaseData(Mutated(Frames.ArpRequest, change, false, false)).SetName("Ignores ARP: " + name);

        yield return Ping("IPv6 ethertype", f => f[12] = 0x86);
        yield return Ping("unknown ethertype", f => f[13] = 0x99);
        yield return Ping("to another IP", f => f[33] = 9);
        yield return Ping("to the broadcast IP", f => f.AsSpan(30, 4).Fill(0xFF));
        yield return Ping("to our IP but the broadcast MAC", f => f.AsSpan(0, 6).Fill(0xFF));
        yield return Ping("to our IP but a multicast MAC", f => Convert.FromHexString("01005e000001").CopyTo(f, 0));
        yield return Ping("to another host's MAC", f => f[5] = 3);
        yield return Ping("from a multicast MAC", f => f[6] = 0x03);
        yield return Ping("from 0.0.0.0", f => f.AsSpan(26, 4).Clear());
        yield return Ping("from 255.255.255.255", f => f.AsSpan(26, 4).Fill(0xFF));
        yield return Ping("from a multicast IP", f => f[26] = 224);
        yield return Ping("with a bad IPv4 checksum", f => f[25] ^= 1, fixIp: false);
        yield return Ping("with a bad ICMP checksum", f => f[37] ^= 1, fixIcmp: false);
        yield return Ping("with data changed after the checksum", f => f[^1] ^= 0x80, fixIcmp: false);
        yield return Ping("first fragment (more fragments)", f => f[20] = 0x20);
        yield return Ping("later fragment (offset)", f => f[21] = 0x10);
        yield return Ping("UDP protocol", f => f[23] = 17);
        yield return Ping("echo reply", f => f[34] = 0);
        yield return Ping("echo request with code 1", f => f[35] = 1);
        yield return Ping("destination unreachable", f => f[34] = 3);
        yield return Ping("IP version 6 in an IPv4 frame", f => f[14] = 0x65);
        yield return Ping("IHL 4", f => f[14] = 0x44);
        yield return Ping("IHL 15 past the total length", f => f[14] = 0x4F, fixIp: false);
        yield return Ping("total length past the frame", f => f[17] = 0x55, fixIcmp: false);
        yield return Ping("total length under the header", f => f[17] = 19, fixIcmp: false);
        yield return Ping("ICMP shorter than its header", f => f[17] = 27);
        yield return Ping("a loose source route option", f => SetOption(f, [0x83, 7, 4, 0, 0, 0, 0, 0]));
        yield return Ping("a strict source route option", f => SetOption(f, [0x89, 7, 4, 0, 0, 0, 0, 0]));
        yield return Ping("an option of length 0", f => SetOption(f, [0x44, 0, 0, 0, 0, 0, 0, 0]));
        yield return Ping("an option of length 1", f => SetOption(f, [0x44, 1, 0, 0, 0, 0, 0, 0]));
        yield return Ping("an option running past the header", f => SetOption(f, [1, 1, 0x44, 7, 0, 0, 0, 0]));
        yield return Ping("an option type with no length byte", f => SetOption(f, [1, 1, 1, 1, 1, 1, 1, 0x44]));

        yield return Arp("a reply", f => f[21] = 2);
        yield return Arp("an unknown operation", f => f[21] = 9);
        yield return Arp("for another IP", f => f[41] = 9);
        yield return Arp("to another host's MAC", f => Frames.PeerMac.WriteTo(f));
        yield return Arp("to a multicast MAC", f => f[0] = 0x01);
        yield return Arp("from a multicast sender hardware address", f => f[22] = 0x01);
        yield return Arp("from a multicast Ethernet source", f => f[6] = 0x01);
        yield return Arp("from a broadcast sender IP", f => f.AsSpan(28, 4).Fill(0xFF));
        yield return Arp("from a multicast sender IP", f => f[28] = 239);
        yield return Arp("for IPv6", f => f[16] = 0x86);
        yield return Arp("with hardware length 8", f => f[18] = 8);
        yield return Arp("in an IPv4 ethertype", f => f[13] = 0x00);
    }

    [Test]
    public void An_echo_request_is_answered_byte_for_byte()
    {
        byte[] frame = Frames.Bytes(Frames.PingRequest);
        Assert.That(EchoResponder.TryAnswer(frame, frame.Length, OurMac, OurIp, out int length), Is.True);
        Assert.That(length, Is.EqualTo(98));
        Assert.That(frame, Is.EqualTo(Frames.Bytes(Frames.PingReply)));
    }

    [Test]
    public void An_echo_request_with_ethernet_padding_is_answered_without_it()
    {
        byte[] frame = [.. Frames.Bytes(Frames.PingRequest), 0xAA, 0xBB, 0xCC, 0xDD];
        byte[] buffer = [.. frame, .. new byte[100]];
        Assert.That(EchoResponder.TryAnswer(buffer, frame.Length, OurMac, OurIp, out int length), Is.True);
        Assert.That(length, Is.EqualTo(98));
        Assert.That(buffer[..98], Is.EqualTo(Frames.Bytes(Frames.PingReply)));
        Assert.That(buffer[98..102], Is.EqualTo(new byte[] { 0xAA, 0xBB, 0xCC, 0xDD }), "the padding is left as it was");
    }

    [Test]
    public void A_tagged_echo_request_is_answered_on_the_same_vlan()
    {
        byte[] frame = Frames.Bytes(Frames.VlanPingRequest);
        Assert.That(EchoResponder.TryAnswer(frame, frame.Length, OurMac, OurIp, out int length), Is.True);
        Assert.That(length, Is.EqualTo(102));
        Assert.That(frame, Is.EqualTo(Frames.Bytes(Frames.VlanPingReply)));
    }

    [Test]
    public void An_echo_request_with_options_is_answered_with_the_options_cleared_and_nothing_moved()
    {
        byte[] frame = Frames.Bytes(Frames.PingRequestWithOptions);
        Assert.That(EchoResponder.TryAnswer(frame, frame.Length, OurMac, OurIp, out int length), Is.True);
        Assert.That(length, Is.EqualTo(106));
        Assert.That(frame, Is.EqualTo(Frames.Bytes(Frames.PingReplyWithOptions)));
    }

    [Test]
    public void Options_made_only_of_no_operations_and_a_timestamp_are_accepted()
    {
        byte[] frame = Mutated(Frames.PingRequest, f => SetOption(f, [1, 1, 0x44, 4, 5, 0, 1, 0]), fixIp: true, fixIcmp: true);
        Assert.That(EchoResponder.TryAnswer(frame, frame.Length, OurMac, OurIp, out int length), Is.True);
        Assert.That(frame.AsSpan(34, 8).ToArray(), Is.All.Zero);
        AssertValidEchoReply(frame.AsSpan(0, length));
    }

    [Test]
    public void An_all_zero_echo_gets_the_checksum_a_full_sum_gives()
    {
        // Id 0, seq 0, no data: the incremental update would give 0x0000; the reply must carry 0xFFFF.
        byte[] frame = Mutated(Frames.PingRequest, f => { f[17] = 28; f.AsSpan(34, 8).Clear(); f[34] = 8; }, fixIp: true, fixIcmp: true);
        Assert.That(BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(36)), Is.EqualTo(0xF7FF));
        Assert.That(EchoResponder.TryAnswer(frame, 42, OurMac, OurIp, out int length), Is.True);
        Assert.That(length, Is.EqualTo(42));
        Assert.That(frame.AsSpan(34, 8).ToArray(), Is.EqualTo(Convert.FromHexString("0000ffff00000000")));
        AssertValidEchoReply(frame.AsSpan(0, length));
    }

    [Test]
    public void A_broadcast_arp_request_for_our_address_is_answered_byte_for_byte()
    {
        byte[] frame = Frames.Bytes(Frames.ArpRequest);
        Assert.That(EchoResponder.TryAnswer(frame, frame.Length, OurMac, OurIp, out int length), Is.True);
        Assert.That(length, Is.EqualTo(42));
        Assert.That(frame[..42], Is.EqualTo(Frames.Bytes(Frames.ArpReply)));
        Assert.That(frame[42..], Is.All.Zero, "the padding is not touched");
    }

    [Test]
    public void A_unicast_arp_request_and_an_arp_probe_are_answered()
    {
        byte[] unicast = Mutated(Frames.ArpRequest, f => OurMac.WriteTo(f), false, false);
        Assert.That(EchoResponder.TryAnswer(unicast, 42, OurMac, OurIp, out int length), Is.True);
        Assert.That(unicast[..length], Is.EqualTo(Frames.Bytes(Frames.ArpReply)));

        // RFC 5227 probe: sender IP 0.0.0.0. The reply goes to the prober, target IP 0.0.0.0.
        byte[] probe = Mutated(Frames.ArpRequest, f => f.AsSpan(28, 4).Clear(), false, false);
        Assert.That(EchoResponder.TryAnswer(probe, probe.Length, OurMac, OurIp, out length), Is.True);
        byte[] expected = Frames.Bytes(Frames.ArpReply);
        expected.AsSpan(38, 4).Clear();
        Assert.That(probe[..length], Is.EqualTo(expected));
    }

    [Test]
    public void A_tagged_arp_request_is_answered_on_the_same_vlan()
    {
        byte[] request = Frames.Bytes(Frames.ArpRequest);
        byte[] frame = [.. request[..12], 0x81, 0x00, 0x00, 0x07, .. request[12..]];
        Assert.That(EchoResponder.TryAnswer(frame, frame.Length, OurMac, OurIp, out int length), Is.True);
        byte[] reply = Frames.Bytes(Frames.ArpReply);
        Assert.That(frame[..length], Is.EqualTo((byte[])[.. reply[..12], 0x81, 0x00, 0x00, 0x07, .. reply[12..]]));
    }

    [TestCaseSource(nameof(Ignored))]
    public void A_frame_not_for_us_is_left_unchanged(byte[] frame)
    {
        byte[] before = frame.ToArray();
        Assert.That(EchoResponder.TryAnswer(frame, frame.Length, OurMac, OurIp, out int length), Is.False);
        Assert.That(length, Is.Zero);
        Assert.That(frame, Is.EqualTo(before));
    }

    [Test]
    public void Every_truncation_of_every_request_is_ignored_without_a_change()
    {
        foreach (string hex in new[] { Frames.PingRequest, Frames.ArpRequest, Frames.VlanPingRequest, Frames.PingRequestWithOptions })
        {
            byte[] frame = Frames.Bytes(hex);
            int whole = hex == Frames.ArpRequest ? 42 : frame.Length;
            for (int length = 0; length < whole; length++)
            {
                Assert.That(EchoResponder.TryAnswer(frame, length, OurMac, OurIp, out int reply), Is.False, $"{length} of {whole}");
                Assert.That(reply, Is.Zero);
                Assert.That(frame, Is.EqualTo(Frames.Bytes(hex)));
            }
        }
    }

    [Test]
    public void Requests_for_another_address_or_mac_are_ignored()
    {
        byte[] ping = Frames.Bytes(Frames.PingRequest);
        Assert.That(EchoResponder.TryAnswer(ping, ping.Length, OurMac, Frames.PeerIp, out _), Is.False);
        Assert.That(EchoResponder.TryAnswer(ping, ping.Length, Frames.PeerMac, OurIp, out _), Is.False);
        byte[] arp = Frames.Bytes(Frames.ArpRequest);
        Assert.That(EchoResponder.TryAnswer(arp, arp.Length, OurMac, new Ipv4Address(10, 0, 0, 3), out _), Is.False);
        Assert.That(ping, Is.EqualTo(Frames.Bytes(Frames.PingRequest)));
        Assert.That(arp, Is.EqualTo(Frames.Bytes(Frames.ArpRequest)));
    }

    [TestCase(-1)]
    [TestCase(99)]
    public void A_frame_length_outside_the_buffer_throws(int frameLength)
    {
        byte[] frame = Frames.Bytes(Frames.PingRequest);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => EchoResponder.TryAnswer(frame, frameLength, OurMac, OurIp, out _));
        Assert.That(ex!.ParamName, Is.EqualTo("frameLength"));
    }

    [Test]
    public void Random_bytes_never_throw_and_any_answer_is_a_well_formed_reply()
    {
        Gen.Byte.Array[0, 200].Sample(
            bytes =>
            {
                // Half the time, make it look like a frame for us so the checks further in are reached.
                if (bytes.Length >= 14 && bytes[0] % 2 == 0)
                {
                    OurMac.WriteTo(bytes);
                    bytes[6] &= 0xFE;
                    bytes[12] = 0x08;
                    bytes[13] = (byte)(bytes[13] % 2 == 0 ? 0x00 : 0x06);
                }

                AnswerAndCheck(bytes);
            },
            iter: 20000,
            threads: 1);
    }

    [Test]
    public void Random_changes_to_valid_requests_never_throw_and_any_answer_is_a_well_formed_reply()
    {
        string[] requests = [Frames.PingRequest, Frames.ArpRequest, Frames.VlanPingRequest, Frames.PingRequestWithOptions];
        Gen.Select(Gen.Int[0, requests.Length - 1], Gen.Select(Gen.Int[0, 105], Gen.Byte).Array[1, 4], Gen.Int[0, 110], Gen.Bool).Sample(
            (which, changes, cut, fixChecksums) =>
            {
                byte[] frame = Frames.Bytes(requests[which]);
                foreach (var (at, value) in changes)
                {
                    frame[at % frame.Length] = value;
                }

                if (fixChecksums && which is 0 or 3 && (frame[14] & 0xF) * 4 is >= 20 and var ihl && 14 + ihl <= frame.Length)
                {
                    Frames.FixIpChecksum(frame);
                }

                AnswerAndCheck(frame.AsSpan(0, Math.Min(cut, frame.Length)).ToArray());
            },
            iter: 20000,
            threads: 1);
    }

    private static void AnswerAndCheck(byte[] frame)
    {
        byte[] before = frame.ToArray();
        if (!EchoResponder.TryAnswer(frame, frame.Length, OurMac, OurIp, out int length))
        {
            if (length != 0 || !frame.AsSpan().SequenceEqual(before))
            {
                throw new InvalidOperationException("an ignored frame was changed");
            }

            return;
        }

        if (length <= 0 || length > frame.Length)
        {
            throw new InvalidOperationException($"reply length {length} for a {frame.Length}-byte frame");
        }

        Span<byte> reply = frame.AsSpan(0, length);
        if (!EthernetFrame.TryParse(reply, out var ethernet) || ethernet.Source != OurMac)
        {
            throw new InvalidOperationException("the reply is not an Ethernet frame from us");
        }

        if (ethernet.EtherType == EtherType.Arp)
        {
            if (!ArpPacket.TryParse(ethernet.Payload, out var arp) || arp.Operation != ArpOperation.Reply ||
                arp.SenderProtocolAddress != OurIp || arp.SenderHardwareAddress != OurMac || ethernet.Destination != arp.TargetHardwareAddress)
            {
                throw new InvalidOperationException("a malformed ARP reply");
            }

            return;
        }

        AssertValidEchoReply(reply);
    }

    private static void AssertValidEchoReply(Span<byte> reply)
    {
        if (!EthernetFrame.TryParse(reply, out var ethernet) ||
            !Ipv4Packet.TryParse(ethernet.Payload, out var ip) || !ip.IsHeaderChecksumValid || ip.Source != OurIp ||
            ethernet.HeaderLength + ip.TotalLength != reply.Length ||
            !IcmpV4Packet.TryParse(ip.Payload, out var icmp) || icmp.Type != IcmpV4Type.EchoReply || !icmp.IsChecksumValid ||
            Frames.ReferenceChecksum(icmp.Message) != 0)
        {
            throw new InvalidOperationException("a malformed echo reply");
        }
    }

    private static byte[] Mutated(string hex, Action<byte[]> change, bool fixIp, bool fixIcmp)
    {
        byte[] frame = Frames.Bytes(hex);
        change(frame);
        if (fixIp)
        {
            Frames.FixIpChecksum(frame);
        }

        if (fixIcmp)
        {
            Frames.FixIcmpChecksum(frame);
        }

        return frame;
    }

    // Puts 8 bytes of options into the ping request: the header grows to 28 bytes within the same
    // total length, and the ICMP message (its first 56 bytes) moves behind them.
    private static void SetOption(byte[] frame, byte[] options)
    {
        byte[] original = Frames.Bytes(Frames.PingRequest);
        frame[14] = 0x47;
        options.CopyTo(frame, 34);
        original.AsSpan(34, 56).CopyTo(frame.AsSpan(42));
    }
}
