using System.Buffers.Binary;
using NetBufNative.Wire;
using NUnit.Framework;

namespace NetBufNative.Tests.Wire;

/// <summary>
/// <see cref="TransportSegmenter"/>: a TCP or UDP super-packet cut into segments as the kernel's GSO would: payloads in
/// order, every header's lengths, identification and checksums right, sequence numbers advancing, FIN and PSH only on
/// the last segment and CWR only on the first; hostile headers are refused.
/// </summary>
public sealed class TransportSegmenterTests
{
    [TestCase(false, true, 5000, 1448)]
    [TestCase(false, true, 1448 * 3, 1448)]
    [TestCase(true, true, 4001, 1000)]
    [TestCase(false, false, 3001, 1000)]
    [TestCase(true, false, 999, 1000)]
    public void A_super_packet_becomes_valid_segments_carrying_its_payload_in_order(bool ipv6, bool tcp, int payloadLength, int segmentSize)
    {
        byte[] payload = Enumerable.Range(0, payloadLength).Select(i => (byte)(i * 13)).ToArray();
        byte[] super = TransportFrames.Build(ipv6, tcp, payload, tcpOptions: tcp ? 12 : 0, tcpFlags: 0x80 | 0x10 | 0x08 | 0x01);
        int l4 = TransportFrames.TransportOffset(ipv6);
        Assert.That(TransportSegmenter.TryReadHeaders(super.AsSpan(0, l4 + 40), l4, ipv6, tcp ? IpProtocol.Tcp : IpProtocol.Udp, out var headers), Is.True);
        Assert.That(headers.Length, Is.EqualTo(l4 + (tcp ? 32 : 8)));

        int count = (payloadLength + segmentSize - 1) / segmentSize;
        var received = new List<byte>();
        for (int i = 0; i < count; i++)
        {
            int chunk = Math.Min(segmentSize, payloadLength - (i * segmentSize));
            byte[] segment = [.. super.AsSpan(0, headers.Length), .. payload.AsSpan(i * segmentSize, chunk)];
            TransportSegmenter.Fix(segment, headers, i, segmentSize, last: i == count - 1);

            Assert.That(TransportChecksum.Check(segment), Is.EqualTo(TransportChecksumStatus.Valid), $"segment {i}");
            received.AddRange(segment.AsSpan(headers.Length).ToArray());
            if (ipv6)
            {
                Assert.That(BinaryPrimitives.ReadUInt16BigEndian(segment.AsSpan(18)), Is.EqualTo(segment.Length - 14 - 40));
            }
            else
            {
                Assert.That(BinaryPrimitives.ReadUInt16BigEndian(segment.AsSpan(16)), Is.EqualTo(segment.Length - 14));
                Assert.That(BinaryPrimitives.ReadUInt16BigEndian(segment.AsSpan(18)), Is.EqualTo(0x1234 + i), "identification");
                Assert.That(InternetChecksum.IsValid(segment.AsSpan(14, 20)), Is.True, "IPv4 header checksum");
            }

            if (tcp)
            {
                Assert.That(BinaryPrimitives.ReadUInt32BigEndian(segment.AsSpan(l4 + 4)), Is.EqualTo(unchecked(0xFFFF_F000u + (uint)(i * segmentSize))), "sequence, wrapping");
                byte flags = segment[l4 + 13];
                Assert.That((flags & 0x80) != 0, Is.EqualTo(i == 0), "CWR on the first only");
                Assert.That((flags & 0x09) != 0, Is.EqualTo(i == count - 1), "FIN and PSH on the last only");
                Assert.That((flags & 0x10) != 0, Is.True, "ACK on every one");
            }
            else
            {
                Assert.That(BinaryPrimitives.ReadUInt16BigEndian(segment.AsSpan(l4 + 4)), Is.EqualTo(segment.Length - l4), "UDP length");
            }
        }

        Assert.That(received, Is.EqualTo(payload));
    }

    [Test]
    public void Hostile_headers_are_refused()
    {
        byte[] super = TransportFrames.Build(false, true, new byte[3000]);
        Assert.That(TransportSegmenter.TryReadHeaders(super.AsSpan(0, 100), 34, false, IpProtocol.Tcp, out _), Is.True);
        Assert.That(TransportSegmenter.TryReadHeaders(super.AsSpan(0, 100), 34, true, IpProtocol.Tcp, out _), Is.False, "IPv6 expected");
        Assert.That(TransportSegmenter.TryReadHeaders(super.AsSpan(0, 100), 34, false, IpProtocol.Udp, out _), Is.False, "IPv4 says TCP");
        Assert.That(TransportSegmenter.TryReadHeaders(super.AsSpan(0, 100), 20, false, IpProtocol.Tcp, out _), Is.False, "transport inside the IP header");
        Assert.That(TransportSegmenter.TryReadHeaders(super.AsSpan(0, 50), 34, false, IpProtocol.Tcp, out _), Is.False, "TCP header cut short");
        Assert.That(TransportSegmenter.TryReadHeaders(super.AsSpan(0, 100), 101, false, IpProtocol.Tcp, out _), Is.False, "start past the head");
        byte[] badOffset = (byte[])super.Clone();
        badOffset[34 + 12] = 0x40;
        Assert.That(TransportSegmenter.TryReadHeaders(badOffset.AsSpan(0, 100), 34, false, IpProtocol.Tcp, out _), Is.False, "data offset under 20");
        badOffset[34 + 12] = 0xF0;
        Assert.That(TransportSegmenter.TryReadHeaders(badOffset.AsSpan(0, 80), 34, false, IpProtocol.Tcp, out _), Is.False, "options past the head");
        for (int length = 0; length < 54; length++)
        {
            Assert.That(TransportSegmenter.TryReadHeaders(super.AsSpan(0, length), 34, false, IpProtocol.Tcp, out _), Is.False, $"{length} bytes");
        }
    }
}
