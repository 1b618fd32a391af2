using System.Buffers.Binary;
using NetBufNative.Internal;

namespace NetBufNative.Wire;

/// <summary>
/// An IPv4 packet (RFC 791) viewed in place: the header with its options, and the payload bounded
/// by the header's total length (Ethernet padding after it is not part of the packet).
/// </summary>
/// <remarks>
/// <para>
/// The view's extent (header length and total length) is fixed when it is made, by
/// <see cref="TryParse"/> or <see cref="TryCreate"/>: those fields have no setters, so no write
/// through the view can make it reach past its span. The other fields read and write the bytes
/// each time. Setters do not touch the header checksum: call <see cref="FillHeaderChecksum"/>
/// after the last change (or update it with <see cref="InternetChecksum.Update(ushort, ushort, ushort)"/>).
/// </para>
/// <para>Not thread-safe: like the span it is made from.</para>
/// </remarks>
public readonly ref struct Ipv4Packet
{
    /// <summary>The length of a header without options.</summary>
    public const int MinHeaderLength = 20;

    /// <summary>The longest header: the 4-bit header length field counts up to 15 words of 4 bytes.</summary>
    public const int MaxHeaderLength = 15 * 4;

    /// <summary>The largest fragment offset, in units of 8 bytes: the field has 13 bits.</summary>
    public const int MaxFragmentOffset = (1 << 13) - 1;

    /// <summary>The time to live <see cref="TryCreate"/> writes: 64, Linux's default and RFC 1700's recommendation.</summary>
    public const byte DefaultTimeToLive = 64;

    // Offsets of the fields (RFC 791, 3.1).
    private const int TypeOfServiceOffset = 1;
    private const int TotalLengthOffset = 2;
    private const int IdentificationOffset = 4;
    private const int FlagsOffset = 6;
    private const int TimeToLiveOffset = 8;
    private const int ProtocolOffset = 9;
    private const int ChecksumOffset = 10;
    private const int SourceOffset = 12;
    private const int DestinationOffset = 16;

    // The flags are the top 3 bits of the 16-bit word at FlagsOffset: reserved, DF, MF.
    private const ushort DontFragmentBit = 0x4000;
    private const ushort MoreFragmentsBit = 0x2000;

    // The first byte: version 4 in the high nibble, a header of 5 words in the low one.
    private const byte VersionAndMinHeader = (4 << 4) | (MinHeaderLength / 4);

    private readonly Span<byte> _packet;
    private readonly int _headerLength;

    private Ipv4Packet(Span<byte> packet, int headerLength)
    {
        _packet = packet;
        _headerLength = headerLength;
    }

    /// <summary>The IP version: 4 for any parsed or created packet.</summary>
    public int Version => _packet[0] >> 4;

    /// <summary>The header's length in bytes (the IHL field times 4), options included.</summary>
    public int HeaderLength => _headerLength;

    /// <summary>The packet's length, header and payload: the total length field.</summary>
    public int TotalLength => _packet.Length;

    /// <summary>The packet: header and payload, <see cref="TotalLength"/> bytes.</summary>
    public Span<byte> Packet => _packet;

    /// <summary>The header, options included.</summary>
    public Span<byte> Header => _packet[.._headerLength];

    /// <summary>The options: the header after its first 20 bytes (empty when it has none).</summary>
    public Span<byte> Options => _packet[MinHeaderLength.._headerLength];

    /// <summary>The payload: the bytes after the header, up to the total length.</summary>
    public Span<byte> Payload => _packet[_headerLength..];

    /// <summary>The type of service byte (DSCP and ECN); setting it writes it into the header.</summary>
    public byte TypeOfService
    {
        get => _packet[TypeOfServiceOffset];
        set => _packet[TypeOfServiceOffset] = value;
    }

    /// <summary>The identification; setting it writes it into the header.</summary>
    public ushort Identification
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_packet[IdentificationOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_packet[IdentificationOffset..], value);
    }

    /// <summary>The don't-fragment flag; setting it writes it into the header.</summary>
    public bool DontFragment
    {
        get => (FlagsAndOffset & DontFragmentBit) != 0;
        set => FlagsAndOffset = (ushort)(value ? FlagsAndOffset | DontFragmentBit : FlagsAndOffset & ~DontFragmentBit);
    }

    /// <summary>The more-fragments flag; setting it writes it into the header.</summary>
    public bool MoreFragments
    {
        get => (FlagsAndOffset & MoreFragmentsBit) != 0;
        set => FlagsAndOffset = (ushort)(value ? FlagsAndOffset | MoreFragmentsBit : FlagsAndOffset & ~MoreFragmentsBit);
    }

    /// <summary>The fragment offset in units of 8 bytes; setting it writes it into the header.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a value outside 0..<see cref="MaxFragmentOffset"/>.</exception>
    public int FragmentOffset
    {
        get => FlagsAndOffset & MaxFragmentOffset;
        set
        {
            if ((uint)value > MaxFragmentOffset)
            {
                ThrowHelper.ThrowArgumentOutOfRange(nameof(value), value, $"A fragment offset is 0..{MaxFragmentOffset} (13 bits, in units of 8 bytes).");
            }

            FlagsAndOffset = (ushort)((FlagsAndOffset & ~MaxFragmentOffset) | value);
        }
    }

    /// <summary>Whether the packet is a fragment of a larger one: more fragments follow, or its offset is not zero.</summary>
    public bool IsFragment => (FlagsAndOffset & (MoreFragmentsBit | MaxFragmentOffset)) != 0;

    /// <summary>The time to live; setting it writes it into the header.</summary>
    public byte TimeToLive
    {
        get => _packet[TimeToLiveOffset];
        set => _packet[TimeToLiveOffset] = value;
    }

    /// <summary>The payload's protocol; setting it writes it into the header.</summary>
    public IpProtocol Protocol
    {
        get => (IpProtocol)_packet[ProtocolOffset];
        set => _packet[ProtocolOffset] = (byte)value;
    }

    /// <summary>The header checksum as stored; setting it writes it into the header.</summary>
    public ushort HeaderChecksum
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_packet[ChecksumOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_packet[ChecksumOffset..], value);
    }

    /// <summary>Whether the header checksum is correct (over the whole header, options included).</summary>
    public bool IsHeaderChecksumValid => InternetChecksum.IsValid(Header);

    /// <summary>The source address; setting it writes it into the header.</summary>
    public Ipv4Address Source
    {
        get => new(BinaryPrimitives.ReadUInt32BigEndian(_packet[SourceOffset..]));
        set => BinaryPrimitives.WriteUInt32BigEndian(_packet[SourceOffset..], value.Value);
    }

    /// <summary>The destination address; setting it writes it into the header.</summary>
    public Ipv4Address Destination
    {
        get => new(BinaryPrimitives.ReadUInt32BigEndian(_packet[DestinationOffset..]));
        set => BinaryPrimitives.WriteUInt32BigEndian(_packet[DestinationOffset..], value.Value);
    }

    private ushort FlagsAndOffset
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_packet[FlagsOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_packet[FlagsOffset..], value);
    }

    /// <summary>
    /// Views the start of <paramref name="packet"/> as an IPv4 packet. <see langword="false"/> when
    /// the bytes cannot hold the packet the header describes: shorter than 20 bytes, version not 4,
    /// header length under 20 or past the bytes, total length under the header length or past the
    /// bytes. Bytes after the total length (padding) are left out of the view. The checksum and the
    /// options' contents are not checked (see <see cref="IsHeaderChecksumValid"/>). Never throws.
    /// </summary>
    /// <param name="packet">The bytes after the Ethernet header.</param>
    /// <param name="view">The view, or <c>default</c>.</param>
    /// <returns>Whether the bytes hold a whole IPv4 packet.</returns>
    public static bool TryParse(Span<byte> packet, out Ipv4Packet view)
    {
        view = default;
        if (packet.Length < MinHeaderLength || packet[0] >> 4 != 4)
        {
            return false;
        }

        int headerLength = (packet[0] & 0xF) * 4;
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(packet[TotalLengthOffset..]);
        if (headerLength < MinHeaderLength || totalLength < headerLength || totalLength > packet.Length)
        {
            return false;
        }

        view = new Ipv4Packet(packet[..totalLength], headerLength);
        return true;
    }

    /// <summary>
    /// Writes a 20-byte header (no options) at the start of <paramref name="buffer"/> for a payload of
    /// <paramref name="payloadLength"/> bytes and views the packet: type of service 0,
    /// identification 0, no flags, time to live <see cref="DefaultTimeToLive"/>, checksum filled.
    /// The payload's bytes are not touched.
    /// </summary>
    /// <param name="buffer">Where the packet goes.</param>
    /// <param name="payloadLength">The payload's length.</param>
    /// <param name="protocol">The payload's protocol.</param>
    /// <param name="source">The source address.</param>
    /// <param name="destination">The destination address.</param>
    /// <param name="view">The view, or <c>default</c>.</param>
    /// <returns>
    /// <see langword="false"/>, writing nothing, when <paramref name="payloadLength"/> is negative,
    /// the packet would exceed 65535 bytes, or the buffer is too short for it.
    /// </returns>
    public static bool TryCreate(
        Span<byte> buffer, int payloadLength, IpProtocol protocol, Ipv4Address source, Ipv4Address destination, out Ipv4Packet view)
    {
        view = default;
        if (payloadLength < 0 || payloadLength > Math.Min(buffer.Length, ushort.MaxValue) - MinHeaderLength)
        {
            return false;
        }

        int totalLength = MinHeaderLength + payloadLength;
        Span<byte> header = buffer[..MinHeaderLength];
        header.Clear();
        header[0] = VersionAndMinHeader;
        BinaryPrimitives.WriteUInt16BigEndian(header[TotalLengthOffset..], (ushort)totalLength);
        view = new Ipv4Packet(buffer[..totalLength], MinHeaderLength)
        {
            TimeToLive = DefaultTimeToLive,
            Protocol = protocol,
            Source = source,
            Destination = destination,
        };
        view.FillHeaderChecksum();
        return true;
    }

    /// <summary>Computes the header checksum (options included) and writes it into the header.</summary>
    public void FillHeaderChecksum()
    {
        HeaderChecksum = 0;
        HeaderChecksum = InternetChecksum.Compute(Header);
    }
}
