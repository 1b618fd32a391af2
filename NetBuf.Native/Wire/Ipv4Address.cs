using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using NetBufNative.Internal;

namespace NetBufNative.Wire;

/// <summary>
/// An IPv4 address as a 4-byte value, read from and written to packets in place without
/// allocating (unlike <see cref="IPAddress"/>).
/// </summary>
/// <remarks>
/// <see cref="Value"/> is the address as a number with the first octet most significant:
/// <c>192.168.0.1</c> is <c>0xC0A80001</c>, which is how the four bytes read in network byte order
/// (big-endian) on any machine. <c>default</c> is <c>0.0.0.0</c>. Immutable and thread-safe.
/// </remarks>
public readonly struct Ipv4Address : IEquatable<Ipv4Address>
{
    /// <summary>The length of an address in bytes.</summary>
    public const int Length = 4;

    private readonly uint _value;

    /// <summary>Creates an address from its value, first octet most significant (<c>0xC0A80001</c> is <c>192.168.0.1</c>).</summary>
    /// <param name="value">The address as a number.</param>
    public Ipv4Address(uint value) => _value = value;

    /// <summary>Creates the address <c>a.b.c.d</c>.</summary>
    /// <param name="a">The first octet.</param>
    /// <param name="b">The second octet.</param>
    /// <param name="c">The third octet.</param>
    /// <param name="d">The fourth octet.</param>
    public Ipv4Address(byte a, byte b, byte c, byte d) => _value = ((uint)a << 24) | ((uint)b << 16) | ((uint)c << 8) | d;

    /// <summary>The unspecified address <c>0.0.0.0</c>.</summary>
    public static Ipv4Address Any => default;

    /// <summary>The limited broadcast address <c>255.255.255.255</c>.</summary>
    public static Ipv4Address Broadcast => new(uint.MaxValue);

    /// <summary>The address as a number, first octet most significant.</summary>
    public uint Value => _value;

    /// <summary>Whether this is <c>0.0.0.0</c>.</summary>
    public bool IsUnspecified => _value == 0;

    /// <summary>Whether this is the limited broadcast <c>255.255.255.255</c> (a subnet's directed broadcast needs its mask to tell).</summary>
    public bool IsBroadcast => _value == uint.MaxValue;

    /// <summary>Whether this is a multicast address (<c>224.0.0.0/4</c>).</summary>
    public bool IsMulticast => (_value >> 28) == 0xE;

    /// <summary>Equality of two addresses.</summary>
    /// <param name="left">One address.</param>
    /// <param name="right">The other.</param>
    /// <returns>Whether they are equal.</returns>
    public static bool operator ==(Ipv4Address left, Ipv4Address right) => left._value == right._value;

    /// <summary>Inequality of two addresses.</summary>
    /// <param name="left">One address.</param>
    /// <param name="right">The other.</param>
    /// <returns>Whether they differ.</returns>
    public static bool operator !=(Ipv4Address left, Ipv4Address right) => left._value != right._value;

    /// <summary>Reads an address from the first four bytes of <paramref name="source"/>.</summary>
    /// <param name="source">At least four bytes, network order.</param>
    /// <returns>The address.</returns>
    /// <exception cref="ArgumentException"><paramref name="source"/> is shorter than 4 bytes.</exception>
    public static Ipv4Address Read(ReadOnlySpan<byte> source)
    {
        if (source.Length < Length)
        {
            ThrowHelper.ThrowArgument(nameof(source), $"An IPv4 address is {Length} bytes; the source has {source.Length}.");
        }

        return new Ipv4Address(BinaryPrimitives.ReadUInt32BigEndian(source));
    }

    /// <summary>Converts an IPv4 <see cref="IPAddress"/>.</summary>
    /// <param name="address">The address.</param>
    /// <returns>The same address as a value.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="address"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="address"/> is not an IPv4 address.</exception>
    public static Ipv4Address FromIPAddress(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        Span<byte> bytes = stackalloc byte[Length];
        if (address.AddressFamily != AddressFamily.InterNetwork || !address.TryWriteBytes(bytes, out _))
        {
            ThrowHelper.ThrowArgument(nameof(address), $"{address} is not an IPv4 address.");
        }

        return new Ipv4Address(BinaryPrimitives.ReadUInt32BigEndian(bytes));
    }

    /// <summary>Parses dotted-quad text, <c>a.b.c.d</c> with each part a decimal 0-255 of at most three digits.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The address.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    /// <exception cref="FormatException"><paramref name="text"/> is not a dotted quad.</exception>
    public static Ipv4Address Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!TryParse(text, out Ipv4Address address))
        {
            throw new FormatException($"'{text}' is not an IPv4 address of the form a.b.c.d.");
        }

        return address;
    }

    /// <summary>
    /// Parses like <see cref="Parse"/>, reporting bad text as <see langword="false"/>. Allocates nothing.
    /// Stricter than <see cref="IPAddress.TryParse(ReadOnlySpan{char}, out IPAddress?)"/>: no short
    /// forms (<c>10.1</c>), no hex or octal parts, no signs or spaces.
    /// </summary>
    /// <param name="text">The text.</param>
    /// <param name="address">The address, or <c>default</c> when the text is not one.</param>
    /// <returns>Whether <paramref name="text"/> is a dotted quad.</returns>
    public static bool TryParse(ReadOnlySpan<char> text, out Ipv4Address address)
    {
        address = default;
        uint value = 0;
        for (int part = 0; part < Length; part++)
        {
            int end = part < Length - 1 ? text.IndexOf('.') : text.Length;

            // One to three digits, "0".."255", no leading zero: "010" would be octal to inet_aton.
            if (end is < 1 or > 3 || (end > 1 && text[0] == '0') ||
                !uint.TryParse(text[..end], NumberStyles.None, CultureInfo.InvariantCulture, out uint octet) ||
                octet > byte.MaxValue)
            {
                return false;
            }

            value = (value << 8) | octet;
            text = part < Length - 1 ? text[(end + 1)..] : default;
        }

        address = new Ipv4Address(value);
        return true;
    }

    /// <summary>Writes the four bytes, network order, to the start of <paramref name="destination"/>.</summary>
    /// <param name="destination">At least four bytes.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than 4 bytes.</exception>
    public void WriteTo(Span<byte> destination)
    {
        if (destination.Length < Length)
        {
            ThrowHelper.ThrowArgument(nameof(destination), $"An IPv4 address is {Length} bytes; the destination has {destination.Length}.");
        }

        BinaryPrimitives.WriteUInt32BigEndian(destination, _value);
    }

    /// <summary>The address as an <see cref="IPAddress"/> (allocates one).</summary>
    /// <returns>A new IPv4 <see cref="IPAddress"/>.</returns>
    public IPAddress ToIPAddress()
    {
        Span<byte> bytes = stackalloc byte[Length];
        WriteTo(bytes);
        return new IPAddress(bytes);
    }

    /// <summary>Whether both are the same address.</summary>
    /// <param name="other">The other address.</param>
    /// <returns><see langword="true"/> when they are equal.</returns>
    public bool Equals(Ipv4Address other) => _value == other._value;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Ipv4Address other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => _value.GetHashCode();

    /// <summary>The address as <c>a.b.c.d</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{_value >> 24}.{(_value >> 16) & 0xFF}.{(_value >> 8) & 0xFF}.{_value & 0xFF}");
}
