using System.Buffers.Binary;
using System.Globalization;
using System.Net.NetworkInformation;
using NetBufNative.Internal;

namespace NetBufNative.Wire;

/// <summary>
/// A 48-bit Ethernet (EUI-48) address as a 6-byte value: equality without allocation, read from and
/// written to frames in place, formatted as <c>aa:bb:cc:dd:ee:ff</c>.
/// </summary>
/// <remarks>
/// The first octet on the wire is the most significant byte of <see cref="Value"/>.
/// <c>default</c> is <c>00:00:00:00:00:00</c>. Immutable and thread-safe.
/// </remarks>
public readonly struct MacAddress : IEquatable<MacAddress>
{
    /// <summary>The length of an address in bytes.</summary>
    public const int Length = 6;

    // The 48 bits an address holds.
    private const ulong Mask = (1UL << 48) - 1;

    // "aa:bb:cc:dd:ee:ff": six pairs of hex digits and five separators.
    private const int TextLength = (Length * 3) - 1;

    private readonly ulong _value;

    /// <summary>Creates an address from its 48-bit value (first octet most significant).</summary>
    /// <param name="value">The address; only the low 48 bits may be set.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="value"/> has bits above the 48th set.</exception>
    public MacAddress(ulong value)
    {
        if ((value & ~Mask) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "A MAC address has 48 bits; the value has higher bits set.");
        }

        _value = value;
    }

    /// <summary>Creates an address from exactly six bytes, in wire order.</summary>
    /// <param name="bytes">The six octets.</param>
    /// <exception cref="ArgumentException"><paramref name="bytes"/> is not 6 bytes long.</exception>
    public MacAddress(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Length)
        {
            ThrowHelper.ThrowArgument(nameof(bytes), $"A MAC address is {Length} bytes; {bytes.Length} were given.");
        }

        _value = ReadUnchecked(bytes);
    }

    /// <summary>Creates an address from its six octets, in wire order (<c>new MacAddress(0x02, 0, 0, 0, 0, 1)</c> is 02:00:00:00:00:01).</summary>
    /// <param name="octet0">The first octet (its low bits tell multicast and locally administered addresses).</param>
    /// <param name="octet1">The second octet.</param>
    /// <param name="octet2">The third octet.</param>
    /// <param name="octet3">The fourth octet.</param>
    /// <param name="octet4">The fifth octet.</param>
    /// <param name="octet5">The sixth octet.</param>
    public MacAddress(byte octet0, byte octet1, byte octet2, byte octet3, byte octet4, byte octet5)
    {
        _value = ((ulong)octet0 << 40) | ((ulong)octet1 << 32) | ((ulong)octet2 << 24) |
                 ((ulong)octet3 << 16) | ((ulong)octet4 << 8) | octet5;
    }

    /// <summary>The broadcast address <c>ff:ff:ff:ff:ff:ff</c>.</summary>
    public static MacAddress Broadcast { get; } = new(Mask);

    /// <summary>The address as a 48-bit number, first octet most significant.</summary>
    public ulong Value => _value;

    /// <summary>Whether this is <c>ff:ff:ff:ff:ff:ff</c>.</summary>
    public bool IsBroadcast => _value == Mask;

    /// <summary>Whether the group bit (the lowest bit of the first octet) is set: multicast, broadcast included.</summary>
    public bool IsMulticast => (_value & (1UL << 40)) != 0;

    /// <summary>Equality of two addresses.</summary>
    /// <param name="left">One address.</param>
    /// <param name="right">The other.</param>
    /// <returns>Whether they are equal.</returns>
    public static bool operator ==(MacAddress left, MacAddress right) => left._value == right._value;

    /// <summary>Inequality of two addresses.</summary>
    /// <param name="left">One address.</param>
    /// <param name="right">The other.</param>
    /// <returns>Whether they differ.</returns>
    public static bool operator !=(MacAddress left, MacAddress right) => left._value != right._value;

    /// <summary>Reads an address from the first six bytes of <paramref name="source"/>.</summary>
    /// <param name="source">At least six bytes, wire order.</param>
    /// <returns>The address.</returns>
    /// <exception cref="ArgumentException"><paramref name="source"/> is shorter than 6 bytes.</exception>
    public static MacAddress Read(ReadOnlySpan<byte> source)
    {
        if (source.Length < Length)
        {
            ThrowHelper.ThrowArgument(nameof(source), $"A MAC address is {Length} bytes; the source has {source.Length}.");
        }

        return new MacAddress(ReadUnchecked(source), 0);
    }

    /// <summary>Converts a <see cref="PhysicalAddress"/> of six bytes.</summary>
    /// <param name="address">The address.</param>
    /// <returns>The same address as a value.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="address"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="address"/> is not 6 bytes long.</exception>
    public static MacAddress FromPhysicalAddress(PhysicalAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        byte[] bytes = address.GetAddressBytes();
        if (bytes.Length != Length)
        {
            ThrowHelper.ThrowArgument(nameof(address), $"A MAC address is {Length} bytes; the physical address has {bytes.Length}.");
        }

        return new MacAddress(ReadUnchecked(bytes), 0);
    }

    /// <summary>Parses <c>aa:bb:cc:dd:ee:ff</c> or <c>aa-bb-cc-dd-ee-ff</c> (hex digits in either case, one kind of separator).</summary>
    /// <param name="text">The text.</param>
    /// <returns>The address.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    /// <exception cref="FormatException"><paramref name="text"/> is not an address in that form.</exception>
    public static MacAddress Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!TryParse(text, out MacAddress address))
        {
            throw new FormatException($"'{text}' is not a MAC address of the form aa:bb:cc:dd:ee:ff.");
        }

        return address;
    }

    /// <summary>Parses like <see cref="Parse"/>, reporting bad text as <see langword="false"/>. Allocates nothing.</summary>
    /// <param name="text">The text.</param>
    /// <param name="address">The address, or <c>default</c> when the text is not one.</param>
    /// <returns>Whether <paramref name="text"/> is an address.</returns>
    public static bool TryParse(ReadOnlySpan<char> text, out MacAddress address)
    {
        address = default;
        if (text.Length != TextLength)
        {
            return false;
        }

        char separator = text[2];
        if (separator is not (':' or '-'))
        {
            return false;
        }

        ulong value = 0;
        for (int i = 0; i < Length; i++)
        {
            int at = i * 3;
            if ((i > 0 && text[at - 1] != separator) ||
                !byte.TryParse(text.Slice(at, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte octet))
            {
                return false;
            }

            value = (value << 8) | octet;
        }

        address = new MacAddress(value, 0);
        return true;
    }

    /// <summary>Writes the six bytes, wire order, to the start of <paramref name="destination"/>.</summary>
    /// <param name="destination">At least six bytes.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than 6 bytes.</exception>
    public void WriteTo(Span<byte> destination)
    {
        if (destination.Length < Length)
        {
            ThrowHelper.ThrowArgument(nameof(destination), $"A MAC address is {Length} bytes; the destination has {destination.Length}.");
        }

        BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)(_value >> 16));
        BinaryPrimitives.WriteUInt16BigEndian(destination[4..], (ushort)_value);
    }

    /// <summary>The address as a <see cref="PhysicalAddress"/> (allocates one).</summary>
    /// <returns>A new physical address with the same six bytes.</returns>
    public PhysicalAddress ToPhysicalAddress()
    {
        byte[] bytes = new byte[Length];
        WriteTo(bytes);
        return new PhysicalAddress(bytes);
    }

    /// <summary>Whether both are the same address.</summary>
    /// <param name="other">The other address.</param>
    /// <returns><see langword="true"/> when they are equal.</returns>
    public bool Equals(MacAddress other) => _value == other._value;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is MacAddress other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => _value.GetHashCode();

    /// <summary>The address as <c>aa:bb:cc:dd:ee:ff</c>, lower-case hex.</summary>
    /// <returns>The text.</returns>
    public override string ToString() =>
        string.Create(TextLength, _value, static (chars, value) =>
        {
            for (int i = 0; i < Length; i++)
            {
                byte octet = (byte)(value >> (8 * (Length - 1 - i)));
                chars[i * 3] = HexDigit(octet >> 4);
                chars[(i * 3) + 1] = HexDigit(octet & 0xF);
                if (i < Length - 1)
                {
                    chars[(i * 3) + 2] = ':';
                }
            }
        });

    private static char HexDigit(int nibble) => (char)(nibble < 10 ? '0' + nibble : 'a' + nibble - 10);

    private static ulong ReadUnchecked(ReadOnlySpan<byte> source) =>
        ((ulong)BinaryPrimitives.ReadUInt32BigEndian(source) << 16) | BinaryPrimitives.ReadUInt16BigEndian(source[4..]);

    // Trusted constructor: the value has 48 bits by construction.
#pragma warning disable IDE0060 // The discard parameter only selects this overload.
    private MacAddress(ulong value, int trusted) => _value = value;
#pragma warning restore IDE0060
}
