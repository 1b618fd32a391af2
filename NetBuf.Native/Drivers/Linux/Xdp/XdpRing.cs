using System.Runtime.CompilerServices;

namespace NetBufNative.Drivers.Linux.Xdp;

/// <summary>
/// One of an AF_XDP socket's four rings, mapped from the kernel: a power-of-two array of entries
/// with a producer and a consumer index (free-running u32s, masked on use) and a flags word. This
/// process is the producer of the fill and transmit rings and the consumer of the receive and
/// completion rings; the kernel is the other side of each. Batched as libxdp does: the other side's
/// index is read (with acquire) only when the cached copy says the ring is full or empty, and this
/// side's index is published (with release) once per batch.
/// </summary>
/// <remarks>
/// Not thread-safe: one thread at a time (the driver's caller). The mapping is valid until
/// <see cref="Unmap"/>, which the driver calls only once no call is in progress.
/// </remarks>
internal sealed unsafe class XdpRing
{
    private readonly uint* _producer;
    private readonly uint* _consumer;
    private readonly uint* _flags;
    private readonly byte* _entries;
    private readonly uint _mask;
    private readonly int _entrySize;
    private void* _mapping;
    private readonly nuint _mappingLength;

    /// <summary>This side's index: the next entry to produce (producer rings) or consume (consumer rings).</summary>
    private uint _local;

    /// <summary>The other side's index as last read: the kernel's consumer (producer rings) or producer (consumer rings).</summary>
    private uint _cachedOther;

    /// <summary>Entries written after <see cref="_local"/> but not yet published (producer rings).</summary>
    private uint _staged;

    private XdpRing(void* mapping, nuint length, in XdpRingOffset offsets, uint size, int entrySize)
    {
        byte* start = (byte*)mapping;
        _mapping = mapping;
        _mappingLength = length;
        _producer = (uint*)(start + offsets.Producer);
        _consumer = (uint*)(start + offsets.Consumer);
        _flags = (uint*)(start + offsets.Flags);
        _entries = start + offsets.Descriptors;
        _mask = size - 1;
        _entrySize = entrySize;
        Size = size;

        // A fresh ring: both indices are 0; reading them keeps this right for any start.
        _local = Volatile.Read(ref *_producer);
        _cachedOther = Volatile.Read(ref *_consumer);
    }

    /// <summary>How many entries the ring has.</summary>
    internal uint Size { get; }

    /// <summary>Whether the kernel asks for a system call to go on (<c>XDP_RING_NEED_WAKEUP</c> in the flags word).</summary>
    internal bool NeedsWakeup => (Volatile.Read(ref *_flags) & XdpConstants.XDP_RING_NEED_WAKEUP) != 0;

    /// <summary>Maps a ring of <paramref name="size"/> entries of <paramref name="entrySize"/> bytes at <paramref name="pageOffset"/> of the socket.</summary>
    /// <exception cref="NetDriverException">mmap failed.</exception>
    internal static XdpRing Map(int fd, in XdpRingOffset offsets, long pageOffset, uint size, int entrySize, string what, string device)
    {
        nuint length = (nuint)offsets.Descriptors + ((nuint)size * (nuint)entrySize);

        // Sound: a new shared mapping of the kernel's ring, of the length the kernel's own offsets
        // give (indices, flags and entries all lie inside it); MAP_POPULATE maps it at once.
        void* mapping = LibC.Mmap(null, length, XdpConstants.PROT_READ | XdpConstants.PROT_WRITE, XdpConstants.MAP_SHARED | XdpConstants.MAP_POPULATE, fd, pageOffset);
        if (mapping == (void*)-1)
        {
            throw LinuxError.Last($"mmap({what} ring)", device);
        }

        return new XdpRing(mapping, length, offsets, size, entrySize);
    }

    /// <summary>Producer rings: how many of <paramref name="wanted"/> entries can be staged now.</summary>
    internal uint Free(uint wanted)
    {
        uint free = Size - (_local + _staged - _cachedOther);
        if (free < wanted)
        {
            // Acquire: the kernel read the entries below its consumer index before it published the
            // index, so once this read sees it those entries may be overwritten.
            _cachedOther = Volatile.Read(ref *_consumer);
            free = Size - (_local + _staged - _cachedOther);
        }

        return Math.Min(free, wanted);
    }

    /// <summary>Producer rings: the next entry to stage (call <see cref="Free"/> first).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ref T NextToStage<T>()
        where T : unmanaged =>
        ref *(T*)(_entries + ((nuint)((_local + _staged) & _mask) * (nuint)_entrySize));

    /// <summary>Producer rings: counts the entry written through <see cref="NextToStage{T}"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Stage() => _staged++;

    /// <summary>Producer rings: hands every staged entry to the kernel.</summary>
    internal void Publish()
    {
        if (_staged == 0)
        {
            return;
        }

        _local += _staged;
        _staged = 0;

        // Release: every entry written above is visible to the kernel before the index that hands
        // it over (on x86-64 a plain store; on AArch64 a store-release).
        Volatile.Write(ref *_producer, _local);
    }

    /// <summary>Producer rings: published entries the kernel has not consumed yet.</summary>
    internal uint Outstanding()
    {
        // Acquire, as in Free.
        _cachedOther = Volatile.Read(ref *_consumer);
        return _local - _cachedOther;
    }

    /// <summary>Consumer rings: how many entries (at most <paramref name="max"/>) are ready to read.</summary>
    internal uint Available(uint max)
    {
        uint available = _cachedOther - _local;
        if (available == 0)
        {
            // Acquire: the kernel wrote the entries below its producer index before it published
            // the index, so once this read sees it those entries are readable.
            _cachedOther = Volatile.Read(ref *_producer);
            available = _cachedOther - _local;
        }

        return Math.Min(available, max);
    }

    /// <summary>Consumer rings: entry <paramref name="i"/> after the next unread one (below <see cref="Available"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ref T Entry<T>(uint i)
        where T : unmanaged =>
        ref *(T*)(_entries + ((nuint)((_local + i) & _mask) * (nuint)_entrySize));

    /// <summary>Consumer rings: gives <paramref name="count"/> read entries back to the kernel.</summary>
    internal void Release(uint count)
    {
        if (count == 0)
        {
            return;
        }

        _local += count;

        // Release: the reads of those entries complete before the kernel sees their slots free and
        // overwrites them.
        Volatile.Write(ref *_consumer, _local);
    }

    /// <summary>Unmaps the ring. Calling it again does nothing.</summary>
    internal void Unmap()
    {
        if (_mapping != null)
        {
            // Sound: the mapping made by Map, unmapped once, after the last use (the driver's
            // Dispose runs this only when no call is in progress).
            _ = LibC.Munmap(_mapping, _mappingLength);
            _mapping = null;
        }
    }
}
