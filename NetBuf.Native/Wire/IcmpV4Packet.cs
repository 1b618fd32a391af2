using System.Buffers.Binary;

namespace NetBufNative.Wire;

/// <summary>
/// An ICMPv4 message (RFC 792) viewed in place: type, code, checksum, the 4-byte rest of the header
/// (an echo's identifier and sequence number), and the data after it.
/// </summary>
/// <remarks>
/// ICMP has no length field: the message is the whole span it is made from, normally an
/// <see cref="Ipv4Packet.Payload"/>. The checksum covers the whole message; setters do not update
/// it (call <see cref="FillChecksum"/>). Not thread-safe: like the span it is made from.
/// </remarks>
public readonly ref struct IcmpV4Packet
{
    /// <summary>The header's length: type, code, checksum and the 4-byte rest of the header.</summary>
    public const int HeaderLength = 8;

    // Offsets of the fields (RFC 792).
    private const int CodeOffset = 1;
    private const int ChecksumOffset = 2;
    private const int IdentifierOffset = 4;
    private const int SequenceOffset = 6;

    private readonly Span<byte> _message;

    private IcmpV4Packet(Span<byte> message) => _message = message;

    /// <summary>The whole message: header and data.</summary>
    public Span<byte> Message => _message;

    /// <summary>The bytes after the 8-byte header (an echo's data).</summary>
    public Span<byte> Data => _message[HeaderLength..];

    /// <summary>The message type; setting it writes it into the header.</summary>
    public IcmpV4Type Type
    {
        get => (IcmpV4Type)_message[0];
        set => _message[0] = (byte)value;
    }

    /// <summary>The code; setting it writes it into the header.</summary>
    public byte Code
    {
        get => _message[CodeOffset];
        set => _message[CodeOffset] = value;
    }

    /// <summary>The checksum as stored; setting it writes it into the header.</summary>
    public ushort Checksum
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_message[ChecksumOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_message[ChecksumOffset..], value);
    }

    /// <summary>Whether the checksum over the whole message is correct.</summary>
    public bool IsChecksumValid => InternetChecksum.IsValid(_message);

    /// <summary>An echo request's or reply's identifier (bytes 4-5); setting it writes it into the header.</summary>
    public ushort EchoIdentifier
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_message[IdentifierOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_message[IdentifierOffset..], value);
    }

    /// <summary>An echo request's or reply's sequence number (bytes 6-7); setting it writes it into the header.</summary>
    public ushort EchoSequence
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_message[SequenceOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_message[SequenceOffset..], value);
    }

    /// <summary>
    /// Views <paramref name="message"/> as an ICMPv4 message: <see langword="false"/> when it is
    /// shorter than the 8-byte header. The checksum is not checked (see <see cref="IsChecksumValid"/>). Never throws.
    /// </summary>
    /// <param name="message">The message, normally an IPv4 packet's payload.</param>
    /// <param name="view">The view, or <c>default</c>.</param>
    /// <returns>Whether the bytes hold an ICMP header.</returns>
    public static bool TryParse(Span<byte> message, out IcmpV4Packet view)
    {
        view = default;
        if (message.Length < HeaderLength)
        {
            return false;
        }

        view = new IcmpV4Packet(message);
        return true;
    }

    /// <summary>
    /// Writes a header with <paramref name="type"/> and <paramref name="code"/>, a zero checksum and a
    /// zero rest of header at the start of <paramref name="buffer"/>, and views the whole buffer as
    /// the message (slice it to the message's length first). The data is not touched; fill it, set the
    /// rest of the header, then call <see cref="FillChecksum"/>.
    /// </summary>
    /// <param name="buffer">The message's bytes.</param>
    /// <param name="type">The message type.</param>
    /// <param name="code">The code.</param>
    /// <param name="view">The view, or <c>default</c>.</param>
    /// <returns><see langword="false"/>, writing nothing, when the buffer is shorter than the header.</returns>
    public static bool TryCreate(Span<byte> buffer, IcmpV4Type type, byte code, out IcmpV4Packet view)
    {
        view = default;
        if (buffer.Length < HeaderLength)
        {
            return false;
        }

        buffer[..HeaderLength].Clear();
        view = new IcmpV4Packet(buffer) { Type = type, Code = code };
        return true;
    }

    /// <summary>Computes the checksum over the whole message and writes it into the header.</summary>
    public void FillChecksum()
    {
        Checksum = 0;
        Checksum = InternetChecksum.Compute(_message);
    }
}
