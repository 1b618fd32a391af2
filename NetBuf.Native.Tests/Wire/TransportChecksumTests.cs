using System.Buffers.Binary;
using CsCheck;
using NetBufNative.Wire;
using NUnit.Framework;

namespace NetBufNative.Tests.Wire;

/// <summary>
/// <see cref="TransportChecksum"/>: filled and checked against an independent reference over IPv4 and IPv6, TCP and UDP,
/// even and odd lengths; partial checksums (the pseudo-header's sum in the field, as a Linux sender leaves it for an
/// offloading device) told from wrong ones and completed both ways (the kernel's csum_start/csum_offset, and by
/// parsing); UDP's zero rule; hostile and truncated headers never throw, never read past the frame, and leave it alone.
/// </summary>
public sealed class TransportChecksumTests
{
    private static readonly bool[] Bools = [false, true];

    [Test]
    public void Filled_checksums_match_the_reference_for_every_length_and_kind()
    {
        var random = new Random(768);
        foreach (bool ipv6 in Bools)
        {
            foreach (bool tcp in Bools)
            {
                foreach (bool vlan in Bools)
                {
                    for (int length = 0; length <= 300; length++)
                    {
                        byte[] payload = new byte[length];
                        random.NextBytes(payload);
                        byte[] frame = TransportFrames.Build(ipv6, tcp, payload, tcpOptions: tcp ? 12 : 0, vlan: vlan);
                        int l4 = TransportFrames.TransportOffset(ipv6, vlan);
                        Assert.That(TransportChecksum.TryFill(frame), Is.True);
                        ushort stored = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(l4 + (tcp ? 16 : 6)));
                        ushort expected = TransportFrames.Reference(frame, l4 - (ipv6 ? 40 : 20), l4, ipv6, tcp);
                        if (stored != expected || TransportChecksum.Check(frame) != TransportChecksumStatus.Valid)
                        {
                            Assert.Fail($"ipv6 {ipv6}, tcp {tcp}, vlan {vlan}, payload {length}: 0x{stored:x4}, expected 0x{expected:x4}");
                        }
                    }
                }
            }
        }
    }

    [Test]
    public void An_ipv6_hop_by_hop_header_is_walked()
    {
        byte[] frame = TransportFrames.Build(ipv6: true, tcp: false, [1, 2, 3], hopByHop: true);
        int l4 = TransportFrames.TransportOffset(true, hopByHop: true);
        Assert.That(TransportChecksum.TryFill(frame), Is.True);
        Assert.That(BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(l4 + 6)), Is.EqualTo(TransportFrames.Reference(frame, 14, l4, true, false)));
    }

    [TestCase(false, false)]
    [TestCase(false, true)]
    [TestCase(true, false)]
    [TestCase(true, true)]
    public void A_partial_checksum_is_told_from_a_wrong_one_and_completed_both_ways(bool ipv6, bool tcp)
    {
        foreach (int length in new[] { 0, 1, 17, 1000, 1001 })
        {
            byte[] payload = Enumerable.Range(0, length).Select(i => (byte)(i * 7)).ToArray();
            byte[] valid = TransportFrames.Build(ipv6, tcp, payload);
            Assert.That(TransportChecksum.TryFill(valid), Is.True);
            int l4 = TransportFrames.TransportOffset(ipv6);
            int field = l4 + (tcp ? 16 : 6);

            byte[] partial = (byte[])valid.Clone();
            BinaryPrimitives.WriteUInt16BigEndian(partial.AsSpan(field), TransportFrames.PartialField(partial, 14, l4, ipv6, tcp));
            Assert.That(TransportChecksum.Check(partial), Is.EqualTo(TransportChecksumStatus.Partial), $"{length}");

            byte[] byKernelOffsets = (byte[])partial.Clone();
            Assert.That(TransportChecksum.TryCompletePartial(byKernelOffsets, l4, tcp ? 16 : 6), Is.True);
            Assert.That(byKernelOffsets, Is.EqualTo(valid), "completed from csum_start/csum_offset");

            byte[] byParsing = (byte[])partial.Clone();
            Assert.That(TransportChecksum.TryCompleteIfPartial(byParsing), Is.True);
            Assert.That(byParsing, Is.EqualTo(valid), "completed by parsing");

            byte[] wrong = (byte[])valid.Clone();
            wrong[^1] ^= 0x40;
            if (length > 0)
            {
                Assert.That(TransportChecksum.Check(wrong), Is.EqualTo(TransportChecksumStatus.Invalid));
                byte[] before = (byte[])wrong.Clone();
                Assert.That(TransportChecksum.TryCompleteIfPartial(wrong), Is.False, "a wrong checksum stays wrong");
                Assert.That(wrong, Is.EqualTo(before));
            }

            Assert.That(TransportChecksum.TryCompleteIfPartial(valid), Is.False, "a valid one is left alone");
        }
    }

    [TestCase(false)]
    [TestCase(true)]
    public void A_udp_checksum_that_computes_to_zero_is_sent_as_all_ones(bool ipv6)
    {
        // With the payload's first word 0 the checksum is C; a word of C adds C to the sum, whose complement is then 0.
        byte[] frame = TransportFrames.Build(ipv6, tcp: false, new byte[10]);
        int l4 = TransportFrames.TransportOffset(ipv6);
        Assert.That(TransportChecksum.TryFill(frame), Is.True);
        ushort c = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(l4 + 6));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(l4 + 8), c);
        Assert.That(TransportChecksum.TryFill(frame), Is.True);
        Assert.That(BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(l4 + 6)), Is.EqualTo(0xFFFF));
        Assert.That(TransportChecksum.Check(frame), Is.EqualTo(TransportChecksumStatus.Valid));

        // The same through the kernel's completion: 0 becomes 0xFFFF.
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(l4 + 6), TransportFrames.PartialField(frame, 14, l4, ipv6, false));
        Assert.That(TransportChecksum.TryCompletePartial(frame, l4, 6), Is.True);
        Assert.That(BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(l4 + 6)), Is.EqualTo(0xFFFF));
    }

    [Test]
    public void A_zero_udp_checksum_is_absent_over_ipv4_and_wrong_over_ipv6()
    {
        byte[] v4 = TransportFrames.Build(ipv6: false, tcp: false, [1, 2, 3]);
        Assert.That(TransportChecksum.Check(v4), Is.EqualTo(TransportChecksumStatus.Absent));
        Assert.That(TransportChecksum.TryCompleteIfPartial(v4), Is.False);
        byte[] v6 = TransportFrames.Build(ipv6: true, tcp: false, [1, 2, 3]);
        Assert.That(TransportChecksum.Check(v6), Is.EqualTo(TransportChecksumStatus.Invalid), "RFC 8200: UDP over IPv6 needs a checksum");
    }

    [Test]
    public void Frames_that_are_not_whole_segments_are_not_applicable_and_left_alone()
    {
        byte[] valid = TransportFrames.Build(ipv6: false, tcp: true, new byte[40]);
        Assert.That(TransportChecksum.TryFill(valid), Is.True);
        var cases = new (string Name, Action<byte[]> Spoil)[]
        {
            ("ARP", f => f[13] = 0x06),
            ("IP version 5", f => f[14] = 0x55),
            ("IHL 4", f => f[14] = 0x44),
            ("IHL 15 past the total length", f => { f[14] = 0x4F; BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(16), 50); }),
            ("total length past the frame", f => BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(16), 2000)),
            ("total length under the header", f => BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(16), 19)),
            ("total length leaving a TCP header cut short", f => BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(16), 39)),
            ("a first fragment", f => f[20] |= 0x20),
            ("a later fragment", f => f[21] = 1),
            ("ICMP", f => f[23] = 1),
            ("three VLAN tags", f => f[12] = 0x81),
        };
        foreach ((string name, Action<byte[]> spoil) in cases)
        {
            byte[] frame = (byte[])valid.Clone();
            spoil(frame);
            byte[] before = (byte[])frame.Clone();
            Assert.That(TransportChecksum.Check(frame), Is.EqualTo(TransportChecksumStatus.NotApplicable), name);
            Assert.That(TransportChecksum.TryFill(frame), Is.False, name);
            Assert.That(TransportChecksum.TryCompleteIfPartial(frame), Is.False, name);
            Assert.That(frame, Is.EqualTo(before), name);
        }

        byte[] udp = TransportFrames.Build(ipv6: false, tcp: false, new byte[10]);
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(34 + 4), 19);
        Assert.That(TransportChecksum.Check(udp), Is.EqualTo(TransportChecksumStatus.NotApplicable), "UDP length past the packet");
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(34 + 4), 7);
        Assert.That(TransportChecksum.Check(udp), Is.EqualTo(TransportChecksumStatus.NotApplicable), "UDP length under the header");

        byte[] routed = TransportFrames.Build(ipv6: true, tcp: false, new byte[16]);
        routed[14 + 6] = 43;
        Assert.That(TransportChecksum.Check(routed), Is.EqualTo(TransportChecksumStatus.NotApplicable), "an IPv6 routing header changes the pseudo-header");
    }

    [Test]
    public void Every_truncation_of_every_kind_of_frame_is_handled_without_reading_past_it()
    {
        foreach (bool ipv6 in Bools)
        {
            foreach (bool tcp in Bools)
            {
                byte[] frame = TransportFrames.Build(ipv6, tcp, new byte[33], vlan: true, hopByHop: ipv6);
                for (int length = 0; length < frame.Length; length++)
                {
                    // A span of exactly `length` bytes: a read past it would throw.
                    byte[] cut = frame[..length];
                    Assert.That(TransportChecksum.Check(cut), Is.EqualTo(TransportChecksumStatus.NotApplicable), $"{length}");
                    Assert.That(TransportChecksum.TryFill(cut), Is.False);
                }
            }
        }
    }

    [Test]
    public void Random_bytes_after_an_ip_ethertype_never_throw()
    {
        Gen.Select(Gen.Byte.Array[0, 200], Gen.Bool, Gen.Int[-4, 210], Gen.Int[-4, 40]).Sample(
            (bytes, ipv6, start, offset) =>
            {
                byte[] frame = [.. new byte[12], ipv6 ? (byte)0x86 : (byte)0x08, ipv6 ? (byte)0xDD : (byte)0x00, .. bytes];
                if (bytes.Length > 0)
                {
                    frame[14] = (byte)((ipv6 ? 0x60 : 0x40) | (bytes[0] & 0x0F));
                }

                _ = TransportChecksum.Check(frame);
                _ = TransportChecksum.TryFill(frame);
                _ = TransportChecksum.TryCompleteIfPartial(frame);
                _ = TransportChecksum.TryCompletePartial(frame, start, offset);
                return true;
            },
            iter: 20000,
            threads: 1);
    }

    [TestCase(13, 6, TestName = "A start inside the Ethernet header")]
    [TestCase(-1, 6, TestName = "A negative start")]
    [TestCase(34, -2, TestName = "A negative offset")]
    [TestCase(34, 7, TestName = "An odd offset")]
    [TestCase(34, 8, TestName = "A SCTP checksum's offset (a CRC32c)")]
    [TestCase(34, 18, TestName = "A field past the end")]
    [TestCase(53, 0, TestName = "A start past the end")]
    [TestCase(int.MaxValue, int.MaxValue, TestName = "Huge values")]
    public void Kernel_offsets_outside_the_frame_are_refused_and_nothing_is_written(int start, int offset)
    {
        byte[] frame = TransportFrames.Build(ipv6: false, tcp: false, new byte[10]);
        Assert.That(frame, Has.Length.EqualTo(52));
        byte[] before = (byte[])frame.Clone();
        Assert.That(TransportChecksum.TryCompletePartial(frame, start, offset), Is.False);
        Assert.That(frame, Is.EqualTo(before));
    }
}
