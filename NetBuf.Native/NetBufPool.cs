using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NetBufNative.Internal;

namespace NetBufNative;

/// <summary>
/// A fixed pool of equal network packet buffers carved out of one aligned block of native memory,
/// with a lock-free free list. The port of ArceOS's <c>NetBufPool</c> (<c>axdriver_net</c>).
/// </summary>
/// <remarks>
/// <para>
/// The block comes from <see cref="NativeMemory.AlignedAlloc"/> and never moves, so buffers can
/// be handed to native code and devices. Buffer <c>i</c> starts at <c>block + i * BufferStride</c>;
/// the stride is <see cref="BufferLength"/> rounded up to <see cref="CacheLineSize"/>, so every
/// buffer starts on a cache line. Per-buffer metadata (lengths, free-list link, a state word with a
/// generation) lives in a managed array outside the block, so nothing written into a buffer can
/// corrupt the pool.
/// </para>
/// <para>
/// Thread safety: every member of the pool is thread-safe. Allocation and return are O(1),
/// lock-free and allocate nothing on the GC heap. The handles it hands out (<see cref="NetBuf"/>,
/// <see cref="NetBufBox"/>, <see cref="NetBufPtr"/>) each have one owner at a time; misuse (a
/// stale copy, a second dispose, a second restore of a pointer, a foreign pointer) is detected
/// and throws without changing the pool.
/// </para>
/// <para>
/// Lifetime: after <see cref="Dispose"/> no buffer can be allocated, but buffers still out stay
/// valid and may still be returned; the block is freed when the last one comes back. A pool that
/// is abandoned without being disposed is freed by a finalizer once nothing references it; a
/// <see cref="NetBufPtr"/> does not keep its pool alive.
/// </para>
/// </remarks>
public sealed unsafe partial class NetBufPool : IDisposable
{
    /// <summary>The smallest buffer length: an Ethernet frame of 1514 bytes plus a VLAN tag and
    /// a virtio-net header fit (the ArceOS original's <c>MIN_BUFFER_LEN</c>).</summary>
    public const int MinBufferLength = 1526;

    /// <summary>The largest buffer length: the largest IPv4 datagram (the original's <c>MAX_BUFFER_LEN</c>);
    /// it also lets every length in a buffer fit 16 bits of metadata.</summary>
    public const int MaxBufferLength = 65535;

    /// <summary>The cache-line size buffers are aligned to: 64 bytes on x64 and most ARM64 cores.</summary>
    public const int CacheLineSize = 64;

    /// <summary>The largest block alignment accepted: 1 GiB, the largest huge page on x64.</summary>
    private const int MaxBlockAlignment = 1 << 30;

    /// <summary>The largest thread cache accepted: beyond this a cache only strands buffers.</summary>
    private const int MaxThreadCacheSize = 1024;

    /// <summary>Automatic thread caches hold at most this many buffers: enough to amortize a
    /// refill CAS over 16 allocations, small enough to stay in L1 with its metadata.</summary>
    private const int AutoThreadCacheLimit = 32;

    private static int s_lastPoolNumber;
    private static long s_lastStamp;

    /// <summary>This thread's caches, direct-mapped by pool stamp (see <see cref="ThreadCache.TableSize"/>).</summary>
    [ThreadStatic]
    private static ThreadCache?[]? t_caches;

    private readonly BufferSlot[] _slots;
    private readonly NativeBlock _memory;
    private readonly byte* _block;
    private readonly int _capacity;
    private readonly int _bufferLength;
    private readonly int _stride;
    private readonly ushort _defaultHeadroom;
    private readonly int _blockAlignment;
    private readonly string _name;
    private readonly long _stamp;
    private readonly nint _cacheSlot;
    private readonly int _cacheSize;
    private readonly int _cacheBatch;
    private readonly Lock _registryLock = new();
    private ThreadCache[] _caches = [];

    /// <summary>Per-buffer memory managers, made on first use (8 bytes a buffer once any is used).</summary>
    private BufferMemoryManager?[]? _managers;
    private IndexFreeList<AbaTaggedPolicy> _freeList;

    /// <summary>Buffers still out when the pool closed, less those returned since (see <see cref="Dispose"/>).</summary>
    private int _pendingReturns;
    private int _disposed;
    private int _highWaterMark;
    private long _allocationFailures;

    /// <summary>Allocations counted by caches that <see cref="Trim"/> forgot (their threads exited).</summary>
    private long _retiredAllocations;

    /// <summary>Creates a pool of <paramref name="capacity"/> buffers of <paramref name="bufferLength"/> bytes.</summary>
    /// <param name="capacity">How many buffers; greater than 0.</param>
    /// <param name="bufferLength">The length of each buffer, <see cref="MinBufferLength"/> to <see cref="MaxBufferLength"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of its range.</exception>
    /// <exception cref="OutOfMemoryException">The native block could not be allocated.</exception>
    public NetBufPool(int capacity, int bufferLength)
        : this(capacity, bufferLength, null)
    {
    }

    /// <summary>Creates a pool of <paramref name="capacity"/> buffers of <paramref name="bufferLength"/> bytes.</summary>
    /// <param name="capacity">How many buffers; greater than 0.</param>
    /// <param name="bufferLength">The length of each buffer, <see cref="MinBufferLength"/> to <see cref="MaxBufferLength"/>.</param>
    /// <param name="options">Optional settings; <see langword="null"/> for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument or option is out of its range, or the
    /// block would not fit the address space.</exception>
    /// <exception cref="OutOfMemoryException">The native block could not be allocated.</exception>
    public NetBufPool(int capacity, int bufferLength, NetBufPoolOptions? options)
    {
        if (capacity <= 0 || capacity > Array.MaxLength)
        {
            ThrowHelper.ThrowArgumentOutOfRange(
                nameof(capacity), capacity, $"The capacity must be between 1 and {Array.MaxLength}.");
        }

        if (bufferLength is < MinBufferLength or > MaxBufferLength)
        {
            ThrowHelper.ThrowArgumentOutOfRange(
                nameof(bufferLength),
                bufferLength,
                $"The buffer length must be between {MinBufferLength} and {MaxBufferLength} bytes.");
        }

        options ??= DefaultOptions;
        int alignment = options.BlockAlignment;
        if (alignment is < CacheLineSize or > MaxBlockAlignment || !BitOperations.IsPow2(alignment))
        {
            ThrowHelper.ThrowArgumentOutOfRange(
                nameof(options),
                alignment,
                $"BlockAlignment must be a power of two between {CacheLineSize} and {MaxBlockAlignment}.");
        }

        if ((uint)options.DefaultHeadroom > (uint)bufferLength)
        {
            ThrowHelper.ThrowArgumentOutOfRange(
                nameof(options),
                options.DefaultHeadroom,
                $"DefaultHeadroom must be between 0 and the buffer length ({bufferLength}).");
        }

        int? requestedCache = options.ThreadCacheSize;
        if (requestedCache is < 0 or > MaxThreadCacheSize)
        {
            ThrowHelper.ThrowArgumentOutOfRange(
                nameof(options),
                requestedCache.Value,
                $"ThreadCacheSize must be between 0 (no cache) and {MaxThreadCacheSize}, or null for automatic.");
        }

        int stride = RoundUpToCacheLine(bufferLength);
        if (!TryComputeBlockLength(capacity, stride, (ulong)nint.MaxValue, out ulong blockLength))
        {
            ThrowHelper.ThrowArgumentOutOfRange(
                nameof(capacity),
                capacity,
                $"{capacity} buffers of {stride} bytes do not fit in this process's address space.");
        }

        _capacity = capacity;
        _bufferLength = bufferLength;
        _stride = stride;
        _defaultHeadroom = (ushort)options.DefaultHeadroom;
        _blockAlignment = alignment;
        _stamp = Interlocked.Increment(ref s_lastStamp);
        _cacheSlot = (nint)(_stamp & (ThreadCache.TableSize - 1));
        _cacheSize = requestedCache ?? AutomaticThreadCacheSize(capacity);
        _cacheBatch = Math.Max(1, _cacheSize / 2);
        _name = options.Name ?? $"NetBufPool#{Interlocked.Increment(ref s_lastPoolNumber)}";

        // The managed metadata first: if it fails, no native memory has been taken yet.
        _slots = new BufferSlot[capacity];

        // A per-pool random start for the generations, so a NetBufPtr of another pool (or of a
        // pool that was freed and whose address was reused) is very unlikely to match a token.
        uint initialState = BufferToken.InitialFree((uint)Random.Shared.Next() << 2);
        for (int i = 0; i < _slots.Length; i++)
        {
            _slots[i].State = initialState;
        }

        _freeList.Initialize(_slots, capacity);
        _memory = NativeBlock.Allocate((nuint)blockLength, (nuint)alignment);
        _block = _memory.Pointer;
        if (options.PreFault)
        {
            NativeMemory.Clear(_block, (nuint)blockLength);
        }

        NetBufMetrics.Register(this);
    }

    /// <summary>This pool's name, from <see cref="NetBufPoolOptions.Name"/> or generated.</summary>
    public string Name => _name;

    /// <summary>How many buffers the pool holds in all.</summary>
    public int Capacity => _capacity;

    /// <summary>The usable length of every buffer, in bytes.</summary>
    public int BufferLength => _bufferLength;

    /// <summary>The distance between the starts of two neighbouring buffers: <see cref="BufferLength"/>
    /// rounded up to <see cref="CacheLineSize"/>.</summary>
    public int BufferStride => _stride;

    /// <summary>The alignment of the native block, in bytes (<see cref="NetBufPoolOptions.BlockAlignment"/>).</summary>
    public int BlockAlignment => _blockAlignment;

    /// <summary>The headroom a freshly allocated buffer starts with (<see cref="NetBufPoolOptions.DefaultHeadroom"/>).</summary>
    public int DefaultHeadroom => _defaultHeadroom;

    /// <summary>How many buffers each thread may keep in its cache (0: no thread cache).</summary>
    public int ThreadCacheSize => _cacheSize;

    /// <summary>How many buffers can be allocated now, in the shared free list and in the thread
    /// caches: a snapshot, exact when no other thread is allocating or returning; 0 once the
    /// pool is disposed.</summary>
    public int Available
    {
        get
        {
            int available = _freeList.Count(_slots);
            foreach (ThreadCache cache in Volatile.Read(ref _caches))
            {
                available += Volatile.Read(ref cache.Count);
            }

            return available;
        }
    }

    /// <summary>How many buffers are out (owned, boxed or lent): a snapshot like <see cref="Available"/>.
    /// After <see cref="Dispose"/>, how many have still to come back.</summary>
    public int InUse => Volatile.Read(ref _disposed) == 0
        ? _capacity - Available
        : Math.Max(0, Volatile.Read(ref _pendingReturns));

    /// <summary>Whether <see cref="Dispose"/> has been called.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Free buffers in the shared list alone, not counting the thread caches.</summary>
    internal int SharedAvailable => _freeList.Count(_slots);

    /// <summary>How many thread caches the pool knows.</summary>
    internal int ThreadCacheCount => Volatile.Read(ref _caches).Length;

    /// <summary>Whether the native block has been freed (the pool is disposed and every buffer is back).</summary>
    internal bool IsMemoryReleased => _memory.IsClosed;

    private static NetBufPoolOptions DefaultOptions { get; } = new();

    /// <summary>Allocates a buffer, with empty header and packet regions after <see cref="DefaultHeadroom"/>.</summary>
    /// <returns>The buffer; dispose it (<c>using var buf = pool.Alloc();</c>) to return it.</returns>
    /// <exception cref="InvalidOperationException">Every buffer is in use.</exception>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    /// <remarks>Thread-safe, lock-free, no GC allocation.</remarks>
    public NetBuf Alloc()
    {
        int index = TakeIndex(out ThreadCache? cache);
        if (index < 0)
        {
            ThrowExhausted();
        }

        return new NetBuf(this, index, Acquire(index, BufferKind.Owned), cache);
    }

    /// <summary>Allocates a buffer if one is free.</summary>
    /// <param name="buffer">The buffer, or a default handle when the pool is exhausted.</param>
    /// <returns><see langword="false"/> when every buffer is in use.</returns>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    /// <remarks>Thread-safe, lock-free, no GC allocation.</remarks>
    public bool TryAlloc(out NetBuf buffer)
    {
        int index = TakeIndex(out ThreadCache? cache);
        if (index < 0)
        {
            buffer = default;
            return false;
        }

        buffer = new NetBuf(this, index, Acquire(index, BufferKind.Owned), cache);
        return true;
    }

    /// <summary>Allocates a buffer owned by a heap-storable <see cref="NetBufBox"/>.</summary>
    /// <returns>The box; dispose it to return the buffer.</returns>
    /// <exception cref="InvalidOperationException">Every buffer is in use.</exception>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    /// <remarks>Thread-safe, lock-free, no GC allocation.</remarks>
    public NetBufBox AllocBoxed()
    {
        int index = TakeIndex(out _);
        if (index < 0)
        {
            ThrowExhausted();
        }

        return new NetBufBox(this, index, Acquire(index, BufferKind.Boxed));
    }

    /// <summary>Allocates a buffer owned by a <see cref="NetBufBox"/> if one is free.</summary>
    /// <param name="box">The box, or a default box when the pool is exhausted.</param>
    /// <returns><see langword="false"/> when every buffer is in use.</returns>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    /// <remarks>Thread-safe, lock-free, no GC allocation.</remarks>
    public bool TryAllocBoxed(out NetBufBox box)
    {
        int index = TakeIndex(out _);
        if (index < 0)
        {
            box = default;
            return false;
        }

        box = new NetBufBox(this, index, Acquire(index, BufferKind.Boxed));
        return true;
    }

    /// <summary>
    /// Takes back ownership of a buffer lent as a <see cref="NetBufPtr"/> (the original's
    /// <c>NetBuf::from_buf_ptr</c>, but validated). The lengths are those the buffer was lent with.
    /// </summary>
    /// <param name="bufPtr">A pointer from <see cref="NetBuf.IntoBufPtr"/> or <see cref="NetBufBox.IntoBufPtr"/> of this pool.</param>
    /// <returns>The buffer, owned again.</returns>
    /// <exception cref="ArgumentException">The pointer is null, not from this pool, or not on one of its buffer boundaries.</exception>
    /// <exception cref="InvalidOperationException">The pointer was already restored (or is a stale copy).</exception>
    /// <remarks>Thread-safe: of two threads restoring the same pointer exactly one succeeds. Allowed after <see cref="Dispose"/>.</remarks>
    public NetBuf FromBufPtr(NetBufPtr bufPtr)
    {
        PointerCheck check = TryRestore(bufPtr, out uint token);
        if (check != PointerCheck.Valid)
        {
            ThrowInvalidPointer(bufPtr, check);
        }

        return new NetBuf(this, bufPtr.BufferIndex, token);
    }

    /// <summary>
    /// Takes back ownership of a lent buffer into which a device (or the kernel) has placed a
    /// frame of <paramref name="packetLength"/> bytes at <paramref name="packetOffset"/> from the
    /// buffer's start: the buffer comes back with that much headroom, an empty header and that
    /// packet, copying nothing (an AF_XDP receive descriptor, say, whose address lies inside a
    /// buffer of a pool registered as the UMEM).
    /// </summary>
    /// <param name="bufPtr">A pointer lent by this pool.</param>
    /// <param name="packetOffset">Where the frame starts in the buffer.</param>
    /// <param name="packetLength">The frame's length; offset + length must fit the buffer.</param>
    /// <returns>The buffer, owned again, with the frame as its packet.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The frame does not fit the buffer; nothing changed.</exception>
    /// <exception cref="ArgumentException">The pointer is null, not from this pool, or not on one of its buffer boundaries.</exception>
    /// <exception cref="InvalidOperationException">The pointer was already restored (or is a stale copy).</exception>
    /// <remarks>Thread-safe like <see cref="FromBufPtr(NetBufPtr)"/>.</remarks>
    public NetBuf FromBufPtr(NetBufPtr bufPtr, int packetOffset, int packetLength)
    {
        if ((uint)packetOffset > (uint)_bufferLength)
        {
            ThrowHelper.ThrowLengthOutOfRange(nameof(packetOffset), packetOffset, _bufferLength, "buffer length");
        }

        if ((uint)packetLength > (uint)(_bufferLength - packetOffset))
        {
            ThrowHelper.ThrowLengthOutOfRange(nameof(packetLength), packetLength, _bufferLength - packetOffset, "bytes after the offset");
        }

        NetBuf buffer = FromBufPtr(bufPtr);

        // Ours now: set the regions around the frame.
        ref BufferSlot slot = ref SlotAt(bufPtr.BufferIndex);
        slot.Offset = (ushort)packetOffset;
        slot.HeaderLength = 0;
        slot.PacketLength = (ushort)packetLength;
        return buffer;
    }

    /// <summary>Takes back ownership of a lent buffer, as <see cref="FromBufPtr(NetBufPtr)"/>, without throwing.</summary>
    /// <param name="bufPtr">The pointer to restore.</param>
    /// <param name="buffer">The buffer, or a default handle when the pointer is not valid for this pool.</param>
    /// <returns><see langword="false"/> when <see cref="FromBufPtr(NetBufPtr)"/> would throw; nothing changed.</returns>
    /// <remarks>Thread-safe.</remarks>
    public bool TryFromBufPtr(NetBufPtr bufPtr, out NetBuf buffer)
    {
        if (TryRestore(bufPtr, out uint token) != PointerCheck.Valid)
        {
            buffer = default;
            return false;
        }

        buffer = new NetBuf(this, bufPtr.BufferIndex, token);
        return true;
    }

    /// <summary>
    /// Stops allocation. Buffers still out stay valid and may still be returned; the native block
    /// is freed when the last of them comes back (at once if none is out). Calling it again does nothing.
    /// </summary>
    /// <remarks>Thread-safe.</remarks>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        NetBufMetrics.Unregister(this);

        // Closing the list is atomic with respect to every push and pop. Each buffer is then
        // counted here as free (in the list, or drained from a cache), or is still out and is
        // counted when it comes back (see OnReturnedAfterClose).
        int freeAtClose = _freeList.Close(_slots);
        int outstanding = _capacity - freeAtClose - RetireCaches();

        // Returns that beat this line have already counted down from 0; see OnReturnedAfterClose.
        if (Interlocked.Add(ref _pendingReturns, outstanding) == 0)
        {
            _memory.Dispose();
        }
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"{_name}: {_capacity} x {_bufferLength} bytes, {Available} available{(IsDisposed ? ", disposed" : string.Empty)}";

    /// <summary>Whether <paramref name="capacity"/> buffers of <paramref name="stride"/> bytes fit in <paramref name="maxBytes"/>.</summary>
    internal static bool TryComputeBlockLength(int capacity, int stride, ulong maxBytes, out ulong length)
    {
        // Both factors are below 2^31, so the product cannot overflow 64 bits; the check is
        // against the address space (nint.MaxValue: 2^31-1 on a 32-bit process).
        length = (ulong)(uint)capacity * (uint)stride;
        return length <= maxBytes;
    }

    /// <summary><paramref name="length"/> rounded up to a multiple of <see cref="CacheLineSize"/>.</summary>
    internal static int RoundUpToCacheLine(int length) => (length + CacheLineSize - 1) & ~(CacheLineSize - 1);

    /// <summary>The metadata slot of buffer <paramref name="index"/>; the index must be in range.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ref BufferSlot SlotAt(int index) =>
        ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_slots), (nint)(uint)index);

    /// <summary>The slot of buffer <paramref name="index"/> if <paramref name="token"/> still owns it.</summary>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ref BufferSlot OwnedSlot(int index, uint token)
    {
        ref BufferSlot slot = ref SlotAt(index);
        if (slot.State != token)
        {
            ThrowStale(index, token);
        }

        return ref slot;
    }

    /// <summary>A span over bytes <paramref name="start"/>..<paramref name="start"/>+<paramref name="length"/> of buffer <paramref name="index"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal Span<byte> CreateSpan(int index, int start, int length)
    {
        // Sound: callers pass a validated index (< capacity) and a range inside the buffer
        // (start + length <= BufferLength, the metadata invariant), and hold a token that owns the
        // buffer, so the block cannot be freed while the span's owner is valid.
        return new Span<byte>(_block + ((nint)index * _stride) + start, length);
    }

    /// <summary>The memory manager of buffer <paramref name="index"/>, made on first use; the caller owns the buffer.</summary>
    internal BufferMemoryManager MemoryManagerOf(int index)
    {
        BufferMemoryManager?[] managers = Volatile.Read(ref _managers)
            ?? Interlocked.CompareExchange(ref _managers, new BufferMemoryManager?[_capacity], null)
            ?? _managers!;

        // Racing creators of one slot's manager cannot happen: the caller owns the buffer.
        return managers[index] ??= new BufferMemoryManager(this, index);
    }

    /// <summary>The address of buffer <paramref name="index"/>'s first byte.</summary>
    internal nint BufferAddress(int index) => (nint)(_block + ((nint)index * _stride));

    /// <summary>Moves buffer <paramref name="index"/> from the owner holding <paramref name="token"/> to a new owner of <paramref name="kind"/>.</summary>
    /// <returns>The new owner's token.</returns>
    /// <exception cref="ObjectDisposedException"><paramref name="token"/> is stale.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal uint Transfer(int index, uint token, BufferKind kind)
    {
        if (BufferToken.KindOf(token) == BufferKind.Owned)
        {
            return TransferOwned(index, token, kind);
        }

        uint next = BufferToken.Next(token, kind);
        if (Interlocked.CompareExchange(ref SlotAt(index).State, next, token) != token)
        {
            // Boxes and pointers can be copied across threads: exactly one copy's CAS wins.
            ThrowStale(index, token);
        }

        return next;
    }

    /// <summary><see cref="Transfer"/> from an Owned token: a plain compare and write.</summary>
    /// <exception cref="ObjectDisposedException"><paramref name="token"/> is stale.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint TransferOwned(int index, uint token, BufferKind kind)
    {
        // An Owned token is held only by NetBuf handles, and a NetBuf is a ref struct: all its
        // copies live on one thread's stack, so no other thread can hold this token and a plain
        // compare and write cannot race a rightful owner. (A stale handle elsewhere holds an
        // older token, so its CAS fails whatever this write does.)
        ref uint state = ref SlotAt(index).State;
        if (state != token)
        {
            ThrowStale(index, token);
        }

        uint next = BufferToken.Next(token, kind);
        state = next;
        return next;
    }

    /// <summary>Lends buffer <paramref name="index"/> as a pointer.</summary>
    /// <exception cref="ObjectDisposedException"><paramref name="token"/> is stale.</exception>
    internal NetBufPtr Lend(int index, uint token)
    {
        uint lent = Transfer(index, token, BufferKind.Lent);

        // Still exclusively ours: only the holder of the pointer we are about to return can change it.
        ref BufferSlot slot = ref SlotAt(index);
        return new NetBufPtr(BufferAddress(index), index, lent, slot.Offset, slot.HeaderLength, slot.PacketLength);
    }

    /// <summary>Returns buffer <paramref name="index"/> to the pool.</summary>
    /// <exception cref="ObjectDisposedException"><paramref name="token"/> is stale (a second dispose).</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Return(int index, uint token)
    {
        // The state change comes first: it is what makes a second return impossible, so a
        // buffer can never be put back twice.
        _ = Transfer(index, token, BufferKind.Free);
        ReturnIndex(index);
    }

    /// <summary>
    /// Returns buffer <paramref name="index"/>, held by a NetBuf with an Owned
    /// <paramref name="token"/>, into <paramref name="cache"/>, the cache of the thread that
    /// allocated it (the NetBuf never left that thread): the shortest free path, with no atomic
    /// operation and no thread-static lookup.
    /// </summary>
    /// <exception cref="ObjectDisposedException"><paramref name="token"/> is stale (a second dispose).</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void ReturnOwned(int index, uint token, ThreadCache cache)
    {
        _ = TransferOwned(index, token, BufferKind.Free);
        PushToCache(cache, index);
    }

    /// <summary>Marks a popped buffer as owned by a new handle of <paramref name="kind"/>, with empty regions.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint Acquire(int index, BufferKind kind)
    {
        ref BufferSlot slot = ref SlotAt(index);
        uint token = BufferToken.Next(slot.State, kind);

        // Offset = default headroom, header and packet lengths = 0, in one store.
        slot.Regions = BitConverter.IsLittleEndian ? _defaultHeadroom : (ulong)_defaultHeadroom << 48;

        // A plain write is enough: the buffer was popped by this thread alone, and a stale
        // handle's CAS on a free state word always fails (no handle holds a free token).
        slot.State = token;
        return token;
    }

    private PointerCheck TryRestore(NetBufPtr bufPtr, out uint token)
    {
        token = 0;
        PointerCheck check = CheckFromThisPool(bufPtr);
        if (check != PointerCheck.Valid)
        {
            return check;
        }

        uint lent = bufPtr.Token;
        uint owned = BufferToken.Next(lent, BufferKind.Owned);
        if (Interlocked.CompareExchange(ref SlotAt(bufPtr.BufferIndex).State, owned, lent) != lent)
        {
            return PointerCheck.Stale;
        }

        token = owned;
        return PointerCheck.Valid;
    }

    /// <summary>Whether a pointer is a lending of one of this pool's buffers (address, index and kind), whatever its state now.</summary>
    private PointerCheck CheckFromThisPool(NetBufPtr bufPtr)
    {
        if (bufPtr.IsNull)
        {
            return PointerCheck.Null;
        }

        int index = bufPtr.BufferIndex;
        if ((uint)index >= (uint)_capacity || bufPtr.BufferAddress != BufferAddress(index) ||
            BufferToken.KindOf(bufPtr.Token) != BufferKind.Lent)
        {
            return PointerCheck.Foreign;
        }

        return PointerCheck.Valid;
    }

    private void OnReturnedAfterClose()
    {
        // Counts down from 0 if Dispose has not added the outstanding count yet; only the last
        // of all the returns and that addition can bring it to 0, so the block is freed once.
        if (Interlocked.Decrement(ref _pendingReturns) == 0)
        {
            _memory.Dispose();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowExhausted() =>
        ThrowHelper.ThrowInvalidOperation(
            $"{_name} is exhausted: all {_capacity} buffers of {_bufferLength} bytes are in use. " +
            "Use TryAlloc to handle this without an exception, or create the pool with a larger capacity.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowDisposed() =>
        ThrowHelper.ThrowObjectDisposed(_name, $"{_name} is disposed: no buffer can be allocated from it.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowStale(int index, uint token)
    {
        BufferKind kind = BufferToken.KindOf(token);
        string handle = kind switch
        {
            BufferKind.Boxed => nameof(NetBufBox),
            BufferKind.Lent => nameof(NetBufPtr),
            _ => nameof(NetBuf),
        };
        string now = BufferToken.KindOf(Volatile.Read(ref SlotAt(index).State)) == BufferKind.Free
            ? "it was disposed and the buffer is back in the pool"
            : "its buffer was disposed or handed on through another copy of the handle and has another owner now";
        ThrowHelper.ThrowObjectDisposed(
            handle,
            $"This {handle} of {_name} (buffer {index}) is no longer valid: {now}. " +
            "A NetBuf is a handle: pass it by ref to a method that takes ownership.");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowInvalidPointer(NetBufPtr bufPtr, PointerCheck check)
    {
        switch (check)
        {
            case PointerCheck.Null:
                ThrowHelper.ThrowArgument(nameof(bufPtr), "The NetBufPtr is null (default).");
                break;
            case PointerCheck.Foreign:
                ThrowHelper.ThrowArgument(
                    nameof(bufPtr),
                    $"{bufPtr} was not lent by {_name}: it is not on one of its buffer boundaries.");
                break;
            default:
                ThrowHelper.ThrowInvalidOperation(
                    $"{bufPtr} is no longer lent: it was already restored with FromBufPtr (or is a stale copy).");
                break;
        }
    }

    private enum PointerCheck
    {
        Valid,
        Null,
        Foreign,
        Stale,
    }
}
