namespace NetBufNative.Drivers.Linux.Bpf;

/// <summary>The eBPF registers: r0 return value, r1-r5 arguments (clobbered by calls), r6-r9 kept across calls, r10 the frame pointer (read-only).</summary>
internal enum BpfRegister : byte
{
    R0 = 0,
    R1,
    R2,
    R3,
    R4,
    R5,
    R6,
    R7,
    R8,
    R9,
    R10,
}
