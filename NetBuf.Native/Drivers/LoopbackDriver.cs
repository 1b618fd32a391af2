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
/// with <see cref="NetDriver.TryRecycleRxBuffer"/> moves the other way, into the sender's queue of sent
/// buffers (returned to the pool by <see cref="NetDriver.RecycleTxBuffers"/>). So every end holds as many
/// buffers as it was given, as with real hardware. A frame that finds no posted buffer at the
/// receiving end is dropped (counted in <see cref="NetDriver.RxDropped"/> of that end) and its buffer
/// completes at once.
/// </para>
/// <para>
/// Queues are bounded lock-free rings: at most <see cref="RxQueueSize"/> posted empty buffers, at
/// most as many received frames waiting to be taken (a frame that finds that queue full is dropped
/// too), and at most <see cref="TxQueueSize"/> sent buffers awaiting <see cref="NetDriver.RecycleTxBuffers"/>.
/// Transmission completes at once.
/// </para>
/// <para>
/// Thread safety: each end is used by one thread at a time; the two ends of a pair may be used by
/// two threads at once. <see cref="NetDriver.Dispose"/> may run while this end is in a call on another thread (it
/// waits for the call to leave and ends a wait), but not while the peer transmits on another thread: stop the
/// traffic first. Disposing one end makes the other drop what it sends.
/// </para>
/// </remarks>
public sealed class LoopbackDriver : NetDriver
{
    /// <summary>Queue size when none is given: 256 buffers each way, a common NIC ring size.</summary>
    public const int DefaultQueueSize = 256;

    /// <summary>The longest a waiter sleeps before it looks at its queue again: a safety net only
    /// (transmitters and waiters fence, so a transmitter does not miss a waiter).</summary>
    private static readonly TimeSpan WaitSlice = TimeSpan.FromMilliseconds(10);

    private static int s_lastNumber;

    private readonly PointerRing _posted;
    private readonly PointerRing _received;
    private readonly PointerRing _completed;

    // Never disposed: a peer's transmit may set it while this end is being disposed (it has no kernel
    // handle unless a wait blocked, and then its finalizer closes that).
    private readonly ManualResetEventSlim _frameArrived = new(false);

    /// <summary>Waits that slept a whole slice although a frame had arrived (the receiving thread's own count).</summary>
    private long _missedWakeups;
    private LoopbackDriver _peer;
    private int _waiting;

    /// <summary>A wait set's wake-up while one sleeps on this end (<see cref="ArmWait"/>); signalled by the peer's transmit.</summary>
    private Linux.WakeEvent? _waker;

    /// <summary>An asynchronous wait's waiter while one is pending on this end (<see cref="ArmAsyncWait"/>); notified by the peer's transmit.</summary>
    private AsyncReceiveWaiter? _asyncWaiter;

    /// <summary>Creates a driver looped to itself: what it transmits, it receives.</summary>
    /// <param name="pool">The pool of every buffer it handles.</param>
    /// <param name="queueSize">Buffers each of its queues holds, 1 to 65536.</param>
    /// <param name="macAddress">Its hardware address; a locally administered one by default.</param>
    /// <exception cref="ArgumentNullException"><paramref name="pool"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="queueSize"/> is out of range.</exception>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    /// <exception cref="NetDriverException">The pool's buffers not yet reserved by other drivers are fewer than the two
    /// queues hold, 2 x <paramref name="queueSize"/> (<see cref="NetDriverErrorKind.InvalidParam"/>, naming every holder:
    /// <see cref="NetBufPool.Reserve"/>).</exception>
    public LoopbackDriver(NetBufPool pool, int queueSize = DefaultQueueSize, MacAddress? macAddress = null)
        : base(pool)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(queueSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(queueSize, 1 << 16);
        int number = Interlocked.Increment(ref s_lastNumber);
        _posted = new PointerRing(queueSize);
        _received = new PointerRing(queueSize);
        _completed = new PointerRing(queueSize);
        _peer = this;
        RxQueueSize = queueSize;
        TxQueueSize = queueSize;
        DeviceName = $"loop{number}";

        // 02:xx: locally administered, unicast.
        MacAddress = macAddress ?? new MacAddress(0x02, 0x4e, 0x42, (byte)(number >> 16), (byte)(number >> 8), (byte)number);

        // Last: nothing after it can fail and leave the reservation behind.
        ReservePoolBuffers($"the loopback driver {DeviceName}", queueSize, queueSize);
    }

    /// <inheritdoc/>
    public override string DeviceName { get; }

    /// <summary>The address this end sends from (its own; a locally administered one unless given).</summary>
    public override MacAddress MacAddress { get; }

    /// <inheritdoc/>
    public override int RxQueueSize { get; }

    /// <inheritdoc/>
    public override int TxQueueSize { get; }

    /// <summary>The other end of the cable (this driver itself when looped to itself).</summary>
    public LoopbackDriver Peer => _peer;

    /// <inheritdoc/>
    /// <remarks>Here: posted empty ones, received frames not taken, sent ones not recycled.</remarks>
    public override int HeldBuffers => _posted.Count + _received.Count + _completed.Count;

    /// <summary>Waits that slept a whole slice although a frame had arrived: a transmitter missed the waiter (tests read it).</summary>
    internal long MissedWakeups => Volatile.Read(ref _missedWakeups);

    /// <inheritdoc/>
    protected override int RxRoom => _posted.Capacity - _posted.Count;

    /// <inheritdoc/>
    protected override int TxRoom => TxQueueSize - _completed.Count;

    /// <summary>Creates two linked drivers over one pool: what either transmits, the other receives.</summary>
    /// <param name="pool">The pool of every buffer both ends handle (buffers move between them without a copy).</param>
    /// <param name="queueSize">Buffers each queue of each end holds, 1 to 65536.</param>
    /// <returns>The two ends.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="pool"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="queueSize"/> is out of range.</exception>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    /// <exception cref="NetDriverException">The pool's buffers not yet reserved are fewer than the four queues hold,
    /// 4 x <paramref name="queueSize"/> (<see cref="NetDriverErrorKind.InvalidParam"/>); neither end is left open.</exception>
    public static (LoopbackDriver First, LoopbackDriver Second) CreatePair(NetBufPool pool, int queueSize = DefaultQueueSize)
    {
        var first = new LoopbackDriver(pool, queueSize);
        LoopbackDriver second;
        try
        {
            second = new LoopbackDriver(pool, queueSize);
        }
        catch
        {
            first.Dispose();
            throw;
        }

        first._peer = second;
        second._peer = first;
        return (first, second);
    }

    /// <inheritdoc/>
    protected override void PostRxBurst(ReadOnlySpan<NetBufPtr> buffers)
    {
        foreach (NetBufPtr buffer in buffers)
        {
            // Room was checked (RxRoom) and only this thread adds to the ring.
            _ = _posted.TryEnqueue(buffer);
        }
    }

    /// <inheritdoc/>
    protected override int ReceiveBurst(Span<NetBufPtr> destination)
    {
        int count = _received.DequeueBatch(destination);
        for (int i = 0; i < count; i++)
        {
            destination[i] = HandBack(destination[i]);
        }

        return count;
    }

    /// <inheritdoc/>
    protected override void TransmitBurst(ReadOnlySpan<NetBufPtr> frames)
    {
        bool delivered = false;
        foreach (NetBufPtr frame in frames)
        {
            delivered |= Deliver(frame);
        }

        if (delivered)
        {
            WakePeer();
        }
    }

    /// <inheritdoc/>
    protected override int TakeCompleted(Span<NetBufPtr> destination) => _completed.DequeueBatch(destination);

    /// <inheritdoc/>
    protected override bool HasReceived() => _received.Count > 0;

    /// <inheritdoc/>
    protected override bool WaitForReceiveCore(TimeSpan timeout, CancellationToken cancellationToken)
    {
        long deadline = timeout == Timeout.InfiniteTimeSpan ? long.MaxValue : Environment.TickCount64 + (long)Math.Ceiling(timeout.TotalMilliseconds);
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

                if (IsDisposed)
                {
                    ThrowDisposed();
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
    /// <remarks>Transmission completes at once here, so room comes back only through <see cref="NetDriver.RecycleTxBuffers"/>
    /// on this end's own thread: this returns at once, telling whether there is room now.</remarks>
    protected override bool WaitForTransmitCore(TimeSpan timeout, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return TxRoom > 0;
    }

    /// <inheritdoc/>
    protected override void OnDisposing()
    {
        _frameArrived.Set();
        Volatile.Read(ref _waker)?.Signal();

        // An async wait ends at once (a driver's own with BadState; a wait set's with true): its round exits the use count.
        Volatile.Read(ref _asyncWaiter)?.OnReady();
    }

    /// <inheritdoc/>
    internal override bool SignalsAsyncWaits => true;

    /// <inheritdoc/>
    internal override bool ArmAsyncWait(AsyncReceiveWaiter waiter)
    {
        // One async wait at a time (a driver's own or a wait set's over it): a second one would take the first one's
        // wake-up, and the first would then never end (nor the Dispose that waits for its round). Refused, as epoll's
        // EEXIST refuses it for a driver with a descriptor.
        AsyncReceiveWaiter? other = Interlocked.CompareExchange(ref _asyncWaiter, waiter, null);
        if (other is not null && !ReferenceEquals(other, waiter))
        {
            throw new InvalidOperationException($"{DeviceName} is in another async wait already: a driver is waited on by one wait at a time.");
        }

        // Full fence: the waiter is visible before the queue is looked at (the handshake of WakePeer).
        Interlocked.MemoryBarrier();
        return _received.Count > 0;
    }

    /// <inheritdoc/>
    internal override void DisarmAsyncWait(AsyncReceiveWaiter waiter) => Interlocked.CompareExchange(ref _asyncWaiter, null, waiter);

    /// <inheritdoc/>
    internal override bool ArmWait(Linux.WakeEvent waker)
    {
        Volatile.Write(ref _waker, waker);

        // Full fence: the waker is visible before the queue is looked at (the handshake of WakePeer).
        Interlocked.MemoryBarrier();
        return _received.Count > 0;
    }

    /// <inheritdoc/>
    internal override void DisarmWait() => Volatile.Write(ref _waker, null);

    /// <inheritdoc/>
    protected override void CloseDevice()
    {
    }

    /// <inheritdoc/>
    protected override int TakeHeld(Span<NetBufPtr> destination)
    {
        int count = _posted.DequeueBatch(destination);
        count += _received.DequeueBatch(destination[count..]);
        count += _completed.DequeueBatch(destination[count..]);
        return count;
    }

    /// <summary>Moves a frame to the peer, swapping one of its posted buffers back, or drops it.</summary>
    /// <returns>Whether the frame reached the peer's receive queue (the caller then wakes it: <see cref="WakePeer"/>).</returns>
    private bool Deliver(NetBufPtr frame)
    {
        LoopbackDriver peer = _peer;

        // This thread is the only producer of the peer's received ring, so room seen here stays.
        if (!peer.IsDisposed && peer._received.Count < peer.RxQueueSize && peer._posted.TryDequeue(out NetBufPtr empty))
        {
            // Both enqueues succeed: room in the received ring was checked above, and the sent
            // ring's room by the core (TxRoom).
            _ = peer._received.TryEnqueue(frame);
            _ = _completed.TryEnqueue(empty);
            return true;
        }

        peer.CountRxDropped();
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
        if (Volatile.Read(ref peer._waiting) != 0)
        {
            peer._frameArrived.Set();
        }

        // A wait set asleep on the peer (the WakeEvent stays valid: its owner disposes it only after it
        // disarmed every driver, and a signal racing that disposal writes nothing).
        Volatile.Read(ref peer._waker)?.Signal();

        // An async wait pending on the peer completes here (its continuation is queued, not run on this thread). A
        // waiter read just before its round ended may be notified once more: its next wait then returns true at once
        // ("a frame may be waiting"), which is what a frame delivered meanwhile means anyway.
        Volatile.Read(ref peer._asyncWaiter)?.OnReady();
    }
}
