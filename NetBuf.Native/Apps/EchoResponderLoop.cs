using System.Diagnostics;
using NetBufNative.Capture;
using NetBufNative.Drivers;
using NetBufNative.Wire;
using Linux = NetBufNative.Drivers.Linux;

namespace NetBufNative.Apps;

/// <summary>
/// A packet processor over any <see cref="INetDriver"/>: a host that answers ARP requests for its
/// IPv4 address and ICMP echo requests to it (the ping responder), and drops and counts everything
/// else. Each reply is written over its request in the same pool buffer
/// (<see cref="EchoResponder.TryAnswer"/>) and transmitted from it: no copy, no allocation, no lock
/// per packet.
/// </summary>
/// <remarks>
/// <para>
/// The loop keeps the driver's receive queue posted with empty buffers of the driver's pool
/// (<see cref="PostedBuffers"/> of them), receives frames in batches (<see cref="BatchSize"/>),
/// answers those it should, transmits the replies as one batch, returns the sent buffers to the pool
/// (<see cref="INetDriver.RecycleTxBuffers"/>) and posts the buffers of unanswered frames again. When
/// nothing is waiting it sleeps in <see cref="INetDriver.WaitForReceive"/>: no spinning, so on two
/// cores the kernel thread that feeds the device keeps its core.
/// </para>
/// <para>
/// No content of a frame makes it throw: truncated, lying, oversized-header, wrong-protocol or
/// hostile frames are counted (<see cref="EchoResponderCounters.Malformed"/>,
/// <see cref="EchoResponderCounters.Ignored"/>) and their buffers posted again. Frames a driver drops
/// itself (longer than a buffer, runts) never reach the loop: the driver counts them. Replies the
/// device has no room for are counted and their buffers returned to the pool. Only failures of the
/// device itself, or its disposal, end a call with a <see cref="NetDriverException"/>; buffers the
/// loop held then are returned to the pool first.
/// </para>
/// <para>
/// The loop does not own the driver: disposing the driver (after the loop stopped) returns the
/// buffers still posted. Thread safety: <see cref="Run(TimeSpan, long, CancellationToken)"/> and
/// <see cref="ProcessBatch"/> run on one thread at a time, as the driver is used; a second
/// <see cref="Run(TimeSpan, long, CancellationToken)"/> at once throws. <see cref="Counters"/> may be
/// read from any thread while it runs.
/// </para>
/// </remarks>
public sealed class EchoResponderLoop
{
    /// <summary>How long the loop sleeps when it could post no receive buffer (the pool is exhausted): a device
    /// wait would return at once with nothing posted, so it waits for buffers to come back instead of spinning.</summary>
    private static readonly TimeSpan StarvedWait = TimeSpan.FromMilliseconds(1);

    private readonly INetDriver _driver;
    private readonly NetBufPool _pool;
    private readonly MacAddress _mac;
    private readonly Ipv4Address _address;
    private readonly NetBufPtr[] _received;
    private readonly NetBufPtr[] _replies;
    private readonly NetBufPtr[] _fresh;
    private readonly int _postTarget;
    private int _posted;
    private int _running;
    private long _receivedFrames;
    private long _arpReplies;
    private long _echoReplies;
    private long _ignored;
    private long _malformed;
    private long _transmitDropped;
    private long _transmitErrors;

    /// <summary>Creates a responder for <paramref name="address"/> over <paramref name="driver"/>; it does nothing until run.</summary>
    /// <param name="driver">The device; the loop posts its buffers and transmits on it, but does not dispose it.</param>
    /// <param name="address">The IPv4 address the responder answers for.</param>
    /// <param name="options">Hardware address, batch size, receive buffers; defaults when null.</param>
    /// <exception cref="ArgumentNullException"><paramref name="driver"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The batch size or the posted buffer count is out of range.</exception>
    /// <exception cref="ArgumentException"><paramref name="address"/> is unspecified, broadcast or multicast, or the hardware address is a group address.</exception>
    public EchoResponderLoop(INetDriver driver, Ipv4Address address, EchoResponderLoopOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(driver);
        options ??= new EchoResponderLoopOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchSize, 1, nameof(options.BatchSize));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.BatchSize, EchoResponderLoopOptions.MaxBatchSize, nameof(options.BatchSize));
        int posted = options.PostedBuffers ?? driver.RxQueueSize;
        ArgumentOutOfRangeException.ThrowIfLessThan(posted, 1, nameof(options.PostedBuffers));
        if (address.IsUnspecified || address.IsBroadcast || address.IsMulticast)
        {
            throw new ArgumentException($"{address} cannot be a host's address (unspecified, broadcast or multicast).", nameof(address));
        }

        MacAddress mac = options.MacAddress ?? driver.MacAddress;
        if (mac.IsMulticast)
        {
            throw new ArgumentException($"{mac} is a group address; a host's hardware address is unicast.", nameof(options));
        }

        _driver = driver;
        _pool = driver.Pool;
        _mac = mac;
        _address = address;
        _postTarget = posted;
        _received = new NetBufPtr[options.BatchSize];
        _replies = new NetBufPtr[options.BatchSize];
        _fresh = new NetBufPtr[options.BatchSize];
    }

    /// <summary>The driver the loop runs over.</summary>
    public INetDriver Driver => _driver;

    /// <summary>
    /// The responder's hardware address: the one given in the options, else the driver's
    /// (<see cref="INetDriver.MacAddress"/>, the address its frames are sent from; over TAP, the program's side of the cable).
    /// </summary>
    public MacAddress MacAddress => _mac;

    /// <summary>The IPv4 address the responder answers for.</summary>
    public Ipv4Address Address => _address;

    /// <summary>Frames received and answered per batch.</summary>
    public int BatchSize => _received.Length;

    /// <summary>How many empty buffers the loop keeps posted to the driver.</summary>
    public int PostedBuffers => _postTarget;

    /// <summary>What the loop did so far; readable from any thread (see <see cref="EchoResponderCounters"/>).</summary>
    public EchoResponderCounters Counters => new(
        Volatile.Read(ref _receivedFrames),
        Volatile.Read(ref _arpReplies),
        Volatile.Read(ref _echoReplies),
        Volatile.Read(ref _ignored),
        Volatile.Read(ref _malformed),
        Volatile.Read(ref _transmitDropped),
        Volatile.Read(ref _transmitErrors));

    /// <summary>Answers until cancelled.</summary>
    /// <param name="cancellationToken">Stops the loop (it then returns normally).</param>
    /// <returns>The counters when it stopped.</returns>
    /// <exception cref="InvalidOperationException">The loop is running already.</exception>
    /// <exception cref="NetDriverException">The device failed, or the driver was disposed.</exception>
    public EchoResponderCounters Run(CancellationToken cancellationToken) => Run(Timeout.InfiniteTimeSpan, long.MaxValue, cancellationToken);

    /// <summary>
    /// Answers until <paramref name="timeLimit"/> has passed, <paramref name="frameLimit"/> frames were
    /// received in this call, or <paramref name="cancellationToken"/> is cancelled, whichever comes first.
    /// Waits in the driver while nothing arrives. Sent buffers are recycled before it returns; the
    /// posted ones stay with the driver.
    /// </summary>
    /// <param name="timeLimit">How long to run at most; <see cref="Timeout.InfiniteTimeSpan"/> for no limit.</param>
    /// <param name="frameLimit">How many frames to receive at most, 1 or more; <see cref="long.MaxValue"/> for no limit.</param>
    /// <param name="cancellationToken">Stops the loop (it then returns normally).</param>
    /// <returns>The counters when it stopped (totals since the loop was made, not of this call alone).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeLimit"/> is negative and not infinite, or <paramref name="frameLimit"/> is below 1.</exception>
    /// <exception cref="InvalidOperationException">The loop is running already.</exception>
    /// <exception cref="NetDriverException">The device failed, or the driver was disposed.</exception>
    public EchoResponderCounters Run(TimeSpan timeLimit, long frameLimit = long.MaxValue, CancellationToken cancellationToken = default)
    {
        if (timeLimit < TimeSpan.Zero && timeLimit != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(timeLimit), timeLimit, "The time limit must be zero or more, or infinite.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(frameLimit, 1);
        if (Interlocked.Exchange(ref _running, 1) != 0)
        {
            throw new InvalidOperationException("The responder loop is running already; it runs on one thread at a time.");
        }

        try
        {
            long start = Stopwatch.GetTimestamp();
            long deadline = timeLimit == Timeout.InfiniteTimeSpan ? long.MaxValue : start + (long)(timeLimit.TotalSeconds * Stopwatch.Frequency);
            long received = 0;
            while (received < frameLimit && !cancellationToken.IsCancellationRequested)
            {
                int count = Process((int)Math.Min(_received.Length, frameLimit - received));
                received += count;
                long now = Stopwatch.GetTimestamp();
                if (now >= deadline)
                {
                    break;
                }

                if (count > 0)
                {
                    continue;
                }

                TimeSpan wait = deadline == long.MaxValue ? Timeout.InfiniteTimeSpan : Stopwatch.GetElapsedTime(now, deadline);
                if (!Wait(wait, cancellationToken))
                {
                    break;
                }
            }

            _ = _driver.RecycleTxBuffers();
            return Counters;
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    /// <summary>
    /// One step of the loop, without waiting: tops up the posted buffers, takes up to
    /// <see cref="BatchSize"/> waiting frames, answers them, transmits the replies and recycles the sent
    /// buffers. For a loop of the caller's own (one that also polls other devices, say).
    /// </summary>
    /// <returns>How many frames were received (0 when none was waiting).</returns>
    /// <exception cref="NetDriverException">The device failed, or the driver was disposed.</exception>
    public int ProcessBatch() => Process(_received.Length);

    /// <summary>Waits for a frame; false when the loop should stop (cancelled or out of time).</summary>
    private bool Wait(TimeSpan wait, CancellationToken cancellationToken)
    {
        try
        {
            if (_posted == 0)
            {
                // Nothing posted (the pool is exhausted): the device cannot receive, and its wait would return at once.
                TimeSpan slice = wait == Timeout.InfiniteTimeSpan || wait > StarvedWait ? StarvedWait : wait;
                _ = cancellationToken.WaitHandle.WaitOne(slice);
                return !cancellationToken.IsCancellationRequested;
            }

            // A timeout that is not the end of the run is no reason to stop: the loop looks at the clock.
            _ = _driver.WaitForReceive(wait, cancellationToken);
            return true;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private int Process(int limit)
    {
        TopUp();
        Span<NetBufPtr> received = _received.AsSpan(0, limit);
        int count = limit == 1
            ? (_driver.TryReceive(out received[0]) ? 1 : 0)
            : _driver.ReceiveBatch(received);
        if (count == 0)
        {
            return 0;
        }

        _posted = Math.Max(0, _posted - count);
        _receivedFrames += count;
        int replies = 0;
        int next = 0;
        try
        {
            Answer(received[..count], ref next, ref replies);
        }
        catch (Exception)
        {
            // The driver failed (or was disposed) under the loop: give back what the loop holds,
            // the frames not processed yet and the replies built, before the exception leaves.
            FreeHeld(received[next..count]);
            FreeHeld(_replies.AsSpan(0, replies));
            throw;
        }

        if (replies > 0)
        {
            Transmit(replies);
        }

        _ = _driver.RecycleTxBuffers();
        return count;
    }

    /// <summary>Answers or reposts each received frame, building replies in <c>_replies</c>; <paramref name="next"/>
    /// is the first frame not yet handled and <paramref name="replies"/> how many replies were built, also when it throws.</summary>
    private void Answer(Span<NetBufPtr> received, ref int next, ref int replies)
    {
        for (; next < received.Length; next++)
        {
            int i = next;
            NetBufPtr frame = received[i];
            received[i] = default;
            Span<byte> bytes = frame.PacketWithHeader;
            if (EchoResponder.TryAnswer(bytes, bytes.Length, _mac, _address, out int replyLength))
            {
                if (EthernetFrame.TryParse(bytes[..replyLength], out EthernetFrame reply) && reply.EtherType == EtherType.Arp)
                {
                    _arpReplies++;
                }
                else
                {
                    _echoReplies++;
                }

                // The reply starts where the request did; only its length changes (no Ethernet padding).
                _replies[replies++] = _pool.FromBufPtr(frame, (int)(frame.HeaderAddress - frame.BufferAddress), replyLength).IntoBufPtr();
            }
            else
            {
                if (IsMalformed(bytes))
                {
                    _malformed++;
                }
                else
                {
                    _ignored++;
                }

                Repost(frame);
            }
        }
    }

    /// <summary>Returns buffers the loop holds to the pool (non-null ones), clearing the span.</summary>
    private void FreeHeld(Span<NetBufPtr> held)
    {
        foreach (NetBufPtr buffer in held)
        {
            if (!buffer.IsNull && _pool.IsLent(buffer))
            {
                _pool.FreeBulk(new ReadOnlySpan<NetBufPtr>(in buffer));
            }
        }

        held.Clear();
    }

    /// <summary>Whether an unanswered frame fails to parse: no whole Ethernet header, or ARP/IPv4 that is truncated, lies about its length or fails its checksum.</summary>
    private static bool IsMalformed(Span<byte> frame)
    {
        if (!EthernetFrame.TryParse(frame, out EthernetFrame ethernet))
        {
            return true;
        }

        return ethernet.EtherType switch
        {
            EtherType.Arp => !ArpPacket.TryParse(ethernet.Payload, out _),
            EtherType.Ipv4 => !Ipv4Packet.TryParse(ethernet.Payload, out Ipv4Packet ip) || !ip.IsHeaderChecksumValid,
            _ => false,
        };
    }

    /// <summary>Posts empty buffers until <see cref="PostedBuffers"/> are, or the pool or the driver takes no more.</summary>
    private void TopUp()
    {
        while (_posted < _postTarget)
        {
            int want = Math.Min(_postTarget - _posted, _fresh.Length);
            Span<NetBufPtr> fresh = _fresh.AsSpan(0, want);
            if (!_pool.TryAllocBulk(fresh))
            {
                // Fewer are free than a batch: take them one by one.
                want = 0;
                while (want < fresh.Length && _pool.TryAlloc(out NetBuf one))
                {
                    fresh[want++] = one.IntoBufPtr();
                }

                if (want == 0)
                {
                    return;
                }
            }

            for (int i = 0; i < want; i++)
            {
                bool taken;
                try
                {
                    taken = _driver.TryRecycleRxBuffer(fresh[i]);
                }
                catch (NetDriverException)
                {
                    // Disposed or failed: the buffers not taken are still ours.
                    _pool.FreeBulk(fresh[i..want]);
                    fresh[..want].Clear();
                    throw;
                }

                if (!taken)
                {
                    // The driver's queue is full (buffers posted by someone else, too): it has enough.
                    _pool.FreeBulk(fresh[i..want]);
                    fresh[..want].Clear();
                    _posted = _postTarget;
                    return;
                }

                _posted++;
            }

            fresh[..want].Clear();
        }
    }

    /// <summary>Posts the buffer of an unanswered frame again, or returns it to the pool when enough are posted.</summary>
    private void Repost(NetBufPtr frame)
    {
        bool posted;
        try
        {
            posted = _posted < _postTarget && _driver.TryRecycleRxBuffer(frame);
        }
        catch (Exception)
        {
            // Not taken (the driver was disposed, say): the frame is still the loop's.
            _pool.FreeBulk(new ReadOnlySpan<NetBufPtr>(in frame));
            throw;
        }

        if (posted)
        {
            _posted++;
            return;
        }

        _pool.FreeBulk(new ReadOnlySpan<NetBufPtr>(in frame));
    }

    /// <summary>Transmits the batch of replies; what the driver does not take goes back to the pool, counted.</summary>
    private void Transmit(int count)
    {
        Span<NetBufPtr> replies = _replies.AsSpan(0, count);
        int sent = 0;
        try
        {
            sent = TransmitSome(replies);
            if (sent < count)
            {
                // Room comes back when sent buffers are recycled.
                _ = _driver.RecycleTxBuffers();
                sent += TransmitSome(replies[sent..]);
            }
        }
        catch (NetDriverException exception) when (exception.Kind == NetDriverErrorKind.InvalidParam)
        {
            // Checked before any was taken: the rest of the batch is still ours.
            _transmitErrors += count - sent;
            _pool.FreeBulk(replies[sent..]);
            replies.Clear();
            return;
        }
        catch (NetDriverException)
        {
            Reclaim(replies[sent..]);
            replies.Clear();
            throw;
        }

        if (sent < count)
        {
            _transmitDropped += count - sent;
            _pool.FreeBulk(replies[sent..]);
        }

        replies.Clear();
    }

    private int TransmitSome(ReadOnlySpan<NetBufPtr> replies) =>
        replies.Length == 1 ? (_driver.TryTransmit(replies[0]) ? 1 : 0) : _driver.TransmitBatch(replies);

    /// <summary>After a device failure: every reply the driver did not take is still the loop's (the core hands a taken
    /// buffer over, so a copy of one that was taken is stale and skipped here).</summary>
    private void Reclaim(Span<NetBufPtr> replies)
    {
        foreach (NetBufPtr reply in replies)
        {
            _ = _pool.TryFree(reply);
        }
    }
}
