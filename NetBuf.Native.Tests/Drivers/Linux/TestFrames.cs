using System.Buffers.Binary;
using NetBufNative.Wire;
using NUnit.Framework;

namespace NetBufNative.Tests.Drivers.Linux;

/// <summary>
/// Hand-built Ethernet frames for the driver tests (the wire module lives on another branch): an
/// ARP request and an ICMP echo request from the test's host, and byte-for-byte checks of the
/// kernel's replies.
/// </summary>
internal static class TestFrames
{
    /// <summary>The test host's hardware address: locally administered, unicast.</summary>
    internal static readonly MacAddress TestMac = new(0x02, 0x00, 0x5e, 0x10, 0x00, 0x02);

    internal const int ArpFrameLength = 42;
    internal const int IcmpHeadersLength = 14 + 20 + 8;

    /// <summary>Writes an ARP request "who has <paramref name="targetIp"/>, tell <paramref name="senderIp"/>" (42 bytes).</summary>
    internal static void ArpRequest(Span<byte> frame, MacAddress sender, ReadOnlySpan<byte> senderIp, ReadOnlySpan<byte> targetIp)
    {
        frame[..ArpFrameLength].Clear();
        frame[..6].Fill(0xFF);
        Write(frame[6..], sender);
        BinaryPrimitives.WriteUInt16BigEndian(frame[12..], 0x0806);
        BinaryPrimitives.WriteUInt16BigEndian(frame[14..], 1); // Ethernet
        BinaryPrimitives.WriteUInt16BigEndian(frame[16..], 0x0800); // IPv4
        frame[18] = 6;
        frame[19] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(frame[20..], 1); // request
        Write(frame[22..], sender);
        senderIp.CopyTo(frame[28..]);
        targetIp.CopyTo(frame[38..]);
    }

    /// <summary>Checks the kernel's ARP reply to <see cref="ArpRequest"/> field by field; returns the kernel's hardware address.</summary>
    internal static void CheckArpReply(ReadOnlySpan<byte> frame, MacAddress kernel, MacAddress requester, ReadOnlySpan<byte> kernelIp, ReadOnlySpan<byte> requesterIp)
    {
        Assert.That(frame.Length, Is.EqualTo(ArpFrameLength).Or.EqualTo(60), "an ARP reply, padded to 60 bytes at most");
        Assert.That(Read(frame), Is.EqualTo(requester), "Ethernet destination");
        Assert.That(Read(frame[6..]), Is.EqualTo(kernel), "Ethernet source");
        Assert.That(BinaryPrimitives.ReadUInt16BigEndian(frame[12..]), Is.EqualTo(0x0806), "ethertype ARP");
        Assert.That(BinaryPrimitives.ReadUInt16BigEndian(frame[14..]), Is.EqualTo(1), "hardware type Ethernet");
        Assert.That(BinaryPrimitives.ReadUInt16BigEndian(frame[16..]), Is.EqualTo(0x0800), "protocol type IPv4");
        Assert.That(frame[18], Is.EqualTo(6), "hardware length");
        Assert.That(frame[19], Is.EqualTo(4), "protocol length");
        Assert.That(BinaryPrimitives.ReadUInt16BigEndian(frame[20..]), Is.EqualTo(2), "operation reply");
        Assert.That(Read(frame[22..]), Is.EqualTo(kernel), "sender hardware address");
        Assert.That(frame.Slice(28, 4).ToArray(), Is.EqualTo(kernelIp.ToArray()), "sender protocol address");
        Assert.That(Read(frame[32..]), Is.EqualTo(requester), "target hardware address");
        Assert.That(frame.Slice(38, 4).ToArray(), Is.EqualTo(requesterIp.ToArray()), "target protocol address");
    }

    /// <summary>Whether <paramref name="frame"/> is an ARP reply.</summary>
    internal static bool IsArpReply(ReadOnlySpan<byte> frame) =>
        frame.Length >= ArpFrameLength && BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) == 0x0806 && BinaryPrimitives.ReadUInt16BigEndian(frame[20..]) == 2;

    /// <summary>Whether <paramref name="frame"/> is an IPv4 ICMP echo reply.</summary>
    internal static bool IsEchoReply(ReadOnlySpan<byte> frame) =>
        frame.Length >= IcmpHeadersLength && BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) == 0x0800 && frame[23] == 1 && frame[14 + ((frame[14] & 0xF) * 4)] == 0;

    /// <summary>Writes an ICMP echo request of <paramref name="payloadLength"/> payload bytes (a pattern from <paramref name="sequence"/>).</summary>
    /// <returns>The frame's length.</returns>
    internal static int EchoRequest(Span<byte> frame, MacAddress source, MacAddress destination, ReadOnlySpan<byte> sourceIp, ReadOnlySpan<byte> destinationIp, ushort identifier, ushort sequence, int payloadLength)
    {
        int length = IcmpHeadersLength + payloadLength;
        frame = frame[..length];
        Write(frame, destination);
        Write(frame[6..], source);
        BinaryPrimitives.WriteUInt16BigEndian(frame[12..], 0x0800);
        Span<byte> ip = frame[14..];
        ip[0] = 0x45;
        ip[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(20 + 8 + payloadLength));
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], sequence); // identification
        BinaryPrimitives.WriteUInt16BigEndian(ip[6..], 0x4000); // don't fragment
        ip[8] = 64;
        ip[9] = 1;
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], 0);
        sourceIp.CopyTo(ip[12..]);
        destinationIp.CopyTo(ip[16..]);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksum(ip[..20]));
        Span<byte> icmp = ip[20..];
        icmp[0] = 8;
        icmp[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[4..], identifier);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[6..], sequence);
        for (int i = 0; i < payloadLength; i++)
        {
            icmp[8 + i] = (byte)(sequence + i);
        }

        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], Checksum(icmp));
        return length;
    }

    /// <summary>Checks the kernel's echo reply to an <see cref="EchoRequest"/> byte for byte: addresses swapped, checksums valid, identifiers and payload echoed.</summary>
    internal static void CheckEchoReply(ReadOnlySpan<byte> frame, MacAddress kernel, MacAddress requester, ReadOnlySpan<byte> kernelIp, ReadOnlySpan<byte> requesterIp, ushort identifier, ushort sequence, int payloadLength)
    {
        Assert.That(frame.Length, Is.EqualTo(IcmpHeadersLength + payloadLength), "the reply is as long as the request");
        Assert.That(Read(frame), Is.EqualTo(requester), "Ethernet destination");
        Assert.That(Read(frame[6..]), Is.EqualTo(kernel), "Ethernet source");
        Assert.That(BinaryPrimitives.ReadUInt16BigEndian(frame[12..]), Is.EqualTo(0x0800), "ethertype IPv4");
        ReadOnlySpan<byte> ip = frame[14..];
        Assert.That(ip[0], Is.EqualTo(0x45), "IPv4, 20-byte header");
        Assert.That(BinaryPrimitives.ReadUInt16BigEndian(ip[2..]), Is.EqualTo(28 + payloadLength), "IPv4 total length");
        Assert.That(BinaryPrimitives.ReadUInt16BigEndian(ip[6..]) & 0x3FFF, Is.Zero, "not a fragment");
        Assert.That(ip[8], Is.GreaterThan(0), "TTL");
        Assert.That(ip[9], Is.EqualTo(1), "protocol ICMP");
        Assert.That(Checksum(ip[..20]), Is.Zero, "IPv4 header checksum");
        Assert.That(ip.Slice(12, 4).ToArray(), Is.EqualTo(kernelIp.ToArray()), "IPv4 source");
        Assert.That(ip.Slice(16, 4).ToArray(), Is.EqualTo(requesterIp.ToArray()), "IPv4 destination");
        ReadOnlySpan<byte> icmp = ip[20..];
        Assert.That(icmp[0], Is.Zero, "ICMP echo reply");
        Assert.That(icmp[1], Is.Zero, "ICMP code");
        Assert.That(Checksum(icmp), Is.Zero, "ICMP checksum");
        Assert.That(BinaryPrimitives.ReadUInt16BigEndian(icmp[4..]), Is.EqualTo(identifier), "echo identifier");
        Assert.That(BinaryPrimitives.ReadUInt16BigEndian(icmp[6..]), Is.EqualTo(sequence), "echo sequence");
        for (int i = 0; i < payloadLength; i++)
        {
            if (icmp[8 + i] != (byte)(sequence + i))
            {
                Assert.Fail($"echoed payload differs at byte {i}: {icmp[8 + i]} instead of {(byte)(sequence + i)}");
            }
        }
    }

    /// <summary>The echo sequence number of an echo reply.</summary>
    internal static ushort EchoSequence(ReadOnlySpan<byte> frame) =>
        BinaryPrimitives.ReadUInt16BigEndian(frame[(14 + ((frame[14] & 0xF) * 4) + 6)..]);

    /// <summary>The RFC 1071 Internet checksum (a plain reference: 0 over data that carries a valid one).</summary>
    internal static ushort Checksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        int i = 0;
        for (; i + 1 < data.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        }

        if (i < data.Length)
        {
            sum += (uint)data[i] << 8;
        }

        while (sum >> 16 != 0)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return (ushort)~sum;
    }

    /// <summary>Parses "aa:bb:cc:dd:ee:ff".</summary>
    internal static MacAddress ParseMac(string text)
    {
        byte[] b = text.Split(':').Select(part => Convert.ToByte(part, 16)).ToArray();
        return new MacAddress(b[0], b[1], b[2], b[3], b[4], b[5]);
    }

    internal static void Write(Span<byte> destination, MacAddress mac) => mac.WriteTo(destination);

    internal static MacAddress Read(ReadOnlySpan<byte> source) => new(source[0], source[1], source[2], source[3], source[4], source[5]);
}
