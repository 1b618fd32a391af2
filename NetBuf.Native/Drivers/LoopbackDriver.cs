using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using NetBufNative.Wire;

namespace NetBufNative.Drivers;

/// <summary>
/// An in-memory network device: what one end transmits, the other end receives. One driver alone
/// is looped to itself; <see cref="CreatePair"/> makes two linked ends, the two ends of a cable.
/// For tests, and for measuring the library's own per-packet cost with no kernel in the way.
/// </summary>
/// <remarks>
/// <para>
/// It behaves like a NIC with descriptor rings, copying nothing: a transmitted frame's buffer moves
/// to the receiving end's queue of received frames, and one of the empty buffers that end posted
/// with <see cref="TryRecycleRxBuffer"/> moves the other way, into the sender's queue of sent
/// buffers (returned to the pool by <see cref="RecycleTxBuffers"/>). So every end holds as many
/// buffers as it was given, as with real hardware. A frame that finds no posted buffer at the
/// receiving end is dropped (counted in <see cref="RxDropped"/> of that end) and its buffer
/// completes at once.
/// </para>
/// <para>
/// Queues are bounded lock-free rings: at most <see cref="RxQueueSize"/> posted empty buffers, at
/// most as many received frames waiting to be taken (a frame that finds that queue full is dropped
/// too), and at most <see cref="TxQueueSize"/> sent buffers awaiting <see cref="RecycleTxBuffers"/>.
/// Transmission completes at once.
/// </para>
/// <para>
/// Thread safety: each end is used by one thread at a time; the two ends of a pair may be used by
/// two threads at once. <see cref="Dispose"/> must not run while this end or its peer is in use on
/// another thread: stop the traffic first. Disposing one end makes the other drop what it sends.
/// </para>
/// </remarks>
public sealed class LoopbackDriver : INetDriver
{
    /// <summary>Queue size when none is given: 256 buffers each way, a common NIC ring size.</summary>
    public const int DefaultQueueSize = 256;

    /// <summary>The longest a waiter sleeps before it looks at its queue again: a safety net only
    /// (transmitters and waiters fence, so a transmitter does not miss a waiter).</summary>
    private static readonly TimeSpan WaitSlice = TimeSpan.FromMilliseconds(10);

    private static int s_lastNumber;

    private readonly NetBufPool _pool;
    private readonly PointerRing _posted;
    private readonly PointerRing _received;
    private readonly PointerRing _completed;
    private readonly ManualResetEventSlim _frameArrived = new(false);

    /// <summary>Waits that slept a whole slice although a frame had arrived (the receiving thread's own count).</summary>
    private long _missedWakeups;
    private LoopbackDriver _peer;
    private int _waiting;
    private int _disposed;
    private long _rxFrames;
    private long _txFrames;
    private long _rxDropped;

    /// <summary>Creates a driver looped to itself: what it transmits, it receives.</summary>
    /// <param name="pool">The pool of every buffer it handles.</param>
    /// <param name="queueSize">Buffers each of its queues holds, 1 to 65536.</param>
    /// <param name="macAddress">Its hardware address; a locally administered one by default.</param>
    /// <exception cref="ArgumentNullException"><paramref name="pool"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="queueSize"/> is out of range.</exception>
    public LoopbackDriver(NetBufPool pool, int queueSize = DefaultQueueSize, MacAddress? macAddress = null)
    {
        ArgumentNullException.ThrowIfNull(pool);
        ArgumentOutOfRangeException.ThrowIfLessThan(queueSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(queueSize, 1 << 16);
        int number = Interlocked.Increment(ref s_lastNumber);
        _pool = pool;
        _posted = new PointerRing(queueSize);
        _received = new PointerRing(queueSize);
        _completed = new PointerRing(queueSize);
        _peer = this;
        RxQueueSize = queueSize;
        TxQueueSize = queueSize;
        DeviceName = $"loop{number}";

        // 02:xx: locally administered, unicast.
        MacAddress = macAddress ?? new MacAddress(0x02, 0x4e, 0x42, (byte)(number >> 16), (byte)(number >> 8), (byte)number);
    }

    /// <inheritdoc/>
    public string DeviceName { get; }

    /// <inheritdoc/>
    public DeviceType DeviceType => DeviceType.Net;

    /// <inheritdoc/>
    public MacAddress MacAddress { get; }

    /// <inheritdoc/>
    public NetBufPool Pool => _pool;

    /// <inheritdoc/>
    public bool CanTransmit => !IsDisposed && _completed.Count < TxQueueSize;

    /// <inheritdoc/>
    public bool CanReceive => !IsDisposed && _received.Count > 0;

    /// <inheritdoc/>
    public int RxQueueSize { get; }

    /// <inheritdoc/>
    public int TxQueueSize { get; }

    /// <summary>The other end of the cable (this driver itself when looped to itself).</summary>
    public LoopbackDriver Peer => _peer;

    /// <summary>Frames received (taken by <see cref="TryReceive"/> or <see cref="ReceiveBatch"/>).</summary>
    public long RxFrames => Volatile.Read(ref _rxFrames);

    /// <summary>Frames transmitted (accepted by <see cref="TryTransmit"/> or <see cref="TransmitBatch"/>), delivered or dropped.</summary>
    public long TxFrames => Volatile.Read(ref _txFrames);

    /// <summary>Frames sent to this end that found no posted receive buffer (or found it disposed) and were dropped.</summary>
    public long RxDropped => Volatile.Read(ref _rxDropped);

    /// <summary>Buffers this end holds now: posted empty ones, received frames not taken, sent ones not recycled.</summary>
    public int HeldBuffers => _posted.Count + _received.Count + _completed.Count;

    private bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Creates two linked drivers over one pool: what either transmits, the other receives.</summary>
    /// <param name="pool">The pool of every buffer both ends handle (buffers move between them without a copy).</param>
    /// <param name="queueSize">Buffers each queue of each end holds, 1 to 65536.</param>
    /// <returns>The two ends.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="pool"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="queueSize"/> is out of range.</exception>
    public static (LoopbackDriver First, LoopbackDriver Second) CreatePair(NetBufPool pool, int queueSize = DefaultQueueSize)
    {
        var first = new LoopbackDriver(pool, queueSize);
        var second = new LoopbackDriver(pool, queueSize);
        first._peer = second;
        second._peer = first;
        return (first, second);
    }

    /// <inheritdoc/>
    public bool TryRecycleRxBuffer(NetBufPtr rxBuffer)
    {
        ThrowIfDisposed();
        CheckOwnership(rxBuffer);
        return _posted.TryEnqueue(rxBuffer);
    }

    /// <inheritdoc/>
    [SkipLocalsInit]
    public int RecycleTxBuffers()
    {
        ThrowIfDisposed();
        Span<NetBufPtr> batch = stackalloc NetBufPtr[32];
        int recycled = 0;
        int count;
        while ((count = _completed.DequeueBatch(batch)) > 0)
        {
            _pool.FreeBulk(batch[..count]);
            recycled += count;
        }

        return recycled;
    }

    /// <inheritdoc/>
    public bool TryTransmit(NetBufPtr txBuffer)
    {
        ThrowIfDisposed();
        CheckOwnership(txBuffer);
        if (_completed.Count >= TxQueueSize)
        {
            return false;
        }

        if (Deliver(txBuffer))
        {
            WakePeer();
        }

        return true;
    }

    /// <inheritdoc/>
    public int TransmitBatch(ReadOnlySpan<NetBufPtr> txBuffers)
    {
        ThrowIfDisposed();
        int room = TxQueueSize - _completed.Count;
        int count = Math.Min(room, txBuffers.Length);

        // Every buffer is checked before any is taken: on an exception, nothing was taken.
        for (int i = 0; i < count; i++)
        {
            CheckOwnership(txBuffers[i]);
        }

        bool delivered = false;
        for (int i = 0; i < count; i++)
        {
            delivered |= Deliver(txBuffers[i]);
        }

        if (delivered)
        {
            WakePeer();
        }

        return count;
    }

    /// <inheritdoc/>
    public bool TryReceive(out NetBufPtr rxBuffer)
    {
        ThrowIfDisposed();
        if (_received.TryDequeue(out rxBuffer))
        {
            _rxFrames++;
            return true;
        }

        return false;
    }

    /// <inheritdoc/>
    public int ReceiveBatch(Span<NetBufPtr> destination)
    {
        ThrowIfDisposed();
        int count = _received.DequeueBatch(destination);
        _rxFrames += count;
        return count;
    }

    /// <inheritdoc/>
    public NetBufPtr AllocTxBuffer(int size)
    {
        ThrowIfDisposed();
        int room = _pool.BufferLength - _pool.DefaultHeadroom;
        if ((uint)size > (uint)room)
        {
            throw new NetDriverException(
                NetDriverErrorKind.InvalidParam,
                $"A frame of {size} bytes does not fit a buffer of {_pool.Name} ({room} bytes after its headroom of {_pool.DefaultHeadroom}).");
        }

        if (!_pool.TryAlloc(out NetBuf buffer))
        {
            throw new NetDriverException(NetDriverErrorKind.NoMemory, $"{_pool.Name} has no free buffer for a frame to transmit.");
        }

        buffer.SetPacketLength(size);
        return buffer.IntoBufPtr();
    }

    /// <summary>Waits that slept a whole slice although a frame had arrived: a transmitter missed the waiter (tests read it).</summary>
    internal long MissedWakeups => Volatile.Read(ref _missedWakeups);

    /// <inheritdoc/>
    public bool WaitForReceive(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        long deadline = timeout == Timeout.InfiniteTimeSpan ? long.MaxValue : Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        Volatile.Write(ref _waiting, 1);
        try
        {
            while (true)
            {
                _frameArrived.Reset();

                // Full fence: the waiting flag is visible before the queue is looked at, so a
                // transmitter that enqueues after this look sees the flag (or the slice covers it).
                Interlocked.MemoryBarrier();
                if (_received.Count > 0)
                {
                    return true;
                }

                long remaining = deadline - Environment.TickCount64;
                if (remaining <= 0)
                {
                    return false;
                }

                if (!_frameArrived.Wait(TimeSpan.FromMilliseconds(Math.Min(remaining, WaitSlice.TotalMilliseconds)), cancellationToken) &&
                    _received.Count > 0 && !_frameArrived.IsSet)
                {
                    // The slice ran out with a frame waiting and no wake-up set: its transmitter missed
                    // this waiter (a wake-up set after the slice ran out is not a miss).
                    _missedWakeups++;
                }
            }
        }
        finally
        {
            Volatile.Write(ref _waiting, 0);
        }
    }

    /// <inheritdoc/>
    /// <remarks>Transmission completes at once here, so room comes back only through <see cref="RecycleTxBuffers"/>
    /// on this end's own thread: this returns at once, telling whether there is room now.</remarks>
    public bool WaitForTransmit(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        return CanTransmit;
    }

    /// <summary>Returns every buffer this end holds (posted, received, sent) to the pool. Calling it again does nothing.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        FreeAll(_posted);
        FreeAll(_received);
        FreeAll(_completed);
        _frameArrived.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"{DeviceName} ({MacAddress}) over {_pool.Name}: {RxFrames} received, {TxFrames} sent, {RxDropped} dropped";

    /// <summary>Moves a frame to the peer, swapping one of its posted buffers back, or drops it.</summary>
    /// <returns>Whether the frame reached the peer's receive queue (the caller then wakes it: <see cref="WakePeer"/>).</returns>
    private bool Deliver(NetBufPtr frame)
    {
        _txFrames++;
        LoopbackDriver peer = _peer;
        // This thread is the only producer of the peer's received ring, so room seen here stays.
        if (!peer.IsDisposed && peer._received.Count < peer.RxQueueSize && peer._posted.TryDequeue(out NetBufPtr empty))
        {
            // Both enqueues succeed: room in the received ring was checked above, and the sent
            // ring's room by the caller.
            _ = peer._received.TryEnqueue(frame);
            _ = _completed.TryEnqueue(empty);
            return true;
        }

        Interlocked.Increment(ref peer._rxDropped);
        _ = _completed.TryEnqueue(frame);
        return false;
    }

    /// <summary>Sets the peer's event if it is waiting: once per transmit call that delivered a frame.</summary>
    private void WakePeer()
    {
        // Full fence: the frames just enqueued are visible before the waiting flag is read. With the
        // waiter's fence between setting its flag and looking at its queue this is Dekker's
        // handshake: either the waiter sees the frames or this sees the flag. Without it the flag's
        // read may pass the enqueue (store-load reordering, allowed even on x86), the waiter sleeps
        // a whole slice with a frame waiting (MissedWakeups counted 2-45 per 300,000 round trips).
        LoopbackDriver peer = _peer;
        if (ReferenceEquals(peer, this))
        {
            // Looped to itself: the one thread that may use this end is the one transmitting, so it
            // is not waiting (and the fence would cost every cycle of a self-loop).
            return;
        }

        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref peer._waiting) != 0 && !peer.IsDisposed)
        {
            peer._frameArrived.Set();
        }
    }

    private void CheckOwnership(NetBufPtr buffer)
    {
        if (!_pool.IsLent(buffer))
        {
            ThrowNotOurs(buffer);
        }
    }

    [DoesNotReturn]
    private void ThrowNotOurs(NetBufPtr buffer) =>
        throw new NetDriverException(
            NetDriverErrorKind.InvalidParam,
            $"{buffer} is not a buffer lent by {_pool.Name}, the pool of {DeviceName} (null, of another pool, restored already or stale); nothing was taken.");

    private void ThrowIfDisposed()
    {
        if (IsDisposed)
        {
            throw new NetDriverException(NetDriverErrorKind.BadState, $"{DeviceName} is disposed.");
        }
    }

    [SkipLocalsInit]
    private void FreeAll(PointerRing ring)
    {
        Span<NetBufPtr> batch = stackalloc NetBufPtr[32];
        int count;
        while ((count = ring.DequeueBatch(batch)) > 0)
        {
            _pool.FreeBulk(batch[..count]);
        }
    }
}
