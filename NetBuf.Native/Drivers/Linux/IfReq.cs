using System.Runtime.InteropServices;
using System.Text;

namespace NetBufNative.Drivers.Linux;

/// <summary>
/// <c>struct ifreq</c> (40 bytes): an interface name (16 bytes, zero-terminated) and a 24-byte
/// union, of which the drivers use the flags (a short at 16), the MTU (an int at 16) and the
/// hardware address (a <c>sockaddr</c> at 16: family, then the address bytes at 18).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
internal unsafe struct IfReq
{
    /// <summary>Bytes of <c>ifr_name</c> (IFNAMSIZ).</summary>
    public const int NameSize = 16;

    /// <summary><c>ifr_name</c>.</summary>
    [FieldOffset(0)]
    public fixed byte Name[NameSize];

    /// <summary><c>ifr_flags</c>.</summary>
    [FieldOffset(16)]
    public short Flags;

    /// <summary><c>ifr_mtu</c>.</summary>
    [FieldOffset(16)]
    public int Mtu;

    /// <summary><c>ifr_hwaddr.sa_family</c>.</summary>
    [FieldOffset(16)]
    public ushort HardwareFamily;

    /// <summary><c>ifr_hwaddr.sa_data</c>: the hardware address (6 bytes for Ethernet) starts here.</summary>
    [FieldOffset(18)]
    public fixed byte HardwareAddress[14];

    /// <summary>Creates a request for the interface <paramref name="name"/> (at most 15 ASCII bytes, checked by the caller).</summary>
    public static IfReq For(string name)
    {
        IfReq request = default;

        // Sound: the fixed buffer is a field of a local, so it cannot move; the span covers its 16 bytes
        // and the name is at most 15 bytes, so the terminating zero stays.
        Encoding.ASCII.GetBytes(name, new Span<byte>(request.Name, NameSize - 1));
        return request;
    }

    /// <summary>The name the kernel wrote back (after <c>TUNSETIFF</c> with a pattern such as <c>tap%d</c>).</summary>
    public readonly string GetName()
    {
        // Sound: reads the 16 bytes of this (readonly) value's fixed buffer.
        fixed (byte* name = Name)
        {
            var bytes = new ReadOnlySpan<byte>(name, NameSize);
            int end = bytes.IndexOf((byte)0);
            return Encoding.ASCII.GetString(end < 0 ? bytes : bytes[..end]);
        }
    }
}
