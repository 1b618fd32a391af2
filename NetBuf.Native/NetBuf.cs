using System.Buffers;
using System.Runtime.CompilerServices;
using NetBufNative.Internal;

namespace NetBufNative;

/// <summary>
/// An owned network packet buffer from a <see cref="NetBufPool"/>: the port of ArceOS's
/// <c>NetBuf</c>. Dispose it to return the buffer: <c>using var buf = pool.Alloc();</c>.
/// </summary>
/// <remarks>
/// <para>
/// The buffer is split into regions: headroom | header | packet | tailroom. The header and
/// packet are contiguous (<see cref="PacketWithHeader"/>); the lengths live in the pool's metadata,
/// so converting to a <see cref="NetBufBox"/> or a <see cref="NetBufPtr"/> and back copies nothing.
/// Every length change is checked, always (the original only debug-asserted), and a failed one
/// changes nothing.
/// </para>
/// <para>
/// A <see cref="NetBuf"/> is a handle. <see cref="IntoBufPtr"/> and <see cref="IntoBox"/> move the
/// buffer out of the variable they are called on, which then holds nothing (disposing it does
/// nothing). Any other copy of the handle becomes stale when the buffer is disposed or moved:
/// using it throws <see cref="ObjectDisposedException"/>. So pass a <see cref="NetBuf"/> by
/// <see langword="ref"/> to a method that takes ownership.
/// </para>
/// <para>Not thread-safe: a buffer has one owner; hand it to another thread as a <see cref="NetBufBox"/> or a <see cref="NetBufPtr"/>.</para>
/// </remarks>
public ref struct NetBuf : IDisposable
{
    private NetBufPool? _pool;

    /// <summary>The allocating thread's cache, if the pool has one: a NetBuf never leaves its
    /// thread, so its Dispose can free into this cache without looking it up again.</summary>
    private ThreadCache? _cache;
    private int _index;
    private uint _token;

    internal NetBuf(NetBufPool pool, int index, uint token, ThreadCache? cache = null)
    {
        _pool = pool;
        _index = index;
        _token = token;
        _cache = cache;
    }

    /// <summary>Whether this handle currently owns (or, for <see cref="NetBufBox.AsNetBuf"/>, views) a buffer.</summary>
    public readonly bool IsValid => _pool is not null && _pool.SlotAt(_index).State == _token;

    /// <summary>The pool the buffer belongs to.</summary>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly NetBufPool Pool
    {
        get
        {
            if (_pool is null)
            {
                ThrowHelper.ThrowNoBuffer();
            }

            return _pool;
        }
    }

    /// <summary>The whole buffer's length (the pool's <see cref="NetBufPool.BufferLength"/>); the original's <c>capacity()</c>.</summary>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly int Capacity
    {
        get
        {
            _ = ref Slot(out NetBufPool pool);
            return pool.BufferLength;
        }
    }

    /// <summary>Free bytes before the header region, room for <see cref="Prepend"/>.</summary>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly int Headroom => Slot(out _).Offset;

    /// <summary>The header region's length.</summary>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly int HeaderLength => Slot(out _).HeaderLength;

    /// <summary>The packet region's length.</summary>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly int PacketLength => Slot(out _).PacketLength;

    /// <summary>Free bytes after the packet region, room for <see cref="Append"/>.</summary>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly int Tailroom
    {
        get
        {
            ref BufferSlot slot = ref Slot(out NetBufPool pool);
            return pool.BufferLength - slot.Offset - slot.HeaderLength - slot.PacketLength;
        }
    }

    /// <summary>The header region, read-only (write it through <see cref="Prepend"/> or <see cref="PacketWithHeader"/>).</summary>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly ReadOnlySpan<byte> Header
    {
        get
        {
            ref BufferSlot slot = ref Slot(out NetBufPool pool);
            return pool.CreateSpan(_index, slot.Offset, slot.HeaderLength);
        }
    }

    /// <summary>The packet region.</summary>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly Span<byte> Packet
    {
        get
        {
            ref BufferSlot slot = ref Slot(out NetBufPool pool);
            return pool.CreateSpan(_index, slot.Offset + slot.HeaderLength, slot.PacketLength);
        }
    }

    /// <summary>The header and packet regions together: the frame as it goes on the wire.</summary>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly Span<byte> PacketWithHeader
    {
        get
        {
            ref BufferSlot slot = ref Slot(out NetBufPool pool);
            return pool.CreateSpan(_index, slot.Offset, slot.HeaderLength + slot.PacketLength);
        }
    }

    /// <summary>The whole buffer, <see cref="Capacity"/> bytes, whatever the regions.</summary>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly Span<byte> RawBuffer
    {
        get
        {
            _ = ref Slot(out NetBufPool pool);
            return pool.CreateSpan(_index, 0, pool.BufferLength);
        }
    }

    /// <summary>
    /// The packet region as <see cref="Memory{T}"/> over the buffer's native memory, for APIs
    /// that need it (e.g. <see cref="System.IO.Stream"/> or socket calls). Valid only while this
    /// handle owns the buffer: do not keep it past <see cref="Dispose"/> or a move.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    /// <remarks>Makes the buffer's memory manager on first use (one per buffer, reused); no allocation after that.</remarks>
    public readonly Memory<byte> PacketMemory
    {
        get
        {
            ref BufferSlot slot = ref Slot(out NetBufPool pool);
            return pool.MemoryManagerOf(_index).Memory.Slice(slot.Offset + slot.HeaderLength, slot.PacketLength);
        }
    }

    /// <summary>
    /// The packet region as a single-segment <see cref="ReadOnlySequence{T}"/>, for parsers built
    /// on <c>System.Buffers</c> (<see cref="SequenceReader{T}"/>). Valid as long as <see cref="PacketMemory"/>.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly ReadOnlySequence<byte> PacketSequence => new(PacketMemory);

    /// <summary>The buffer's index in its pool.</summary>
    internal readonly int BufferIndex => _index;

    /// <summary>The tailroom as a span, with one ownership check (for <see cref="NetBufWriter"/>).</summary>
    /// <param name="start">Where the tailroom starts in the buffer.</param>
    internal readonly Span<byte> GetTailroom(out int start)
    {
        ref BufferSlot slot = ref Slot(out NetBufPool pool);
        start = slot.Offset + slot.HeaderLength + slot.PacketLength;
        return pool.CreateSpan(_index, start, pool.BufferLength - start);
    }

    /// <summary>Sets the header region's length; the packet region then starts right after it.</summary>
    /// <param name="length">The new length: headroom + header + packet must fit the buffer.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is negative or too large; nothing changed.</exception>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly void SetHeaderLength(int length)
    {
        ref BufferSlot slot = ref Slot(out NetBufPool pool);
        int available = pool.BufferLength - slot.Offset - slot.PacketLength;
        if ((uint)length > (uint)available)
        {
            ThrowHelper.ThrowLengthOutOfRange(nameof(length), length, available, "bytes left beside the headroom and packet");
        }

        slot.HeaderLength = (ushort)length;
    }

    /// <summary>Sets the packet region's length.</summary>
    /// <param name="length">The new length: headroom + header + packet must fit the buffer.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is negative or too large; nothing changed.</exception>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly void SetPacketLength(int length)
    {
        ref BufferSlot slot = ref Slot(out NetBufPool pool);
        int available = pool.BufferLength - slot.Offset - slot.HeaderLength;
        if ((uint)length > (uint)available)
        {
            ThrowHelper.ThrowLengthOutOfRange(nameof(length), length, available, "bytes left after the headroom and header");
        }

        slot.PacketLength = (ushort)length;
    }

    /// <summary>
    /// Moves the start of the (empty) header and packet regions <paramref name="length"/> bytes
    /// further in, reserving headroom for headers prepended later (Linux's <c>skb_reserve</c>).
    /// </summary>
    /// <param name="length">Bytes to add to the headroom, up to the tailroom.</param>
    /// <exception cref="InvalidOperationException">The header or packet region is not empty, or the handle holds no buffer.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is negative or larger than the tailroom; nothing changed.</exception>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    public readonly void ReserveHeadroom(int length)
    {
        ref BufferSlot slot = ref Slot(out NetBufPool pool);
        if (slot.HeaderLength != 0 || slot.PacketLength != 0)
        {
            ThrowHelper.ThrowInvalidOperation("Headroom can only be reserved while the header and packet regions are empty.");
        }

        int available = pool.BufferLength - slot.Offset;
        if ((uint)length > (uint)available)
        {
            ThrowHelper.ThrowLengthOutOfRange(nameof(length), length, available, "tailroom");
        }

        slot.Offset += (ushort)length;
    }

    /// <summary>
    /// Grows the header region into the headroom by <paramref name="length"/> bytes at the front
    /// (DPDK's <c>rte_pktmbuf_prepend</c>, Linux's <c>skb_push</c>).
    /// </summary>
    /// <param name="length">Bytes to prepend, up to the headroom.</param>
    /// <returns>The prepended bytes, to write the new header into.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is negative or larger than the headroom; nothing changed.</exception>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly Span<byte> Prepend(int length)
    {
        ref BufferSlot slot = ref Slot(out NetBufPool pool);
        if ((uint)length > slot.Offset)
        {
            ThrowHelper.ThrowLengthOutOfRange(nameof(length), length, slot.Offset, "headroom");
        }

        slot.Offset -= (ushort)length;
        slot.HeaderLength += (ushort)length;
        return pool.CreateSpan(_index, slot.Offset, length);
    }

    /// <summary>
    /// Grows the packet region into the tailroom by <paramref name="length"/> bytes at the end
    /// (DPDK's <c>rte_pktmbuf_append</c>, Linux's <c>skb_put</c>).
    /// </summary>
    /// <param name="length">Bytes to append, up to the tailroom.</param>
    /// <returns>The appended bytes, to write into.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is negative or larger than the tailroom; nothing changed.</exception>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly Span<byte> Append(int length)
    {
        ref BufferSlot slot = ref Slot(out NetBufPool pool);
        int end = slot.Offset + slot.HeaderLength + slot.PacketLength;
        int available = pool.BufferLength - end;
        if ((uint)length > (uint)available)
        {
            ThrowHelper.ThrowLengthOutOfRange(nameof(length), length, available, "tailroom");
        }

        slot.PacketLength += (ushort)length;
        return pool.CreateSpan(_index, end, length);
    }

    /// <summary>
    /// Removes <paramref name="length"/> bytes from the front of the header and packet, from the
    /// header first, into the headroom (DPDK's <c>rte_pktmbuf_adj</c>, Linux's <c>skb_pull</c>).
    /// </summary>
    /// <param name="length">Bytes to remove, up to header + packet length.</param>
    /// <returns>The removed bytes (now headroom), e.g. the header just parsed.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is negative or too large; nothing changed.</exception>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly Span<byte> TrimStart(int length)
    {
        ref BufferSlot slot = ref Slot(out NetBufPool pool);
        int contents = slot.HeaderLength + slot.PacketLength;
        if ((uint)length > (uint)contents)
        {
            ThrowHelper.ThrowLengthOutOfRange(nameof(length), length, contents, "header and packet bytes");
        }

        int start = slot.Offset;
        int fromHeader = Math.Min(length, slot.HeaderLength);
        slot.HeaderLength -= (ushort)fromHeader;
        slot.PacketLength -= (ushort)(length - fromHeader);
        slot.Offset += (ushort)length;
        return pool.CreateSpan(_index, start, length);
    }

    /// <summary>
    /// Removes <paramref name="length"/> bytes from the end of the header and packet, from the
    /// packet first, into the tailroom (DPDK's <c>rte_pktmbuf_trim</c>, Linux's <c>skb_trim</c>).
    /// </summary>
    /// <param name="length">Bytes to remove, up to header + packet length.</param>
    /// <returns>The removed bytes (now tailroom), e.g. a trailer just checked.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is negative or too large; nothing changed.</exception>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly Span<byte> TrimEnd(int length)
    {
        ref BufferSlot slot = ref Slot(out NetBufPool pool);
        int contents = slot.HeaderLength + slot.PacketLength;
        if ((uint)length > (uint)contents)
        {
            ThrowHelper.ThrowLengthOutOfRange(nameof(length), length, contents, "header and packet bytes");
        }

        int end = slot.Offset + contents;
        int fromPacket = Math.Min(length, slot.PacketLength);
        slot.PacketLength -= (ushort)fromPacket;
        slot.HeaderLength -= (ushort)(length - fromPacket);
        return pool.CreateSpan(_index, end - length, length);
    }

    /// <summary>
    /// Moves the buffer into a <see cref="NetBufPtr"/> for unsafe driver code (the original's
    /// <c>into_buf_ptr</c>). This variable holds nothing afterwards; get the buffer back with
    /// <see cref="NetBufPool.FromBufPtr(NetBufPtr)"/>.
    /// </summary>
    /// <returns>The pointer, with the packet's address and length.</returns>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer, or is a view of a <see cref="NetBufBox"/>.</exception>
    public NetBufPtr IntoBufPtr()
    {
        NetBufPool pool = RequireOwner();
        NetBufPtr pointer = pool.Lend(_index, _token);
        this = default;
        return pointer;
    }

    /// <summary>
    /// Moves the buffer into a <see cref="NetBufBox"/>, which can be stored in fields, arrays and
    /// queues (the original's <c>Box&lt;NetBuf&gt;</c>). This variable holds nothing afterwards.
    /// </summary>
    /// <returns>The box, owning the buffer. No GC allocation.</returns>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer, or is a view of a <see cref="NetBufBox"/>.</exception>
    public NetBufBox IntoBox()
    {
        NetBufPool pool = RequireOwner();
        uint boxed = pool.Transfer(_index, _token, BufferKind.Boxed);
        NetBufBox box = new(pool, _index, boxed);
        this = default;
        return box;
    }

    /// <summary>
    /// Returns the buffer to its pool. Does nothing on a default handle or one whose buffer was
    /// moved out (<see cref="IntoBufPtr"/>, <see cref="IntoBox"/>), so <c>using</c> and moves mix.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The buffer was already disposed (a second dispose, or through a copy of the handle).</exception>
    /// <exception cref="InvalidOperationException">The handle is a view of a <see cref="NetBufBox"/>: dispose the box.</exception>
    public readonly void Dispose()
    {
        NetBufPool? pool = _pool;
        if (pool is null)
        {
            return;
        }

        // The fields stay as they are, so a second Dispose of this variable is caught as stale.
        if (_cache is not null)
        {
            // Only Alloc/TryAlloc set a cache, so the token is an owner's (never a box view's).
            pool.ReturnOwned(_index, _token, _cache);
            return;
        }

        if (BufferToken.KindOf(_token) == BufferKind.Boxed)
        {
            ThrowView();
        }

        pool.Return(_index, _token);
    }

    /// <inheritdoc/>
    public override readonly string ToString() =>
        _pool is null ? "NetBuf(none)" : $"NetBuf({_pool.Name}, buffer {_index}{(IsValid ? string.Empty : ", stale")})";

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowView() =>
        ThrowHelper.ThrowInvalidOperation(
            "This NetBuf is a view of a NetBufBox (NetBufBox.AsNetBuf) and does not own the buffer: dispose or move the box instead.");

    /// <summary>The buffer's metadata slot, after checking that this handle still owns it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly ref BufferSlot Slot(out NetBufPool pool)
    {
        NetBufPool? owner = _pool;
        if (owner is null)
        {
            ThrowHelper.ThrowNoBuffer();
        }

        pool = owner;
        return ref owner.OwnedSlot(_index, _token);
    }

    private readonly NetBufPool RequireOwner()
    {
        NetBufPool? pool = _pool;
        if (pool is null)
        {
            ThrowHelper.ThrowNoBuffer();
        }

        if (BufferToken.KindOf(_token) == BufferKind.Boxed)
        {
            ThrowView();
        }

        return pool;
    }
}
