using System.Runtime.InteropServices;

namespace NetBufNative.Drivers.Linux.Bpf;

/// <summary><c>struct bpf_insn</c> (8 bytes): opcode, destination and source registers (4 bits each), offset, immediate.</summary>
[StructLayout(LayoutKind.Sequential, Size = 8)]
internal readonly struct BpfInstruction : IEquatable<BpfInstruction>
{
    internal BpfInstruction(byte opcode, BpfRegister destination, byte source, short offset, int immediate)
    {
        Opcode = opcode;
        Registers = (byte)((byte)destination | (source << 4));
        Offset = offset;
        Immediate = immediate;
    }

    /// <summary><c>code</c>: class, size or operation, mode or source.</summary>
    internal byte Opcode { get; }

    /// <summary><c>dst_reg</c> in the low four bits, <c>src_reg</c> in the high four (little-endian bit fields).</summary>
    internal byte Registers { get; }

    /// <summary><c>off</c>: a memory offset, or a jump's distance in instructions from the next one.</summary>
    internal short Offset { get; }

    /// <summary><c>imm</c>.</summary>
    internal int Immediate { get; }

    /// <summary>This instruction with another offset (to patch a forward jump).</summary>
    internal BpfInstruction WithOffset(short offset) => new(Opcode, (BpfRegister)(Registers & 0xF), (byte)(Registers >> 4), offset, Immediate);

    public bool Equals(BpfInstruction other) =>
        Opcode == other.Opcode && Registers == other.Registers && Offset == other.Offset && Immediate == other.Immediate;

    public override bool Equals(object? obj) => obj is BpfInstruction other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(Opcode, Registers, Offset, Immediate);

    public override string ToString() => $"{Opcode:x2} dst=r{Registers & 0xF} src={Registers >> 4} off={Offset} imm={Immediate}";
}
