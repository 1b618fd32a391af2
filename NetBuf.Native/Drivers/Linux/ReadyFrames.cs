namespace NetBufNative.Drivers.Linux;

/// <summary>
/// Received frames a driver holds ready, in order, for a later receive call: the segments of a super-packet (and the
/// frames behind it) beyond what the caller's span took. Bounded; for one thread; each entry is a buffer the driver
/// holds with where its frame lies.
/// </summary>
internal sealed class ReadyFrames
{
    private readonly NetBufPtr[] _buffers;
    private readonly int[] _starts;
    private readonly int[] _lengths;
    private int _head;
    private int _count;

    /// <summary>Creates a queue of <paramref name="capacity"/> frames.</summary>
    internal ReadyFrames(int capacity)
    {
        _buffers = new NetBufPtr[capacity];
        _starts = new int[capacity];
        _lengths = new int[capacity];
    }

    /// <summary>How many frames wait.</summary>
    internal int Count => _count;

    /// <summary>How many more it takes.</summary>
    internal int Room => _buffers.Length - _count;

    /// <summary>Queues a frame at the end; the caller checked <see cref="Room"/>.</summary>
    internal void Enqueue(NetBufPtr buffer, int start, int length)
    {
        int at = Wrap(_head + _count);
        _buffers[at] = buffer;
        _starts[at] = start;
        _lengths[at] = length;
        _count++;
    }

    /// <summary>Takes the oldest frame; the caller checked <see cref="Count"/>.</summary>
    internal NetBufPtr Dequeue(out int start, out int length)
    {
        NetBufPtr buffer = _buffers[_head];
        start = _starts[_head];
        length = _lengths[_head];
        _buffers[_head] = default;
        _head = Wrap(_head + 1);
        _count--;
        return buffer;
    }

    private int Wrap(int index) => index >= _buffers.Length ? index - _buffers.Length : index;
}
