using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NetBufNative.Wire;

/// <summary>
/// The Internet checksum of RFC 1071 (IPv4 header, ICMP, UDP, TCP): the 16-bit one's complement of
/// the one's complement sum of the data's 16-bit big-endian words, an odd last byte padded with a
/// zero. Vectorized with <see cref="Vector256"/> or <see cref="Vector128"/> where the hardware has
/// them, scalar otherwise; allocates nothing.
/// </summary>
/// <remarks>
/// <para>
/// Checksums are returned as numbers to write big-endian into the packet (as the views in this
/// namespace do). A sum is kept "folded": a value 0..0xFFFF, the one's complement sum so far.
/// </para>
/// <para>Pure functions of their arguments: thread-safe.</para>
/// </remarks>
public static class InternetChecksum
{
    // Vectors added per block before the 32-bit lanes are folded into the 64-bit total: each add puts
    // at most 2 * 0xFFFF (two 16-bit halves) into a lane, so 32768 adds stay below 2^32.
    private const int VectorsPerBlock = 32768;

    /// <summary>The checksum of <paramref name="data"/>, the value to store in a zeroed checksum field.</summary>
    /// <param name="data">The bytes covered, with the checksum field zero.</param>
    /// <returns>The one's complement of the folded sum.</returns>
    public static ushort Compute(ReadOnlySpan<byte> data) => Complement(Sum(data));

    /// <summary>
    /// Adds <paramref name="data"/> to a running sum, as if it followed the data already summed at an
    /// even offset: every chunk but the last must be of even length (an odd chunk's last byte is
    /// padded with a zero, which shifts the words of whatever follows).
    /// </summary>
    /// <param name="data">The next bytes.</param>
    /// <param name="sum">The sum so far (0 to start); any 32-bit value is folded correctly.</param>
    /// <returns>The folded sum, 0..0xFFFF.</returns>
    public static ushort Sum(ReadOnlySpan<byte> data, uint sum = 0) =>
        SumWith(data, sum, Vector256.IsHardwareAccelerated ? 256 : Vector128.IsHardwareAccelerated ? 128 : 0);


    /// <summary>Whether data that includes its checksum field sums to all ones, which a correct checksum makes it do.</summary>
    /// <param name="data">The bytes covered, checksum field included.</param>
    /// <param name="sum">A sum to add first (a pseudo-header's), 0 if none.</param>
    /// <returns><see langword="true"/> when the checksum is correct.</returns>
    public static bool IsValid(ReadOnlySpan<byte> data, uint sum = 0) => Sum(data, sum) == 0xFFFF;

    /// <summary>The checksum for a folded sum: its one's complement.</summary>
    /// <param name="sum">A sum from <see cref="Sum"/>, or any 32-bit partial sum (it is folded first).</param>
    /// <returns>The checksum.</returns>
    public static ushort Complement(uint sum) => (ushort)~Fold(sum);

    /// <summary>
    /// Updates a checksum for one 16-bit word of the covered data changed from <paramref name="oldWord"/>
    /// to <paramref name="newWord"/>, without summing the data again (RFC 1624, equation 3:
    /// <c>HC' = ~(~HC + ~m + m')</c>).
    /// </summary>
    /// <param name="checksum">The checksum before the change.</param>
    /// <param name="oldWord">The word before, as a big-endian number.</param>
    /// <param name="newWord">The word after.</param>
    /// <returns>The checksum after the change.</returns>
    public static ushort Update(ushort checksum, ushort oldWord, ushort newWord) =>
        (ushort)~Fold((uint)(ushort)~checksum + (ushort)~oldWord + newWord);

    /// <summary>
    /// Updates a checksum for two adjacent words (an IPv4 address, say) changed from
    /// <paramref name="oldValue"/> to <paramref name="newValue"/> (RFC 1624, equation 3).
    /// </summary>
    /// <param name="checksum">The checksum before the change.</param>
    /// <param name="oldValue">The 32 bits before, as a big-endian number at an even offset.</param>
    /// <param name="newValue">The 32 bits after.</param>
    /// <returns>The checksum after the change.</returns>
    public static ushort Update(ushort checksum, uint oldValue, uint newValue) =>
        (ushort)~Fold((ulong)(ushort)~checksum + (ushort)~(oldValue >> 16) + (ushort)~oldValue + (newValue >> 16) + (ushort)newValue);

    /// <summary>
    /// The folded sum of an IPv4 pseudo-header (RFC 768, RFC 793): source, destination, zero and
    /// protocol, and the upper-layer length. Pass it as the starting sum of <see cref="Sum"/> or
    /// <see cref="IsValid"/> over a UDP datagram or TCP segment.
    /// </summary>
    /// <param name="source">The source address.</param>
    /// <param name="destination">The destination address.</param>
    /// <param name="protocol">The upper-layer protocol.</param>
    /// <param name="length">The upper-layer length, header included (0..65535).</param>
    /// <returns>The folded sum, 0..0xFFFF.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is outside 0..65535.</exception>
    public static ushort PseudoHeaderSum(Ipv4Address source, Ipv4Address destination, IpProtocol protocol, int length)
    {
        if ((uint)length > ushort.MaxValue)
        {
            Internal.ThrowHelper.ThrowArgumentOutOfRange(nameof(length), length, "An IPv4 upper-layer length is 0..65535.");
        }

        return Fold((ulong)(source.Value >> 16) + (source.Value & 0xFFFF) + (destination.Value >> 16) + (destination.Value & 0xFFFF) +
            (uint)protocol + (uint)length);
    }

    /// <summary>
    /// <see cref="Sum(ReadOnlySpan{byte}, uint)"/> with the vector width chosen: 256, 128 or 0 (scalar).
    /// Every width gives the same result; tests run each one whatever the hardware (vector operations
    /// work, emulated, where they are not accelerated).
    /// </summary>
    internal static ushort SumWith(ReadOnlySpan<byte> data, uint sum, int vectorBits)
    {
        // Words are added as they lie in memory; on a little-endian machine that is byte-swapped,
        // and the one's complement sum of swapped words is the swapped sum (RFC 1071, 2.B).
        ulong total = 0;
        int i = 0;
        if (vectorBits == 256 && data.Length >= Vector256<byte>.Count)
        {
            total += SumVector256(data, ref i);
        }
        else if (vectorBits >= 128 && data.Length >= Vector128<byte>.Count)
        {
            total += SumVector128(data, ref i);
        }

        for (; i + sizeof(ulong) <= data.Length; i += sizeof(ulong))
        {
            ulong word = MemoryMarshal.Read<ulong>(data[i..]);
            total += (word & 0xFFFF_FFFF) + (word >> 32);
        }

        for (; i + sizeof(ushort) <= data.Length; i += sizeof(ushort))
        {
            total += MemoryMarshal.Read<ushort>(data[i..]);
        }

        if (i < data.Length)
        {
            // The odd last byte is the high byte of a big-endian word: its memory order position.
            total += BitConverter.IsLittleEndian ? data[i] : (uint)data[i] << 8;
        }

        ushort folded = Fold(total);
        if (BitConverter.IsLittleEndian)
        {
            folded = BinaryPrimitives.ReverseEndianness(folded);
        }

        return Fold((ulong)folded + sum);
    }

    private static ushort Fold(ulong sum)
    {
        // Each step adds the carries back in (end-around carry); four reach 16 bits from 64.
        sum = (sum & 0xFFFF_FFFF) + (sum >> 32);
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)sum;
    }

    private static ulong SumVector256(ReadOnlySpan<byte> data, ref int i)
    {
        ulong total = 0;
        ref byte start = ref MemoryMarshal.GetReference(data);
        var low = Vector256.Create(0xFFFFu);
        // Written as differences, which cannot overflow: for spans near int.MaxValue bytes, i + Count
        // would wrap negative and the loop would never end.
        while (data.Length - i >= Vector256<byte>.Count)
        {
            Vector256<uint> lanes = Vector256<uint>.Zero;
            int end = i + Math.Min(data.Length - Vector256<byte>.Count - i, (VectorsPerBlock - 1) * Vector256<byte>.Count);
            for (; i <= end; i += Vector256<byte>.Count)
            {
                Vector256<uint> v = Vector256.LoadUnsafe(ref start, (nuint)i).AsUInt32();
                lanes += (v & low) + (v >> 16);
            }

            total += Vector256.Sum(Vector256.WidenLower(lanes)) + Vector256.Sum(Vector256.WidenUpper(lanes));
        }

        return total;
    }

    private static ulong SumVector128(ReadOnlySpan<byte> data, ref int i)
    {
        ulong total = 0;
        ref byte start = ref MemoryMarshal.GetReference(data);
        var low = Vector128.Create(0xFFFFu);
        // Written as differences, which cannot overflow: for spans near int.MaxValue bytes, i + Count
        // would wrap negative and the loop would never end.
        while (data.Length - i >= Vector128<byte>.Count)
        {
            Vector128<uint> lanes = Vector128<uint>.Zero;
            int end = i + Math.Min(data.Length - Vector128<byte>.Count - i, (VectorsPerBlock - 1) * Vector128<byte>.Count);
            for (; i <= end; i += Vector128<byte>.Count)
            {
                Vector128<uint> v = Vector128.LoadUnsafe(ref start, (nuint)i).AsUInt32();
                lanes += (v & low) + (v >> 16);
            }

            total += Vector128.Sum(Vector128.WidenLower(lanes)) + Vector128.Sum(Vector128.WidenUpper(lanes));
        }

        return total;
    }
}
