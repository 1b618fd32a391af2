namespace NetBufNative.Wire;

/// <summary>ICMPv4 message types this library knows (RFC 792); any other 8-bit value is valid too.</summary>
#pragma warning disable CA1028 // The wire field is 8 bits: the enum is its exact type.
public enum IcmpV4Type : byte
#pragma warning restore CA1028
{
    /// <summary>Echo reply (0; the default).</summary>
    EchoReply = 0,

    /// <summary>Destination unreachable (3).</summary>
    DestinationUnreachable = 3,

    /// <summary>Echo request (8).</summary>
    EchoRequest = 8,

    /// <summary>Time exceeded (11).</summary>
    TimeExceeded = 11,
}
