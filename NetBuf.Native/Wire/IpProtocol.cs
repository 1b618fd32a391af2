namespace NetBufNative.Wire;

/// <summary>IP protocol numbers this library knows (IANA); any other 8-bit value is valid too.</summary>
#pragma warning disable CA1028 // The wire field is 8 bits: the enum is its exact type.
public enum IpProtocol : byte
#pragma warning restore CA1028
{
    /// <summary>IPv6 hop-by-hop options (0; the default).</summary>
    HopByHop = 0,

    /// <summary>ICMP for IPv4 (1).</summary>
    Icmp = 1,

    /// <summary>TCP (6).</summary>
    Tcp = 6,

    /// <summary>UDP (17).</summary>
    Udp = 17,
}
