using System.Buffers;
using NetBufNative.Internal;

namespace NetBufNative;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> over a buffer's packet region: what is written is appended to
/// the packet (its length grows with every <see cref="Advance"/>), so serializers such as
/// <c>Utf8JsonWriter</c> or <c>BinaryPrimitives</c> write packets straight into pool memory.
/// </summary>
/// <remarks>
/// <para>
/// The writer refers to a <see cref="NetBufBox"/> it does not own: the caller keeps the box and
/// disposes it. If the box is disposed or moved, the writer's calls throw
/// <see cref="ObjectDisposedException"/>. <see cref="Reset"/> points the writer at another box, so
/// one writer can serve every packet without allocating.
/// </para>
/// <para>A buffer never grows: asking for more than the tailroom throws. Not thread-safe.</para>
/// </remarks>
public sealed class NetBufWriter : IBufferWriter<byte>
{
    private NetBufBox _box;

    /// <summary>Creates a writer that writes nothing until <see cref="Reset"/> gives it a box.</summary>
    public NetBufWriter()
    {
    }

    /// <summary>Creates a writer appending to the packet of <paramref name="box"/>.</summary>
    /// <param name="box">The box whose packet to append to; the caller keeps ownership.</param>
    /// <exception cref="ObjectDisposedException">The box is stale.</exception>
    /// <exception cref="InvalidOperationException">The box holds no buffer.</exception>
    public NetBufWriter(NetBufBox box) => Reset(box);

    /// <summary>The box being written.</summary>
    public NetBufBox Box => _box;

    /// <summary>The packet's length: everything written so far (and whatever the packet held before).</summary>
    /// <exception cref="ObjectDisposedException">The box is stale.</exception>
    /// <exception cref="InvalidOperationException">The writer has no box.</exception>
    public int WrittenCount => _box.AsNetBuf().PacketLength;

    /// <summary>Points the writer at another box.</summary>
    /// <param name="box">The box whose packet to append to.</param>
    /// <exception cref="ObjectDisposedException">The box is stale.</exception>
    /// <exception cref="InvalidOperationException">The box holds no buffer.</exception>
    public void Reset(NetBufBox box)
    {
        _ = box.AsNetBuf();
        _box = box;
    }

    /// <summary>Appends <paramref name="count"/> bytes, written into the last span or memory handed out, to the packet.</summary>
    /// <param name="count">Bytes written, up to the tailroom.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative or beyond the tailroom.</exception>
    /// <exception cref="ObjectDisposedException">The box is stale.</exception>
    /// <exception cref="InvalidOperationException">The writer has no box.</exception>
    public void Advance(int count) => _box.AsNetBuf().Append(count);

    /// <summary>The tailroom as memory, at least <paramref name="sizeHint"/> bytes (at least 1 when 0).</summary>
    /// <param name="sizeHint">The least length needed.</param>
    /// <returns>The free bytes after the packet.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sizeHint"/> is negative or beyond the tailroom.</exception>
    /// <exception cref="ObjectDisposedException">The box is stale.</exception>
    /// <exception cref="InvalidOperationException">The writer has no box.</exception>
    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        NetBuf buf = _box.AsNetBuf();
        Span<byte> tailroom = CheckTailroom(buf.GetTailroom(out int start), sizeHint);
        return buf.Pool.MemoryManagerOf(buf.BufferIndex).Memory.Slice(start, tailroom.Length);
    }

    /// <summary>The tailroom as a span, at least <paramref name="sizeHint"/> bytes (at least 1 when 0).</summary>
    /// <param name="sizeHint">The least length needed.</param>
    /// <returns>The free bytes after the packet.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sizeHint"/> is negative or beyond the tailroom.</exception>
    /// <exception cref="ObjectDisposedException">The box is stale.</exception>
    /// <exception cref="InvalidOperationException">The writer has no box.</exception>
    public Span<byte> GetSpan(int sizeHint = 0) => CheckTailroom(_box.AsNetBuf().GetTailroom(out _), sizeHint);

    private static Span<byte> CheckTailroom(Span<byte> tailroom, int sizeHint)
    {
        if (sizeHint < 0 || Math.Max(sizeHint, 1) > tailroom.Length)
        {
            ThrowHelper.ThrowArgumentOutOfRange(
                nameof(sizeHint), sizeHint, $"The packet can grow by {tailroom.Length} more bytes (its tailroom); a pool buffer never grows.");
        }

        return tailroom;
    }
}
