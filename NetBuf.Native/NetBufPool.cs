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

    /// <summary>The largest capacity: the slot table (<see cref="SlotTable.SlotSize"/> bytes a buffer, one
    /// pinned array) must fit the largest array .NET allows (<see cref="Array.MaxLength"/> bytes).</summary>
    public const int MaxCapacity = (0x7FFFFFC7 - SlotTable.SlotSize) / SlotTable.SlotSize;

    private static int s_lastPoolNumber;
    private static long s_lastStamp;
    private static long s_registrySearches;

    /// <summary>This thread's caches, direct-mapped by pool stamp (see <see cref="ThreadCache.TableSize"/>).</summary>
    [ThreadStatic]
    private static ThreadCache?[]? t_caches;

    private readonly SlotTable _slots;
    private readonly PoolBlock _memory;
    private readonly byte* _block;
    private readonly int _capacity;
    private readonly int _bufferLength;
    private readonly int _stride;
    private readonly ulong _defaultRegions;
    private readonly int _blockAlignment;
    private readonly string _name;
    private readonly long _stamp;
    private readonly nint _cacheSlot;
    private readonly int _cacheSize;
    private readonly int _cacheBatch;
    private readonly bool _ownerFence;
    private readonly bool _blockIsArray;

    /// <summary>The diagnostic mode's state, or null (the mode is off): only no-cache paths look at it.</summary>
    private readonly PoolDiagnostics? _diagnostics;

    /// <summary>XORed into the tokens of <see cref="NetBufPtr"/>s (kind bits left clear), so a pointer
    /// of a freed pool whose block address was reused by a new pool is very unlikely to match.</summary>
    private readonly ulong _pointerSalt;
    /// <summary>Guards registration and retirement of thread caches: a monitor, not a <see cref="Lock"/>,
    /// for the reason given on <see cref="ThreadCache.Gate"/> (it is taken only when a thread first uses
    /// the pool, and by sweeps).</summary>
    private readonly object _registryLock = new();
    private CacheRegistry _registry = CacheRegistry.Empty;

    /// <summary>Registry size at which registration next retires the caches of exited threads.</summary>
    private int _nextSweep = MinSweepThreshold;

    /// <summary>Per-buffer memory managers, made on first use (8 bytes a buffer once any is used).</summary>
    private BufferMemoryManager?[]? _managers;
    private IndexFreeList<AbaTaggedPolicy> _freeList;
    private int _disposed;
    private int _highWaterMark;
    private long _allocationFailures;

    /// <summary>The largest totals published so far, so published counters never go down.</summary>
    private long _publishedAllocations;
    private long _publishedFrees;

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
        if (capacity is <= 0 or > MaxCapacity)
        {
            ThrowHelper.ThrowArgumentOutOfRange(
                nameof(capacity), capacity, $"The capacity must be between 1 and {MaxCapacity}.");
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

        if (options.BlockMemory is not (NetBufBlockMemory.Native or NetBufBlockMemory.PinnedArray))
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(options), (int)options.BlockMemory, "BlockMemory must be Native or PinnedArray.");
        }

        NetBufDiagnosticsOptions? diagnostics = options.Diagnostics;
        if (diagnostics is not null &&
            (diagnostics.QuarantineLength < 0 || diagnostics.QuarantineLength >= capacity || diagnostics.StackTraceSampleRate < 0))
        {
            ThrowHelper.ThrowArgumentOutOfRange(
                nameof(options),
                diagnostics.QuarantineLength,
                $"Diagnostics.QuarantineLength must be between 0 and the capacity - 1 ({capacity - 1}), and StackTraceSampleRate 0 or more.");
        }

        // The diagnostic mode puts guard bytes after each buffer's usable length.
        int stride = RoundUpToCacheLine(bufferLength + (diagnostics is null ? 0 : NetBufDiagnosticsOptions.GuardLength));
        if (!TryComputeBlockLength(capacity, stride, (ulong)nint.MaxValue, out ulong blockLength))
        {
            ThrowHelper.ThrowArgumentOutOfRange(
                nameof(capacity),
                capacity,
                $"{capacity} buffers of {stride} bytes do not fit in this process's address space.");
        }

        if (options.BlockMemory == NetBufBlockMemory.PinnedArray && blockLength + (ulong)alignment > (ulong)Array.MaxLength)
        {
            ThrowHelper.ThrowArgumentOutOfRange(
                nameof(capacity),
                capacity,
                $"{capacity} buffers of {stride} bytes ({blockLength} bytes with the alignment) do not fit one array ({Array.MaxLength} bytes): " +
                "use BlockMemory = Native, or fewer or shorter buffers.");
        }

        _capacity = capacity;
        _bufferLength = bufferLength;
        _stride = stride;
        _defaultRegions = RegionWord.Make(options.DefaultHeadroom, 0, 0);
        _blockAlignment = alignment;
        _stamp = Interlocked.Increment(ref s_lastStamp);
        _cacheSlot = (nint)(_stamp & (ThreadCache.TableWays - 1));
        _cacheSize = diagnostics is not null ? 0 : requestedCache ?? AutomaticThreadCacheSize(capacity);
        _cacheBatch = Math.Max(1, _cacheSize / 2);
        _ownerFence = options.ForceOwnerFence || ProcessWideBarrier.OwnerMustFence;
        _blockIsArray = options.BlockMemory == NetBufBlockMemory.PinnedArray;
        _pointerSalt = (ulong)Random.Shared.NextInt64() << 2;
        _name = options.Name ?? $"NetBufPool#{Interlocked.Increment(ref s_lastPoolNumber)}";

        // The managed metadata first: if it fails, no native memory has been taken yet. Zeroed
        // slots are already a free list 0, 1, 2, ... with every buffer free at generation 0.
        _slots = SlotTable.Allocate(capacity, options.SlotStride);
        _freeList.Initialize(_slots);
        _memory = options.BlockMemory == NetBufBlockMemory.PinnedArray
            ? PoolBlock.AllocatePinnedArray((nuint)blockLength, (nuint)alignment, _slots)
            : PoolBlock.Allocate((nuint)blockLength, (nuint)alignment, _slots);
        _block = _memory.Pointer;
        if (diagnostics is not null)
        {
            _diagnostics = new PoolDiagnostics(diagnostics, _name, capacity, bufferLength, stride);
            _diagnostics.Attach(_block);
            _memory.Diagnostics = _diagnostics;
        }
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

    /// <summary>Where the block lives (<see cref="NetBufPoolOptions.BlockMemory"/>).</summary>
    public NetBufBlockMemory BlockMemory => _blockIsArray ? NetBufBlockMemory.PinnedArray : NetBufBlockMemory.Native;

    /// <summary>
    /// The address of the pool's native block: buffer 0's first byte (buffer <c>i</c> starts at
    /// <c>BlockAddress + i * BufferStride</c>), or 0 once the block is freed (the pool disposed and
    /// every buffer back). With <see cref="BlockLength"/>, for registering the whole block with the
    /// kernel or a device as one region (an AF_XDP UMEM, an RDMA memory region, io_uring fixed
    /// buffers), which then names buffers by their offset in it.
    /// </summary>
    /// <remarks>
    /// Thread-safe. The address grants nothing: the pool still owns every buffer, and only a
    /// buffer's owner may touch its bytes (a device may write only into buffers lent to its driver).
    /// The block never moves, and is not freed while any buffer is out.
    /// </remarks>
    public nint BlockAddress => (nint)_memory.Pointer;

    /// <summary>The length of the native block in bytes: <see cref="Capacity"/> times <see cref="BufferStride"/>.</summary>
    /// <remarks>Thread-safe; constant.</remarks>
    public long BlockLength => (long)_capacity * _stride;

    /// <summary>The headroom a freshly allocated buffer starts with (<see cref="NetBufPoolOptions.DefaultHeadroom"/>).</summary>
    public int DefaultHeadroom => RegionWord.Offset(_defaultRegions);

    /// <summary>How many buffers each thread may keep in its cache (0: no thread cache). Chosen
    /// automatically unless <see cref="NetBufPoolOptions.ThreadCacheSize"/> sets it; small pools get
    /// none (see there).</summary>
    public int ThreadCacheSize => _cacheSize;

    /// <summary>How many buffers can be allocated now, in the shared free list and in the thread
    /// caches: a snapshot, exact when no other thread is allocating or returning, and always
    /// between 0 and <see cref="Capacity"/>; 0 once the pool is disposed.</summary>
    /// <remarks>Thread-safe; O(threads that use the pool).</remarks>
    public int Available => Math.Clamp(CountAvailable(), 0, _capacity);

    /// <summary>How many buffers are out (owned, boxed or lent): <see cref="Capacity"/> less
    /// <see cref="Available"/>, a snapshot between 0 and <see cref="Capacity"/>. After
    /// <see cref="Dispose"/>, how many have still to come back.</summary>
    /// <remarks>Thread-safe.</remarks>
    public int InUse => Volatile.Read(ref _disposed) == 0 ? Math.Max(0, _capacity - Available - Quarantined) : CountOutstandingAfterClose();

    /// <summary>Freed buffers the diagnostic mode holds back (neither available nor in use); 0 without it.</summary>
    private int Quarantined => _diagnostics?.Quarantined ?? 0;

    /// <summary>Whether <see cref="Dispose"/> has been called.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Free buffers in the shared list alone, not counting the thread caches.</summary>
    internal int SharedAvailable => _freeList.Count(_slots);

    /// <summary>Reports the diagnostic mode has made (0 without it).</summary>
    internal long DiagnosticReports => _diagnostics?.Reports ?? 0;

    /// <summary>The pool's unique stamp (it picks the pool's set in every thread's cache table).</summary>
    internal long Stamp => _stamp;

    /// <summary>How many thread caches the pool knows.</summary>
    internal int ThreadCacheCount => Volatile.Read(ref _registry).Count;

    /// <summary>Whether the native block has been freed (the pool is disposed, every buffer is back and no pin is held).</summary>
    internal bool IsMemoryReleased => _memory.IsReleased;

    /// <summary>The block's lifetime: pins hold references to it.</summary>
    internal PoolBlock Memory => _memory;

    private static NetBufPoolOptions DefaultOptions { get; } = new();

    /// <summary>Allocates a buffer, with empty header and packet regions after <see cref="DefaultHeadroom"/>.</summary>
    /// <returns>The buffer; dispose it (<c>using var buf = pool.Alloc();</c>) to return it.</returns>
    /// <exception cref="NetBufPoolExhaustedException">Every buffer is in use.</exception>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    /// <remarks>Thread-safe, lock-free, no GC allocation. A loop that allocates many buffers on one
    /// thread is faster through <see cref="OpenWorker"/>, which looks the thread's cache up once.</remarks>
    public NetBuf Alloc()
    {
        int index = TakeIndex(out ThreadCache? cache);
        if (index < 0)
        {
            ThrowExhausted();
        }

        ref BufferSlot slot = ref _slots[index];
        return new NetBuf(this, index, ref slot, Acquire(ref slot, BufferKind.Owned), cache);
    }

    /// <summary>Allocates a buffer if one is free.</summary>
    /// <param name="buffer">The buffer, or a default handle when the pool is exhausted.</param>
    /// <returns><see langword="false"/> only when every buffer is in use.</returns>
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

        ref BufferSlot slot = ref _slots[index];
        buffer = new NetBuf(this, index, ref slot, Acquire(ref slot, BufferKind.Owned), cache);
        return true;
    }

    /// <summary>Allocates a buffer owned by a heap-storable <see cref="NetBufBox"/>.</summary>
    /// <returns>The box; dispose it to return the buffer.</returns>
    /// <exception cref="NetBufPoolExhaustedException">Every buffer is in use.</exception>
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
    /// <returns><see langword="false"/> only when every buffer is in use.</returns>
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
    /// Opens this thread's fast path to the pool for a processing loop: the returned worker binds
    /// the calling thread's cache once, so its allocations skip the per-call thread-static lookup
    /// of <see cref="Alloc"/>. Same handles, same checks.
    /// </summary>
    /// <returns>The worker; a <see langword="ref struct"/>, so it cannot leave this thread.</returns>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    /// <remarks>Thread-safe; no GC allocation after the thread's first use of the pool.</remarks>
    public NetBufWorker OpenWorker()
    {
        if (IsDisposed)
        {
            ThrowDisposed();
        }

        return new NetBufWorker(this, _cacheSize == 0 ? null : CurrentCache());
    }

    /// <summary>
    /// Takes back ownership of a buffer lent as a <see cref="NetBufPtr"/> (the original's
    /// <c>NetBuf::from_buf_ptr</c>, but validated). The lengths are those the buffer was lent with.
    /// </summary>
    /// <param name="bufPtr">A pointer from <see cref="NetBuf.IntoBufPtr"/>, <see cref="NetBufBox.IntoBufPtr"/> or <see cref="TryAllocBulk(Span{NetBufPtr})"/> of this pool.</param>
    /// <returns>The buffer, owned again.</returns>
    /// <exception cref="ArgumentException">The pointer is null, or was not lent by this pool.</exception>
    /// <exception cref="InvalidOperationException">The pointer was already restored or freed (or is a stale copy).</exception>
    /// <remarks>Thread-safe: of two racing restores of copies of one pointer, exactly one succeeds.</remarks>
    public NetBuf FromBufPtr(NetBufPtr bufPtr)
    {
        PointerCheck check = TryRestore(bufPtr, out ulong token);
        if (check != PointerCheck.Valid)
        {
            ThrowInvalidPointer(bufPtr, check);
        }

        return new NetBuf(this, bufPtr.BufferIndex, token);
    }

    /// <summary>
    /// Takes back ownership of a lent buffer into which a device wrote a frame at
    /// <paramref name="packetOffset"/>: the buffer comes back with that much headroom, an empty header and that
    /// packet, copying nothing (an AF_XDP receive descriptor, say, whose address lies inside a
    /// buffer of a pool registered as the UMEM).
    /// </summary>
    /// <param name="bufPtr">A pointer lent by this pool.</param>
    /// <param name="packetOffset">Where the frame starts in the buffer.</param>
    /// <param name="packetLength">The frame's length; offset + length must fit the buffer.</param>
    /// <returns>The buffer, owned again, with the frame as its packet.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The frame does not fit the buffer; nothing changed.</exception>
    /// <exception cref="ArgumentException">The pointer is null, or was not lent by this pool.</exception>
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

        // Ours now: set the regions around the frame (checked above to fit the buffer).
        _slots[bufPtr.BufferIndex].Regions = RegionWord.Make(packetOffset, 0, packetLength);
        return buffer;
    }

    /// <summary>Takes back ownership of a lent buffer, as <see cref="FromBufPtr(NetBufPtr)"/>, without throwing.</summary>
    /// <param name="bufPtr">The pointer to restore.</param>
    /// <param name="buffer">The buffer, or a default handle when the pointer is not valid for this pool.</param>
    /// <returns><see langword="false"/> when <see cref="FromBufPtr(NetBufPtr)"/> would throw; nothing changed.</returns>
    /// <remarks>Thread-safe.</remarks>
    public bool TryFromBufPtr(NetBufPtr bufPtr, out NetBuf buffer)
    {
        if (TryRestore(bufPtr, out ulong token) != PointerCheck.Valid)
        {
            buffer = default;
            return false;
        }

        buffer = new NetBuf(this, bufPtr.BufferIndex, token);
        return true;
    }

    /// <summary>
    /// Whether <paramref name="bufPtr"/> is a current lending of this pool: its buffer is lent and
    /// the pointer is not stale, so <see cref="FromBufPtr(NetBufPtr)"/> would accept it now. For
    /// drivers that check a pointer before they take it into a queue.
    /// </summary>
    /// <param name="bufPtr">The pointer to check.</param>
    /// <returns><see langword="true"/> when the pointer is lent by this pool and still valid; <see langword="false"/>
    /// for null, foreign, forged, restored or freed pointers.</returns>
    /// <remarks>Thread-safe; a snapshot: another thread holding a copy may restore it right after.</remarks>
    public bool IsLent(NetBufPtr bufPtr) =>
        CheckFromThisPool(bufPtr) == PointerCheck.Valid &&
        Volatile.Read(ref _slots[bufPtr.BufferIndex].State) == (bufPtr.Token ^ _pointerSalt);

    /// <summary>
    /// Stops allocation. Buffers still out stay valid and may still be returned; the native block
    /// is freed when the last of them comes back and the last pin of its memory is released (at
    /// once if none is out). Calling it again does nothing.
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
        int outstanding = _capacity - freeAtClose - RetireCaches() - (_diagnostics?.Close() ?? 0);
        if (_diagnostics is not null && outstanding > 0)
        {
            foreach (NetBufDiagnostic leak in GetOutstandingBuffers())
            {
                _diagnostics.Report(leak);
            }
        }

        _memory.Close(outstanding);
    }

    /// <summary>
    /// The buffers out of the pool now (owned, boxed or lent), each as a
    /// <see cref="NetBufDiagnosticKind.Leak"/> report with where it was allocated when the diagnostic
    /// mode took that stack trace (<see cref="NetBufPoolOptions.Diagnostics"/>; null otherwise). For
    /// finding leaks: call it when every buffer should be back.
    /// </summary>
    /// <returns>One report per buffer out; empty when every buffer is back.</returns>
    /// <remarks>Thread-safe; a snapshot, O(capacity); allocates the list.</remarks>
    public IReadOnlyList<NetBufDiagnostic> GetOutstandingBuffers()
    {
        var outstanding = new List<NetBufDiagnostic>();
        for (int i = 0; i < _capacity; i++)
        {
            if (BufferToken.KindOf(Volatile.Read(ref _slots[i].State)) != BufferKind.Free)
            {
                outstanding.Add(_diagnostics?.Leak(i) ?? new NetBufDiagnostic(NetBufDiagnosticKind.Leak, _name, i, -1, null, null));
            }
        }

        return outstanding;
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

    /// <summary>A cursor over the slot table for loops over many buffers (batches).</summary>
    internal SlotTable.Cursor OpenSlots() => _slots.Open();

    /// <summary>The metadata slot of buffer <paramref name="index"/>; the index must be in range.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ref BufferSlot SlotAt(int index) => ref _slots[index];

    /// <summary>The slot of buffer <paramref name="index"/> if <paramref name="token"/> still owns it.</summary>
    /// <exception cref="ObjectDisposedException">The handle is stale.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ref BufferSlot OwnedSlot(int index, ulong token)
    {
        ref BufferSlot slot = ref _slots[index];
        if (Volatile.Read(ref slot.State) != token)
        {
            ThrowStale(index, token);
        }

        return ref slot;
    }

    /// <summary>A span over bytes <paramref name="start"/>..<paramref name="start"/>+<paramref name="length"/> of buffer <paramref name="index"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal Span<byte> CreateSpan(int index, int start, int length)
    {
        // Sound: callers pass a validated index (< capacity) and a range inside the buffer: start
        // and length come from one read of the region word, and every value ever stored there was
        // checked to fit the buffer (see RegionWord), or from checks against BufferLength. The
        // caller held a token that owned the buffer when it checked, and the block is not freed
        // while any buffer is out, so the memory is mapped; a stale handle that raced its check
        // gets a span of a buffer it no longer owns, never one outside the block.
        return new Span<byte>(_block + ((nint)index * _stride) + start, length);
    }

    /// <summary>A reference to buffer <paramref name="index"/>'s first byte; the index must be in range.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ref byte BufferStart(int index) => ref Unsafe.AsRef<byte>(_block + ((nint)index * _stride));

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

    /// <summary>Sets buffer <paramref name="index"/>'s generation (tests only: to reach generations a test could not count up to).</summary>
    /// <exception cref="InvalidOperationException">The buffer is not free.</exception>
    internal void SetGenerationForTesting(int index, ulong generation)
    {
        ref BufferSlot slot = ref _slots[index];
        if (BufferToken.KindOf(slot.State) != BufferKind.Free)
        {
            ThrowHelper.ThrowInvalidOperation("Only a free buffer's generation can be set.");
        }

        slot.State = BufferToken.Make(generation, BufferKind.Free);
    }

    /// <summary>Moves buffer <paramref name="index"/> from the owner holding <paramref name="token"/> to a new owner of <paramref name="kind"/>.</summary>
    /// <returns>The new owner's token.</returns>
    /// <exception cref="ObjectDisposedException"><paramref name="token"/> is stale.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong Transfer(int index, ulong token, BufferKind kind) => Transfer(ref _slots[index], index, token, kind);

    /// <summary><see cref="Transfer(int, ulong, BufferKind)"/> on a slot the caller already holds (a <see cref="NetBuf"/> holds its own).</summary>
    /// <exception cref="ObjectDisposedException"><paramref name="token"/> is stale.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong Transfer(ref BufferSlot slot, int index, ulong token, BufferKind kind)
    {
        if (BufferToken.KindOf(token) == BufferKind.Owned)
        {
            return TransferOwned(ref slot, index, token, kind);
        }

        ulong next = BufferToken.Next(token, kind);
        if (Interlocked.CompareExchange(ref slot.State, next, token) != token)
        {
            // Boxes and pointers can be copied across threads: exactly one copy's CAS wins.
            ThrowStale(index, token);
        }

        return next;
    }

    /// <summary><see cref="Transfer(int, ulong, BufferKind)"/> from an Owned token: a plain compare and write.</summary>
    /// <exception cref="ObjectDisposedException"><paramref name="token"/> is stale.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong TransferOwned(int index, ulong token, BufferKind kind) => TransferOwned(ref _slots[index], index, token, kind);

    /// <summary><see cref="TransferOwned(int, ulong, BufferKind)"/> on a slot the caller already holds.</summary>
    /// <exception cref="ObjectDisposedException"><paramref name="token"/> is stale.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong TransferOwned(ref BufferSlot slot, int index, ulong token, BufferKind kind)
    {
        // An Owned token is held only by NetBuf handles (and NetBufBatch entries), both ref
        // structs: all copies live on one thread's stack, so no other thread can hold this token
        // and a plain compare and write cannot race a rightful owner. (A stale handle elsewhere
        // holds an older token, so its CAS fails whatever this write does.)
        if (slot.State != token)
        {
            ThrowStale(index, token);
        }

        ulong next = BufferToken.Next(token, kind);
        Volatile.Write(ref slot.State, next);
        return next;
    }

    /// <summary>Lends buffer <paramref name="index"/>, whose <paramref name="slot"/> the caller holds, as a pointer.</summary>
    /// <exception cref="ObjectDisposedException"><paramref name="token"/> is stale.</exception>
    internal NetBufPtr Lend(ref BufferSlot slot, int index, ulong token)
    {
        ulong lent = Transfer(ref slot, index, token, BufferKind.Lent);

        // Still exclusively ours: only the holder of the pointer we are about to return can change it.
        return MakePointer(index, lent, slot.Regions);
    }

    /// <summary>Returns buffer <paramref name="index"/> to the pool.</summary>
    /// <exception cref="ObjectDisposedException"><paramref name="token"/> is stale (a second dispose).</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Return(int index, ulong token) => Return(ref _slots[index], index, token);

    /// <summary>Returns buffer <paramref name="index"/>, whose <paramref name="slot"/> the caller holds, to the pool.</summary>
    /// <exception cref="ObjectDisposedException"><paramref name="token"/> is stale (a second dispose).</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Return(ref BufferSlot slot, int index, ulong token)
    {
        // The state change comes first: it is what makes a second return impossible, so a
        // buffer can never be put back twice.
        _ = Transfer(ref slot, index, token, BufferKind.Free);
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
    internal void ReturnOwned(ref BufferSlot slot, int index, ulong token, ThreadCache cache)
    {
        _ = TransferOwned(ref slot, index, token, BufferKind.Free);
        PushToCache(cache, index);
    }

    /// <summary>Marks a popped buffer as owned by a new handle of <paramref name="kind"/>, with empty regions.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong Acquire(int index, BufferKind kind) => Acquire(ref _slots[index], kind);

    /// <summary>Marks a popped buffer's <paramref name="slot"/> as owned by a new handle of <paramref name="kind"/>, with empty regions.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong Acquire(ref BufferSlot slot, BufferKind kind)
    {
        ulong token = BufferToken.Next(slot.State, kind);
        slot.Regions = _defaultRegions;

        // A plain write is enough: the buffer was popped by this thread alone, and a stale
        // handle's CAS on a free state word always fails (no handle holds a free token).
        Volatile.Write(ref slot.State, token);
        return token;
    }

    /// <summary>A pointer to buffer <paramref name="index"/>, lent with state <paramref name="lent"/>.</summary>
    private NetBufPtr MakePointer(int index, ulong lent, ulong regions) =>
        new(BufferAddress(index), index, lent ^ _pointerSalt, regions);

    private PointerCheck TryRestore(NetBufPtr bufPtr, out ulong token)
    {
        token = 0;
        PointerCheck check = CheckFromThisPool(bufPtr);
        if (check != PointerCheck.Valid)
        {
            return check;
        }

        ulong lent = bufPtr.Token ^ _pointerSalt;
        ulong owned = BufferToken.Next(lent, BufferKind.Owned);
        if (Interlocked.CompareExchange(ref _slots[bufPtr.BufferIndex].State, owned, lent) != lent)
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

    /// <summary>A buffer came back after the pool closed: one reference less on the block.</summary>
    private void OnReturnedAfterClose() => _memory.Release();

    /// <summary>Counts the buffers still out after the pool closed, for <see cref="InUse"/>: the non-free slots.</summary>
    private int CountOutstandingAfterClose()
    {
        int outstanding = 0;
        for (int i = 0; i < _capacity; i++)
        {
            if (BufferToken.KindOf(Volatile.Read(ref _slots[i].State)) != BufferKind.Free)
            {
                outstanding++;
            }
        }

        return outstanding;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowExhausted() =>
        throw new NetBufPoolExhaustedException(
            $"{_name} is exhausted: all {_capacity} buffers of {_bufferLength} bytes are in use. " +
            "Use TryAlloc to handle this without an exception, or create the pool with a larger capacity.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowDisposed() =>
        ThrowHelper.ThrowObjectDisposed(_name, $"{_name} is disposed: no buffer can be allocated from it.");

    /// <summary>Throws for a stale handle (its token no longer matches the buffer's state word).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal void ThrowStale(int index, ulong token)
    {
        BufferKind kind = BufferToken.KindOf(token);
        string handle = kind switch
        {
            BufferKind.Boxed => nameof(NetBufBox),
            BufferKind.Lent => nameof(NetBufPtr),
            _ => nameof(NetBuf),
        };
        string now = BufferToken.KindOf(Volatile.Read(ref _slots[index].State)) == BufferKind.Free
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
                ulong offset = (ulong)(bufPtr.BufferAddress - (nint)_block);
                string why = offset >= (ulong)_capacity * (ulong)_stride
                    ? "its address lies outside this pool's block (it belongs to another pool, or to none)"
                    : "its address, index or kind does not match one of this pool's lendings (forged or corrupted)";
                ThrowHelper.ThrowArgument(nameof(bufPtr), $"{bufPtr} was not lent by {_name}: {why}.");
                break;
            default:
                ThrowHelper.ThrowInvalidOperation(
                    $"{bufPtr} is no longer lent: it was already restored with FromBufPtr or freed (or is a stale copy).");
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
