using System.Buffers;

namespace NetBufNative.Internal;

/// <summary>
/// Scratch space for the indices of a bulk operation: the caller's stack buffer when the batch
/// fits it, else an array rented from <see cref="ArrayPool{T}.Shared"/> (returned on dispose),
/// so bulk operations allocate nothing on the GC heap.
/// </summary>
internal ref struct IndexScratch
{
    /// <summary>Indices that fit on the stack: 1 KiB, comfortably below any stack limit.</summary>
    public const int StackLength = 256;

    private readonly int[]? _rented;

    /// <summary>Provides <paramref name="length"/> ints, from <paramref name="stackBuffer"/> when it is long enough.</summary>
    public IndexScratch(int length, Span<int> stackBuffer)
    {
        if (length <= stackBuffer.Length)
        {
            Indices = stackBuffer[..length];
        }
        else
        {
            _rented = ArrayPool<int>.Shared.Rent(length);
            Indices = _rented.AsSpan(0, length);
        }
    }

    /// <summary>The scratch indices.</summary>
    public Span<int> Indices { get; }

    /// <summary>Returns a rented array.</summary>
    public readonly void Dispose()
    {
        if (_rented is not null)
        {
            ArrayPool<int>.Shared.Return(_rented);
        }
    }
}
