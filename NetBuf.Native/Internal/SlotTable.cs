using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NetBufNative.Internal;

/// <summary>
/// The pool's per-buffer metadata: one <see cref="BufferSlot"/> per buffer, each on its own cache
/// line, in a pinned managed array.
/// </summary>
/// <remarks>
/// <para>
/// Why this layout: every alloc/free pair writes its buffer's slot. With 16-byte slots four buffers
/// shared a line, and slots 0-2 shared it with the array's header, which every access reads, so two
/// threads whose hot buffers were neighbours (or 0 and 1) made the line ping-pong between cores.
/// Here each slot owns a <see cref="SlotSize"/>-byte line and the first slot starts on the line
/// after the array header, so a thread touches no line another thread writes unless they use the
/// same buffer. The cost is 64 bytes of metadata per buffer (3% of a 2048-byte buffer).
/// </para>
/// <para>
/// Pinned (on the pinned object heap), so the alignment computed once stays valid; managed, so a
/// slot is reached through a GC-tracked reference that keeps the table alive as long as any code
/// uses it, and a stale handle that checks its token never reads freed memory. The runtime hands
/// out fresh pages for a large array without touching them, and an all-zero slot is a valid free
/// slot (see <see cref="BufferSlot"/>), so a million-buffer pool costs resident memory only for the
/// slots actually used.
/// </para>
/// </remarks>
internal readonly struct SlotTable
{
    /// <summary>Bytes per slot: one cache line (64 bytes on x64 and most ARM64 cores).</summary>
    public const int SlotSize = 64;

    private readonly byte[] _memory;
    private readonly nint _firstSlot;
    private readonly int _shift;

    private SlotTable(byte[] memory, nint firstSlot, int shift, int capacity)
    {
        _memory = memory;
        _firstSlot = firstSlot;
        _shift = shift;
        Capacity = capacity;
    }

    /// <summary>How many slots the table holds.</summary>
    public int Capacity { get; }

    /// <summary>Bytes from one slot to the next.</summary>
    public int Stride => 1 << _shift;

    /// <summary>Allocates a table of <paramref name="capacity"/> zeroed slots.</summary>
    /// <param name="capacity">How many slots.</param>
    /// <param name="stride">Bytes per slot: <see cref="SlotSize"/>; 32 only to measure the shared-line cost in benchmarks.</param>
    public static unsafe SlotTable Allocate(int capacity, int stride = SlotSize)
    {
        // One extra line so the first slot can start on a line boundary past the array header.
        byte[] memory = GC.AllocateArray<byte>(checked((capacity * stride) + SlotSize), pinned: true);
        nint data = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(memory));
        nint firstSlot = ((data + SlotSize - 1) & ~(nint)(SlotSize - 1)) - data;
        return new SlotTable(memory, firstSlot, System.Numerics.BitOperations.Log2((uint)stride), capacity);
    }

    /// <summary>A view of the table for a loop over many slots: the table's fields read once.</summary>
    public Cursor Open() => new(ref this[0], _shift);

    /// <summary>The slot of buffer <paramref name="index"/>. No bounds check: callers pass an index in 0..capacity-1.</summary>
    public ref BufferSlot this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref Unsafe.As<byte, BufferSlot>(ref Unsafe.Add(
            ref MemoryMarshal.GetArrayDataReference(_memory), _firstSlot + ((nint)(uint)index << _shift)));
    }

    /// <summary>
    /// The table's first slot and stride, held in a ref struct so that a loop over many slots (a
    /// batch) computes each address from registers instead of reloading the table's fields.
    /// </summary>
    public readonly ref struct Cursor
    {
        private readonly ref BufferSlot _first;
        private readonly int _shift;

        public Cursor(ref BufferSlot first, int shift)
        {
            _first = ref first;
            _shift = shift;
        }

        /// <summary>The slot of buffer <paramref name="index"/>; no bounds check, as for the table's indexer.</summary>
        public ref BufferSlot this[int index]
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            get => ref Unsafe.As<byte, BufferSlot>(ref Unsafe.Add(
                ref Unsafe.As<BufferSlot, byte>(ref _first), (nint)(uint)index << _shift));
        }
    }
}
