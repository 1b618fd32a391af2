namespace NetBufNative.Wire;

/// <summary>EtherType values this library knows (IEEE 802 numbers); any other 16-bit value is valid too.</summary>
#pragma warning disable CA1028 // The wire field is 16 bits: the enum is its exact type.
public enum EtherType : ushort
#pragma warning restore CA1028
{
    /// <summary>No EtherType (not on the wire; the default).</summary>
    None = 0,

    /// <summary>IPv4 (0x0800).</summary>
    Ipv4 = 0x0800,

    /// <summary>ARP (0x0806).</summary>
    Arp = 0x0806,

    /// <summary>An IEEE 802.1Q VLAN tag follows (0x8100).</summary>
    Vlan = 0x8100,

    /// <summary>IPv6 (0x86DD).</summary>
    Ipv6 = 0x86DD,
}
