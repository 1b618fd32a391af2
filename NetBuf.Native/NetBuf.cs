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

    /// <summary>The buffer's metadata slot, held as a reference (a ref struct may hold one): every
    /// member checks and changes it without looking the slot up in the pool's table again. A
    /// GC-tracked reference into the pool's slot table, so it keeps that table alive.</summary>
    private ref BufferSlot _slot;
    private ulong _token;
    private int _index;

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
            _ = Regions(out NetBufPool pool);
            return pool.BufferLength;
        }
    }

    /// <summary>Free bytes before the header region, room for <see cref="Prepend"/>.</summary>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly int Headroom => RegionWord.Offset(Regions(out _));

    /// <summary>The header region's length.</summary>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly int HeaderLength => RegionWord.HeaderLength(Regions(out _));

    /// <summary>The packet region's length.</summary>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly int PacketLength => RegionWord.PacketLength(Regions(out _));

    /// <summary>Free bytes after the packet region, room for <see cref="Append"/>.</summary>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly int Tailroom
    {
        get
        {
            ulong r = Regions(out NetBufPool pool);
            return pool.BufferLength - RegionWord.Offset(r) - RegionWord.HeaderLength(r) - RegionWord.PacketLength(r);
        }
    }

    /// <summary>The header region, read-only (write it through <see cref="Prepend"/> or <see cref="PacketWithHeader"/>).</summary>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly ReadOnlySpan<byte> Header
    {
        get
        {
            ulong r = Regions(out NetBufPool pool);
            return pool.CreateSpan(_index, RegionWord.Offset(r), RegionWord.HeaderLength(r));
        }
    }

    /// <summary>The packet region.</summary>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly Span<byte> Packet
    {
        get
        {
            ulong r = Regions(out NetBufPool pool);
            return pool.CreateSpan(_index, RegionWord.Offset(r) + RegionWord.HeaderLength(r), RegionWord.PacketLength(r));
        }
    }

    /// <summary>The header and packet regions together: the frame as it goes on the wire.</summary>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly Span<byte> PacketWithHeader
    {
        get
        {
            ulong r = Regions(out NetBufPool pool);
            return pool.CreateSpan(_index, RegionWord.Offset(r), RegionWord.HeaderLength(r) + RegionWord.PacketLength(r));
        }
    }

    /// <summary>The whole buffer, <see cref="Capacity"/> bytes, whatever the regions.</summary>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly Span<byte> RawBuffer
    {
        get
        {
            _ = Regions(out NetBufPool pool);
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
            ulong r = Regions(out NetBufPool pool);
            return pool.MemoryManagerOf(_index).Memory.Slice(RegionWord.Offset(r) + RegionWord.HeaderLength(r), RegionWord.PacketLength(r));
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
        ulong r = Regions(out NetBufPool pool);
        start = RegionWord.Offset(r) + RegionWord.HeaderLength(r) + RegionWord.PacketLength(r);
        return pool.CreateSpan(_index, start, pool.BufferLength - start);
    }

    /// <summary>Sets the header region's length; the packet region then starts right after it.</summary>
    /// <param name="length">The new length: headroom + header + packet must fit the buffer.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is negative or too large; nothing changed.</exception>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly void SetHeaderLength(int length)
    {
        ref BufferSlot slot = ref Slot(out NetBufPool pool, out ulong r);
        int offset = RegionWord.Offset(r);
        int packet = RegionWord.PacketLength(r);
        int available = pool.BufferLength - offset - packet;
        if ((uint)length > (uint)available)
        {
            ThrowHelper.ThrowLengthOutOfRange(nameof(length), length, available, "bytes left beside the headroom and packet");
        }

        Commit(ref slot, pool, RegionWord.Make(offset, length, packet));
    }

    /// <summary>Sets the packet region's length.</summary>
    /// <param name="length">The new length: headroom + header + packet must fit the buffer.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is negative or too large; nothing changed.</exception>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    /// <exception cref="InvalidOperationException">The handle holds no buffer.</exception>
    public readonly void SetPacketLength(int length)
    {
        ref BufferSlot slot = ref Slot(out NetBufPool pool, out ulong r);
        int offset = RegionWord.Offset(r);
        int header = RegionWord.HeaderLength(r);
        int available = pool.BufferLength - offset - header;
        if ((uint)length > (uint)available)
        {
            ThrowHelper.ThrowLengthOutOfRange(nameof(length), length, available, "bytes left after the headroom and header");
        }

        Commit(ref slot, pool, RegionWord.Make(offset, header, length));
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
        ref BufferSlot slot = ref Slot(out NetBufPool pool, out ulong r);
        if (RegionWord.HeaderLength(r) != 0 || RegionWord.PacketLength(r) != 0)
        {
            ThrowHelper.ThrowInvalidOperation("Headroom can only be reserved while the header and packet regions are empty.");
        }

        int offset = RegionWord.Offset(r);
        int available = pool.BufferLength - offset;
        if ((uint)length > (uint)available)
        {
            ThrowHelper.ThrowLengthOutOfRange(nameof(length), length, available, "tailroom");
        }

        Commit(ref slot, pool, RegionWord.Make(offset + length, 0, 0));
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
        ref BufferSlot slot = ref Slot(out NetBufPool pool, out ulong r);
        int offset = RegionWord.Offset(r);
        if ((uint)length > (uint)offset)
        {
            ThrowHelper.ThrowLengthOutOfRange(nameof(length), length, offset, "headroom");
        }

        int start = offset - length;
        Commit(ref slot, pool, RegionWord.Make(start, RegionWord.HeaderLength(r) + length, RegionWord.PacketLength(r)));
        return pool.CreateSpan(_index, start, length);
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
        ref BufferSlot slot = ref Slot(out NetBufPool pool, out ulong r);
        int offset = RegionWord.Offset(r);
        int header = RegionWord.HeaderLength(r);
        int packet = RegionWord.PacketLength(r);
        int end = offset + header + packet;
        int available = pool.BufferLength - end;
        if ((uint)length > (uint)available)
        {
            ThrowHelper.ThrowLengthOutOfRange(nameof(length), length, available, "tailroom");
        }

        Commit(ref slot, pool, RegionWord.Make(offset, header, packet + length));
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
        ref BufferSlot slot = ref Slot(out NetBufPool pool, out ulong r);
        int offset = RegionWord.Offset(r);
        int header = RegionWord.HeaderLength(r);
        int packet = RegionWord.PacketLength(r);
        if ((uint)length > (uint)(header + packet))
        {
            ThrowHelper.ThrowLengthOutOfRange(nameof(length), length, header + packet, "header and packet bytes");
        }

        int fromHeader = Math.Min(length, header);
        Commit(ref slot, pool, RegionWord.Make(offset + length, header - fromHeader, packet - (length - fromHeader)));
        return pool.CreateSpan(_index, offset, length);
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
        ref BufferSlot slot = ref Slot(out NetBufPool pool, out ulong r);
        int offset = RegionWord.Offset(r);
        int header = RegionWord.HeaderLength(r);
        int packet = RegionWord.PacketLength(r);
        if ((uint)length > (uint)(header + packet))
        {
            ThrowHelper.ThrowLengthOutOfRange(nameof(length), length, header + packet, "header and packet bytes");
        }

        int fromPacket = Math.Min(length, packet);
        Commit(ref slot, pool, RegionWord.Make(offset, header - (length - fromPacket), packet - fromPacket));
        return pool.CreateSpan(_index, offset + header + packet - length, length);
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
        _ = ref Slot(out _, out _);
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
    private readonly ulong Regions(out NetBufPool pool)
    {
        _ = ref Slot(out pool, out ulong regions);
        return regions;
    }

    /// <summary>The buffer's metadata slot and its region word (read once), after checking that this handle still owns it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly ref BufferSlot Slot(out NetBufPool pool, out ulong regions)
    {
        NetBufPool? owner = _pool;
        if (owner is null)
        {
            ThrowHelper.ThrowNoBuffer();
        }

        pool = owner;
        ref BufferSlot slot = ref _slot;
        if (Volatile.Read(ref slot.State) != _token)
        {
            owner.ThrowStale(_index, _token);
        }

        regions = Volatile.Read(ref slot.Regions);
        return ref slot;
    }

    /// <summary>
    /// Stores a new region word (checked by the caller against the buffer length), then checks the
    /// token again: a stale copy of a box that raced the buffer's return (on another thread) is told
    /// so here, although its store may already have changed the next owner's lengths (never the
    /// pool's free list, and never to values outside the buffer).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly void Commit(ref BufferSlot slot, NetBufPool pool, ulong regions)
    {
        Volatile.Write(ref slot.Regions, regions);
        if (Volatile.Read(ref slot.State) != _token)
        {
            pool.ThrowStale(_index, _token);
        }
    }

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
