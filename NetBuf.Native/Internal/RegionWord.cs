using System.Runtime.CompilerServices;

namespace NetBufNative.Internal;

/// <summary>
/// A buffer's three region lengths in one 64-bit word: the header's offset (the headroom) in bits
/// 0-15, the header length in bits 16-31, the packet length in bits 32-47. One word so that it is
/// read and written whole: every value ever stored was checked against the buffer length
/// (offset + header + packet &lt;= length), so a span built from one read of it lies inside the
/// buffer even when a stale handle on another thread writes it at the same time.
/// </summary>
internal static class RegionWord
{
    /// <summary>Packs the three lengths; the caller has checked that they fit the buffer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Make(int offset, int headerLength, int packetLength) =>
        (uint)offset | ((ulong)(uint)headerLength << 16) | ((ulong)(uint)packetLength << 32);

    /// <summary>The header's offset in the buffer: the headroom.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Offset(ulong word) => (ushort)word;

    /// <summary>The header region's length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int HeaderLength(ulong word) => (ushort)(word >> 16);

    /// <summary>The packet region's length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int PacketLength(ulong word) => (ushort)(word >> 32);
}
