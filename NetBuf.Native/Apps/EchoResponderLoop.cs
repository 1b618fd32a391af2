using System.Diagnostics;
using NetBufNative.Drivers;
using NetBufNative.Processing;
using NetBufNative.Wire;

namespace NetBufNative.Apps;

/// <summary>
/// The echo responder over one driver, ready to run: a <see cref="PacketLoop"/> with an <see cref="EchoResponderHandler"/>
/// (a host that answers ARP requests for its IPv4 address and ICMP echo requests to it, each reply written over its
/// request in the same buffer and sent from it), plus the limits a test or a benchmark wants: a time limit, a frame
/// limit, or one step at a time.
/// </summary>
/// <remarks>
/// <para>
/// The loop keeps the driver's receive queue posted (<see cref="PostedBuffers"/>), takes frames in batches
/// (<see cref="BatchSize"/>), answers those it should, transmits the replies, recycles sent buffers and drops (frees) the
/// rest, counted. When nothing is waiting it sleeps in <see cref="INetDriver.WaitForReceive"/>; with the pool exhausted
/// (nothing posted) it sleeps in 1 ms steps until buffers come back. No content of a frame makes it throw; replies the
/// device has no room for or refuses are counted (<see cref="EchoResponderCounters.TransmitDropped"/>,
/// <see cref="EchoResponderCounters.TransmitErrors"/>), as are device errors it goes on after
/// (<see cref="EchoResponderCounters.DeviceErrors"/>); a driver that is disposed or whose device is gone ends the call with
/// a <see cref="NetDriverException"/> (BadState), the loop then holding no buffer.
/// </para>
/// <para>
/// The loop does not own the driver: disposing the driver (after the loop stopped) returns the buffers still posted.
/// Thread safety: <see cref="Run(TimeSpan, long, CancellationToken)"/> and <see cref="ProcessBatch"/> run on one thread at
/// a time, as the driver is used; a second <see cref="Run(TimeSpan, long, CancellationToken)"/> at once throws.
/// <see cref="Counters"/> may be read from any thread while it runs.
/// </para>
/// </remarks>
public sealed class EchoResponderLoop : IDisposable
{
    /// <summary>How long the loop sleeps when it could post no receive buffer (the pool is exhausted): a device
    /// wait would return at once with nothing posted, so it waits for buffers to come back instead of spinning.</summary>
    private static readonly TimeSpan StarvedWait = TimeSpan.FromMilliseconds(1);

    private readonly INetDriver _driver;
    private readonly PacketLoop _loop;
    private int _running;

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
        _driver = driver;
        Handler = new EchoResponderHandler(options.MacAddress ?? driver.MacAddress, address);
        PostedBuffers = posted;
        _loop = new PacketLoop([driver], Handler, new PacketLoopOptions { BurstSize = options.BatchSize, PostedBuffersPerPort = posted, Name = "echo-responder" });
    }

    /// <summary>The driver the loop runs over.</summary>
    public INetDriver Driver => _driver;

    /// <summary>The handler that answers: its counters, hardware and IPv4 address.</summary>
    public EchoResponderHandler Handler { get; }

    /// <summary>
    /// The responder's hardware address: the one given in the options, else the driver's
    /// (<see cref="INetDriver.MacAddress"/>, the address its frames are sent from; over TAP, the program's side of the cable).
    /// </summary>
    public MacAddress MacAddress => Handler.MacAddress;

    /// <summary>The IPv4 address the responder answers for.</summary>
    public Ipv4Address Address => Handler.Address;

    /// <summary>Frames received and answered per batch.</summary>
    public int BatchSize => _loop.Options.BurstSize;

    /// <summary>How many empty buffers the loop keeps posted to the driver (at most its receive queue).</summary>
    public int PostedBuffers { get; }

    /// <summary>What the loop did so far; readable from any thread (see <see cref="EchoResponderCounters"/>).</summary>
    public EchoResponderCounters Counters
    {
        get
        {
            PacketPortCounters port = _loop.Counters[0];
            return new(
                port.Received,
                Handler.ArpReplies,
                Handler.EchoReplies,
                Handler.Ignored,
                Handler.Malformed,
                port.TxFullDrops,
                port.TxErrorDrops,
                port.Errors);
        }
    }

    /// <summary>Answers until cancelled.</summary>
    /// <param name="cancellationToken">Stops the loop (it then returns normally).</param>
    /// <returns>The counters when it stopped.</returns>
    /// <exception cref="InvalidOperationException">The loop is running already.</exception>
    /// <exception cref="NetDriverException">The driver was disposed or its device is gone (BadState).</exception>
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
    /// <exception cref="NetDriverException">The driver was disposed or its device is gone (BadState).</exception>
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
                int count = _loop.RunOnce((int)Math.Min(BatchSize, frameLimit - received));
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
    /// <exception cref="NetDriverException">The driver was disposed or its device is gone (BadState).</exception>
    public int ProcessBatch() => _loop.RunOnce();

    /// <summary>Releases what the loop holds for sleeping (its run loop's wait set, if a run ever slept in one). The driver stays open.</summary>
    /// <remarks>Not while a run is in progress on another thread; calling it again does nothing.</remarks>
    public void Dispose() => _loop.Dispose();

    /// <summary>Waits for a frame; false when the loop should stop (cancelled or out of time).</summary>
    private bool Wait(TimeSpan wait, CancellationToken cancellationToken)
    {
        try
        {
            if (_loop.PostedBuffers(0) == 0)
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
}
