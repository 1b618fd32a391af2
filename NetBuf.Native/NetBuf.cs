using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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

    /// <summary>The buffer's metadata slot, held as a reference (a ref struct may hold one): every
    /// member checks and changes it without looking the slot up in the pool's table again. A
    /// GC-tracked reference into the pool's slot table, so it keeps that table alive.</summary>
    private ref BufferSlot _slot;
    /// <summary>The buffer's first byte. It cannot change while the handle is valid (the block never
    /// moves), so the handle carries it and an access needs no trip through the pool; it is used only
    /// after the token check, so a stale handle never reaches it.</summary>
    private ref byte _data;
    private ulong _token;
    private int _index;

    /// <summary>The buffer's length (the pool's), carried for the same reason as <see cref="_data"/>.</summary>
    private int _length;

    /// <summary>Whether this is a view (of a <see cref="NetBufBox"/> or a <see cref="NetBufBatch"/> entry) that does not own the buffer.</summary>
    private bool _view;

    internal NetBuf(NetBufPool pool, int index, ulong token, ThreadCache? cache = null, bool view = false)
        : this(pool, index, ref pool.SlotAt(index), token, cache, view)
    {
    }

    internal NetBuf(NetBufPool pool, int index, ref BufferSlot slot, ulong token, ThreadCache? cache, bool view = false)
    {
        _pool = pool;
        _index = index;
        _slot = ref slot;
        _data = ref pool.BufferStart(index);
        _length = pool.BufferLength;
        _token = token;
        _cache = cache;
        _view = view;
    }

    /// <summary>Whether this handle currently owns (or, for a view, still views) a buffer.</summary>
    public readonly bool IsValid => _pool is not null && Volatile.Read(ref _slot.State) == _token;

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
            _ = Regions();
            return _length;
        }
    }

    /// <summary>Free bytes before the header region, room for <see cref="Prepend"/>.</summary>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly int Headroom => RegionWord.Offset(Regions());

    /// <summary>The header region's length.</summary>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly int HeaderLength => RegionWord.HeaderLength(Regions());

    /// <summary>The packet region's length.</summary>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly int PacketLength => RegionWord.PacketLength(Regions());

    /// <summary>Free bytes after the packet region, room for <see cref="Append"/>.</summary>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly int Tailroom
    {
        get
        {
            return _length - RegionWord.End(Regions());
        }
    }

    /// <summary>The header region, read-only (write it through <see cref="Prepend"/> or <see cref="PacketWithHeader"/>).</summary>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly ReadOnlySpan<byte> Header
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            ulong r = Regions();
            int start = RegionWord.Offset(r);
            return CreateSpan(start, RegionWord.PacketStart(r) - start);
        }
    }

    /// <summary>The packet region.</summary>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly Span<byte> Packet
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            ulong r = Regions();
            int start = RegionWord.PacketStart(r);
            return CreateSpan(start, RegionWord.End(r) - start);
        }
    }

    /// <summary>The header and packet regions together: the frame as it goes on the wire.</summary>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly Span<byte> PacketWithHeader
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            ulong r = Regions();
            int start = RegionWord.Offset(r);
            return CreateSpan(start, RegionWord.End(r) - start);
        }
    }

    /// <summary>The whole buffer, <see cref="Capacity"/> bytes, whatever the regions.</summary>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly Span<byte> RawBuffer
    {
        get
        {
            _ = Regions();
            return CreateSpan(0, _length);
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
            ulong r = Regions();
            int start = RegionWord.PacketStart(r);
            return _pool!.MemoryManagerOf(_index).Memory.Slice(start, RegionWord.End(r) - start);
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
        ulong r = Regions();
        start = RegionWord.End(r);
        return CreateSpan(start, _length - start);
    }

    /// <summary>Sets the header region's length; the packet region then starts right after it.</summary>
    /// <param name="length">The new length: headroom + header + packet must fit the buffer.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is negative or too large; nothing changed.</exception>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly void SetHeaderLength(int length)
    {
        ref BufferSlot slot = ref Slot(out ulong r);
        int offset = RegionWord.Offset(r);
        int packet = RegionWord.PacketLength(r);
        int available = _length - offset - packet;
        if ((uint)length > (uint)available)
        {
            ThrowHelper.ThrowLengthOutOfRange(nameof(length), length, available, "bytes left beside the headroom and packet");
        }

        Commit(ref slot, RegionWord.At(offset, offset + length, offset + length + packet));
    }

    /// <summary>Sets the packet region's length.</summary>
    /// <param name="length">The new length: headroom + header + packet must fit the buffer.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is negative or too large; nothing changed.</exception>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly void SetPacketLength(int length)
    {
        ref BufferSlot slot = ref Slot(out ulong r);
        int packetStart = RegionWord.PacketStart(r);
        int available = _length - packetStart;
        if ((uint)length > (uint)available)
        {
            ThrowHelper.ThrowLengthOutOfRange(nameof(length), length, available, "bytes left after the headroom and header");
        }

        // Only the end moves: bits 32-47 take the new end (bits 48-63 stay zero, as end <= length).
        Commit(ref slot, (r & 0xFFFF_FFFFUL) | ((ulong)(uint)(packetStart + length) << RegionWord.EndShift));
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
        ref BufferSlot slot = ref Slot(out ulong r);
        int offset = RegionWord.Offset(r);
        if (RegionWord.End(r) != offset)
        {
            ThrowHelper.ThrowInvalidOperation("Headroom can only be reserved while the header and packet regions are empty.");
        }

        int available = _length - offset;
        if ((uint)length > (uint)available)
        {
            ThrowHelper.ThrowLengthOutOfRange(nameof(length), length, available, "tailroom");
        }

        int start = offset + length;
        Commit(ref slot, RegionWord.At(start, start, start));
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
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly Span<byte> Prepend(int length)
    {
        ref BufferSlot slot = ref Slot(out ulong r);
        int offset = RegionWord.Offset(r);
        if ((uint)length > (uint)offset)
        {
            ThrowHelper.ThrowLengthOutOfRange(nameof(length), length, offset, "headroom");
        }

        // Only the start moves down, and length <= offset, so the subtraction stays in bits 0-15.
        int start = offset - length;
        Commit(ref slot, r - (uint)length);
        return CreateSpan(start, length);
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
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly Span<byte> Append(int length)
    {
        ref BufferSlot slot = ref Slot(out ulong r);
        int end = RegionWord.End(r);
        int available = _length - end;
        if ((uint)length > (uint)available)
        {
            ThrowHelper.ThrowLengthOutOfRange(nameof(length), length, available, "tailroom");
        }

        // Only the end moves up, and end + length <= the buffer length (< 2^16), so the addition
        // stays in bits 32-47.
        Commit(ref slot, r + ((ulong)(uint)length << RegionWord.EndShift));
        return CreateSpan(end, length);
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
        ref BufferSlot slot = ref Slot(out ulong r);
        int offset = RegionWord.Offset(r);
        int end = RegionWord.End(r);
        if ((uint)length > (uint)(end - offset))
        {
            ThrowHelper.ThrowLengthOutOfRange(nameof(length), length, end - offset, "header and packet bytes");
        }

        // From the header first: the packet start moves only once the header is gone.
        int start = offset + length;
        Commit(ref slot, RegionWord.At(start, Math.Max(RegionWord.PacketStart(r), start), end));
        return CreateSpan(offset, length);
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
        ref BufferSlot slot = ref Slot(out ulong r);
        int offset = RegionWord.Offset(r);
        int end = RegionWord.End(r);
        if ((uint)length > (uint)(end - offset))
        {
            ThrowHelper.ThrowLengthOutOfRange(nameof(length), length, end - offset, "header and packet bytes");
        }

        // From the packet first: the packet start moves only once the packet is gone.
        int newEnd = end - length;
        Commit(ref slot, RegionWord.At(offset, Math.Min(RegionWord.PacketStart(r), newEnd), newEnd));
        return CreateSpan(newEnd, length);
    }

    /// <summary>
    /// Moves the buffer into a <see cref="NetBufPtr"/> for unsafe driver code (the original's
    /// <c>into_buf_ptr</c>). This variable holds nothing afterwards; get the buffer back with
    /// <see cref="NetBufPool.FromBufPtr(NetBufPtr)"/>.
    /// </summary>
    /// <returns>The pointer, with the packet's address and length.</returns>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer, or is a view (of a <see cref="NetBufBox"/> or a batch entry).</exception>
    public NetBufPtr IntoBufPtr()
    {
        NetBufPool pool = RequireOwner();
        NetBufPtr pointer = pool.Lend(ref _slot, _index, _token);
        this = default;
        return pointer;
    }

    /// <summary>
    /// Moves the buffer into a <see cref="NetBufBox"/>, which can be stored in fields, arrays and
    /// queues (the original's <c>Box&lt;NetBuf&gt;</c>). This variable holds nothing afterwards.
    /// </summary>
    /// <returns>The box, owning the buffer. No GC allocation.</returns>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer, or is a view (of a <see cref="NetBufBox"/> or a batch entry).</exception>
    public NetBufBox IntoBox()
    {
        NetBufPool pool = RequireOwner();
        ulong boxed = pool.Transfer(ref _slot, _index, _token, BufferKind.Boxed);
        NetBufBox box = new(pool, _index, boxed);
        this = default;
        return box;
    }

    /// <summary>
    /// Returns the buffer to its pool. Does nothing on a default handle or one whose buffer was
    /// moved out (<see cref="IntoBufPtr"/>, <see cref="IntoBox"/>), so <c>using</c> and moves mix.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The buffer was already disposed (a second dispose, or through a copy of the handle).</exception>
    /// <exception cref="InvalidOperationException">The handle is a view (of a <see cref="NetBufBox"/> or a batch entry): dispose the owner.</exception>
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
            // Only allocations set a cache, so the token is an owner's (never a view's).
            pool.ReturnOwned(ref _slot, _index, _token, _cache);
            return;
        }

        if (_view)
        {
            ThrowView();
        }

        pool.Return(ref _slot, _index, _token);
    }

    /// <inheritdoc/>
    public override readonly string ToString() =>
        _pool is null ? "NetBuf(none)" : $"NetBuf({_pool.Name}, buffer {_index}{(IsValid ? string.Empty : ", stale")})";

    /// <summary>The pool, index and token, for moving the buffer into a batch; the caller clears this handle.</summary>
    internal readonly NetBufPool TakeOwnership(out int index, out ulong token)
    {
        NetBufPool pool = RequireOwner();
        _ = ref Slot(out _);
        index = _index;
        token = _token;
        return pool;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowView() =>
        ThrowHelper.ThrowInvalidOperation(
            "This NetBuf is a view (NetBufBox.AsNetBuf, or an entry of a NetBufBatch) and does not own the buffer: dispose or move its owner instead.");

    /// <summary>The buffer's region word, read once, after checking that this handle still owns the buffer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly ulong Regions()
    {
        _ = ref Slot(out ulong regions);
        return regions;
    }

    /// <summary>The buffer's metadata slot and its region word (read once), after checking that this handle still owns it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly ref BufferSlot Slot(out ulong regions)
    {
        if (_pool is null)
        {
            ThrowHelper.ThrowNoBuffer();
        }

        ref BufferSlot slot = ref _slot;
        if (Volatile.Read(ref slot.State) != _token)
        {
            ThrowStale();
        }

        regions = Volatile.Read(ref slot.Regions);
        return ref slot;
    }

    /// <summary>
    /// Stores a new region word (checked by the caller against the buffer length). A box's view then
    /// checks its token again: copies of a box can be on other threads, and a stale one that raced
    /// the buffer's return is told so here, although its store may already have changed the next
    /// owner's lengths (never the pool's free list, and never to values outside the buffer). An owned
    /// token (a NetBuf, a batch entry) is never on another thread, as both are ref structs: nothing
    /// can come between its check and its store, so it needs no second look.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly void Commit(ref BufferSlot slot, ulong regions)
    {
        Volatile.Write(ref slot.Regions, regions);
        if (BufferToken.KindOf(_token) == BufferKind.Boxed && Volatile.Read(ref slot.State) != _token)
        {
            ThrowStale();
        }
    }

    /// <summary>
    /// A span over bytes <paramref name="start"/>..<paramref name="start"/>+<paramref name="length"/> of the buffer.
    /// Sound for the same reasons as <see cref="NetBufPool.CreateSpan"/>: the caller checked the token just
    /// before, and the range comes from one read of the region word (every value stored there fits the
    /// buffer) or from checks against the buffer length; the block does not move and is not freed while
    /// any buffer is out.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly Span<byte> CreateSpan(int start, int length) =>
        MemoryMarshal.CreateSpan(ref Unsafe.Add(ref _data, (nint)(uint)start), length);

    /// <summary>Throws for a stale handle, with the pool's message. Takes the fields, not the handle: an
    /// instance call would take the handle's address and keep it out of registers on every access.</summary>
    private readonly void ThrowStale() => ThrowStale(_pool!, _index, _token);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowStale(NetBufPool pool, int index, ulong token) => pool.ThrowStale(index, token);

    private readonly NetBufPool RequireOwner()
    {
        NetBufPool? pool = _pool;
        if (pool is null)
        {
            ThrowHelper.ThrowNoBuffer();
        }

        if (_view)
        {
            ThrowView();
        }

        return pool;
    }
}
