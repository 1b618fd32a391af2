namespace NetBufNative.Drivers.Linux;

/// <summary>
/// A bounded first-in first-out queue of lent buffers, for one thread (a driver's posted receive
/// buffers and its sent buffers awaiting recycling). Unlike <see cref="PointerRing"/> it lets the
/// consumer look at the oldest entries before taking them, which a read into posted buffers needs.
/// </summary>
internal sealed class BufferFifo
{
    private readonly NetBufPtr[] _entries;
    private int _head;
    private int _count;

    /// <summary>Creates a queue of <paramref name="capacity"/> entries.</summary>
    internal BufferFifo(int capacity) => _entries = new NetBufPtr[capacity];

    /// <summary>How many entries are queued.</summary>
    internal int Count => _count;

    /// <summary>How many entries the queue takes.</summary>
    internal int Capacity => _entries.Length;

    /// <summary>Queues <paramref name="entry"/> at the end.</summary>
    /// <returns><see langword="false"/> when full.</returns>
    internal bool TryEnqueue(NetBufPtr entry)
    {
        if (_count == _entries.Length)
        {
            return false;
        }

        _entries[Wrap(_head + _count)] = entry;
        _count++;
        return true;
    }

    /// <summary>The <paramref name="index"/>-th oldest entry (0 is the next to dequeue); the caller checked it exists.</summary>
    internal NetBufPtr Peek(int index) => _entries[Wrap(_head + index)];

    /// <summary>Takes the oldest entry; the caller checked there is one.</summary>
    internal NetBufPtr Dequeue()
    {
        NetBufPtr entry = _entries[_head];
        _entries[_head] = default;
        _head = Wrap(_head + 1);
        _count--;
        return entry;
    }

    /// <summary>Takes up to <paramref name="destination"/>.Length of the oldest entries.</summary>
    /// <returns>How many were taken.</returns>
    internal int DequeueBatch(Span<NetBufPtr> destination)
    {
        int count = Math.Min(destination.Length, _count);
        for (int i = 0; i < count; i++)
        {
            destination[i] = Dequeue();
        }

        return count;
    }

    private int Wrap(int index) => index >= _entries.Length ? index - _entries.Length : index;
}
