using NetBufNative.Drivers;
using NetBufNative.Drivers.Linux;
using NetBufNative.Drivers.Linux.Bpf;
using NetBufNative.Drivers.Linux.Xdp;
using NUnit.Framework;

namespace NetBufNative.Tests.Drivers.Linux.Bpf;

/// <summary>
/// The eBPF emitter and the generated XDP programs: jumps resolved to labels, and every filter's
/// program accepted by the kernel's verifier (loaded with <c>BPF_PROG_LOAD</c>, needs root); a bad
/// program rejected with the verifier's log in the exception.
/// </summary>
[NonParallelizable]
public sealed class XdpProgramTests
{
    [Test]
    public void Forward_and_backward_jumps_count_from_the_next_instruction()
    {
        var e = new BpfEmitter();
        BpfLabel top = e.DefineLabel();
        BpfLabel end = e.DefineLabel();
        e.Mark(top);
        e.MovImmediate(BpfRegister.R0, 2);
        e.JumpIf(BpfCondition.Equal, BpfRegister.R0, 3, end);
        e.LoadMapFd(BpfRegister.R1, 5);
        e.Goto(top);
        e.Mark(end);
        e.Exit();
        BpfInstruction[] program = e.ToArray();
        Assert.That(program, Has.Length.EqualTo(6), "ld_imm64 takes two slots");
        Assert.That(program[1].Offset, Is.EqualTo(3), "from 2 to 5");
        Assert.That(program[4].Offset, Is.EqualTo(-5), "from 5 back to 0");
        Assert.That(program[2].Opcode, Is.EqualTo(0x18), "ld_imm64");
        Assert.That(program[2].Registers, Is.EqualTo(0x11), "dst r1, src BPF_PSEUDO_MAP_FD");
        Assert.That(program[2].Immediate, Is.EqualTo(5));
        Assert.That(program[3], Is.EqualTo(default(BpfInstruction)), "the second slot");
    }

    [Test]
    public void A_jump_to_a_label_never_placed_is_refused()
    {
        var e = new BpfEmitter();
        e.Goto(e.DefineLabel());
        Assert.That(() => e.ToArray(), Throws.InvalidOperationException.With.Message.Contains("never placed"));
    }

    [Test]
    public void The_every_frame_program_is_the_six_instruction_redirect()
    {
        BpfInstruction[] program = XdpProgram.Build(XdpFilter.Every, 7);
        Assert.That(program, Has.Length.EqualTo(6));
        Assert.That(program[0], Is.EqualTo(new BpfInstruction(0x61, BpfRegister.R2, 1, 16, 0)), "r2 = ctx->rx_queue_index");
        Assert.That(program[4], Is.EqualTo(new BpfInstruction(0x85, BpfRegister.R0, 0, 0, 51)), "call bpf_redirect_map");
        Assert.That(program[5].Opcode, Is.EqualTo(0x95), "exit");
    }

    [TestCaseSource(nameof(Filters))]
    public void Every_filter_program_passes_the_kernels_verifier(XdpFilter filter)
    {
        LinuxTestEnvironment.RequireRootOnLinux("Loading an XDP program");
        int map = BpfCommands.CreateXskMap(1, "test");
        try
        {
            int program = BpfCommands.LoadXdpProgram(XdpProgram.Build(filter, map), "nb_test", "test");
            Assert.That(program, Is.GreaterThan(0));
            DeviceHandle.CloseQuietly(program);
        }
        finally
        {
            DeviceHandle.CloseQuietly(map);
        }
    }

    [Test]
    public void A_rejected_program_shows_the_verifiers_log()
    {
        LinuxTestEnvironment.RequireRootOnLinux("Loading an XDP program");

        // Reads the packet with no bounds check against data_end: the verifier refuses.
        var e = new BpfEmitter();
        e.Load(BpfSize.Word, BpfRegister.R2, BpfRegister.R1, 0);
        e.Load(BpfSize.Byte, BpfRegister.R0, BpfRegister.R2, 0);
        e.Exit();
        NetDriverException? error = Assert.Throws<NetDriverException>(() => BpfCommands.LoadXdpProgram(e.ToArray(), "nb_bad", "test"));
        Assert.That(error!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
        Assert.That(error.Message, Does.Contain("verifier rejected the XDP program nb_bad (3 instructions)"));
        Assert.That(error.Message, Does.Contain("invalid access to packet"), "the verifier's own words");
        TestContext.Out.WriteLine(error.Message);
    }

    private static IEnumerable<XdpFilter> Filters() =>
    [
        XdpFilter.Every,
        XdpFilter.ForEtherType(NetBufNative.Wire.EtherType.Arp),
        XdpFilter.ForIpProtocol(NetBufNative.Wire.IpProtocol.Icmp),
        XdpFilter.ForUdpDestinationPort(4242),
    ];
}
