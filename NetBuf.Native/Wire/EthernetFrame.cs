using System.Buffers.Binary;
using NetBufNative.Internal;

namespace NetBufNative.Wire;

/// <summary>
/// An Ethernet II frame viewed in place: destination, source, an optional IEEE 802.1Q tag and the
/// EtherType, then the payload (everything after the header, any padding included; the frame check
/// sequence is not part of it, as drivers deliver frames without it).
/// </summary>
/// <remarks>
/// <para>
/// A view is a position in someone else's memory: it reads and writes the bytes each time, so it
/// is only as valid as the span it was made from. Its extent (whether it has a tag) is fixed when
/// it is made, by <see cref="TryParse"/> or <see cref="TryCreate(Span{byte}, MacAddress, MacAddress, EtherType, out EthernetFrame)"/>.
/// With one 802.1Q tag the EtherType and payload are the ones after the tag; a second tag (QinQ)
/// shows as <see cref="EtherType.Vlan"/> with the inner tag at the start of the payload.
/// </para>
/// <para>Not thread-safe: like the span it is made from.</para>
/// </remarks>
public readonly ref struct EthernetFrame
{
    /// <summary>Length of the untagged header: two addresses and the EtherType.</summary>
    public const int UntaggedHeaderLength = (2 * MacAddress.Length) + 2;

    /// <summary>Length of an 802.1Q tag: the tag's EtherType (0x8100) and the tag control information.</summary>
    public const int VlanTagLength = 4;

    // Offsets of the fields.
    private const int SourceOffset = MacAddress.Length;
    private const int TypeOffset = 2 * MacAddress.Length;
    private const int TagControlOffset = TypeOffset + 2;

    // The VLAN id is the low 12 bits of the tag control information, the priority the top 3.
    private const int MaxVlanId = 0xFFF;

    private readonly Span<byte> _frame;

    private EthernetFrame(Span<byte> frame, bool tagged)
    {
        _frame = frame;
        HasVlanTag = tagged;
    }

    /// <summary>Whether the frame carries an 802.1Q tag.</summary>
    public bool HasVlanTag { get; }

    /// <summary>The header's length: <see cref="UntaggedHeaderLength"/>, plus <see cref="VlanTagLength"/> when tagged.</summary>
    public int HeaderLength => HasVlanTag ? UntaggedHeaderLength + VlanTagLength : UntaggedHeaderLength;

    /// <summary>The whole frame: header and payload.</summary>
    public Span<byte> Frame => _frame;

    /// <summary>The bytes after the header, to the end of the frame.</summary>
    public Span<byte> Payload => _frame[HeaderLength..];

    /// <summary>The destination address; setting it writes it into the frame.</summary>
    public MacAddress Destination
    {
        get => MacAddress.Read(_frame);
        set => value.WriteTo(_frame);
    }

    /// <summary>The source address; setting it writes it into the frame.</summary>
    public MacAddress Source
    {
        get => MacAddress.Read(_frame[SourceOffset..]);
        set => value.WriteTo(_frame[SourceOffset..]);
    }

    /// <summary>The EtherType of the payload (after the tag, if any); setting it writes it into the frame.</summary>
    public EtherType EtherType
    {
        get => (EtherType)BinaryPrimitives.ReadUInt16BigEndian(_frame[(HeaderLength - 2)..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_frame[(HeaderLength - 2)..], (ushort)value);
    }

    /// <summary>The tag control information (priority, drop eligible, VLAN id); 0 for an untagged frame.</summary>
    /// <exception cref="InvalidOperationException">Set on an untagged frame (a view never moves the payload to make room).</exception>
    public ushort VlanTagControl
    {
        get => HasVlanTag ? BinaryPrimitives.ReadUInt16BigEndian(_frame[TagControlOffset..]) : (ushort)0;
        set
        {
            if (!HasVlanTag)
            {
                ThrowHelper.ThrowInvalidOperation("The frame has no 802.1Q tag; create a tagged frame to set one.");
            }

            BinaryPrimitives.WriteUInt16BigEndian(_frame[TagControlOffset..], value);
        }
    }

    /// <summary>The VLAN id, the low 12 bits of <see cref="VlanTagControl"/>; 0 for an untagged frame.</summary>
    public int VlanId => VlanTagControl & MaxVlanId;

    /// <summary>The priority code point, the top 3 bits of <see cref="VlanTagControl"/>; 0 for an untagged frame.</summary>
    public int VlanPriority => VlanTagControl >> 13;

    /// <summary>
    /// Views <paramref name="frame"/> as an Ethernet frame: <see langword="false"/> when it is too
    /// short for the header (and the tag, when its first EtherType says one follows). Never throws.
    /// </summary>
    /// <param name="frame">The frame as received, without the frame check sequence.</param>
    /// <param name="view">The view, or <c>default</c>.</param>
    /// <returns>Whether the frame holds a whole header.</returns>
    public static bool TryParse(Span<byte> frame, out EthernetFrame view)
    {
        view = default;
        if (frame.Length < UntaggedHeaderLength)
        {
            return false;
        }

        bool tagged = BinaryPrimitives.ReadUInt16BigEndian(frame[TypeOffset..]) == (ushort)EtherType.Vlan;
        if (tagged && frame.Length < UntaggedHeaderLength + VlanTagLength)
        {
            return false;
        }

        view = new EthernetFrame(frame, tagged);
        return true;
    }

    /// <summary>Writes an untagged header at the start of <paramref name="buffer"/> and views it; the payload is the rest of the buffer.</summary>
    /// <param name="buffer">Where the frame goes.</param>
    /// <param name="destination">The destination address.</param>
    /// <param name="source">The source address.</param>
    /// <param name="etherType">The payload's EtherType.</param>
    /// <param name="view">The view, or <c>default</c>.</param>
    /// <returns><see langword="false"/>, writing nothing, when the buffer is shorter than the header.</returns>
    public static bool TryCreate(Span<byte> buffer, MacAddress destination, MacAddress source, EtherType etherType, out EthernetFrame view)
    {
        view = default;
        if (buffer.Length < UntaggedHeaderLength)
        {
            return false;
        }

        view = new EthernetFrame(buffer, tagged: false) { Destination = destination, Source = source, EtherType = etherType };
        return true;
    }

    /// <summary>Writes a header with an 802.1Q tag at the start of <paramref name="buffer"/> and views it.</summary>
    /// <param name="buffer">Where the frame goes.</param>
    /// <param name="destination">The destination address.</param>
    /// <param name="source">The source address.</param>
    /// <param name="vlanTagControl">The tag control information (priority, drop eligible, VLAN id).</param>
    /// <param name="etherType">The payload's EtherType.</param>
    /// <param name="view">The view, or <c>default</c>.</param>
    /// <returns><see langword="false"/>, writing nothing, when the buffer is shorter than the tagged header.</returns>
    public static bool TryCreate(
        Span<byte> buffer, MacAddress destination, MacAddress source, ushort vlanTagControl, EtherType etherType, out EthernetFrame view)
    {
        view = default;
        if (buffer.Length < UntaggedHeaderLength + VlanTagLength)
        {
            return false;
        }

        BinaryPrimitives.WriteUInt16BigEndian(buffer[TypeOffset..], (ushort)EtherType.Vlan);
        view = new EthernetFrame(buffer, tagged: true)
        {
            Destination = destination,
            Source = source,
            VlanTagControl = vlanTagControl,
            EtherType = etherType,
        };
        return true;
    }
}
