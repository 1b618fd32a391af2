namespace NetBufNative.Drivers.Linux.Xdp;

/// <summary>Which frames an <see cref="XdpFilter"/> sends to the AF_XDP socket (the rest go on to the kernel's stack).</summary>
public enum XdpFilterKind
{
    /// <summary>Every frame: the kernel's stack sees nothing on the queue.</summary>
    Every = 0,

    /// <summary>Frames of one Ethernet type (untagged frames only).</summary>
    EtherType,

    /// <summary>IPv4 packets of one IP protocol (untagged frames only).</summary>
    IpProtocol,

    /// <summary>IPv4 UDP datagrams to one destination port (untagged frames, unfragmented or first fragments).</summary>
    UdpDestinationPort,
}
