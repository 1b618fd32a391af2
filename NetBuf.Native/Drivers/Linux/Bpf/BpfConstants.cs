namespace NetBufNative.Drivers.Linux.Bpf;

/// <summary>Constants of the <c>bpf()</c> system call and of eBPF programs (<c>linux/bpf.h</c>, <c>linux/bpf_common.h</c>).</summary>
internal static class BpfConstants
{
    // Commands.
    internal const int BPF_MAP_CREATE = 0;
    internal const int BPF_MAP_UPDATE_ELEM = 2;
    internal const int BPF_PROG_LOAD = 5;
    internal const int BPF_LINK_CREATE = 28;

    // Map, program and attach types.
    internal const uint BPF_MAP_TYPE_XSKMAP = 17;
    internal const uint BPF_PROG_TYPE_XDP = 6;
    internal const uint BPF_XDP = 37;

    /// <summary>The <c>src</c> register of an <c>ld_imm64</c> whose immediate is a map's file descriptor.</summary>
    internal const byte BPF_PSEUDO_MAP_FD = 1;

    // Helper functions.
    internal const int BPF_FUNC_redirect_map = 51;

    // XDP actions.
    internal const int XDP_ABORTED = 0;
    internal const int XDP_DROP = 1;
    internal const int XDP_PASS = 2;

    // struct xdp_md: the context an XDP program gets in r1 (u32 fields).
    internal const short XdpMdData = 0;
    internal const short XdpMdDataEnd = 4;
    internal const short XdpMdRxQueueIndex = 16;

    // Instruction classes.
    internal const byte BPF_LD = 0x00;
    internal const byte BPF_LDX = 0x01;
    internal const byte BPF_ALU = 0x04;
    internal const byte BPF_JMP = 0x05;
    internal const byte BPF_ALU64 = 0x07;

    // Load modes.
    internal const byte BPF_IMM = 0x00;
    internal const byte BPF_MEM = 0x60;

    // Operand source.
    internal const byte BPF_K = 0x00;
    internal const byte BPF_X = 0x08;

    // Jump operations besides the conditions.
    internal const byte BPF_JA = 0x00;
    internal const byte BPF_CALL = 0x80;
    internal const byte BPF_EXIT = 0x90;

    /// <summary>The system call's number: 321 on x86-64, 280 on AArch64 (the generic table).</summary>
    internal static long SyscallNumber =>
        System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.Arm64 ? 280 : 321;
}
