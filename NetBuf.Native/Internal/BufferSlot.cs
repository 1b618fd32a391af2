using System.Runtime.InteropServices;

namespace NetBufNative.Internal;

/// <summary>
/// Per-buffer metadata, kept in a managed array outside the data buffers so that nothing written
/// into a buffer can corrupt the pool, and so that a stale handle reads managed memory, never a
/// freed native block. 16 bytes a buffer: four slots share a 64-byte cache line.
/// </summary>
/// <remarks>
/// <see cref="Depth"/> is used only while the buffer is free and the region lengths only while it
/// is not, so they share bytes. A thread that reads <see cref="Next"/> or <see cref="Depth"/> of a
/// node another thread has just popped gets garbage, but then its compare-and-swap on the free
/// list's tagged head fails and it retries, so the garbage is never used.
/// </remarks>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct BufferSlot
{
    /// <summary>The state word: generation and <see cref="BufferKind"/>, see <see cref="BufferToken"/>.</summary>
    [FieldOffset(0)]
    public uint State;

    /// <summary>Free list link: the index of the next free buffer, or -1 at the bottom.</summary>
    [FieldOffset(4)]
    public int Next;

    /// <summary>While free: how many nodes the free list holds from this one to the bottom.</summary>
    [FieldOffset(8)]
    public int Depth;

    /// <summary>The three region fields (and two spare bytes) as one word, to reset them in one store.</summary>
    [FieldOffset(8)]
    public ulong Regions;

    /// <summary>While owned: the offset of the header region (the headroom before it).</summary>
    [FieldOffset(8)]
    public ushort Offset;

    /// <summary>While owned: the header region's length.</summary>
    [FieldOffset(10)]
    public ushort HeaderLength;

    /// <summary>While owned: the packet region's length.</summary>
    [FieldOffset(12)]
    public ushort PacketLength;
}
