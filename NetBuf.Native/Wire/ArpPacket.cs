using System.Buffers.Binary;

namespace NetBufNative.Wire;

/// <summary>
/// An ARP packet for IPv4 over Ethernet (RFC 826) viewed in place: the operation and the sender's
/// and target's hardware (MAC) and protocol (IPv4) addresses. Other hardware or protocol types are
/// not parsed.
/// </summary>
/// <remarks>
/// The view covers the 28 bytes of the packet; whatever follows (Ethernet padding) is not part of
/// it. It reads and writes the bytes each time, so it is only as valid as the span it was made
/// from. Not thread-safe: like that span.
/// </remarks>
public readonly ref struct ArpPacket
{
    /// <summary>The length of an Ethernet/IPv4 ARP packet.</summary>
    public const int Length = 8 + (2 * (MacAddress.Length + Ipv4Address.Length));

    // The fixed fields: hardware type Ethernet (1), protocol type IPv4, address lengths 6 and 4.
    private const ushort HardwareTypeEthernet = 1;

    // Offsets of the fields (RFC 826).
    private const int ProtocolTypeOffset = 2;
    private const int HardwareLengthOffset = 4;
    private const int ProtocolLengthOffset = 5;
    private const int OperationOffset = 6;
    private const int SenderHardwareOffset = 8;
    private const int SenderProtocolOffset = SenderHardwareOffset + MacAddress.Length;
    private const int TargetHardwareOffset = SenderProtocolOffset + Ipv4Address.Length;
    private const int TargetProtocolOffset = TargetHardwareOffset + MacAddress.Length;

    private readonly Span<byte> _packet;

    private ArpPacket(Span<byte> packet) => _packet = packet;

    /// <summary>The packet's 28 bytes.</summary>
    public Span<byte> Packet => _packet;

    /// <summary>The operation; setting it writes it into the packet.</summary>
    public ArpOperation Operation
    {
        get => (ArpOperation)BinaryPrimitives.ReadUInt16BigEndian(_packet[OperationOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_packet[OperationOffset..], (ushort)value);
    }

    /// <summary>The sender's MAC address; setting it writes it into the packet.</summary>
    public MacAddress SenderHardwareAddress
    {
        get => MacAddress.Read(_packet[SenderHardwareOffset..]);
        set => value.WriteTo(_packet[SenderHardwareOffset..]);
    }

    /// <summary>The sender's IPv4 address; setting it writes it into the packet.</summary>
    public Ipv4Address SenderProtocolAddress
    {
        get => Ipv4Address.Read(_packet[SenderProtocolOffset..]);
        set => value.WriteTo(_packet[SenderProtocolOffset..]);
    }

    /// <summary>The target's MAC address (zero in a request); setting it writes it into the packet.</summary>
    public MacAddress TargetHardwareAddress
    {
        get => MacAddress.Read(_packet[TargetHardwareOffset..]);
        set => value.WriteTo(_packet[TargetHardwareOffset..]);
    }

    /// <summary>The target's IPv4 address; setting it writes it into the packet.</summary>
    public Ipv4Address TargetProtocolAddress
    {
        get => Ipv4Address.Read(_packet[TargetProtocolOffset..]);
        set => value.WriteTo(_packet[TargetProtocolOffset..]);
    }

    /// <summary>
    /// Views the start of <paramref name="packet"/> as an ARP packet: <see langword="false"/> when it
    /// is shorter than <see cref="Length"/> or not Ethernet/IPv4 (hardware type 1, protocol type
    /// 0x0800, address lengths 6 and 4). The operation is not checked. Never throws.
    /// </summary>
    /// <param name="packet">The bytes after the Ethernet header.</param>
    /// <param name="view">The view, or <c>default</c>.</param>
    /// <returns>Whether the bytes hold an Ethernet/IPv4 ARP packet.</returns>
    public static bool TryParse(Span<byte> packet, out ArpPacket view)
    {
        view = default;
        if (packet.Length < Length ||
            BinaryPrimitives.ReadUInt16BigEndian(packet) != HardwareTypeEthernet ||
            BinaryPrimitives.ReadUInt16BigEndian(packet[ProtocolTypeOffset..]) != (ushort)EtherType.Ipv4 ||
            packet[HardwareLengthOffset] != MacAddress.Length ||
            packet[ProtocolLengthOffset] != Ipv4Address.Length)
        {
            return false;
        }

        view = new ArpPacket(packet[..Length]);
        return true;
    }

    /// <summary>Writes a whole Ethernet/IPv4 ARP packet at the start of <paramref name="buffer"/> and views it.</summary>
    /// <param name="buffer">Where the packet goes.</param>
    /// <param name="operation">The operation.</param>
    /// <param name="senderHardwareAddress">The sender's MAC address.</param>
    /// <param name="senderProtocolAddress">The sender's IPv4 address.</param>
    /// <param name="targetHardwareAddress">The target's MAC address (zero in a request).</param>
    /// <param name="targetProtocolAddress">The target's IPv4 address.</param>
    /// <param name="view">The view, or <c>default</c>.</param>
    /// <returns><see langword="false"/>, writing nothing, when the buffer is shorter than <see cref="Length"/>.</returns>
    public static bool TryCreate(
        Span<byte> buffer,
        ArpOperation operation,
        MacAddress senderHardwareAddress,
        Ipv4Address senderProtocolAddress,
        MacAddress targetHardwareAddress,
        Ipv4Address targetProtocolAddress,
        out ArpPacket view)
    {
        view = default;
        if (buffer.Length < Length)
        {
            return false;
        }

        BinaryPrimitives.WriteUInt16BigEndian(buffer, HardwareTypeEthernet);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[ProtocolTypeOffset..], (ushort)EtherType.Ipv4);
        buffer[HardwareLengthOffset] = MacAddress.Length;
        buffer[ProtocolLengthOffset] = Ipv4Address.Length;
        view = new ArpPacket(buffer[..Length])
        {
            Operation = operation,
            SenderHardwareAddress = senderHardwareAddress,
            SenderProtocolAddress = senderProtocolAddress,
            TargetHardwareAddress = targetHardwareAddress,
            TargetProtocolAddress = targetProtocolAddress,
        };
        return true;
    }
}
