using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using NetBufNative.Internal;
using NetBufNative.Wire;

namespace NetBufNative.Drivers;

/// <summary>
/// The core every driver of this library builds on, as DPDK's ethdev layer is for its drivers: it
/// implements <see cref="INetDriver"/>'s contract once, and a driver writes only its device's burst
/// functions (post receive buffers, receive, transmit, take completed transmissions) and its waits.
/// </summary>
/// <remarks>
/// <para>
/// What the core does for every driver:
/// </para>
/// <list type="bullet">
/// <item><b>The hand-over checked by the pool.</b> A buffer the driver accepts (<see cref="TryRecycleRxBuffer"/>,
/// <see cref="RecycleRxBuffers"/>, <see cref="TryTransmit"/>, <see cref="TransmitBatch"/>) is handed over with
/// <see cref="NetBufPool.TryHandOver(NetBufPtr, out NetBufPtr)"/>: the driver holds a new lending, and every copy the
/// caller kept is stale at once, so a second post, a free, a restore or a transmit of a kept copy throws at the call
/// that does it, with no table of the driver's. A buffer the driver gives back (a received frame) is handed over
/// again (<see cref="TryHandBack"/>), so the caller's pointer is a lending the driver no longer holds.</item>
/// <item><b>Validation, once.</b> Every pointer is checked before anything is taken; a frame to send must fit the
/// device (<see cref="MaxFrameLength"/>, 4 bytes more for a VLAN-tagged frame).</item>
/// <item><b>The partial-batch rule.</b> An exception means that nothing was taken; a device error met after something
/// was taken ends the call with the count, and the next receive or transmit call throws it.</item>
/// <item><b>Lifetime.</b> <see cref="Dispose"/> may run while another thread is in any member: it wakes waits, waits
/// for calls in progress to leave, closes the device and returns every buffer the driver holds, skipping (and
/// counting) any that is no longer its own; it never throws. Every member of a disposed driver throws
/// <see cref="NetDriverErrorKind.BadState"/>, and so does <see cref="AllocTxBuffer"/> once the pool is disposed.</item>
/// <item><b>Counters</b>: frames received and transmitted, frames dropped on receive and on transmit.</item>
/// <item><b>The pool's reservation</b> of the driver's queues (<see cref="ReservePoolBuffers"/>), released at disposal.</item>
/// </list>
/// <para>
/// Thread safety: one thread at a time uses a driver (as a NIC queue), except <see cref="Dispose"/>, the counters and
/// <see cref="HeldBuffers"/>, which any thread may use at any time. A pending <see cref="WaitForReceiveAsync"/> is a use:
/// call nothing else (but those) until its <see cref="ValueTask{TResult}"/> completed.
/// </para>
/// </remarks>
public abstract partial class NetDriver : INetDriver
{
    /// <summary>Pointers handed over per step on the stack: 64 (2 KiB), a large NIC burst; bigger batches go in steps.</summary>
    private const int HandOverStep = 64;

    private readonly NetBufPool _pool;
    private ExceptionDispatchInfo? _pendingError;
    private string? _goneReason;
    private int _goneErrorNumber;
    private int _users;
    private int _closed;
    private long _rxFrames;
    private long _txFrames;
    private long _rxDropped;
    private long _txDropped;
    private long _notOwnedAtDispose;
    private NetBufPoolReservation? _reservation;

    /// <summary>Creates the core of a driver over <paramref name="pool"/>.</summary>
    /// <param name="pool">The pool of every buffer the driver handles.</param>
    /// <exception cref="ArgumentNullException"><paramref name="pool"/> is null.</exception>
    protected NetDriver(NetBufPool pool)
    {
        ArgumentNullException.ThrowIfNull(pool);
        _pool = pool;
    }

    /// <inheritdoc/>
    public abstract string DeviceName { get; }

    /// <inheritdoc/>
    public DeviceType DeviceType => DeviceType.Net;

    /// <inheritdoc/>
    public abstract MacAddress MacAddress { get; }

    /// <inheritdoc/>
    public NetBufPool Pool => _pool;

    /// <inheritdoc/>
    public abstract int RxQueueSize { get; }

    /// <inheritdoc/>
    public abstract int TxQueueSize { get; }

    /// <inheritdoc/>
    public bool CanTransmit
    {
        get
        {
            if (!TryEnter())
            {
                return false;
            }

            try
            {
                return TxRoom > 0;
            }
            finally
            {
                Exit();
            }
        }
    }

    /// <inheritdoc/>
    public bool CanReceive
    {
        get
        {
            if (!TryEnter())
            {
                return false;
            }

            try
            {
                return HasReceived();
            }
            finally
            {
                Exit();
            }
        }
    }

    /// <summary>Frames received: handed to the caller by <see cref="TryReceive"/> or <see cref="ReceiveBatch"/>.</summary>
    /// <remarks>Thread-safe.</remarks>
    public long RxFrames => Volatile.Read(ref _rxFrames);

    /// <summary>Frames transmitted: accepted by <see cref="TryTransmit"/> or <see cref="TransmitBatch"/> (including those later dropped, <see cref="TxDropped"/>).</summary>
    /// <remarks>Thread-safe.</remarks>
    public long TxFrames => Volatile.Read(ref _txFrames);

    /// <summary>Frames that arrived and were dropped by the driver (too long or too short for a buffer, or no buffer posted); each driver's documentation lists its causes.</summary>
    /// <remarks>Thread-safe.</remarks>
    public long RxDropped => Volatile.Read(ref _rxDropped);

    /// <summary>Frames accepted for transmission that the device then failed to send (it went down or away, or refused the frame); their buffers were recycled as sent.</summary>
    /// <remarks>Thread-safe.</remarks>
    public long TxDropped => Volatile.Read(ref _txDropped);

    /// <summary>Pointers the driver held at its disposal that were no longer current lendings and were skipped (0 unless a device or a driver misbehaved).</summary>
    /// <remarks>Thread-safe.</remarks>
    public long NotOwnedAtDispose => Volatile.Read(ref _notOwnedAtDispose);

    /// <summary>Buffers the driver holds now: posted for receiving, received and not yet taken, being sent or sent and not recycled (0 once disposed).</summary>
    /// <remarks>Thread-safe; a snapshot.</remarks>
    public abstract int HeldBuffers { get; }

    /// <summary>Whether <see cref="Dispose"/> has begun.</summary>
    protected bool IsDisposed => Volatile.Read(ref _closed) != 0;

    /// <summary>How many more buffers the receive queue takes now; the core posts at most that many in one <see cref="PostRxBurst"/>.</summary>
    /// <remarks>Called inside a call of the driver's thread.</remarks>
    protected abstract int RxRoom { get; }

    /// <summary>How many more frames the transmit queue takes now; the core gives at most that many to one <see cref="TransmitBurst"/>.</summary>
    /// <remarks>Called inside a call of the driver's thread.</remarks>
    protected abstract int TxRoom { get; }

    /// <summary>The longest frame (header and packet) the device sends untagged; a VLAN-tagged frame may be 4 bytes longer. The buffer length by default.</summary>
    protected virtual int MaxFrameLength => _pool.BufferLength;

    /// <summary>The shortest frame the device sends: 0 by default, an Ethernet header on a real device.</summary>
    protected virtual int MinFrameLength => 0;

    /// <summary>The most frames one <see cref="ReceiveBurst"/> takes (its batch): the core calls it again only after a full burst.</summary>
    protected virtual int ReceiveBurstSize => int.MaxValue;

    /// <inheritdoc/>
    /// <remarks>A device that fails to take the buffer after the core handed it over has it returned to the pool: it counts as
    /// accepted, and the next receive or transmit call throws the device's error.</remarks>
    /// <exception cref="NetDriverException">The buffer is not a current lending of <see cref="Pool"/>, e.g. posted or sent
    /// already, or freed (<see cref="NetDriverErrorKind.InvalidParam"/>); the driver is disposed (BadState). An exception means
    /// that the buffer was not taken.</exception>
    public bool TryRecycleRxBuffer(NetBufPtr rxBuffer)
    {
        // The batch path for one buffer, without its steps: the hand-over's own check is the validation
        // (a pointer that is not a current lending fails it before anything is taken, and throws).
        Enter();
        try
        {
            if (RxRoom <= 0)
            {
                return false;
            }

            NetBufPtr mine = HandOverOne(rxBuffer);
            try
            {
                PostRxBurst(new ReadOnlySpan<NetBufPtr>(in mine));
            }
            catch (Exception error)
            {
                // A faulty device: the buffer is the driver's (the caller's copy is stale) and not posted. It goes back
                // to the pool and counts as taken (an exception would have the caller free a stale pointer); the next
                // receive or transmit meets the error, as with the batch form.
                _ = _pool.TryFree(mine);
                Defer(AsDriverError(error, "post"));
            }

            return true;
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Gives the driver empty buffers to receive frames into, in order, as many as the receive queue takes.</summary>
    /// <param name="rxBuffers">Buffers lent by <see cref="Pool"/>.</param>
    /// <returns>How many were accepted: the first that many are the driver's (every copy the caller kept is stale); the rest are still the caller's.
    /// A device that fails to take buffers the core handed over has them returned to the pool: they count as accepted, and the
    /// next receive or transmit call throws the device's error.</returns>
    /// <exception cref="NetDriverException">A buffer is not a current lending of <see cref="Pool"/> (InvalidParam), or the driver is
    /// disposed (BadState). An exception means that no buffer was taken.</exception>
    [SkipLocalsInit]
    public int RecycleRxBuffers(ReadOnlySpan<NetBufPtr> rxBuffers)
    {
        Enter();
        try
        {
            int count = Math.Min(rxBuffers.Length, Math.Max(0, RxRoom));
            for (int i = 0; i < count; i++)
            {
                CheckLent(rxBuffers[i]);
            }

            Span<NetBufPtr> mine = stackalloc NetBufPtr[Math.Min(count, HandOverStep)];
            int done = 0;
            while (done < count)
            {
                int wanted = Math.Min(count - done, HandOverStep);
                int step = HandOver(rxBuffers.Slice(done, wanted), mine, done);
                if (step == 0)
                {
                    break;
                }

                try
                {
                    PostRxBurst(mine[..step]);
                }
                catch (Exception error)
                {
                    // A faulty device: this step's buffers were taken (the caller's copies are stale) and not
                    // posted, so they go back to the pool. They count as taken, as a transmit burst's frames do
                    // when it fails: throwing here would tell the caller they are still its own, and its clean-up
                    // (a free of pointers that are stale) would then fail and lose what else it held.
                    foreach (NetBufPtr buffer in mine[..step])
                    {
                        _ = _pool.TryFree(buffer);
                    }

                    done += step;
                    Defer(AsDriverError(error, "post"));
                    break;
                }

                done += step;
                if (step < wanted)
                {
                    break;
                }
            }

            return done;
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc/>
    public int RecycleTxBuffers()
    {
        Enter();
        try
        {
            return RecycleCompleted();
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc/>
    public bool TryTransmit(NetBufPtr txBuffer)
    {
        // The batch path for one frame, without its steps (see TryRecycleRxBuffer).
        Enter();
        try
        {
            ThrowPendingError();
            ThrowIfGone();
            if (TxRoom <= 0)
            {
                return false;
            }

            // Lent first: the length check may read the frame, which only a current lending may.
            CheckLent(txBuffer);
            CheckFrameLength(_pool.WithLentRegions(txBuffer));
            NetBufPtr mine = HandOverOne(txBuffer);
            _txFrames++;
            try
            {
                TransmitBurst(new ReadOnlySpan<NetBufPtr>(in mine));
            }
            catch (Exception error)
            {
                // The burst owns the frame, sent or dropped: it was taken, and the next call meets the error.
                Defer(AsDriverError(error, "transmit"));
            }

            return true;
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Every pointer is checked (a current lending of <see cref="Pool"/>, a frame that fits the device) before any is
    /// taken. A pointer listed twice is sent once: the call ends before its second place (or throws, if that is the
    /// first), and a later transmit of it throws, since its copy went stale when the first was taken.
    /// </remarks>
    [SkipLocalsInit]
    public int TransmitBatch(ReadOnlySpan<NetBufPtr> txBuffers)
    {
        Enter();
        try
        {
            ThrowPendingError();
            ThrowIfGone();
            int count = Math.Min(txBuffers.Length, Math.Max(0, TxRoom));
            for (int i = 0; i < count; i++)
            {
                CheckLent(txBuffers[i]);

                // Measured by the regions the pool lent it with (those the hand-over passes on), not by the
                // pointer's own: a copy whose regions were rewritten cannot get a longer frame past the check.
                CheckFrameLength(_pool.WithLentRegions(txBuffers[i]));
            }

            Span<NetBufPtr> mine = stackalloc NetBufPtr[Math.Min(count, HandOverStep)];
            int done = 0;
            while (done < count)
            {
                int wanted = Math.Min(count - done, HandOverStep);
                int step = HandOver(txBuffers.Slice(done, wanted), mine, done);
                if (step == 0)
                {
                    break;
                }

                _txFrames += step;
                done += step;
                try
                {
                    TransmitBurst(mine[..step]);
                }
                catch (Exception error)
                {
                    // The burst owns every frame it was given, sent or dropped: report the count, and
                    // let the next call meet the error.
                    Defer(AsDriverError(error, "transmit"));
                    break;
                }

                if (step < wanted)
                {
                    break;
                }
            }

            return done;
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc/>
    public bool TryReceive(out NetBufPtr rxBuffer)
    {
        rxBuffer = default;
        return ReceiveBatch(new Span<NetBufPtr>(ref rxBuffer)) == 1;
    }

    /// <inheritdoc/>
    public int ReceiveBatch(Span<NetBufPtr> destination)
    {
        Enter();
        try
        {
            ThrowPendingError();
            ThrowIfGone();
            int taken = 0;
            while (taken < destination.Length)
            {
                Span<NetBufPtr> burst = destination.Slice(taken, Math.Min(destination.Length - taken, ReceiveBurstSize));
                int received;
                try
                {
                    received = ReceiveBurst(burst);
                }
                catch (Exception error) when (taken > 0)
                {
                    // Frames are already in the caller's span: return them, and let the next call meet
                    // the error (an exception would leak them).
                    Defer(AsDriverError(error, "receive"));
                    break;
                }

                if (Internal.TestSwitches.Enabled && Internal.TestSwitches.ReceiveFailsAfterFrames > 0 && received > 0 &&
                    taken + received >= Internal.TestSwitches.ReceiveFailsAfterFrames)
                {
                    // A device error after frames were taken, put in by a test: the rule above.
                    taken += received;
                    Defer(new NetDriverException(NetDriverErrorKind.Io, $"{DeviceName}: a receive failure put in by a test."));
                    break;
                }

                taken += received;
                if (received < burst.Length)
                {
                    break;
                }
            }

            _rxFrames += taken;
            return taken;
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc/>
    /// <exception cref="NetDriverException">No buffer is free (NoMemory), <paramref name="size"/> does not fit a buffer after the pool's
    /// headroom (InvalidParam), the driver is disposed or the pool is (BadState).</exception>
    public NetBufPtr AllocTxBuffer(int size)
    {
        Enter();
        try
        {
            int room = _pool.BufferLength - _pool.DefaultHeadroom;
            if ((uint)size > (uint)room)
            {
                throw new NetDriverException(
                    NetDriverErrorKind.InvalidParam,
                    $"A frame of {size} bytes does not fit a buffer of {_pool.Name} ({room} bytes after its headroom of {_pool.DefaultHeadroom}).");
            }

            NetBufPtr buffer;
            try
            {
                if (!_pool.TryAllocLent(size, out buffer))
                {
                    throw new NetDriverException(NetDriverErrorKind.NoMemory, $"{_pool.Name} has no free buffer for a frame to transmit on {DeviceName}.");
                }
            }
            catch (ObjectDisposedException)
            {
                throw new NetDriverException(NetDriverErrorKind.BadState, $"{_pool.Name}, the pool of {DeviceName}, is disposed: dispose the drivers before their pool.");
            }

            return buffer;
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative and not infinite.</exception>
    public bool WaitForReceive(TimeSpan timeout, CancellationToken cancellationToken = default) => Wait(receive: true, timeout, cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative and not infinite.</exception>
    public bool WaitForTransmit(TimeSpan timeout, CancellationToken cancellationToken = default) => Wait(receive: false, timeout, cancellationToken);

    /// <summary>The two waits: a pending error ends one at once (the next call throws it), a gone device throws.</summary>
    private bool Wait(bool receive, TimeSpan timeout, CancellationToken cancellationToken)
    {
        CheckTimeout(timeout);
        Enter();
        try
        {
            if (_pendingError is not null)
            {
                return true;
            }

            ThrowIfGone();
            return receive ? WaitForReceiveCore(timeout, cancellationToken) : WaitForTransmitCore(timeout, cancellationToken);
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>
    /// Closes the device and returns every buffer the driver holds to the pool. Wakes a wait on another thread (which then
    /// throws BadState) and waits for a call in progress to leave. Never throws; calling it again does nothing.
    /// </summary>
    /// <remarks>Thread-safe.</remarks>
    [SkipLocalsInit]
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        GC.SuppressFinalize(this);

        // The disposer's half of the use count's handshake (see TryEnter): after this barrier a call
        // that had not counted itself in yet sees the close flag, and one that had is seen below.
        if (!ProcessWideBarrier.OwnerMustFence)
        {
            Interlocked.MemoryBarrierProcessWide();
        }

        Quietly(OnDisposing);

        // Calls in progress are non-blocking device calls, or waits that OnDisposing just woke, so this
        // is short; yield rather than spin, the other thread may need this very core.
        var spinner = default(SpinWait);
        while (Volatile.Read(ref _users) != 0)
        {
            spinner.SpinOnce(sleep1Threshold: 20);
        }

        Quietly(CloseDevice);

        // Nothing runs on the device any more: what it holds is this thread's to return.
        Span<NetBufPtr> held = stackalloc NetBufPtr[HandOverStep];
        int failures = 0;
        while (true)
        {
            int count;
            try
            {
                count = TakeHeld(held);
            }
            catch (Exception)
            {
                // A faulty driver: a passing fault gets a few more tries (16); a lasting one must not make Dispose loop
                // for ever, so what the driver still holds is then left (and its pool's block with it).
                if (++failures > 16)
                {
                    break;
                }

                continue;
            }

            if (count == 0)
            {
                break;
            }

            foreach (NetBufPtr buffer in held[..count])
            {
                if (!_pool.TryFree(buffer))
                {
                    _notOwnedAtDispose++;
                }
            }
        }

        Quietly(OnDisposed);
        ReleasePoolBuffers();
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"{DeviceName} ({MacAddress}) over {_pool.Name}: {RxFrames} received, {TxFrames} sent, {RxDropped} dropped on receive, {TxDropped} on transmit";

    /// <summary>
    /// The device part of a post: queues <paramref name="buffers"/> for the device to receive into. The core handed each
    /// over (the driver's lendings now) and never gives more than <see cref="RxRoom"/> said; the driver must take all.
    /// </summary>
    /// <param name="buffers">Empty buffers, the driver's.</param>
    protected abstract void PostRxBurst(ReadOnlySpan<NetBufPtr> buffers);

    /// <summary>
    /// The device part of a receive: takes up to <paramref name="destination"/>.Length received frames, each handed back
    /// with <see cref="TryHandBack"/> (or <see cref="HandBack"/>), and returns how many. May throw
    /// <see cref="NetDriverException"/> only when it took nothing.
    /// </summary>
    /// <param name="destination">Where the caller's new pointers go.</param>
    /// <returns>How many frames were taken; fewer than asked means none is waiting now.</returns>
    protected abstract int ReceiveBurst(Span<NetBufPtr> destination);

    /// <summary>
    /// The device part of a transmit: queues <paramref name="frames"/> for sending. The core checked and handed over each
    /// (the driver's lendings now) and never gives more than <see cref="TxRoom"/> said. The driver owns every frame given,
    /// even when it throws: a frame it cannot send goes to its completed queue, counted with <see cref="CountTxDropped"/>.
    /// A <see cref="NetDriverException"/> thrown here is reported by the next call.
    /// </summary>
    /// <param name="frames">Frames to send, the driver's.</param>
    protected abstract void TransmitBurst(ReadOnlySpan<NetBufPtr> frames);

    /// <summary>Takes up to <paramref name="destination"/>.Length buffers whose transmission is complete (sent or dropped), for the core to free.</summary>
    /// <param name="destination">Where the driver's pointers go.</param>
    /// <returns>How many; 0 when none is complete.</returns>
    protected abstract int TakeCompleted(Span<NetBufPtr> destination);

    /// <summary>
    /// Gives the device the frames a <see cref="TransmitBurst"/> accepted but could not send yet (a software transmit
    /// queue's backlog), before completed ones are taken: the core calls it at every <see cref="RecycleTxBuffers"/>, so a
    /// loop that recycles keeps its backlog moving. Nothing by default (a device ring sends on its own).
    /// </summary>
    protected virtual void FlushPending()
    {
    }

    /// <summary>Whether a received frame is waiting (a look that does not wait).</summary>
    /// <returns><see langword="true"/> when <see cref="ReceiveBurst"/> would return a frame (or may).</returns>
    protected abstract bool HasReceived();

    /// <summary>Waits without spinning until a frame may be received, as <see cref="WaitForReceive"/>; must end with BadState when <see cref="OnDisposing"/> runs.</summary>
    /// <param name="timeout">Validated: non-negative or infinite.</param>
    /// <param name="cancellationToken">Ends the wait with <see cref="OperationCanceledException"/>.</param>
    /// <returns><see langword="true"/> when a frame may be waiting, <see langword="false"/> on timeout.</returns>
    protected abstract bool WaitForReceiveCore(TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>Waits without spinning until a frame may be transmitted, as <see cref="WaitForTransmit"/>.</summary>
    /// <param name="timeout">Validated: non-negative or infinite.</param>
    /// <param name="cancellationToken">Ends the wait with <see cref="OperationCanceledException"/>.</param>
    /// <returns><see langword="true"/> when a frame may be transmitted, <see langword="false"/> on timeout.</returns>
    protected abstract bool WaitForTransmitCore(TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>The first step of <see cref="Dispose"/>, before waiting for calls in progress: wake every wait of this driver. Must not throw.</summary>
    protected virtual void OnDisposing()
    {
    }

    /// <summary>Closes the device once no call is in progress; exceptions are ignored.</summary>
    protected abstract void CloseDevice();

    /// <summary>Takes up to <paramref name="destination"/>.Length of the buffers the driver still holds (any queue), after <see cref="CloseDevice"/>.</summary>
    /// <param name="destination">Where the driver's pointers go.</param>
    /// <returns>How many; 0 when the driver holds none.</returns>
    protected abstract int TakeHeld(Span<NetBufPtr> destination);

    /// <summary>The last step of <see cref="Dispose"/>: frees what else the driver owns (native memory). Must not throw.</summary>
    protected virtual void OnDisposed()
    {
    }

    /// <summary>
    /// Reserves in <see cref="Pool"/> (<see cref="NetBufPool.Reserve"/>) the buffers the driver's queues hold, so drivers
    /// sharing a pool are refused when it cannot fill all their queues, rather than one running short; <see cref="Dispose"/>
    /// releases the reservation. A driver's constructor calls it once, after checking its options and before opening its
    /// device, and calls <see cref="ReleasePoolBuffers"/> if it fails after that.
    /// </summary>
    /// <param name="owner">The driver, for messages: its kind and device (the queue sizes are added).</param>
    /// <param name="rxQueueSize">The receive queue's size.</param>
    /// <param name="txQueueSize">The transmit queue's size.</param>
    /// <exception cref="NetDriverException">The pool's buffers not yet reserved are fewer than the two queues hold
    /// (<see cref="NetDriverErrorKind.InvalidParam"/>; the message names every holder and what to change).</exception>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    /// <exception cref="InvalidOperationException">The driver has reserved already.</exception>
    protected void ReservePoolBuffers(string owner, int rxQueueSize, int txQueueSize)
    {
        if (_reservation is not null)
        {
            throw new InvalidOperationException($"{owner} has reserved its queues in {_pool.Name} already: a driver reserves once.");
        }

        try
        {
            _reservation = _pool.Reserve(rxQueueSize + txQueueSize, $"{owner} (receive queue {rxQueueSize}, transmit queue {txQueueSize})");
        }
        catch (InvalidOperationException error) when (error is not ObjectDisposedException)
        {
            throw new NetDriverException(NetDriverErrorKind.InvalidParam, error.Message);
        }
    }

    /// <summary>Releases the reservation of <see cref="ReservePoolBuffers"/>: for a constructor that fails after it (<see cref="Dispose"/>
    /// releases it otherwise). Does nothing when there is none. Never throws.</summary>
    protected void ReleasePoolBuffers() => Interlocked.Exchange(ref _reservation, null)?.Dispose();

    /// <summary>Hands a received frame back to the caller: a new lending of <paramref name="held"/> with the frame as its packet.</summary>
    /// <param name="held">The driver's lending of the buffer the frame is in.</param>
    /// <param name="packetOffset">Where the frame starts in the buffer.</param>
    /// <param name="packetLength">The frame's length.</param>
    /// <param name="received">The caller's pointer.</param>
    /// <returns><see langword="false"/> when the frame is shorter than <see cref="MinFrameLength"/> (a runt), does not fit the
    /// buffer (a faulty device), or the driver's pointer is not current: the frame is dropped and counted, and the buffer
    /// freed if it was the driver's.</returns>
    protected bool TryHandBack(NetBufPtr held, int packetOffset, int packetLength, out NetBufPtr received)
    {
        // A frame shorter than the device's smallest (a runt: no whole Ethernet header) is no frame: every driver drops it
        // here, whatever its device let through.
        if (packetLength >= MinFrameLength && _pool.TryHandOver(held, packetOffset, packetLength, out received))
        {
            return true;
        }

        received = default;

        _ = _pool.TryFree(held);
        CountRxDropped();
        return false;
    }

    /// <summary>Hands a received frame back to the caller with the regions it had (a frame a loopback peer sent).</summary>
    /// <param name="held">The driver's lending.</param>
    /// <returns>The caller's pointer.</returns>
    protected NetBufPtr HandBack(NetBufPtr held) => _pool.HandOver(held);

    /// <summary>Counts a frame dropped on receive.</summary>
    /// <param name="count">How many.</param>
    protected void CountRxDropped(int count = 1) => Interlocked.Add(ref _rxDropped, count);

    /// <summary>Counts frames accepted for transmission that the device failed to send.</summary>
    /// <param name="count">How many.</param>
    protected void CountTxDropped(int count = 1) => Interlocked.Add(ref _txDropped, count);

    /// <summary>Keeps a device error met after something was taken, for the next receive or transmit call to throw.</summary>
    /// <param name="error">The error.</param>
    protected void Defer(NetDriverException error) => _pendingError ??= ExceptionDispatchInfo.Capture(error);

    /// <summary>
    /// Records that the device is gone for good (deleted, or moved to another namespace): from now on every receive,
    /// transmit and wait throws BadState saying so, where a device would otherwise report it once (a socket's pending
    /// error) or never (an empty ring) and a loop would wait forever. Posting and recycling still work, so a loop can
    /// drain before it disposes the driver.
    /// </summary>
    /// <param name="reason">What the driver saw, for the message.</param>
    /// <param name="errorNumber">The errno that showed it, or 0.</param>
    /// <returns>The exception to throw now (BadState).</returns>
    protected NetDriverException DeviceGone(string reason, int errorNumber = 0)
    {
        _goneErrorNumber = errorNumber;
        Volatile.Write(ref _goneReason, reason);
        return GoneError();
    }

    /// <summary>Throws the exception of a disposed driver.</summary>
    /// <exception cref="NetDriverException">Always (BadState).</exception>
    [DoesNotReturn]
    protected void ThrowDisposed() => throw DisposedError();

    /// <summary>The exception of a disposed driver (BadState).</summary>
    private NetDriverException DisposedError() =>
        new(NetDriverErrorKind.BadState, $"The driver of {DeviceName} is disposed.");

    private static void CheckTimeout(TimeSpan timeout)
    {
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
        }
    }

    private static void Quietly(Action action)
    {
        try
        {
            action();
        }
        catch (Exception)
        {
            // Dispose never throws: the device is gone either way, and the buffers are returned next.
        }
    }

    private void Enter()
    {
        if (!TryEnter())
        {
            ThrowDisposed();
        }
    }

    private bool TryEnter()
    {
        // One thread at a time calls a driver, so only that thread writes the use count: a plain
        // increment, no atomic operation. Against Dispose on another thread this is an asymmetric
        // Dekker handshake, as a thread cache's owner and its thief (see ThreadCache): the count is
        // written, then the close flag read; Dispose sets the flag with a full fence, then runs a
        // process-wide barrier, then reads the count. Either this read comes after the barrier and
        // sees the close, or the count was visible to Dispose, which waits for it. Where the barrier
        // is not known to be real, a full fence here makes it an ordinary Dekker.
        int users = _users;
        Volatile.Write(ref _users, users + 1);
        if (ProcessWideBarrier.OwnerMustFence)
        {
            Interlocked.MemoryBarrier();
        }

        if (Volatile.Read(ref _closed) != 0)
        {
            Volatile.Write(ref _users, users);
            return false;
        }

        return true;
    }

    /// <summary>Leaves a call: the use count back down (release, so the call's work is done before Dispose can see 0).</summary>
    private void Exit() => Volatile.Write(ref _users, _users - 1);

    private void ThrowIfGone()
    {
        if (_goneReason is not null)
        {
            throw GoneError();
        }
    }

    private NetDriverException GoneError() =>
        new(NetDriverErrorKind.BadState, $"The interface {DeviceName} is gone ({_goneReason}): dispose the driver; a new one can be opened once the interface exists again.", _goneErrorNumber);

    private void ThrowPendingError()
    {
        ExceptionDispatchInfo? pending = _pendingError;
        if (pending is not null)
        {
            _pendingError = null;
            pending.Throw();
        }
    }

    /// <summary>Hands one buffer over to the driver, or throws (nothing taken) when it is not a current lending.</summary>
    /// <exception cref="NetDriverException">The buffer is not a current lending (InvalidParam): nothing was taken.</exception>
    private NetBufPtr HandOverOne(NetBufPtr buffer)
    {
        if (!_pool.TryHandOver(buffer, out NetBufPtr mine))
        {
            ThrowNotLent(buffer);
        }

        return mine;
    }

    /// <summary>Hands <paramref name="source"/> over into <paramref name="mine"/>, stopping at the first that is no longer current.</summary>
    /// <returns>How many were handed over.</returns>
    /// <exception cref="NetDriverException">The first one was not current (InvalidParam): nothing was taken.</exception>
    private int HandOver(ReadOnlySpan<NetBufPtr> source, Span<NetBufPtr> mine, int takenBefore)
    {
        for (int i = 0; i < source.Length; i++)
        {
            if (!_pool.TryHandOver(source[i], out mine[i]))
            {
                // Checked just before, so a copy was handed on or freed by another thread meanwhile, or
                // the pointer is listed twice: stop before it.
                if (i + takenBefore == 0)
                {
                    ThrowNotLent(source[i]);
                }

                return i;
            }
        }

        return source.Length;
    }

    [SkipLocalsInit] // The batch is written before it is read: no need to zero 2 KiB per call.
    private int RecycleCompleted()
    {
        try
        {
            FlushPending();
        }
        catch (Exception error)
        {
            // Recycling gives buffers to the pool, none to the caller: the device's error is the next call's.
            Defer(AsDriverError(error, "transmit"));
        }

        Span<NetBufPtr> batch = stackalloc NetBufPtr[HandOverStep];
        int total = 0;
        int count;
        while ((count = TakeCompleted(batch)) > 0)
        {
            FreeAll(batch[..count]);
            total += count;
        }

        return total;
    }

    private void FreeAll(ReadOnlySpan<NetBufPtr> buffers)
    {
        try
        {
            _pool.FreeBulk(buffers);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            // Not expected (the driver's own lendings): one by one, so no good buffer is lost behind a bad one.
            foreach (NetBufPtr buffer in buffers)
            {
                _ = _pool.TryFree(buffer);
            }
        }
    }

    private void CheckLent(NetBufPtr buffer)
    {
        if (!_pool.IsLent(buffer))
        {
            ThrowNotLent(buffer);
        }
    }

    private void CheckFrameLength(NetBufPtr buffer)
    {
        int length = buffer.HeaderLength + buffer.PacketLength;
        int max = MaxFrameLength;

        // Only an 802.1Q/802.1ad-tagged frame may carry the tag's 4 bytes beyond the MTU and the header
        // (the kernel refuses an untagged frame that long with EMSGSIZE).
        if (length > max && length <= max + EthernetFrame.VlanTagLength && length >= EthernetFrame.UntaggedHeaderLength)
        {
            ReadOnlySpan<byte> frame = buffer.PacketWithHeader;
            int etherType = (frame[12] << 8) | frame[13];
            if (etherType is 0x8100 or 0x88A8)
            {
                max += EthernetFrame.VlanTagLength;
            }
        }

        if (length < MinFrameLength || length > max)
        {
            throw new NetDriverException(
                NetDriverErrorKind.InvalidParam,
                $"A frame of {length} bytes cannot be sent on {DeviceName}: a frame is {MinFrameLength} to {MaxFrameLength} bytes (plus 4 for a VLAN-tagged frame); nothing was taken.");
        }
    }

    /// <summary>A device failure as the driver exception the contract promises (another exception type wrapped, as Io).</summary>
    private NetDriverException AsDriverError(Exception error, string what) =>
        error as NetDriverException ?? new NetDriverException($"The {what} of {DeviceName} failed: {error.Message}", error);

    [DoesNotReturn]
    private void ThrowNotLent(NetBufPtr buffer) =>
        throw new NetDriverException(
            NetDriverErrorKind.InvalidParam,
            $"{buffer} is not a current lending of {_pool.Name}, the pool of {DeviceName}: null, of another pool, freed or restored, " +
            "or handed to a driver already (a copy kept after a post or a transmit is stale); nothing was taken.");
}
