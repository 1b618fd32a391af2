using System.Numerics;

namespace NetBufNative.Drivers;

/// <summary>
/// A bounded single-producer single-consumer ring of <see cref="NetBufPtr"/>s, the queue between
/// a driver's two sides (as a NIC's descriptor ring). Lock-free: the producer publishes an entry
/// with a release write of its tail, the consumer takes it after an acquire read of that tail,
/// and the reverse for the head, so each side writes only its own index.
/// </summary>
/// <remarks>One producer thread and one consumer thread at a time (they may be the same thread).</remarks>
internal sealed class PointerRing
{
    private readonly NetBufPtr[] _entries;
    private readonly int _mask;

    // Each index on its own cache line (producer and consumer run on different cores).
    private PaddedIndex _head;
    private PaddedIndex _tail;

    /// <summary>Creates a ring of <paramref name="capacity"/> entries (rounded up to a power of two).</summary>
    public PointerRing(int capacity)
    {
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, capacity));
        _entries = new NetBufPtr[size];
        _mask = size - 1;
        Capacity = capacity;
    }

    /// <summary>How many entries the ring takes (as asked, not rounded).</summary>
    public int Capacity { get; }

    /// <summary>How many entries are queued: exact for either side's own view, a snapshot for others.</summary>
    public int Count => Volatile.Read(ref _tail.Value) - Volatile.Read(ref _head.Value);

    /// <summary>Producer: queues <paramref name="entry"/>.</summary>
    /// <returns><see langword="false"/> when full.</returns>
    public bool TryEnqueue(NetBufPtr entry)
    {
        int tail = _tail.Value;
        if (tail - Volatile.Read(ref _head.Value) >= Capacity)
        {
            return false;
        }

        _entries[tail & _mask] = entry;
        Volatile.Write(ref _tail.Value, tail + 1); // release: the entry is visible before the index
        return true;
    }

    /// <summary>Consumer: takes the oldest entry.</summary>
    /// <returns><see langword="false"/> when empty.</returns>
    public bool TryDequeue(out NetBufPtr entry)
    {
        int head = _head.Value;
        if (head == Volatile.Read(ref _tail.Value)) // acquire: the entry is read after the index
        {
            entry = default;
            return false;
        }

        int slot = head & _mask;
        entry = _entries[slot];
        _entries[slot] = default;
        Volatile.Write(ref _head.Value, head + 1); // release: the slot is free only after it was read
        return true;
    }

    /// <summary>Consumer: takes up to <paramref name="destination"/>.Length entries.</summary>
    /// <returns>How many were taken.</returns>
    public int DequeueBatch(Span<NetBufPtr> destination)
    {
        int head = _head.Value;
        int count = Math.Min(destination.Length, Volatile.Read(ref _tail.Value) - head);
        for (int i = 0; i < count; i++)
        {
            int slot = (head + i) & _mask;
            destination[i] = _entries[slot];
            _entries[slot] = default;
        }

        Volatile.Write(ref _head.Value, head + count);
        return count;
    }

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Explicit, Size = 128)]
    private struct PaddedIndex
    {
        [System.Runtime.InteropServices.FieldOffset(64)]
        public int Value;
    }
}
