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
/// one writer can serve every packet.
/// </para>
/// <para>
/// A buffer never grows, but a size hint larger than the tailroom is not refused: serializers ask
/// for more than they write (<c>Utf8JsonWriter</c> asks for at least 256 bytes, then at least 4096,
/// and throws if it gets less). When the hint fits the tailroom, the writer hands out the tailroom
/// itself (no copy); otherwise it hands out a staging array from <see cref="ArrayPool{T}.Shared"/>,
/// and <see cref="Advance"/> copies what was written into the tailroom. So any content that fits
/// the tailroom can be written, whatever the hints.
/// </para>
/// <para>
/// What does not fit fails in <see cref="Advance"/> with <see cref="InvalidOperationException"/>,
/// and nothing of that call is appended; but earlier calls may have appended part of a document
/// already. <see cref="Rollback"/> truncates the packet back to where it was at
/// <see cref="Reset"/> (or the last <see cref="Checkpoint"/>), so a document that does not fit can
/// be undone whole.
/// </para>
/// <para>Not thread-safe.</para>
/// </remarks>
public sealed class NetBufWriter : IBufferWriter<byte>
{
    private NetBufBox _box;

    /// <summary>The packet's length at <see cref="Reset"/> or the last <see cref="Checkpoint"/>.</summary>
    private int _mark;

    /// <summary>The staging array, rented when a hint exceeded the tailroom; returned at <see cref="Reset"/>.</summary>
    private byte[]? _staging;

    /// <summary>Whether the last memory handed out was <see cref="_staging"/> (and not yet advanced).</summary>
    private bool _staged;

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

    /// <summary>
    /// Points the writer at another box, and marks the packet's current length as the point
    /// <see cref="Rollback"/> returns to. Returns the staging array, if any, to
    /// <see cref="ArrayPool{T}.Shared"/>.
    /// </summary>
    /// <param name="box">The box whose packet to append to.</param>
    /// <exception cref="ObjectDisposedException">The box is stale.</exception>
    /// <exception cref="InvalidOperationException">The box holds no buffer.</exception>
    public void Reset(NetBufBox box)
    {
        int length = box.AsNetBuf().PacketLength;
        _box = box;
        _mark = length;
        _staged = false;
        if (_staging is { } staging)
        {
            _staging = null;
            ArrayPool<byte>.Shared.Return(staging);
        }
    }

    /// <summary>Marks the packet's current length as the point <see cref="Rollback"/> returns to.</summary>
    /// <exception cref="ObjectDisposedException">The box is stale.</exception>
    /// <exception cref="InvalidOperationException">The writer has no box.</exception>
    public void Checkpoint() => _mark = _box.AsNetBuf().PacketLength;

    /// <summary>
    /// Truncates the packet back to its length at <see cref="Reset"/> or the last
    /// <see cref="Checkpoint"/>: undoes what was appended since, for example a document that
    /// failed half-way because it did not fit.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The box is stale.</exception>
    /// <exception cref="InvalidOperationException">The writer has no box, or the packet is shorter
    /// than the mark (something else shortened it); nothing is changed then.</exception>
    public void Rollback()
    {
        NetBuf buf = _box.AsNetBuf();
        int length = buf.PacketLength;
        if (length < _mark)
        {
            ThrowHelper.ThrowInvalidOperation(
                $"The packet ({length} bytes) is shorter than the mark ({_mark} bytes): it was shortened by something other than this writer.");
        }

        buf.TrimEnd(length - _mark);
        _staged = false;
    }

    /// <summary>
    /// Appends <paramref name="count"/> bytes, written into the last span or memory handed out, to
    /// the packet (copying them from the staging array when that was handed out).
    /// </summary>
    /// <param name="count">Bytes written: at most the length handed out, and they must fit the tailroom.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative or beyond what was handed out.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="count"/> bytes were written to the
    /// staging array but do not fit the tailroom (nothing is appended; <see cref="Rollback"/> undoes
    /// earlier calls), or the writer has no box.</exception>
    /// <exception cref="ObjectDisposedException">The box is stale.</exception>
    public void Advance(int count)
    {
        NetBuf buf = _box.AsNetBuf();
        if (!_staged)
        {
            buf.Append(count);
            return;
        }

        byte[] staging = _staging!;
        if ((uint)count > (uint)staging.Length)
        {
            ThrowHelper.ThrowArgumentOutOfRange(
                nameof(count), count, $"The count must be between 0 and {staging.Length} (the length handed out).");
        }

        Span<byte> tailroom = buf.GetTailroom(out _);
        if (count > tailroom.Length)
        {
            ThrowHelper.ThrowInvalidOperation(
                $"{count} bytes were written but the packet can grow by only {tailroom.Length} more (its tailroom); nothing was appended. " +
                "Rollback() undoes what this writer appended before.");
        }

        staging.AsSpan(0, count).CopyTo(tailroom);
        buf.Append(count);
        _staged = false;
    }

    /// <summary>
    /// Memory to write at least <paramref name="sizeHint"/> bytes to (at least 1 when 0): the
    /// tailroom itself when the hint fits it, otherwise a staging array whose content
    /// <see cref="Advance"/> copies into the tailroom.
    /// </summary>
    /// <param name="sizeHint">The least length needed.</param>
    /// <returns>Never empty, never shorter than <paramref name="sizeHint"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sizeHint"/> is negative or above <see cref="Array.MaxLength"/>.</exception>
    /// <exception cref="ObjectDisposedException">The box is stale.</exception>
    /// <exception cref="InvalidOperationException">The writer has no box.</exception>
    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        NetBuf buf = _box.AsNetBuf();
        Span<byte> tailroom = buf.GetTailroom(out int start);
        if (Fits(sizeHint, tailroom.Length))
        {
            return buf.Pool.MemoryManagerOf(buf.BufferIndex).Memory.Slice(start, tailroom.Length);
        }

        return Stage(sizeHint);
    }

    /// <summary>
    /// A span to write at least <paramref name="sizeHint"/> bytes to (at least 1 when 0): the
    /// tailroom itself when the hint fits it, otherwise a staging array whose content
    /// <see cref="Advance"/> copies into the tailroom.
    /// </summary>
    /// <param name="sizeHint">The least length needed.</param>
    /// <returns>Never empty, never shorter than <paramref name="sizeHint"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sizeHint"/> is negative or above <see cref="Array.MaxLength"/>.</exception>
    /// <exception cref="ObjectDisposedException">The box is stale.</exception>
    /// <exception cref="InvalidOperationException">The writer has no box.</exception>
    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Span<byte> tailroom = _box.AsNetBuf().GetTailroom(out _);
        return Fits(sizeHint, tailroom.Length) ? tailroom : Stage(sizeHint).Span;
    }

    /// <summary>Whether the hint is served from the tailroom (and the staging array, if any, is not current).</summary>
    private bool Fits(int sizeHint, int tailroom)
    {
        if ((uint)sizeHint > (uint)Array.MaxLength)
        {
            ThrowHelper.ThrowArgumentOutOfRange(
                nameof(sizeHint), sizeHint, $"The size hint must be between 0 and {Array.MaxLength}.");
        }

        bool fits = Math.Max(sizeHint, 1) <= tailroom;
        _staged &= !fits;
        return fits;
    }

    private Memory<byte> Stage(int sizeHint)
    {
        int length = Math.Max(sizeHint, 1);
        if (_staging is null || _staging.Length < length)
        {
            if (_staging is { } old)
            {
                _staging = null;
                ArrayPool<byte>.Shared.Return(old);
            }

            _staging = ArrayPool<byte>.Shared.Rent(length);
        }

        _staged = true;
        return _staging;
    }
}
