namespace NetBufNative.Drivers.Linux.Bpf;

/// <summary>eBPF conditional jumps (the operation bits of a JMP opcode), unsigned comparisons.</summary>
internal enum BpfCondition : byte
{
    Equal = 0x10,
    Greater = 0x20,
    GreaterOrEqual = 0x30,
    NotEqual = 0x50,
    Less = 0xa0,
    LessOrEqual = 0xb0,
}
