namespace NetBufNative.Wire;

// TEMPORARY stand-in until the wire branch is merged (replaced by its MacAddress).
#pragma warning disable CS1591, RS0016
public readonly record struct MacAddress(byte A, byte B, byte C, byte D, byte E, byte F);
#pragma warning restore CS1591, RS0016
