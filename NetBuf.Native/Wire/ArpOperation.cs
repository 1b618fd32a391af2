namespace NetBufNative.Wire;

/// <summary>ARP operation codes (RFC 826); any other 16-bit value is valid on the wire too.</summary>
#pragma warning disable CA1028 // The wire field is 16 bits: the enum is its exact type.
public enum ArpOperation : ushort
#pragma warning restore CA1028
{
    /// <summary>No operation (not valid on the wire; the default).</summary>
    None = 0,

    /// <summary>A request: who has the target protocol address?</summary>
    Request = 1,

    /// <summary>A reply: the sender hardware address has the sender protocol address.</summary>
    Reply = 2,
}
