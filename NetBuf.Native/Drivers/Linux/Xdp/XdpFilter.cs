using NetBufNative.Wire;

namespace NetBufNative.Drivers.Linux.Xdp;

/// <summary>
/// What the XDP program of an <see cref="XdpDriver"/> redirects to the driver's socket: every frame,
/// or only one Ethernet type, one IP protocol, or one UDP destination port, passing the rest to the
/// kernel's stack (so ARP, ping and SSH keep working on an interface whose UDP port the application
/// takes). The program is generated in C# for the filter and checked by the kernel's verifier when
/// the driver loads it.
/// </summary>
/// <remarks>Immutable and thread-safe.</remarks>
public sealed class XdpFilter
{
    private XdpFilter(XdpFilterKind kind, int value)
    {
        Kind = kind;
        Value = value;
    }

    /// <summary>Every frame (the default).</summary>
    public static XdpFilter Every { get; } = new(XdpFilterKind.Every, 0);

    /// <summary>What the filter matches on.</summary>
    public XdpFilterKind Kind { get; }

    /// <summary>The Ethernet type, IP protocol or UDP port matched, in host order (0 for <see cref="XdpFilterKind.Every"/>).</summary>
    public int Value { get; }

    /// <summary>Frames of one Ethernet type, e.g. <see cref="Wire.EtherType.Ipv4"/>; other frames pass to the kernel.</summary>
    /// <param name="etherType">The type, as in the frame (host order here).</param>
    /// <returns>The filter.</returns>
    public static XdpFilter ForEtherType(EtherType etherType) => new(XdpFilterKind.EtherType, (ushort)etherType);

    /// <summary>IPv4 packets of one IP protocol, e.g. <see cref="Wire.IpProtocol.Udp"/>; other frames pass to the kernel.</summary>
    /// <param name="protocol">The protocol number.</param>
    /// <returns>The filter.</returns>
    public static XdpFilter ForIpProtocol(IpProtocol protocol) => new(XdpFilterKind.IpProtocol, (byte)protocol);

    /// <summary>IPv4 UDP datagrams to one destination port; other frames (ARP, ICMP, other ports, later fragments) pass to the kernel.</summary>
    /// <param name="port">The destination port, 1 to 65535.</param>
    /// <returns>The filter.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="port"/> is 0.</exception>
    public static XdpFilter ForUdpDestinationPort(ushort port)
    {
        ArgumentOutOfRangeException.ThrowIfZero(port);
        return new XdpFilter(XdpFilterKind.UdpDestinationPort, port);
    }

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        XdpFilterKind.EtherType => $"ethertype 0x{Value:x4}",
        XdpFilterKind.IpProtocol => $"IP protocol {Value}",
        XdpFilterKind.UdpDestinationPort => $"UDP destination port {Value}",
        _ => "every frame",
    };
}
