using System.Buffers.Binary;

namespace NetBufNative.Wire;

/// <summary>
/// A UDP datagram (RFC 768) viewed in place: ports, length, checksum and the payload bounded by the
/// length field.
/// </summary>
/// <remarks>
/// <para>
/// The view's extent is fixed when it is made, by <see cref="TryParse"/> or <see cref="TryCreate"/>:
/// the length field has no setter. The checksum covers an IPv4 pseudo-header (source, destination,
/// protocol, length) and the datagram; a stored 0 means the sender computed none, which IPv4
/// allows, so a computed 0 is sent as 0xFFFF. Setters do not update the checksum (call
/// <see cref="FillChecksum"/>).
/// </para>
/// <para>Not thread-safe: like the span it is made from.</para>
/// </remarks>
public readonly ref struct UdpDatagram
{
    /// <summary>The header's length: ports, length and checksum.</summary>
    public const int HeaderLength = 8;

    // Offsets of the fields (RFC 768).
    private const int DestinationPortOffset = 2;
    private const int LengthOffset = 4;
    private const int ChecksumOffset = 6;

    private readonly Span<byte> _datagram;

    private UdpDatagram(Span<byte> datagram) => _datagram = datagram;

    /// <summary>The datagram: header and payload, <see cref="Length"/> bytes.</summary>
    public Span<byte> Datagram => _datagram;

    /// <summary>The payload: the bytes after the header, up to the length field.</summary>
    public Span<byte> Payload => _datagram[HeaderLength..];

    /// <summary>The datagram's length, header included: the length field.</summary>
    public int Length => _datagram.Length;

    /// <summary>The source port; setting it writes it into the header.</summary>
    public ushort SourcePort
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_datagram);
        set => BinaryPrimitives.WriteUInt16BigEndian(_datagram, value);
    }

    /// <summary>The destination port; setting it writes it into the header.</summary>
    public ushort DestinationPort
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_datagram[DestinationPortOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_datagram[DestinationPortOffset..], value);
    }

    /// <summary>The checksum as stored (0: none was computed); setting it writes it into the header.</summary>
    public ushort Checksum
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_datagram[ChecksumOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_datagram[ChecksumOffset..], value);
    }

    /// <summary>
    /// Views the start of <paramref name="datagram"/> as a UDP datagram: <see langword="false"/> when
    /// it is shorter than the header, or the length field is under 8 or past the bytes. Bytes after
    /// the length are left out of the view. The checksum is not checked. Never throws.
    /// </summary>
    /// <param name="datagram">The bytes, normally an IPv4 packet's payload.</param>
    /// <param name="view">The view, or <c>default</c>.</param>
    /// <returns>Whether the bytes hold the whole datagram.</returns>
    public static bool TryParse(Span<byte> datagram, out UdpDatagram view)
    {
        view = default;
        if (datagram.Length < HeaderLength)
        {
            return false;
        }

        int length = BinaryPrimitives.ReadUInt16BigEndian(datagram[LengthOffset..]);
        if (length < HeaderLength || length > datagram.Length)
        {
            return false;
        }

        view = new UdpDatagram(datagram[..length]);
        return true;
    }

    /// <summary>
    /// Writes a header for a payload of <paramref name="payloadLength"/> bytes at the start of
    /// <paramref name="buffer"/>, checksum 0, and views the datagram. The payload's bytes are not touched.
    /// </summary>
    /// <param name="buffer">Where the datagram goes.</param>
    /// <param name="sourcePort">The source port.</param>
    /// <param name="destinationPort">The destination port.</param>
    /// <param name="payloadLength">The payload's length.</param>
    /// <param name="view">The view, or <c>default</c>.</param>
    /// <returns>
    /// <see langword="false"/>, writing nothing, when <paramref name="payloadLength"/> is negative,
    /// the datagram would exceed 65535 bytes, or the buffer is too short for it.
    /// </returns>
    public static bool TryCreate(Span<byte> buffer, ushort sourcePort, ushort destinationPort, int payloadLength, out UdpDatagram view)
    {
        view = default;
        if (payloadLength < 0 || payloadLength > Math.Min(buffer.Length, ushort.MaxValue) - HeaderLength)
        {
            return false;
        }

        int length = HeaderLength + payloadLength;
        BinaryPrimitives.WriteUInt16BigEndian(buffer[LengthOffset..], (ushort)length);
        view = new UdpDatagram(buffer[..length]) { SourcePort = sourcePort, DestinationPort = destinationPort, Checksum = 0 };
        return true;
    }

    /// <summary>
    /// Whether the checksum is correct for a datagram from <paramref name="source"/> to
    /// <paramref name="destination"/>; <see langword="true"/> also when it is 0 (none computed).
    /// </summary>
    /// <param name="source">The IPv4 source address.</param>
    /// <param name="destination">The IPv4 destination address.</param>
    /// <returns>Whether the checksum is absent or correct.</returns>
    public bool IsChecksumValid(Ipv4Address source, Ipv4Address destination) =>
        Checksum == 0 || InternetChecksum.IsValid(_datagram, InternetChecksum.PseudoHeaderSum(source, destination, IpProtocol.Udp, Length));

    /// <summary>Computes the checksum with the pseudo-header and writes it (0xFFFF for a computed 0).</summary>
    /// <param name="source">The IPv4 source address.</param>
    /// <param name="destination">The IPv4 destination address.</param>
    public void FillChecksum(Ipv4Address source, Ipv4Address destination)
    {
        Checksum = 0;
        ushort checksum = InternetChecksum.Complement(
            InternetChecksum.Sum(_datagram, InternetChecksum.PseudoHeaderSum(source, destination, IpProtocol.Udp, Length)));
        Checksum = checksum == 0 ? ushort.MaxValue : checksum;
    }
}
