using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NetBufNative.Internal;

/// <summary>
/// Owns the pool's native block and decides when it may be freed: only when nothing can still
/// point into it.
/// </summary>
/// <remarks>
/// <para>
/// References are counted from a large bias that stands for the pool itself: each outstanding
/// <see cref="System.Buffers.MemoryHandle"/> from a pin adds one, and after the pool closes each
/// buffer that comes back removes one. <see cref="Close"/> swaps the bias for the number of buffers
/// still out, so the count reaches zero exactly once, when the pool is disposed, every buffer is
/// back and every pin is released; whoever brings it there frees the block.
/// </para>
/// <para>
/// A pool that is collected without being disposed is finalized here. Spans of its buffers may
/// still be on some stack (a <see cref="NetBufBox"/> dropped undisposed while a span of it is in
/// use), so the block is freed only if every buffer is free; otherwise it is leaked on purpose and
/// counted in <see cref="LeakedBlocks"/>/<see cref="LeakedBytes"/> (the <c>netbuf.pool.leaked</c> metrics).
/// </para>
/// </remarks>
internal sealed unsafe class PoolBlock
{
    /// <summary>The pool's own reference: far above any number of buffers plus pins.</summary>
    private const long PoolReference = 1L << 48;

    private static long s_leakedBlocks;
    private static long s_leakedBytes;

    /// <summary>Pinned arrays of pools collected with buffers out, kept reachable on purpose (the
    /// managed counterpart of leaking a native block: the GC would otherwise reuse the memory).</summary>
    private static readonly List<byte[]> s_leakedArrays = [];

    private readonly SlotTable _slots;
    private readonly nuint _length;
    private byte* _pointer;

    /// <summary>The block's memory when it is a pinned managed array (<see cref="NetBufBlockMemory.PinnedArray"/>), else null.</summary>
    private byte[]? _array;
    private long _references = PoolReference;
    private int _timesFreed;

    private PoolBlock(byte* pointer, nuint length, SlotTable slots, byte[]? array, int arrayOffset)
    {
        _pointer = pointer;
        _length = length;
        _slots = slots;
        _array = array;
        ArrayOffset = arrayOffset;
    }

    /// <summary>Finalizes a pool collected without <see cref="NetBufPool.Dispose"/>: frees the block only if no buffer is out.</summary>
    ~PoolBlock()
    {
        if (Volatile.Read(ref _references) == 0 || _pointer is null)
        {
            return;
        }

        // Unreachable now: no thread can change a slot any more, so this scan is exact. The slot
        // table is a managed array this object references, so it is still alive here.
        bool leaked = false;
        for (int i = 0; i < _slots.Capacity; i++)
        {
            if (BufferToken.KindOf(_slots[i].State) != BufferKind.Free)
            {
                if (Diagnostics is PoolDiagnostics diagnostics)
                {
                    diagnostics.Report(diagnostics.Leak(i));
                }

                if (leaked)
                {
                    continue;
                }

                leaked = true;
                if (_array is not null)
                {
                    lock (s_leakedArrays)
                    {
                        s_leakedArrays.Add(_array);
                    }
                }

                Interlocked.Increment(ref s_leakedBlocks);
                Interlocked.Add(ref s_leakedBytes, (long)_length);
            }
        }

        if (!leaked)
        {
            Free();
        }
    }

    /// <summary>Blocks leaked by pools collected with buffers still out, since the process started.</summary>
    public static long LeakedBlocks => Volatile.Read(ref s_leakedBlocks);

    /// <summary>Bytes of those blocks.</summary>
    public static long LeakedBytes => Volatile.Read(ref s_leakedBytes);

    /// <summary>The block's first byte.</summary>
    public byte* Pointer => _pointer;

    /// <summary>The pool's diagnostic mode, told of the buffers still out if the pool is collected; null without it.</summary>
    public PoolDiagnostics? Diagnostics { get; set; }

    /// <summary>The pinned array the block lives in, or null for native memory; null too once freed.</summary>
    public byte[]? Array => Volatile.Read(ref _array);

    /// <summary>Where the block starts in <see cref="Array"/>.</summary>
    public int ArrayOffset { get; }

    /// <summary>Whether the block has been freed.</summary>
    public bool IsReleased => Volatile.Read(ref _references) == 0;

    /// <summary>Allocates <paramref name="length"/> bytes aligned to <paramref name="alignment"/>; the contents are not touched.</summary>
    /// <exception cref="OutOfMemoryException">The allocation failed.</exception>
    public static PoolBlock Allocate(nuint length, nuint alignment, SlotTable slots) =>
        new((byte*)NativeMemory.AlignedAlloc(length, alignment), length, slots, null, 0);

    /// <summary>
    /// Allocates the block inside one pinned array on the pinned object heap, aligned to
    /// <paramref name="alignment"/> within it, so that <see cref="System.Runtime.InteropServices.MemoryMarshal.TryGetArray{T}"/>
    /// can hand out array segments of its buffers. The caller has checked that
    /// <paramref name="length"/> + <paramref name="alignment"/> fits an array.
    /// </summary>
    /// <exception cref="OutOfMemoryException">The allocation failed.</exception>
    public static PoolBlock AllocatePinnedArray(nuint length, nuint alignment, SlotTable slots)
    {
        // Uninitialized: fresh pages from the OS are zero and untouched (creation touches no data page).
        byte[] array = GC.AllocateUninitializedArray<byte>(checked((int)(length + alignment)), pinned: true);

        // Sound: the array is pinned for its whole life, so its address never changes.
        byte* data = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        nuint offset = (alignment - ((nuint)data & (alignment - 1))) & (alignment - 1);
        return new PoolBlock(data + offset, length, slots, array, (int)offset);
    }

    /// <summary>Adds a reference (a pin) unless the block is already freed.</summary>
    /// <returns><see langword="false"/> when the block is freed.</returns>
    public bool TryAddReference()
    {
        long seen = Volatile.Read(ref _references);
        while (seen > 0)
        {
            long actual = Interlocked.CompareExchange(ref _references, seen + 1, seen);
            if (actual == seen)
            {
                return true;
            }

            seen = actual;
        }

        return false;
    }

    /// <summary>Removes a reference: a released pin, or a buffer returned after the pool closed.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            Free();
        }
    }

    /// <summary>Swaps the pool's own reference for the <paramref name="outstanding"/> buffers still out.</summary>
    public void Close(int outstanding)
    {
        if (Interlocked.Add(ref _references, outstanding - PoolReference) == 0)
        {
            Free();
        }
    }

    /// <summary>How many times the block was freed: 0, then 1 for good (tests check it never reaches 2).</summary>
    public int TimesFreed => Volatile.Read(ref _timesFreed);

    private void Free()
    {
        Interlocked.Increment(ref _timesFreed);

        // Reached once: by the count's one transition to zero, or by the finalizer, which runs
        // only when nothing else can reach this object (and returns early if the count did).
        // A pinned array is not freed here: dropping the reference lets the GC reclaim it once
        // nothing (an array segment handed out, say) references it any more.
        if (_array is null)
        {
            NativeMemory.AlignedFree(_pointer);
        }

        Volatile.Write(ref _array, null);
        _pointer = null;
        Volatile.Write(ref _references, 0);
    }
}
