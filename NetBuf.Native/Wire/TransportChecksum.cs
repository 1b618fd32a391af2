using System.Buffers.Binary;

namespace NetBufNative.Wire;

/// <summary>
/// TCP and UDP checksums of whole Ethernet frames (IPv4 or IPv6, up to two VLAN tags): checked, filled from scratch,
/// and completed where a Linux sender left them partial for a device's checksum offload. The sums are
/// <see cref="InternetChecksum"/>'s (vectorized); nothing is allocated.
/// </summary>
/// <remarks>
/// <para>
/// Why partial checksums reach a program: a veth (and a TAP with offloads turned on) tells the kernel it computes TCP
/// and UDP checksums itself, so the kernel sends those segments with only the pseudo-header's sum in the checksum field
/// and marks them <c>CHECKSUM_PARTIAL</c>. A packet socket or an AF_XDP socket on the other end receives them that way;
/// sent on unchanged through another interface, the receiving host drops them as corrupt (UDP's <c>InCsumErrors</c>
/// rises) while ICMP passes. The drivers of this library complete them by default (see their options).
/// </para>
/// <para>
/// Hostile input: every method checks each header against the span before reading it and never reads or writes
/// outside it; a frame it cannot handle is left as it is and reported (<see langword="false"/>,
/// <see cref="TransportChecksumStatus.NotApplicable"/>). Pure functions of their arguments: thread-safe as long as no
/// other thread writes the frame.
/// </para>
/// </remarks>
public static class TransportChecksum
{
    /// <summary>The checksum field's offset in a SCTP header: a CRC32c, not an Internet checksum (not completed here).</summary>
    private const int SctpChecksumOffset = 8;

    /// <summary>
    /// Completes a partial checksum as the kernel's <c>skb_checksum_help</c> does, given where the sum starts and where
    /// the field is (a virtio-net header's <c>csum_start</c> and <c>csum_offset</c>): the one's complement of the sum of
    /// the bytes from <paramref name="checksumStart"/> to the frame's end, the field included (it holds the
    /// pseudo-header's sum), written into the field; a result of 0 is written as 0xFFFF (UDP's "no checksum" is 0).
    /// </summary>
    /// <param name="frame">The frame, exactly as long as the packet (a partial frame from the kernel has no Ethernet padding).</param>
    /// <param name="checksumStart">Where the summed bytes start: the TCP or UDP header.</param>
    /// <param name="checksumOffset">The field's offset from <paramref name="checksumStart"/>: 16 for TCP, 6 for UDP.</param>
    /// <returns><see langword="false"/>, writing nothing, when the field does not lie inside the frame after an Ethernet
    /// header, or the offset is a SCTP checksum's (8: a CRC32c).</returns>
    public static bool TryCompletePartial(Span<byte> frame, int checksumStart, int checksumOffset)
    {
        if (checksumStart < EthernetFrame.UntaggedHeaderLength || checksumStart > frame.Length ||
            checksumOffset < 0 || checksumOffset == SctpChecksumOffset || checksumOffset > frame.Length - checksumStart - sizeof(ushort) ||
            (checksumOffset & 1) != 0)
        {
            return false;
        }

        Span<byte> covered = frame[checksumStart..];
        ushort checksum = InternetChecksum.Complement(InternetChecksum.Sum(covered));
        BinaryPrimitives.WriteUInt16BigEndian(covered[checksumOffset..], checksum == 0 ? ushort.MaxValue : checksum);
        return true;
    }

    /// <summary>Checks the TCP or UDP checksum of <paramref name="frame"/> and tells a partial one from a wrong one.</summary>
    /// <param name="frame">An Ethernet frame.</param>
    /// <returns>What the checksum is; <see cref="TransportChecksumStatus.NotApplicable"/> for anything but a whole TCP or UDP segment.</returns>
    public static TransportChecksumStatus Check(ReadOnlySpan<byte> frame) => CheckWithLayout(frame, out _);

    /// <summary><see cref="Check(ReadOnlySpan{byte})"/>, with the layout it parsed (default when not applicable).</summary>
    internal static TransportChecksumStatus CheckWithLayout(ReadOnlySpan<byte> frame, out TransportLayout layout)
    {
        if (!TransportLayout.TryParse(frame, out layout))
        {
            return TransportChecksumStatus.NotApplicable;
        }

        ushort stored = BinaryPrimitives.ReadUInt16BigEndian(frame[layout.ChecksumOffset..]);
        if (stored == 0 && layout.Protocol == IpProtocol.Udp && !layout.IsIpv6)
        {
            return TransportChecksumStatus.Absent;
        }

        ushort pseudo = layout.PseudoHeaderSum(frame);
        if (InternetChecksum.IsValid(frame.Slice(layout.TransportOffset, layout.TransportLength), pseudo))
        {
            return TransportChecksumStatus.Valid;
        }

        return stored == pseudo ? TransportChecksumStatus.Partial : TransportChecksumStatus.Invalid;
    }

    /// <summary>
    /// Computes the TCP or UDP checksum of <paramref name="frame"/> from scratch (pseudo-header and segment) and writes
    /// it; a UDP result of 0 is written as 0xFFFF.
    /// </summary>
    /// <param name="frame">An Ethernet frame.</param>
    /// <returns><see langword="false"/>, writing nothing, when the frame is not a whole TCP or UDP segment over IPv4 or IPv6.</returns>
    public static bool TryFill(Span<byte> frame)
    {
        if (!TransportLayout.TryParse(frame, out TransportLayout layout))
        {
            return false;
        }

        Fill(frame, layout);
        return true;
    }

    /// <summary>
    /// Completes the checksum of <paramref name="frame"/> if it is partial (<see cref="Check"/> says
    /// <see cref="TransportChecksumStatus.Partial"/>), for frames that came without the kernel's word on it (an AF_XDP
    /// socket's). A wrong checksum that is not a partial one is left wrong, so corruption is still caught downstream.
    /// </summary>
    /// <param name="frame">An Ethernet frame.</param>
    /// <returns><see langword="true"/> when a partial checksum was completed.</returns>
    public static bool TryCompleteIfPartial(Span<byte> frame)
    {
        if (CheckWithLayout(frame, out TransportLayout layout) != TransportChecksumStatus.Partial)
        {
            return false;
        }

        Fill(frame, layout);
        return true;
    }

    /// <summary>Writes the checksum of the segment <paramref name="layout"/> describes.</summary>
    internal static void Fill(Span<byte> frame, in TransportLayout layout)
    {
        Span<byte> field = frame.Slice(layout.ChecksumOffset, sizeof(ushort));
        field.Clear();
        ushort checksum = InternetChecksum.Complement(
            InternetChecksum.Sum(frame.Slice(layout.TransportOffset, layout.TransportLength), layout.PseudoHeaderSum(frame)));
        BinaryPrimitives.WriteUInt16BigEndian(field, checksum == 0 && layout.Protocol == IpProtocol.Udp ? ushort.MaxValue : checksum);
    }
}
