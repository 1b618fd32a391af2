using System.Runtime.InteropServices;

namespace NetBufNative.Internal;

/// <summary>
/// A 64-bit word alone on its cache line, so that the CAS traffic on the free list's head does
/// not slow down reads of the pool's other fields. 128 bytes on each side because ARM64 cores
/// (Apple M-series, Neoverse with adjacent-line prefetch) work on 128-byte lines.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 256)]
internal struct PaddedHead
{
    [FieldOffset(128)]
    public long Value;
}
