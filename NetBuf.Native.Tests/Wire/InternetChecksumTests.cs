using System.Buffers.Binary;
using CsCheck;
using NetBufNative.Wire;
using NUnit.Framework;

namespace NetBufNative.Tests.Wire;

public sealed class InternetChecksumTests
{
    // The widths the sum can run at: 256- and 128-bit vectors and scalar. All are run whatever the
    // hardware (vector operations are emulated where they are not accelerated).
    private static readonly int[] Widths = [256, 128, 0];

    [Test]
    public void Every_length_from_0_to_2000_at_every_alignment_matches_the_reference_at_every_width()
    {
        var random = new Random(1071);
        byte[] block = new byte[2000 + 3];
        random.NextBytes(block);
        for (int offset = 0; offset < 4; offset++)
        {
            for (int length = 0; length <= 2000; length++)
            {
                ReadOnlySpan<byte> data = block.AsSpan(offset, length);
                ushort expected = Frames.ReferenceChecksum(data);
                foreach (int width in Widths)
                {
                    ushort actual = InternetChecksum.Complement(InternetChecksum.SumWith(data, 0, width));
                    if (actual != expected)
                    {
                        Assert.Fail($"length {length}, offset {offset}, width {width}: 0x{actual:x4}, expected 0x{expected:x4}");
                    }
                }

                if (InternetChecksum.Compute(data) != expected)
                {
                    Assert.Fail($"Compute at length {length}, offset {offset}");
                }
            }
        }
    }

    [Test]
    public void Random_data_lengths_and_alignments_match_the_reference(
        [Values(256, 128, 0)] int width)
    {
        Gen.Select(Gen.Byte.Array[0, 4100], Gen.Int[0, 63]).Sample(
            (bytes, offset) =>
            {
                offset = Math.Min(offset, bytes.Length);
                ReadOnlySpan<byte> data = bytes.AsSpan(offset);
                ushort actual = InternetChecksum.Complement(InternetChecksum.SumWith(data, 0, width));
                return actual == Frames.ReferenceChecksum(data);
            },
            iter: 3000,
            threads: 1);
    }

    [Test]
    public void Sums_of_all_ones_data_stay_correct_past_the_vector_lanes_block_limit()
    {
        // 0xFF everywhere makes every lane add its largest value: a megabyte and a bit crosses the
        // point where 32-bit lanes are folded (32768 vectors), so an overflow there would show.
        byte[] data = new byte[(1 << 20) + 334];
        data.AsSpan().Fill(0xFF);
        ushort expected = Frames.ReferenceChecksum(data);
        foreach (int width in Widths)
        {
            Assert.That(InternetChecksum.Complement(InternetChecksum.SumWith(data, 0, width)), Is.EqualTo(expected), $"width {width}");
        }

        Assert.That(expected, Is.Zero, "a sum of 0xFFFF words is negative zero: its checksum is 0");
    }

    [Test]
    public void Known_values_from_RFC_1071_and_a_real_IPv4_header()
    {
        // RFC 1071 section 3's example: the words 0001 f203 f4f5 f6f7 sum to 0xddf2.
        byte[] rfc = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        Assert.That(InternetChecksum.Sum(rfc), Is.EqualTo(0xddf2));
        Assert.That(InternetChecksum.Compute(rfc), Is.EqualTo(0x220d));

        // Wikipedia's IPv4 header example: checksum 0xb861.
        byte[] header = Convert.FromHexString("450000730000400040110000c0a80001c0a800c7");
        Assert.That(InternetChecksum.Compute(header), Is.EqualTo(0xb861));
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(10), 0xb861);
        Assert.That(InternetChecksum.IsValid(header), Is.True);
        header[8] ^= 1;
        Assert.That(InternetChecksum.IsValid(header), Is.False);

        Assert.That(InternetChecksum.Compute([]), Is.EqualTo(0xFFFF), "nothing sums to +0");
        Assert.That(InternetChecksum.Compute([0xAB]), Is.EqualTo(unchecked((ushort)~0xAB00)), "an odd byte is a word's high byte");
    }

    [Test]
    public void Chunks_of_even_length_sum_like_the_whole_and_the_starting_sum_folds_any_value()
    {
        Gen.Select(Gen.Byte.Array[0, 600], Gen.Int[0, 300], Gen.UInt).Sample(
            (bytes, cut, start) =>
            {
                int even = Math.Min(cut, bytes.Length) & ~1;
                ushort first = InternetChecksum.Sum(bytes.AsSpan(0, even));
                ushort whole = InternetChecksum.Sum(bytes.AsSpan(even), first);
                ushort direct = InternetChecksum.Sum(bytes);
                ushort withStart = InternetChecksum.Sum(bytes, start);
                ulong reference = (ulong)(ushort)~Frames.ReferenceChecksum(bytes) + (start >> 16) + (start & 0xFFFF);
                while (reference > 0xFFFF)
                {
                    reference = (reference & 0xFFFF) + (reference >> 16);
                }

                return whole == direct && withStart == reference;
            },
            iter: 2000,
            threads: 1);
    }

    [Test]
    public void Incremental_update_of_a_word_equals_a_recomputation_except_all_zero_data()
    {
        Gen.Select(Gen.Byte.Array[2, 300], Gen.Int[0, 149], Gen.UShort).Sample(
            (bytes, wordIndex, newWord) =>
            {
                int at = Math.Min(wordIndex, (bytes.Length / 2) - 1) * 2;
                ushort before = InternetChecksum.Compute(bytes);
                ushort oldWord = BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(at));
                BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(at), newWord);
                ushort updated = InternetChecksum.Update(before, oldWord, newWord);
                ushort recomputed = InternetChecksum.Compute(bytes);
                return updated == recomputed || (bytes.All(b => b == 0) && updated == 0);
            },
            iter: 3000,
            threads: 1);
    }

    [Test]
    public void Incremental_update_of_32_bits_equals_a_recomputation()
    {
        Gen.Select(Gen.Byte.Array[4, 300], Gen.Int[0, 74], Gen.UInt).Sample(
            (bytes, wordIndex, newValue) =>
            {
                int at = Math.Min(wordIndex, (bytes.Length / 4) - 1) * 4;
                ushort before = InternetChecksum.Compute(bytes);
                uint oldValue = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(at));
                BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(at), newValue);
                ushort updated = InternetChecksum.Update(before, oldValue, newValue);
                return updated == InternetChecksum.Compute(bytes) || (bytes.All(b => b == 0) && updated == 0);
            },
            iter: 3000,
            threads: 1);
    }

    [Test]
    public void The_all_zero_corner_of_the_incremental_update_gives_0_where_a_sum_gives_0xFFFF()
    {
        // An echo request with id 0, seq 0 and no data turned into a reply: the documented corner.
        Assert.That(InternetChecksum.Update(0xF7FF, 0x0800, 0x0000), Is.Zero);
        Assert.That(InternetChecksum.Compute(new byte[8]), Is.EqualTo(0xFFFF));
    }

    [Test]
    public void The_pseudo_header_sum_is_the_sum_of_its_twelve_bytes()
    {
        var source = new Ipv4Address(192, 168, 1, 10);
        var destination = new Ipv4Address(172, 16, 254, 3);
        byte[] pseudo = Convert.FromHexString("c0a8010aac10fe030011" + "05dc");
        Assert.That(InternetChecksum.PseudoHeaderSum(source, destination, IpProtocol.Udp, 1500), Is.EqualTo(InternetChecksum.Sum(pseudo)));
        Assert.That(InternetChecksum.PseudoHeaderSum(Ipv4Address.Broadcast, Ipv4Address.Broadcast, (IpProtocol)255, 65535), Is.EqualTo(InternetChecksum.Sum(Convert.FromHexString("ffffffffffffffff00ffffff"))));
        Assert.Throws<ArgumentOutOfRangeException>(() => InternetChecksum.PseudoHeaderSum(source, destination, IpProtocol.Udp, 65536));
        Assert.Throws<ArgumentOutOfRangeException>(() => InternetChecksum.PseudoHeaderSum(source, destination, IpProtocol.Udp, -1));
    }

    [Test]
    public void Complement_folds_any_32_bit_partial_sum()
    {
        Assert.That(InternetChecksum.Complement(0x0001_FFFF), Is.EqualTo(unchecked((ushort)~0x0001)));
        Assert.That(InternetChecksum.Complement(0), Is.EqualTo(0xFFFF));
        Assert.That(InternetChecksum.Complement(uint.MaxValue), Is.Zero);
    }
}
