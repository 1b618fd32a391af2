using System.Runtime.InteropServices;

namespace NetBufNative.Internal;

/// <summary>
/// Per-buffer metadata, kept outside the data buffers (in a <see cref="SlotTable"/>) so that nothing
/// written into a buffer can corrupt the pool. Each slot sits alone on its cache line
/// (<see cref="SlotTable.SlotSize"/>), so threads working on different buffers never share a line.
/// </summary>
/// <remarks>
/// <para>
/// The free-list fields (<see cref="NextLink"/>, <see cref="DepthLink"/>) and the region word
/// (<see cref="Regions"/>) never overlap: a stale handle that races the buffer's return and writes
/// the regions cannot corrupt the free list. A thread that reads the links of a node another thread
/// has just popped gets stale values, but then its compare-and-swap on the list's tagged head fails
/// and it retries, so they are never used.
/// </para>
/// <para>
/// The links are stored relative to the slot's own index so that an all-zero table is the initial
/// free list (0 on top, then 1, 2, ...): the table needs no initialization pass, and creating a
/// large pool touches none of its pages.
/// </para>
/// </remarks>
[StructLayout(LayoutKind.Explicit, Size = 24)]
internal struct BufferSlot
{
    /// <summary>The state word: generation and <see cref="BufferKind"/>, see <see cref="BufferToken"/>.</summary>
    [FieldOffset(0)]
    public ulong State;

    /// <summary>While owned: offset, header length and packet length, one 64-bit word (see <see cref="RegionWord"/>).</summary>
    [FieldOffset(8)]
    public ulong Regions;

    /// <summary>Free-list link, relative: the next index is <c>this index + 1 + NextLink</c>, the capacity meaning the bottom.</summary>
    [FieldOffset(16)]
    public int NextLink;

    /// <summary>Free-list depth, relative: the depth is <c>capacity - this index - DepthLink</c>.</summary>
    [FieldOffset(20)]
    public int DepthLink;
}
