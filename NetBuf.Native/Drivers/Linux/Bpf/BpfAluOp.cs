namespace NetBufNative.Drivers.Linux.Bpf;

/// <summary>eBPF arithmetic operations (the operation bits of an ALU opcode).</summary>
internal enum BpfAluOp : byte
{
    Add = 0x00,
    Sub = 0x10,
    Or = 0x40,
    And = 0x50,
    LeftShift = 0x60,
    RightShift = 0x70,
    Mov = 0xb0,
}
