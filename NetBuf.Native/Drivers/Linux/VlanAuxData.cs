using System.Buffers.Binary;
using System.Runtime.InteropServices;
using NetBufNative.Wire;

namespace NetBufNative.Drivers.Linux;

/// <summary>
/// The VLAN tag an AF_PACKET socket reports beside a received frame (<c>PACKET_AUXDATA</c>): found in
/// a message's control buffer, and put back into the frame.
/// </summary>
internal static class VlanAuxData
{
    /// <summary>The two addresses at the start of a frame, which the tag follows.</summary>
    private const int AddressesLength = 2 * MacAddress.Length;

    /// <summary>
    /// Finds the <c>SOL_PACKET</c>/<c>PACKET_AUXDATA</c> message in <paramref name="control"/> (the bytes
    /// the kernel wrote) and reads the tag the kernel took out of the frame.
    /// </summary>
    /// <returns>Whether the frame had a tag: <c>TP_STATUS_VLAN_VALID</c> set, or a non-zero TCI (kernels
    /// before 3.0 did not set the flag; libpcap reads it the same way). The protocol is the reported one
    /// when <c>TP_STATUS_VLAN_TPID_VALID</c> says it is, else 0x8100. A malformed buffer (a header
    /// shorter than itself or longer than the buffer, data cut short) reads as no tag; nothing outside
    /// <paramref name="control"/> is read.</returns>
    internal static bool TryRead(ReadOnlySpan<byte> control, out ushort tpid, out ushort tci)
    {
        int offset = 0;
        while (control.Length - offset >= CMsgHdr.Size)
        {
            CMsgHdr header = MemoryMarshal.Read<CMsgHdr>(control[offset..]);
            if (header.Length < CMsgHdr.Size || header.Length > (nuint)(control.Length - offset))
            {
                break;
            }

            if (header.Level == LinuxConstants.SOL_PACKET && header.Type == LinuxConstants.PACKET_AUXDATA &&
                header.Length >= CMsgHdr.Size + TPacketAuxData.Size)
            {
                TPacketAuxData aux = MemoryMarshal.Read<TPacketAuxData>(control[(offset + CMsgHdr.Size)..]);
                if ((aux.Status & LinuxConstants.TP_STATUS_VLAN_VALID) != 0 || aux.VlanTci != 0)
                {
                    tpid = (aux.Status & LinuxConstants.TP_STATUS_VLAN_TPID_VALID) != 0 ? aux.VlanTpid : LinuxConstants.ETH_P_8021Q;
                    tci = aux.VlanTci;
                    return true;
                }

                break;
            }

            // The next message starts after this one's padding (CMSG_NXTHDR); the length is at most
            // the buffer's, so this cannot overflow.
            offset += (int)CMsgHdr.Align(header.Length);
        }

        tpid = 0;
        tci = 0;
        return false;
    }

    /// <summary>
    /// Puts a tag back into a frame that starts 4 bytes into <paramref name="frameWithRoom"/>: its two
    /// addresses move 4 bytes toward the start and the tag goes between them and the EtherType, so 12
    /// bytes move and the payload stays where it is. The frame then starts at <paramref name="frameWithRoom"/>'s start.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="frameWithRoom"/> is shorter than 4 bytes of room and an Ethernet header.</exception>
    internal static void Insert(Span<byte> frameWithRoom, ushort tpid, ushort tci)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(frameWithRoom.Length, EthernetFrame.VlanTagLength + EthernetFrame.UntaggedHeaderLength, nameof(frameWithRoom));

        // Span.CopyTo moves overlapping ranges as memmove does.
        frameWithRoom.Slice(EthernetFrame.VlanTagLength, AddressesLength).CopyTo(frameWithRoom);
        BinaryPrimitives.WriteUInt16BigEndian(frameWithRoom[AddressesLength..], tpid);
        BinaryPrimitives.WriteUInt16BigEndian(frameWithRoom[(AddressesLength + 2)..], tci);
    }

    /// <summary>
    /// Puts a tag back into a frame that starts at <paramref name="frameWithTail"/>'s start and is 4 bytes
    /// shorter than it, for a buffer without 4 bytes of headroom: everything after the two addresses
    /// moves 4 bytes toward the end (a copy of the frame) and the tag goes before the EtherType.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="frameWithTail"/> is shorter than an Ethernet header and the tag.</exception>
    internal static void InsertMovingPayload(Span<byte> frameWithTail, ushort tpid, ushort tci)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(frameWithTail.Length, EthernetFrame.VlanTagLength + EthernetFrame.UntaggedHeaderLength, nameof(frameWithTail));

        // Span.CopyTo moves overlapping ranges as memmove does.
        frameWithTail[AddressesLength..^EthernetFrame.VlanTagLength].CopyTo(frameWithTail[(AddressesLength + EthernetFrame.VlanTagLength)..]);
        BinaryPrimitives.WriteUInt16BigEndian(frameWithTail[AddressesLength..], tpid);
        BinaryPrimitives.WriteUInt16BigEndian(frameWithTail[(AddressesLength + 2)..], tci);
    }
}
