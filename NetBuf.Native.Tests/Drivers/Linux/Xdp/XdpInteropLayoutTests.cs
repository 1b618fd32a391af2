using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NetBufNative.Drivers.Linux.Bpf;
using NetBufNative.Drivers.Linux.Xdp;
using NUnit.Framework;

namespace NetBufNative.Tests.Drivers.Linux.Xdp;

/// <summary>
/// The AF_XDP and bpf() structures against the kernel's UAPI layouts (<c>linux/if_xdp.h</c>,
/// <c>linux/bpf.h</c>, as in shared/docs/linux-packet-io.md). These run everywhere: no privilege.
/// </summary>
public sealed class XdpInteropLayoutTests
{
    [Test]
    public void Structures_have_the_kernels_sizes()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<XdpUmemReg>(), Is.EqualTo(32), "struct xdp_umem_reg");
            Assert.That(Unsafe.SizeOf<XdpRingOffset>(), Is.EqualTo(32), "struct xdp_ring_offset");
            Assert.That(Unsafe.SizeOf<XdpMmapOffsets>(), Is.EqualTo(128), "struct xdp_mmap_offsets");
            Assert.That(Unsafe.SizeOf<SockAddrXdp>(), Is.EqualTo(16), "struct sockaddr_xdp");
            Assert.That(Unsafe.SizeOf<XdpDesc>(), Is.EqualTo(16), "struct xdp_desc");
            Assert.That(Unsafe.SizeOf<XdpStatisticsRaw>(), Is.EqualTo(48), "struct xdp_statistics");
            Assert.That(Unsafe.SizeOf<BpfAttr>(), Is.EqualTo(144), "union bpf_attr");
            Assert.That(Unsafe.SizeOf<BpfInstruction>(), Is.EqualTo(8), "struct bpf_insn");
        });
    }

    [Test]
    public void Fields_are_at_the_kernels_offsets()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Offset<XdpUmemReg>(nameof(XdpUmemReg.Address)), Is.EqualTo(0));
            Assert.That(Offset<XdpUmemReg>(nameof(XdpUmemReg.Length)), Is.EqualTo(8));
            Assert.That(Offset<XdpUmemReg>(nameof(XdpUmemReg.ChunkSize)), Is.EqualTo(16));
            Assert.That(Offset<XdpUmemReg>(nameof(XdpUmemReg.Headroom)), Is.EqualTo(20));
            Assert.That(Offset<XdpUmemReg>(nameof(XdpUmemReg.Flags)), Is.EqualTo(24));
            Assert.That(Offset<XdpUmemReg>(nameof(XdpUmemReg.TxMetadataLength)), Is.EqualTo(28));

            Assert.That(Offset<XdpRingOffset>(nameof(XdpRingOffset.Producer)), Is.EqualTo(0));
            Assert.That(Offset<XdpRingOffset>(nameof(XdpRingOffset.Consumer)), Is.EqualTo(8));
            Assert.That(Offset<XdpRingOffset>(nameof(XdpRingOffset.Descriptors)), Is.EqualTo(16));
            Assert.That(Offset<XdpRingOffset>(nameof(XdpRingOffset.Flags)), Is.EqualTo(24));

            Assert.That(Offset<XdpMmapOffsets>(nameof(XdpMmapOffsets.Rx)), Is.EqualTo(0));
            Assert.That(Offset<XdpMmapOffsets>(nameof(XdpMmapOffsets.Tx)), Is.EqualTo(32));
            Assert.That(Offset<XdpMmapOffsets>(nameof(XdpMmapOffsets.Fill)), Is.EqualTo(64));
            Assert.That(Offset<XdpMmapOffsets>(nameof(XdpMmapOffsets.Completion)), Is.EqualTo(96));

            Assert.That(Offset<SockAddrXdp>(nameof(SockAddrXdp.Family)), Is.EqualTo(0));
            Assert.That(Offset<SockAddrXdp>(nameof(SockAddrXdp.Flags)), Is.EqualTo(2));
            Assert.That(Offset<SockAddrXdp>(nameof(SockAddrXdp.InterfaceIndex)), Is.EqualTo(4));
            Assert.That(Offset<SockAddrXdp>(nameof(SockAddrXdp.QueueId)), Is.EqualTo(8));
            Assert.That(Offset<SockAddrXdp>(nameof(SockAddrXdp.SharedUmemFd)), Is.EqualTo(12));

            Assert.That(Offset<XdpDesc>(nameof(XdpDesc.Address)), Is.EqualTo(0));
            Assert.That(Offset<XdpDesc>(nameof(XdpDesc.Length)), Is.EqualTo(8));
            Assert.That(Offset<XdpDesc>(nameof(XdpDesc.Options)), Is.EqualTo(12));

            Assert.That(Offset<XdpStatisticsRaw>(nameof(XdpStatisticsRaw.RxDropped)), Is.EqualTo(0));
            Assert.That(Offset<XdpStatisticsRaw>(nameof(XdpStatisticsRaw.RxInvalidDescriptors)), Is.EqualTo(8));
            Assert.That(Offset<XdpStatisticsRaw>(nameof(XdpStatisticsRaw.TxInvalidDescriptors)), Is.EqualTo(16));
            Assert.That(Offset<XdpStatisticsRaw>(nameof(XdpStatisticsRaw.RxRingFull)), Is.EqualTo(24));
            Assert.That(Offset<XdpStatisticsRaw>(nameof(XdpStatisticsRaw.RxFillRingEmpty)), Is.EqualTo(32));
            Assert.That(Offset<XdpStatisticsRaw>(nameof(XdpStatisticsRaw.TxRingEmpty)), Is.EqualTo(40));

            // bpf_attr: BPF_MAP_CREATE, BPF_MAP_UPDATE_ELEM, BPF_PROG_LOAD (expected_attach_type at 68), BPF_LINK_CREATE (flags at 12).
            Assert.That(Offset<BpfAttr>(nameof(BpfAttr.MapType)), Is.EqualTo(0));
            Assert.That(Offset<BpfAttr>(nameof(BpfAttr.KeySize)), Is.EqualTo(4));
            Assert.That(Offset<BpfAttr>(nameof(BpfAttr.ValueSize)), Is.EqualTo(8));
            Assert.That(Offset<BpfAttr>(nameof(BpfAttr.MaxEntries)), Is.EqualTo(12));
            Assert.That(Offset<BpfAttr>(nameof(BpfAttr.MapFd)), Is.EqualTo(0));
            Assert.That(Offset<BpfAttr>(nameof(BpfAttr.Key)), Is.EqualTo(8));
            Assert.That(Offset<BpfAttr>(nameof(BpfAttr.Value)), Is.EqualTo(16));
            Assert.That(Offset<BpfAttr>(nameof(BpfAttr.ElementFlags)), Is.EqualTo(24));
            Assert.That(Offset<BpfAttr>(nameof(BpfAttr.ProgramType)), Is.EqualTo(0));
            Assert.That(Offset<BpfAttr>(nameof(BpfAttr.InstructionCount)), Is.EqualTo(4));
            Assert.That(Offset<BpfAttr>(nameof(BpfAttr.Instructions)), Is.EqualTo(8));
            Assert.That(Offset<BpfAttr>(nameof(BpfAttr.License)), Is.EqualTo(16));
            Assert.That(Offset<BpfAttr>(nameof(BpfAttr.LogLevel)), Is.EqualTo(24));
            Assert.That(Offset<BpfAttr>(nameof(BpfAttr.LogSize)), Is.EqualTo(28));
            Assert.That(Offset<BpfAttr>(nameof(BpfAttr.LogBuffer)), Is.EqualTo(32));
            Assert.That(Offset<BpfAttr>(nameof(BpfAttr.ProgramName)), Is.EqualTo(48));
            Assert.That(Offset<BpfAttr>(nameof(BpfAttr.ExpectedAttachType)), Is.EqualTo(68));
            Assert.That(Offset<BpfAttr>(nameof(BpfAttr.LinkProgramFd)), Is.EqualTo(0));
            Assert.That(Offset<BpfAttr>(nameof(BpfAttr.LinkTargetInterface)), Is.EqualTo(4));
            Assert.That(Offset<BpfAttr>(nameof(BpfAttr.LinkAttachType)), Is.EqualTo(8));
            Assert.That(Offset<BpfAttr>(nameof(BpfAttr.LinkFlags)), Is.EqualTo(12));
        });
    }

    [Test]
    public void An_instruction_is_encoded_as_the_kernel_reads_it()
    {
        // r2 = *(u32 *)(r1 + 16): opcode 0x61 (LDX|MEM|W), dst 2 in the low nibble, src 1 in the high one.
        var instruction = new BpfInstruction(0x61, BpfRegister.R2, 1, 16, 0x01020304);
        byte[] bytes = MemoryMarshal.AsBytes(new ReadOnlySpan<BpfInstruction>(in instruction)).ToArray();
        Assert.That(bytes, Is.EqualTo(new byte[] { 0x61, 0x12, 16, 0, 4, 3, 2, 1 }));
    }

    private static int Offset<T>(string field) => (int)Marshal.OffsetOf<T>(field);
}
