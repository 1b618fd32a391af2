namespace NetBufNative.Wire;

/// <summary>What <see cref="TransportChecksum.Check"/> found in a frame's TCP or UDP checksum.</summary>
public enum TransportChecksumStatus
{
    /// <summary>Not a whole TCP or UDP segment over IPv4 or IPv6 the checksum can be checked on: another protocol, a
    /// fragment, an IPv6 routing or authentication header, or headers cut short or inconsistent.</summary>
    NotApplicable = 0,

    /// <summary>The checksum is correct.</summary>
    Valid = 1,

    /// <summary>A UDP datagram over IPv4 whose sender computed no checksum (the field is 0, which RFC 768 allows).</summary>
    Absent = 2,

    /// <summary>
    /// The checksum is not correct, and the field holds the pseudo-header's sum: what a Linux sender leaves for the
    /// device to finish when the device offers checksum offload (<c>CHECKSUM_PARTIAL</c>, on a veth or a TAP with
    /// offloads). <see cref="TransportChecksum.TryFill"/> completes it.
    /// </summary>
    Partial = 3,

    /// <summary>The checksum is wrong (and is not a partial one).</summary>
    Invalid = 4,
}
