using System.Buffers.Binary;
using NetBufNative.Wire;

namespace NetBufNative.Tests.Wire;

/// <summary>
/// Hand-built frames, written out as hex by an independent script (Python's struct and a textbook
/// RFC 1071 sum), so that the library's checksum and views are checked against bytes they did not make.
/// The responder is 02:00:00:00:00:01 at 10.0.0.1, the peer 02:00:00:00:00:02 at 10.0.0.2.
/// </summary>
internal static class Frames
{
    public static readonly MacAddress OurMac = MacAddress.Parse("02:00:00:00:00:01");
    public static readonly MacAddress PeerMac = MacAddress.Parse("02:00:00:00:00:02");
    public static readonly Ipv4Address OurIp = new(10, 0, 0, 1);
    public static readonly Ipv4Address PeerIp = new(10, 0, 0, 2);

    /// <summary>An echo request, id 0x1234, seq 7, 56 bytes of data (a Linux ping's size), TTL 63, DF set.</summary>
    public const string PingRequest =
        "020000000001020000000002080045000054" + "1c4640003f010b610a0000020a000001" +
        "0800a86b12340007" + EchoData;

    /// <summary>The reply to <see cref="PingRequest"/>: addresses swapped, TTL 64, type 0, both checksums fixed.</summary>
    public const string PingReply =
        "020000000002020000000001080045000054" + "1c46400040010a610a0000010a000002" +
        "0000b06b12340007" + EchoData;

    /// <summary>A broadcast ARP request "who has 10.0.0.1, tell 10.0.0.2", padded to 60 bytes as a NIC delivers it.</summary>
    public const string ArpRequest =
        "ffffffffffff020000000002080600010800060400010200000000020a000002" +
        "0000000000000a000001" + "000000000000000000000000000000000000";

    /// <summary>The reply to <see cref="ArpRequest"/>: 10.0.0.1 is at 02:00:00:00:00:01, 42 bytes.</summary>
    public const string ArpReply =
        "020000000002020000000001080600010800060400020200000000010a0000010200000000020a000002";

    /// <summary><see cref="PingRequest"/> with a record-route option (type 7, length 7, pointer 4) and end-of-list: IHL 7.</summary>
    public const string PingRequestWithOptions =
        "02000000000102000000000208004700005c" + "1c4640003f01fe510a0000020a000001" + "0707040000000000" +
        "0800a86b12340007" + EchoData;

    /// <summary>The reply to <see cref="PingRequestWithOptions"/>: options cleared to end-of-list padding, header length kept.</summary>
    public const string PingReplyWithOptions =
        "02000000000202000000000108004700005c" + "1c464000400108590a0000010a000002" + "0000000000000000" +
        "0000b06b12340007" + EchoData;

    /// <summary><see cref="PingRequest"/> in an 802.1Q tag, priority 1, VLAN 42.</summary>
    public const string VlanPingRequest =
        "0200000000010200000000028100202a080045000054" + "1c4640003f010b610a0000020a000001" +
        "0800a86b12340007" + EchoData;

    /// <summary>The reply to <see cref="VlanPingRequest"/>, on the same VLAN.</summary>
    public const string VlanPingReply =
        "0200000000020200000000018100202a080045000054" + "1c46400040010a610a0000010a000002" +
        "0000b06b12340007" + EchoData;

    /// <summary>The requests as bytes, made once (for the allocation tests).</summary>
    public static readonly byte[] PingRequestBytes = Bytes(PingRequest);

    /// <summary><see cref="ArpRequest"/> as bytes.</summary>
    public static readonly byte[] ArpRequestBytes = Bytes(ArpRequest);

    /// <summary><see cref="PingRequestWithOptions"/> as bytes.</summary>
    public static readonly byte[] PingRequestWithOptionsBytes = Bytes(PingRequestWithOptions);

    // A Linux ping's 56 bytes: an 8-byte timestamp (here "abcdefgh"), then 0x10..0x3f.
    private const string EchoData =
        "6162636465666768" + "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f";

    public static byte[] Bytes(string hex) => Convert.FromHexString(hex);

    /// <summary>A textbook RFC 1071 checksum, one big-endian word at a time: the reference the fast one is checked against.</summary>
    public static ushort ReferenceChecksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        for (int i = 0; i < data.Length; i += 2)
        {
            sum += i + 1 < data.Length ? BinaryPrimitives.ReadUInt16BigEndian(data[i..]) : (uint)(data[i] << 8);
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return (ushort)~sum;
    }

    /// <summary>The reference checksum of <paramref name="data"/> with its checksum field at <paramref name="fieldOffset"/> taken as zero.</summary>
    public static ushort ReferenceChecksumWithZeroField(ReadOnlySpan<byte> data, int fieldOffset)
    {
        byte[] copy = data.ToArray();
        copy[fieldOffset] = copy[fieldOffset + 1] = 0;
        return ReferenceChecksum(copy);
    }

    /// <summary>Recomputes the IPv4 header checksum of an untagged frame's packet after a test changed its header.</summary>
    public static void FixIpChecksum(byte[] frame)
    {
        int headerLength = (frame[14] & 0xF) * 4;
        frame[24] = frame[25] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(24), ReferenceChecksum(frame.AsSpan(14, headerLength)));
    }

    /// <summary>Recomputes the ICMP checksum of an untagged frame after a test changed the message.</summary>
    public static void FixIcmpChecksum(byte[] frame)
    {
        int headerLength = (frame[14] & 0xF) * 4;
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(16));
        int start = 14 + headerLength;
        frame[start + 2] = frame[start + 3] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(start + 2), ReferenceChecksum(frame.AsSpan(start, totalLength - headerLength)));
    }
}
