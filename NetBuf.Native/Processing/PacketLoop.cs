using System.Diagnostics;
using NetBufNative.Drivers;

namespace NetBufNative.Processing;

/// <summary>
/// Runs packet processing over one or more drivers (ports) on one thread, as a DPDK forwarding core does: it keeps every
/// port's receive queue posted, takes each port's frames in bursts, gives each burst to the application
/// (<see cref="IPacketHandler"/>), and carries out what it decided (a frame sent on a port from the buffer it arrived in,
/// dropped, or kept), recycling sent buffers, handling partial batches and back-pressure, and counting it all per port.
/// </summary>
/// <remarks>
/// <para>
/// The rules it packages: every port shares one pool (a frame moves between ports without a copy); a port's receive
/// queue is refilled as frames leave it, from that pool, and a pool that runs dry is counted
/// (<see cref="PacketPortCounters.PostShortfalls"/>), not fatal; a transmit that takes fewer frames than given recycles the
/// port's sent buffers and tries once more, then drops the rest (<see cref="PacketPortCounters.TxFullDrops"/>); a frame
/// the port refuses (too long for its MTU) is dropped alone (<see cref="PacketPortCounters.TxErrorDrops"/>); a device error
/// is counted and the loop goes on (<see cref="PacketPortCounters.Errors"/>), except a port that is disposed or gone
/// (<see cref="NetDriverErrorKind.BadState"/>), which ends the run with that exception. When idle it spins, sleeps on all
/// ports at once (<see cref="NetDriverWaitSet"/>) or both (<see cref="PollingMode"/>).
/// </para>
/// <para>
/// A run that ends (stopped, cancelled or failed) holds no buffer: what it took was sent or freed. The buffers posted to
/// the ports are the drivers': disposing them returns those. The loop does not own its ports.
/// </para>
/// <para>
/// Thread safety: one run at a time, on the thread that calls <see cref="Run"/> or <see cref="RunOnce()"/> (or the loop's
/// own, <see cref="Start"/>), which must be the only user of the ports meanwhile. <see cref="Stop"/>, the counters and
/// <see cref="Dispose"/> may be used from any thread. The loop allocates nothing per frame or per turn.
/// </para>
/// </remarks>
public sealed class PacketLoop : IDisposable
{
    private static int s_lastNumber;

    private readonly INetDriver[] _ports;
    private readonly NetDriver?[] _cores;
    private readonly PacketPortCounters[] _counters;
    private readonly IPacketHandler _handler;
    private readonly PacketBatch _batch;
    private NetDriverWaitSet? _waitSet;
    private readonly NetBufPtr[][] _staged;
    private readonly int[] _stagedCount;
    private readonly NetBufPtr[] _scratch;
    private readonly int[] _posted;
    private readonly int[] _postTarget;
    private readonly int _burst;
    private readonly long _spinTicks;
    private int _stopRequested;
    private int _running;
    private int _disposed;
    private Task? _completion;

    /// <summary>Creates a loop over <paramref name="ports"/> that gives every received batch to <paramref name="handler"/>.</summary>
    /// <param name="ports">The drivers, each listed once, all over one pool; a batch addresses them by index in this order.</param>
    /// <param name="handler">Decides what becomes of each frame.</param>
    /// <param name="options">How the loop runs; the defaults when <see langword="null"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="ports"/> or <paramref name="handler"/> is null.</exception>
    /// <exception cref="ArgumentException">No port, a null one, one listed twice, or ports over different pools.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public PacketLoop(IReadOnlyList<INetDriver> ports, IPacketHandler handler, PacketLoopOptions? options)
    {
        ArgumentNullException.ThrowIfNull(ports);
        ArgumentNullException.ThrowIfNull(handler);
        options ??= new PacketLoopOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BurstSize, 1, nameof(options.BurstSize));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.BurstSize, PacketLoopOptions.MaxBurstSize, nameof(options.BurstSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.SpinDuration, TimeSpan.Zero, nameof(options.SpinDuration));
        if (options.PostedBuffersPerPort is int perPort)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(perPort, 0, nameof(options.PostedBuffersPerPort));
        }

        if (options.Cpu is int cpu)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(cpu, 0, nameof(options.Cpu));
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(cpu, Environment.ProcessorCount, nameof(options.Cpu));
        }

        if (ports.Count == 0)
        {
            throw new ArgumentException("A loop needs at least one port.", nameof(ports));
        }

        _ports = [.. ports];
        Pool = _ports[0]?.Pool ?? throw new ArgumentException("Port 0 is null.", nameof(ports));
        _cores = new NetDriver?[_ports.Length];
        _counters = new PacketPortCounters[_ports.Length];
        for (int i = 0; i < _ports.Length; i++)
        {
            INetDriver port = _ports[i] ?? throw new ArgumentException($"Port {i} is null.", nameof(ports));
            if (Array.IndexOf(_ports, port) != i)
            {
                throw new ArgumentException($"{port.DeviceName} is listed twice.", nameof(ports));
            }

            if (!ReferenceEquals(port.Pool, Pool))
            {
                throw new ArgumentException(
                    $"A loop's ports share one pool, so that a frame moves between them without a copy: {_ports[0].DeviceName} uses {Pool.Name}, {port.DeviceName} uses {port.Pool.Name}. Create the drivers over one pool sized for all their queues.",
                    nameof(ports));
            }

            _cores[i] = port as NetDriver;
            _counters[i] = new PacketPortCounters(port);
        }

        _handler = handler;
        Options = options;
        Name = options.Name ?? $"packet-loop-{Interlocked.Increment(ref s_lastNumber)}";
        _burst = options.BurstSize;
        _spinTicks = (long)(options.SpinDuration.TotalSeconds * Stopwatch.Frequency);
        _batch = new PacketBatch(this, _burst);
        _scratch = new NetBufPtr[_burst];
        _staged = new NetBufPtr[_ports.Length][];
        _stagedCount = new int[_ports.Length];
        _posted = new int[_ports.Length];
        _postTarget = new int[_ports.Length];
        for (int i = 0; i < _ports.Length; i++)
        {
            // A batch's frames and its new frames may all go to one port.
            _staged[i] = new NetBufPtr[2 * _burst];
            _postTarget[i] = Math.Min(options.PostedBuffersPerPort ?? _ports[i].RxQueueSize, _ports[i].RxQueueSize);
        }

        PacketLoopMetrics.Register(this);

    }

    /// <summary>Creates a loop whose handler is a delegate.</summary>
    /// <param name="ports">The drivers, each listed once, all over one pool.</param>
    /// <param name="handler">Decides what becomes of each frame (see <see cref="IPacketHandler.OnReceived"/>).</param>
    /// <param name="options">How the loop runs; the defaults when <see langword="null"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="ports"/> or <paramref name="handler"/> is null.</exception>
    /// <exception cref="ArgumentException">No port, a null one, one listed twice, or ports over different pools.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public PacketLoop(IReadOnlyList<INetDriver> ports, Action<PacketBatch> handler, PacketLoopOptions? options)
        : this(ports, new DelegateHandler(handler ?? throw new ArgumentNullException(nameof(handler))), options)
    {
    }

    /// <summary>Creates a loop with the default options whose handler is a delegate.</summary>
    /// <param name="ports">The drivers, each listed once, all over one pool.</param>
    /// <param name="handler">Decides what becomes of each frame (see <see cref="IPacketHandler.OnReceived"/>).</param>
    /// <exception cref="ArgumentNullException"><paramref name="ports"/> or <paramref name="handler"/> is null.</exception>
    /// <exception cref="ArgumentException">No port, a null one, one listed twice, or ports over different pools.</exception>
    public PacketLoop(IReadOnlyList<INetDriver> ports, Action<PacketBatch> handler)
        : this(ports, handler, null)
    {
    }

    /// <summary>Creates a loop with the default options.</summary>
    /// <param name="ports">The drivers, each listed once, all over one pool.</param>
    /// <param name="handler">Decides what becomes of each frame.</param>
    /// <exception cref="ArgumentNullException"><paramref name="ports"/> or <paramref name="handler"/> is null.</exception>
    /// <exception cref="ArgumentException">No port, a null one, one listed twice, or ports over different pools.</exception>
    public PacketLoop(IReadOnlyList<INetDriver> ports, IPacketHandler handler)
        : this(ports, handler, null)
    {
    }

    /// <summary>The ports, in the order given (a batch's port indexes).</summary>
    public IReadOnlyList<INetDriver> Ports => _ports;

    /// <summary>The pool every port's buffers come from.</summary>
    public NetBufPool Pool { get; }

    /// <summary>The loop's name (its thread's, with <see cref="Start"/>).</summary>
    public string Name { get; }

    /// <summary>How the loop runs.</summary>
    public PacketLoopOptions Options { get; }

    /// <summary>What the loop did with each port's frames, in port order.</summary>
    public IReadOnlyList<PacketPortCounters> Counters => _counters;

    /// <summary>Whether a run is in progress.</summary>
    public bool IsRunning => Volatile.Read(ref _running) != 0;

    /// <summary>The run <see cref="Start"/> began: completes when it ends, faulted with its exception if it failed;
    /// <see langword="null"/> before <see cref="Start"/>.</summary>
    public Task? Completion => Volatile.Read(ref _completion);

    /// <summary>
    /// One turn over the ports, without waiting: refills each port's receive queue, takes one burst from each, hands it to
    /// the handler and carries out its decisions, and recycles every port's sent buffers. For an application that runs
    /// its own loop (and for tests); <see cref="Run"/> repeats it.
    /// </summary>
    /// <returns>How many frames were received in the turn.</returns>
    /// <exception cref="NetDriverException">A port is disposed or its device gone (BadState); what the turn took was sent or
    /// freed.</exception>
    /// <exception cref="InvalidOperationException">A run is in progress on another thread.</exception>
    /// <exception cref="ObjectDisposedException">The loop is disposed.</exception>
    /// <remarks>Any exception of the handler is thrown after the batch's frames that it did not keep were freed.</remarks>
    public int RunOnce() => RunOnce(_burst);

    /// <summary>One turn, as <see cref="RunOnce()"/>, taking at most <paramref name="maxFrames"/> frames from each port (a caller's frame limit).</summary>
    internal int RunOnce(int maxFrames)
    {
        EnterRun();
        try
        {
            return Turn(Math.Clamp(maxFrames, 1, _burst));
        }
        finally
        {
            ExitRun();
        }
    }

    /// <summary>
    /// Runs turns on the calling thread until <see cref="Stop"/> is called or <paramref name="cancellationToken"/> is
    /// cancelled (then returns), or a port fails for good (then throws); idle turns spin or sleep as
    /// <see cref="PacketLoopOptions.PollingMode"/> says.
    /// </summary>
    /// <param name="cancellationToken">Stops the run (a normal return, not an exception).</param>
    /// <exception cref="NetDriverException">A port is disposed or its device gone (BadState), or the wait set's wake-up could
    /// not be made at the first sleep.</exception>
    /// <exception cref="InvalidOperationException">A run is in progress.</exception>
    /// <exception cref="ObjectDisposedException">The loop is disposed.</exception>
    /// <remarks>Any exception of the handler ends the run too; the loop holds no buffer when this returns or throws.</remarks>
    public void Run(CancellationToken cancellationToken = default)
    {
        EnterRun();
        RunEntered(cancellationToken);
    }

    /// <summary>The run <see cref="EnterRun"/> reserved: turns until a stop, then lets the reservation go.</summary>
    private void RunEntered(CancellationToken cancellationToken)
    {
        try
        {
            using CancellationTokenRegistration registration = cancellationToken.CanBeCanceled
                ? cancellationToken.UnsafeRegister(static state => ((PacketLoop)state!).Stop(), this)
                : default;
            PollingMode mode = Options.PollingMode;
            long idleSince = 0;
            while (Volatile.Read(ref _stopRequested) == 0)
            {
                if (Turn(_burst) > 0)
                {
                    idleSince = 0;
                    continue;
                }

                if (mode == PollingMode.BusyPoll)
                {
                    continue;
                }

                if (mode == PollingMode.Adaptive)
                {
                    long now = Stopwatch.GetTimestamp();
                    if (idleSince == 0)
                    {
                        idleSince = now;
                        continue;
                    }

                    if (now - idleSince < _spinTicks)
                    {
                        continue;
                    }
                }

                idleSince = 0;
                NetDriverWaitSet waitSet = WaitSet();
                if (Volatile.Read(ref _stopRequested) == 0)
                {
                    // A port whose software transmit queue still holds frames is looked at again within 1 ms (the queue
                    // moves at each recycle); otherwise the sleep lasts until a frame, a Stop or a device check.
                    _ = waitSet.WaitForReceive(HasPendingTransmit() ? NetDriverWaitSet.FallbackSlice : Timeout.InfiniteTimeSpan, CancellationToken.None);
                }
            }
        }
        finally
        {
            ExitRun();
        }
    }

    /// <summary>Runs the loop on a thread of its own (pinned to <see cref="PacketLoopOptions.Cpu"/> if given) until
    /// <see cref="Stop"/> or <see cref="Dispose"/>.</summary>
    /// <returns><see cref="Completion"/>: completes when the run ends, faulted with its exception if it failed.</returns>
    /// <exception cref="InvalidOperationException">A run is in progress.</exception>
    /// <exception cref="ObjectDisposedException">The loop is disposed.</exception>
    public Task Start()
    {
        // The run is reserved here, on the caller's thread, not when its thread gets going: a Stop (or Dispose) that
        // follows this call is a stop of this run, whenever the thread starts.
        EnterRun();
        var completion = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            Task? previous = Volatile.Read(ref _completion);
            if (previous is { IsCompleted: false } || Interlocked.CompareExchange(ref _completion, completion.Task, previous) != previous)
            {
                throw new InvalidOperationException($"{Name} is running already.");
            }

            var thread = new Thread(() =>
            {
                try
                {
                    if (Options.Cpu is int cpu)
                    {
                        ThreadAffinity.PinCurrentThread(cpu);
                    }
                }
                catch (Exception error)
                {
                    ExitRun();
                    completion.SetException(error);
                    return;
                }

                try
                {
                    RunEntered(CancellationToken.None);
                    completion.SetResult();
                }
                catch (Exception error)
                {
                    completion.SetException(error);
                }
            })
            {
                IsBackground = true,
                Name = Name,
            };
            thread.Start();
        }
        catch
        {
            ExitRun();
            throw;
        }

        return completion.Task;
    }

    /// <summary>Ends the run in progress after its current turn (a sleeping run wakes at once); the next run starts anew.</summary>
    /// <remarks>Thread-safe; returns at once (await <see cref="Completion"/> for a run of <see cref="Start"/>).</remarks>
    public void Stop()
    {
        // Full fence, then the wait set: either a run about to sleep sees the request, or this sees its wait set and
        // signals it (the signal lasts until a wait takes it); see WaitSet.
        Interlocked.Exchange(ref _stopRequested, 1);
        Volatile.Read(ref _waitSet)?.Wake();
    }

    /// <summary>Stops the run, waits up to 5 s for a run of <see cref="Start"/> to end, and releases the wait set (a run still
    /// in progress, e.g. one of <see cref="Run"/> on another thread, releases it as it ends). The ports stay open.</summary>
    /// <remarks>Thread-safe; calling it again does nothing. Not from the handler.</remarks>
    public void Dispose()
    {
        // Disposed first, then stopped (both full fences): a run entering meanwhile either sees the disposal and does not
        // start, or cleared its stop request before this Stop, which it then sees (see EnterRun).
        bool first = Interlocked.Exchange(ref _disposed, 1) == 0;
        Stop();
        if (!first)
        {
            return;
        }

        PacketLoopMetrics.Unregister(this);

        // 5 s: far beyond one turn (a burst per port and a sleep the Stop woke), short enough to finish a shutdown.
        // Waits on the task's handle, which does not throw a failed run's exception (Completion keeps it).
        if (Completion is IAsyncResult completion)
        {
            _ = completion.AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(5));
        }

        if (!IsRunning)
        {
            Volatile.Read(ref _waitSet)?.Dispose();
        }
    }

    /// <summary>Reserves the one run: clears an earlier stop request, then (after a full fence) looks for a disposal.</summary>
    /// <remarks>A stop request that comes after this call (a Stop after Start, or Dispose's) is the new run's.</remarks>
    private void EnterRun()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Interlocked.CompareExchange(ref _running, 1, 0) != 0)
        {
            throw new InvalidOperationException($"{Name} is running already: one run at a time.");
        }

        Interlocked.Exchange(ref _stopRequested, 0);
        if (Volatile.Read(ref _disposed) != 0)
        {
            ExitRun();
            throw new ObjectDisposedException(nameof(PacketLoop));
        }
    }

    /// <summary>Ends the run reserved by <see cref="EnterRun"/>; a loop disposed meanwhile releases its wait set here.</summary>
    /// <remarks>The other half of <see cref="Dispose"/>'s handshake (full fences both sides): Dispose sets the flag, then looks
    /// for a run; this ends the run, then looks for the flag. At least one of them sees the other and releases the set.</remarks>
    private void ExitRun()
    {
        Interlocked.Exchange(ref _running, 0);
        if (Volatile.Read(ref _disposed) != 0)
        {
            Volatile.Read(ref _waitSet)?.Dispose();
        }
    }

    /// <summary>The wait set of a run that slept, or <see langword="null"/> (tests read it).</summary>
    internal NetDriverWaitSet? WaitSetIfMade => Volatile.Read(ref _waitSet);

    /// <summary>Receive buffers posted to <paramref name="port"/> by this loop and not yet filled (as far as it knows).</summary>
    internal int PostedBuffers(int port) => _posted[port];

    private int Turn(int maxFrames)
    {
        int received = 0;
        for (int port = 0; port < _ports.Length; port++)
        {
            Refill(port);
            received += ReceiveAndProcess(port, maxFrames);
        }

        for (int port = 0; port < _ports.Length; port++)
        {
            Recycle(port);
        }

        return received;
    }

    /// <summary>The wait set a sleeping run uses, made at its first sleep (a loop driven by <see cref="RunOnce()"/> alone holds
    /// no descriptor). Published with a full fence, the other half of <see cref="Stop"/>'s handshake.</summary>
    private NetDriverWaitSet WaitSet()
    {
        NetDriverWaitSet? waitSet = Volatile.Read(ref _waitSet);
        if (waitSet is null)
        {
            waitSet = new NetDriverWaitSet(_ports);
            if (Interlocked.CompareExchange(ref _waitSet, waitSet, null) is { } other)
            {
                waitSet.Dispose();
                waitSet = other;
            }
        }

        return waitSet;
    }

    private bool HasPendingTransmit()
    {
        foreach (NetDriver? core in _cores)
        {
            if (core is not null && core.HasPendingTransmit)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Posts fresh buffers until the port holds its target (at once: a queue kept full takes a burst whenever one arrives).</summary>
    private void Refill(int port)
    {
        int want = _postTarget[port] - _posted[port];
        while (want > 0)
        {
            int count = Math.Min(want, _scratch.Length);
            Span<NetBufPtr> buffers = _scratch.AsSpan(0, count);

            // TryAllocBulk takes all or nothing: ask for less until the pool can give it.
            while (!Pool.TryAllocBulk(buffers))
            {
                if (buffers.Length == 1)
                {
                    _counters[port].AddPostShortfall();
                    return;
                }

                buffers = buffers[..(buffers.Length / 2)];
            }

            int accepted;
            try
            {
                accepted = Post(port, buffers);
            }
            catch (NetDriverException error)
            {
                FreeAll(buffers);
                Fail(port, error);
                return;
            }

            _posted[port] += accepted;
            FreeAll(buffers[accepted..]);
            if (accepted < buffers.Length)
            {
                // The driver's queue is full: buffers posted by someone else (an earlier loop) fill it too. Take it as
                // full, or every turn would allocate and free a burst; a frame received makes room that is refilled.
                _posted[port] = _postTarget[port];
                return;
            }

            want -= accepted;
        }
    }

    private int Post(int port, ReadOnlySpan<NetBufPtr> buffers)
    {
        if (_cores[port] is NetDriver core)
        {
            return core.RecycleRxBuffers(buffers);
        }

        int accepted = 0;
        while (accepted < buffers.Length && _ports[port].TryRecycleRxBuffer(buffers[accepted]))
        {
            accepted++;
        }

        return accepted;
    }

    private int ReceiveAndProcess(int port, int maxFrames)
    {
        int count;
        try
        {
            count = _ports[port].ReceiveBatch(_batch.ReceiveSpace[..maxFrames]);
        }
        catch (NetDriverException error)
        {
            Fail(port, error);
            return 0;
        }

        if (count == 0)
        {
            return 0;
        }

        _posted[port] = Math.Max(0, _posted[port] - count);
        _counters[port].AddReceived(count);
        _batch.Reset(port, count);
        try
        {
            _handler.OnReceived(_batch);
        }
        catch
        {
            ReleaseBatch();
            throw;
        }

        CarryOut();
        return count;
    }

    /// <summary>Stages every decided frame for its port, frees the dropped ones, and transmits what was staged.</summary>
    private void CarryOut()
    {
        ReadOnlySpan<NetBufPtr> frames = _batch.Frames;
        ReadOnlySpan<int> verdicts = _batch.Verdicts;
        int dropped = 0;
        for (int i = 0; i < frames.Length; i++)
        {
            int verdict = verdicts[i];
            if (verdict >= 0)
            {
                _staged[verdict][_stagedCount[verdict]++] = frames[i];
            }
            else if (verdict == PacketBatch.DropVerdict)
            {
                _ = Pool.TryFree(frames[i]);
                dropped++;
            }
        }

        _counters[_batch.Port].AddHandlerDrops(dropped);
        ReadOnlySpan<NetBufPtr> sends = _batch.Sends;
        ReadOnlySpan<int> sendPorts = _batch.SendPorts;
        for (int i = 0; i < sends.Length; i++)
        {
            _staged[sendPorts[i]][_stagedCount[sendPorts[i]]++] = sends[i];
        }

        _batch.Clear();
        NetDriverException? fatal = null;
        for (int port = 0; port < _ports.Length; port++)
        {
            if (_stagedCount[port] > 0)
            {
                try
                {
                    Flush(port);
                }
                catch (NetDriverException error)
                {
                    // Every port's staged frames are sent or freed before the run ends.
                    fatal ??= error;
                }
            }
        }

        if (fatal is not null)
        {
            throw fatal;
        }
    }

    /// <summary>Transmits a port's staged frames; what it does not take after one recycle is dropped.</summary>
    /// <exception cref="NetDriverException">The port is disposed or gone (BadState); the staged frames were freed.</exception>
    private void Flush(int port)
    {
        Span<NetBufPtr> staged = _staged[port].AsSpan(0, _stagedCount[port]);
        _stagedCount[port] = 0;
        int sent = 0;
        try
        {
            sent = Transmit(port, staged);
            if (sent < staged.Length)
            {
                Recycle(port);
                sent += Transmit(port, staged[sent..]);
            }
        }
        catch (NetDriverException)
        {
            // The run ends: what the port did not take goes back (a frame freed already is skipped: its pointer is stale).
            FreeAll(staged[sent..]);
            throw;
        }

        if (sent < staged.Length)
        {
            FreeAll(staged[sent..]);
            _counters[port].AddTxFullDrops(staged.Length - sent);
        }

        staged.Clear();
    }

    /// <summary>Transmits <paramref name="frames"/> on a port.</summary>
    /// <returns>How many the port took, plus those it refused (freed and counted): the rest found the queue full.</returns>
    private int Transmit(int port, Span<NetBufPtr> frames)
    {
        try
        {
            int taken = _ports[port].TransmitBatch(frames);
            _counters[port].AddTransmitted(taken);
            return taken;
        }
        catch (NetDriverException error) when (error.Kind == NetDriverErrorKind.InvalidParam && frames.Length > 1)
        {
            // A frame the port refuses (one too long for its MTU) fails the whole call before anything is taken: send
            // one at a time, so that only the refused ones drop.
            int done = 0;
            while (done < frames.Length && Transmit(port, frames.Slice(done, 1)) == 1)
            {
                done++;
            }

            return done;
        }
        catch (NetDriverException error)
        {
            FreeAll(frames);
            _counters[port].AddTxErrorDrops(frames.Length);
            Fail(port, error);
            return frames.Length;
        }
    }

    private void Recycle(int port)
    {
        try
        {
            _ = _ports[port].RecycleTxBuffers();
        }
        catch (NetDriverException error)
        {
            Fail(port, error);
        }
    }

    /// <summary>Counts a port's error and goes on, unless the port is disposed or gone: then the run ends with it.</summary>
    private void Fail(int port, NetDriverException error)
    {
        _counters[port].AddError(error);
        if (error.Kind == NetDriverErrorKind.BadState)
        {
            ReleaseStaged();
            throw error;
        }
    }

    /// <summary>After the handler threw: frees the batch's frames it did not keep and its new frames.</summary>
    private void ReleaseBatch()
    {
        ReadOnlySpan<NetBufPtr> frames = _batch.Frames;
        ReadOnlySpan<int> verdicts = _batch.Verdicts;
        for (int i = 0; i < frames.Length; i++)
        {
            if (verdicts[i] != PacketBatch.KeptVerdict)
            {
                _ = Pool.TryFree(frames[i]);
            }
        }

        FreeAll(_batch.Sends);
        _batch.Clear();
    }

    private void ReleaseStaged()
    {
        for (int port = 0; port < _ports.Length; port++)
        {
            FreeAll(_staged[port].AsSpan(0, _stagedCount[port]));
            _stagedCount[port] = 0;
        }
    }

    /// <summary>Returns buffers the loop owns to the pool; one no longer current (a handler freed it itself) is skipped.</summary>
    private void FreeAll(ReadOnlySpan<NetBufPtr> buffers)
    {
        foreach (NetBufPtr buffer in buffers)
        {
            _ = Pool.TryFree(buffer);
        }
    }

    private sealed class DelegateHandler(Action<PacketBatch> handler) : IPacketHandler
    {
        public void OnReceived(PacketBatch batch) => handler(batch);
    }
}
