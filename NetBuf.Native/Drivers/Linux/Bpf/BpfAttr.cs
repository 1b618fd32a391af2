using System.Runtime.InteropServices;

namespace NetBufNative.Drivers.Linux.Bpf;

/// <summary>
/// <c>union bpf_attr</c> (<c>linux/bpf.h</c>), the argument of the <c>bpf()</c> system call, with the
/// fields of the four commands the XDP driver uses (each command reads its own member of the union).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
internal unsafe struct BpfAttr
{
    /// <summary>The size passed to <c>bpf()</c>: the union's size on Linux 6.x; the kernel accepts a larger one whose extra bytes are zero, and zero-fills a smaller one.</summary>
    public const int Size = 144;

    // BPF_MAP_CREATE

    /// <summary><c>map_type</c>.</summary>
    [FieldOffset(0)]
    public uint MapType;

    /// <summary><c>key_size</c>.</summary>
    [FieldOffset(4)]
    public uint KeySize;

    /// <summary><c>value_size</c>.</summary>
    [FieldOffset(8)]
    public uint ValueSize;

    /// <summary><c>max_entries</c>.</summary>
    [FieldOffset(12)]
    public uint MaxEntries;

    // BPF_MAP_UPDATE_ELEM

    /// <summary><c>map_fd</c>.</summary>
    [FieldOffset(0)]
    public uint MapFd;

    /// <summary><c>key</c>: a pointer.</summary>
    [FieldOffset(8)]
    public ulong Key;

    /// <summary><c>value</c>: a pointer.</summary>
    [FieldOffset(16)]
    public ulong Value;

    /// <summary><c>flags</c> of the update (<c>BPF_ANY</c> = 0).</summary>
    [FieldOffset(24)]
    public ulong ElementFlags;

    // BPF_PROG_LOAD

    /// <summary><c>prog_type</c>.</summary>
    [FieldOffset(0)]
    public uint ProgramType;

    /// <summary><c>insn_cnt</c>.</summary>
    [FieldOffset(4)]
    public uint InstructionCount;

    /// <summary><c>insns</c>: a pointer to the instructions.</summary>
    [FieldOffset(8)]
    public ulong Instructions;

    /// <summary><c>license</c>: a pointer to a zero-terminated string.</summary>
    [FieldOffset(16)]
    public ulong License;

    /// <summary><c>log_level</c>: 1 for the verifier's log of a rejected program.</summary>
    [FieldOffset(24)]
    public uint LogLevel;

    /// <summary><c>log_size</c>.</summary>
    [FieldOffset(28)]
    public uint LogSize;

    /// <summary><c>log_buf</c>: a pointer to the log buffer.</summary>
    [FieldOffset(32)]
    public ulong LogBuffer;

    /// <summary><c>prog_name</c>: 16 bytes, zero-terminated (as <c>bpftool prog</c> shows it).</summary>
    [FieldOffset(48)]
    public fixed byte ProgramName[16];

    /// <summary><c>expected_attach_type</c>.</summary>
    [FieldOffset(68)]
    public uint ExpectedAttachType;

    // BPF_LINK_CREATE

    /// <summary><c>link_create.prog_fd</c>.</summary>
    [FieldOffset(0)]
    public uint LinkProgramFd;

    /// <summary><c>link_create.target_ifindex</c>.</summary>
    [FieldOffset(4)]
    public uint LinkTargetInterface;

    /// <summary><c>link_create.attach_type</c>.</summary>
    [FieldOffset(8)]
    public uint LinkAttachType;

    /// <summary><c>link_create.flags</c>: the XDP attach mode.</summary>
    [FieldOffset(12)]
    public uint LinkFlags;
}
