using System.Runtime.CompilerServices;

namespace NetBufNative.Internal;

/// <summary>
/// A buffer's regions in one 64-bit word, as three positions in the buffer: where the header
/// starts (the headroom's length) in bits 0-15, where the packet starts in bits 16-31, and where
/// the packet ends in bits 32-47; bits 48-63 are zero. One word so that it is read and written
/// whole: every value ever stored was checked against the buffer length (start &lt;= packet start
/// &lt;= end &lt;= length), so a span built from one read of it lies inside the buffer even when a
/// stale handle on another thread writes it at the same time.
/// </summary>
/// <remarks>
/// Positions rather than lengths because that is what the accesses need: <c>Append</c> grows the
/// end (one add to the word, one field read for the check), <c>Prepend</c> lowers the start (one
/// subtract), and the frame is start..end, so the common accesses decode one or two fields instead
/// of summing three lengths.
/// </remarks>
internal static class RegionWord
{
    /// <summary>The shift of the packet-start field.</summary>
    public const int PacketStartShift = 16;

    /// <summary>The shift of the end field.</summary>
    public const int EndShift = 32;

    /// <summary>Packs the three lengths as positions; the caller has checked that they fit the buffer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Make(int offset, int headerLength, int packetLength) =>
        At(offset, offset + headerLength, offset + headerLength + packetLength);

    /// <summary>Packs three positions; the caller has checked start &lt;= packet start &lt;= end &lt;= the buffer length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong At(int start, int packetStart, int end) =>
        (uint)start | ((ulong)(uint)packetStart << PacketStartShift) | ((ulong)(uint)end << EndShift);

    /// <summary>Where the header starts: the headroom's length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Offset(ulong word) => (ushort)word;

    /// <summary>Where the packet region starts (the header's end).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int PacketStart(ulong word) => (ushort)(word >> PacketStartShift);

    /// <summary>Where the packet region ends (the tailroom's start).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int End(ulong word) => (ushort)(word >> EndShift);

    /// <summary>The header region's length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int HeaderLength(ulong word) => PacketStart(word) - Offset(word);

    /// <summary>The packet region's length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int PacketLength(ulong word) => End(word) - PacketStart(word);

    /// <summary>The header and packet regions' length together (the frame's).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int FrameLength(ulong word) => End(word) - Offset(word);
}
