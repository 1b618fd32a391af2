namespace NetBufNative.Drivers.Linux.Bpf;

/// <summary>The width of an eBPF memory access (the size bits of the opcode).</summary>
internal enum BpfSize : byte
{
    /// <summary>4 bytes (<c>BPF_W</c>).</summary>
    Word = 0x00,

    /// <summary>2 bytes (<c>BPF_H</c>).</summary>
    Half = 0x08,

    /// <summary>1 byte (<c>BPF_B</c>).</summary>
    Byte = 0x10,

    /// <summary>8 bytes (<c>BPF_DW</c>).</summary>
    Double = 0x18,
}
