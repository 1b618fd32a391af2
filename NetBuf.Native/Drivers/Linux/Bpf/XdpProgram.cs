using System.Buffers.Binary;
using NetBufNative.Drivers.Linux.Xdp;
using NetBufNative.Wire;
using static NetBufNative.Drivers.Linux.Bpf.BpfConstants;

namespace NetBufNative.Drivers.Linux.Bpf;

/// <summary>
/// Generates the XDP program of an <see cref="XdpDriver"/>: frames the <see cref="XdpFilter"/>
/// matches are redirected to the AF_XDP socket of their receive queue (<c>bpf_redirect_map</c> on an
/// XSKMAP keyed by <c>rx_queue_index</c>); the others, and frames of a queue with no socket, pass on
/// to the kernel's stack (<c>XDP_PASS</c>).
/// </summary>
/// <remarks>
/// Header fields are compared as loaded: a 16-bit load of a big-endian field on a little-endian CPU
/// (x86-64, AArch64, the only ones the drivers run on) gives the byte-swapped value, so the constants
/// are swapped once here rather than the loaded value in the program.
/// </remarks>
internal static class XdpProgram
{
    /// <summary>An Ethernet header: two addresses and the type.</summary>
    private const int EthernetHeader = EthernetFrame.UntaggedHeaderLength;

    /// <summary>The Ethernet type's offset in the frame: after the two addresses.</summary>
    private const short EtherTypeOffset = 2 * MacAddress.Length;

    /// <summary>The smallest IPv4 header (no options).</summary>
    private const int Ipv4MinHeader = 20;

    /// <summary>The IPv4 version/IHL byte, the fragment field and the protocol byte, in the frame.</summary>
    private const short IhlOffset = EthernetHeader + 0;
    private const short FragmentOffset = EthernetHeader + 6;
    private const short ProtocolOffset = EthernetHeader + 9;

    /// <summary>The UDP header's length and its destination port's offset in it.</summary>
    private const int UdpHeader = 8;
    private const short UdpDestinationPortOffset = 2;

    /// <summary>The fragment-offset bits of the IPv4 fragment field (0x1FFF), as a little-endian load of the big-endian field sees them.</summary>
    private const int FragmentOffsetMask = 0xFF1F;

    /// <summary>Builds the program for <paramref name="filter"/> over the XSKMAP <paramref name="mapFd"/>.</summary>
    internal static BpfInstruction[] Build(XdpFilter filter, int mapFd)
    {
        var e = new BpfEmitter();
        BpfLabel pass = e.DefineLabel();
        if (filter.Kind != XdpFilterKind.Every)
        {
            EmitMatch(e, filter, pass);
        }

        // Redirect: r0 = bpf_redirect_map(map, ctx->rx_queue_index, XDP_PASS); the flags' low bits are
        // the action when the queue has no socket in the map.
        e.Load(BpfSize.Word, BpfRegister.R2, BpfRegister.R1, XdpMdRxQueueIndex);
        e.LoadMapFd(BpfRegister.R1, mapFd);
        e.MovImmediate(BpfRegister.R3, XDP_PASS);
        e.Call(BPF_FUNC_redirect_map);
        e.Exit();
        if (filter.Kind != XdpFilterKind.Every)
        {
            e.Mark(pass);
            e.MovImmediate(BpfRegister.R0, XDP_PASS);
            e.Exit();
        }

        return e.ToArray();
    }

    /// <summary>Jumps to <paramref name="pass"/> unless the frame matches; leaves the context in r1.</summary>
    private static void EmitMatch(BpfEmitter e, XdpFilter filter, BpfLabel pass)
    {
        bool ip = filter.Kind != XdpFilterKind.EtherType;
        int etherType = ip ? (int)Wire.EtherType.Ipv4 : filter.Value;

        // r6 = ctx (kept for the redirect); r2 = data, r3 = data_end.
        e.Mov(BpfRegister.R6, BpfRegister.R1);
        e.Load(BpfSize.Word, BpfRegister.R2, BpfRegister.R1, XdpMdData);
        e.Load(BpfSize.Word, BpfRegister.R3, BpfRegister.R1, XdpMdDataEnd);

        // Bounds: the verifier lets the program read only below a pointer proven <= data_end.
        e.Mov(BpfRegister.R4, BpfRegister.R2);
        e.Alu(BpfAluOp.Add, BpfRegister.R4, ip ? EthernetHeader + Ipv4MinHeader : EthernetHeader);
        e.JumpIf(BpfCondition.Greater, BpfRegister.R4, BpfRegister.R3, pass);

        e.Load(BpfSize.Half, BpfRegister.R5, BpfRegister.R2, EtherTypeOffset);
        e.JumpIf(BpfCondition.NotEqual, BpfRegister.R5, BinaryPrimitives.ReverseEndianness((ushort)etherType), pass);
        if (ip)
        {
            int protocol = filter.Kind == XdpFilterKind.IpProtocol ? filter.Value : (int)Wire.IpProtocol.Udp;
            e.Load(BpfSize.Byte, BpfRegister.R5, BpfRegister.R2, ProtocolOffset);
            e.JumpIf(BpfCondition.NotEqual, BpfRegister.R5, protocol, pass);
        }

        if (filter.Kind == XdpFilterKind.UdpDestinationPort)
        {
            // Later fragments carry no UDP header: pass them (the kernel reassembles).
            e.Load(BpfSize.Half, BpfRegister.R5, BpfRegister.R2, FragmentOffset);
            e.Alu(BpfAluOp.And, BpfRegister.R5, FragmentOffsetMask);
            e.JumpIf(BpfCondition.NotEqual, BpfRegister.R5, 0, pass);

            // r5 = IHL * 4: the IP header's length, 20 to 60 (the verifier tracks the bound from the mask).
            e.Load(BpfSize.Byte, BpfRegister.R5, BpfRegister.R2, IhlOffset);
            e.Alu(BpfAluOp.And, BpfRegister.R5, 0x0F);
            e.Alu(BpfAluOp.LeftShift, BpfRegister.R5, 2);
            e.JumpIf(BpfCondition.Less, BpfRegister.R5, Ipv4MinHeader, pass);

            // r2 = data + IHL * 4; the UDP header must lie below data_end.
            e.Alu(BpfAluOp.Add, BpfRegister.R2, BpfRegister.R5);
            e.Mov(BpfRegister.R4, BpfRegister.R2);
            e.Alu(BpfAluOp.Add, BpfRegister.R4, EthernetHeader + UdpHeader);
            e.JumpIf(BpfCondition.Greater, BpfRegister.R4, BpfRegister.R3, pass);
            e.Load(BpfSize.Half, BpfRegister.R5, BpfRegister.R2, EthernetHeader + UdpDestinationPortOffset);
            e.JumpIf(BpfCondition.NotEqual, BpfRegister.R5, BinaryPrimitives.ReverseEndianness((ushort)filter.Value), pass);
        }

        e.Mov(BpfRegister.R1, BpfRegister.R6);
    }
}
