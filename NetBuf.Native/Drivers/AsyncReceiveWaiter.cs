using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using NetBufNative.Drivers.Linux;

namespace NetBufNative.Drivers;

/// <summary>
/// The reusable <see cref="IValueTaskSource{TResult}"/> behind an asynchronous receive wait (one per driver or wait set,
/// made at its first async wait): a steady-state wait allocates nothing. A wait is a series of rounds; a round holds the
/// drivers' use counts, keeps a loopback driver's wake-up armed and has the descriptors registered with the
/// <see cref="AsyncWaitReactor"/> (Linux), and ends when something happens: a frame (or a disposal) made a descriptor
/// readable or a loopback peer signalled, the deadline or a device check came (<see cref="AsyncWaitTimer"/>), or the
/// token was cancelled.
/// </summary>
/// <remarks>
/// <para>
/// Whoever notices something sets a bit in <c>_pending</c> and tries to take the waiter (<c>Armed</c> to <c>Busy</c>);
/// the one that takes it ends the round and completes the wait, or, for a device check, looks at the drivers
/// (<see cref="Look"/>: driver code, run for the caller, who is awaiting and so calls nothing) and starts the next round.
/// A bit set while the waiter is busy is taken by the holder's loop once it arms again, so nothing is lost. The reactor
/// thread only ever completes (it runs no driver code); a check runs on the timer's thread-pool thread, or on a
/// thread-pool work item for a descriptor that reported an error.
/// </para>
/// <para>
/// Thread safety: one wait at a time (the thread that uses the drivers starts it); the notifications come from any thread.
/// </para>
/// </remarks>
internal abstract class AsyncReceiveWaiter : IValueTaskSource<bool>, IThreadPoolWorkItem
{
    private const int Idle = 0;
    private const int Armed = 1;
    private const int Busy = 2;

    private const int ReadyBit = 1;
    private const int DueBit = 2;
    private const int CancelBit = 4;
    private const int ErrorBit = 8;

    private static readonly Action<object?, CancellationToken> s_onCanceled =
        static (state, token) => ((AsyncReceiveWaiter)state!).OnCanceled(token);

    private readonly int[] _registered;
    private ManualResetValueTaskSourceCore<bool> _core;
    private int _state;
    private int _pending;
    private int _registeredCount;
    private ulong _key;
    private long _deadline;
    private long _checkPeriod;
    private CancellationToken _token;
    private CancellationTokenRegistration _registration;

    /// <summary>Creates a waiter whose rounds register at most <paramref name="maxDescriptors"/> descriptors.</summary>
    protected AsyncReceiveWaiter(int maxDescriptors)
    {
        _registered = new int[maxDescriptors];
        _core.RunContinuationsAsynchronously = true;
    }

    /// <summary>Where the waiter is in <see cref="AsyncWaitTimer"/>'s heap (-1: not there); guarded by the timer's lock.</summary>
    internal int TimerIndex { get; set; } = -1;

    /// <summary>When the timer is to notify the waiter (<see cref="Environment.TickCount64"/>); guarded by the timer's lock.</summary>
    internal long TimerDue { get; set; }

    /// <summary>What the waiter is for, for messages.</summary>
    protected abstract string Owner { get; }

    /// <inheritdoc/>
    public bool GetResult(short token) => _core.GetResult(token);

    /// <inheritdoc/>
    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    /// <inheritdoc/>
    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    /// <summary>A descriptor reported an error: the check runs on the thread pool, not on the reactor thread.</summary>
    void IThreadPoolWorkItem.Execute() => TryProcess();

    /// <summary>
    /// Starts a wait: the first round, then (unless it is ready at once) the timer and the token's registration.
    /// </summary>
    /// <param name="timeout">Validated: non-negative or infinite.</param>
    /// <param name="checkPeriod">How often to run <see cref="Look"/> while nothing happens; <see cref="Timeout.InfiniteTimeSpan"/> for never.</param>
    /// <param name="cancellationToken">Ends the wait with <see cref="OperationCanceledException"/>.</param>
    /// <returns>The wait: completed already when something was ready (or <paramref name="timeout"/> is zero).</returns>
    /// <exception cref="InvalidOperationException">A wait of this waiter is in progress.</exception>
    /// <exception cref="NetDriverException">The first round failed (a disposed driver: BadState; <c>epoll_ctl</c>).</exception>
    internal ValueTask<bool> Start(TimeSpan timeout, TimeSpan checkPeriod, CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _state, Busy, Idle) != Idle)
        {
            ThrowInProgress();
        }

        bool ready;
        try
        {
            _pending = 0;
            _deadline = timeout == Timeout.InfiniteTimeSpan ? long.MaxValue : Environment.TickCount64 + (long)Math.Ceiling(timeout.TotalMilliseconds);
            _checkPeriod = checkPeriod == Timeout.InfiniteTimeSpan ? 0 : Math.Max(1, (long)checkPeriod.TotalMilliseconds);
            ready = BeginRound();
            if (ready)
            {
                Exception? error = Completed();
                if (error is not null)
                {
                    throw error;
                }
            }
            else if (timeout == TimeSpan.Zero)
            {
                // A look only: nothing is ready now.
                EndRound();
            }
        }
        catch
        {
            Volatile.Write(ref _state, Idle);
            throw;
        }

        if (ready || timeout == TimeSpan.Zero)
        {
            Volatile.Write(ref _state, Idle);
            return new ValueTask<bool>(ready);
        }

        _core.Reset();
        _token = cancellationToken;
        if (cancellationToken.CanBeCanceled)
        {
            // Registered while busy, so no completer can race the field; a token cancelled already calls back at once,
            // which sets the bit for the loop below.
            _registration = cancellationToken.UnsafeRegister(s_onCanceled, this);
        }

        short version = _core.Version;
        Arm();
        TryProcess();
        return new ValueTask<bool>(this, version);
    }

    /// <summary>Something may be ready (a loopback peer's frame, a wait set's wake-up, a driver's disposal). Thread-safe.</summary>
    internal void OnReady()
    {
        Interlocked.Or(ref _pending, ReadyBit);
        TryProcess();
    }

    /// <summary>The reactor saw an event of the round <paramref name="key"/>. Thread-safe.</summary>
    internal void OnDescriptorReady(ulong key, bool error)
    {
        if (Volatile.Read(ref _key) != key)
        {
            return;
        }

        if (error)
        {
            // A device that may be gone: the check is driver code, so it runs on the thread pool, not on the reactor.
            Interlocked.Or(ref _pending, ErrorBit);
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
            return;
        }

        OnReady();
    }

    /// <summary>The timer's due time came. Thread-safe.</summary>
    internal void OnDue()
    {
        Interlocked.Or(ref _pending, DueBit);
        TryProcess();
    }

    /// <summary>
    /// Starts a round: enters the drivers' use counts, arms their wake-ups and writes the descriptors to register.
    /// </summary>
    /// <param name="descriptors">Room for the descriptors (the size given to the constructor).</param>
    /// <param name="count">How many were written.</param>
    /// <returns><see langword="true"/> when something is ready now. <see cref="End"/> is called after it either way
    /// (unless it throws, having entered nothing).</returns>
    protected abstract bool Begin(Span<PollFd> descriptors, out int count);

    /// <summary>Ends a round begun by <see cref="Begin"/>: disarms the wake-ups and exits the use counts. Any thread; never throws.</summary>
    protected abstract void End();

    /// <summary>Between rounds, on behalf of the awaiting caller: asks whether the devices are still there and whether a
    /// frame waits where no descriptor says so.</summary>
    /// <returns><see langword="true"/> when the wait is to complete with <see langword="true"/>.</returns>
    /// <exception cref="NetDriverException">A device is gone or a driver is disposed (BadState).</exception>
    protected abstract bool Look();

    /// <summary>After a ready round ended: the error to complete with instead of <see langword="true"/> (a disposed
    /// driver), or null; and clean-up of the readiness (a wait set's wake-up). Never throws.</summary>
    protected abstract Exception? Completed();

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowInProgress() =>
        throw new InvalidOperationException("An async wait is in progress already: one wait at a time, the next once its ValueTask completed.");

    private void OnCanceled(CancellationToken token)
    {
        // A registration of an earlier wait with another token (it was left registered while it ran) is ignored.
        if (token == _token)
        {
            Interlocked.Or(ref _pending, CancelBit);
            TryProcess();
        }
    }

    /// <summary>Schedules the next due time and marks the waiter armed (the caller then runs <see cref="TryProcess"/>).</summary>
    private void Arm()
    {
        long due = _deadline;
        if (_checkPeriod != 0)
        {
            due = Math.Min(due, Environment.TickCount64 + _checkPeriod);
        }

        if (due != long.MaxValue)
        {
            AsyncWaitTimer.Schedule(this, due);
        }

        // Full fence: the state is visible before the pending bits and the token are read again.
        Interlocked.Exchange(ref _state, Armed);
        if (_token.IsCancellationRequested)
        {
            Interlocked.Or(ref _pending, CancelBit);
        }
    }

    /// <summary>Takes the waiter if something is pending, and handles it until nothing is (or the wait completed).</summary>
    private void TryProcess()
    {
        while (Volatile.Read(ref _pending) != 0 && Interlocked.CompareExchange(ref _state, Busy, Armed) == Armed)
        {
            int bits = Interlocked.Exchange(ref _pending, 0);
            EndRound();
            Process(bits);
        }
    }

    /// <summary>Handles <paramref name="bits"/> after the round ended: completes the wait, or starts the next round and arms.</summary>
    private void Process(int bits)
    {
        try
        {
            if ((bits & CancelBit) != 0 || _token.IsCancellationRequested)
            {
                Finish(false, new OperationCanceledException(_token));
                return;
            }

            if ((bits & ReadyBit) != 0)
            {
                Finish(true, Completed());
                return;
            }

            bool error = (bits & ErrorBit) != 0;
            if (!error && Environment.TickCount64 >= _deadline)
            {
                Finish(false, null);
                return;
            }

            // A device check (or a descriptor's error: the device said something, so the wait ends unless it is gone).
            if (Look() || error)
            {
                Finish(true, null);
                return;
            }

            if (BeginRound())
            {
                Finish(true, Completed());
                return;
            }

            Arm();
        }
        catch (Exception failure)
        {
            Finish(false, failure);
        }
    }

    /// <summary>Completes the wait (the waiter is busy and no round is open).</summary>
    private void Finish(bool result, Exception? error)
    {
        _registration.Unregister();
        _registration = default;
        _token = default;

        // Idle before the completion: the continuation may start the next wait at once.
        Volatile.Write(ref _state, Idle);
        if (error is not null)
        {
            _core.SetException(error);
        }
        else
        {
            _core.SetResult(result);
        }
    }

    /// <summary>Begins a round and registers its descriptors; on readiness (or failure) the round is ended already.</summary>
    [SkipLocalsInit]
    private bool BeginRound()
    {
        Span<PollFd> descriptors = stackalloc PollFd[_registered.Length];
        bool ready = Begin(descriptors, out int count);
        try
        {
            if (!ready && count > 0)
            {
                Register(descriptors[..count]);
            }
        }
        catch
        {
            End();
            throw;
        }

        if (ready)
        {
            End();
        }

        return ready;
    }

    private void Register(ReadOnlySpan<PollFd> descriptors)
    {
        AsyncWaitReactor reactor = AsyncWaitReactor.Shared;
        ulong key = reactor.Enlist(this);
        Volatile.Write(ref _key, key);
        try
        {
            foreach (PollFd descriptor in descriptors)
            {
                reactor.Add(descriptor.Fd, (ushort)descriptor.Events, key, Owner);
                _registered[_registeredCount++] = descriptor.Fd;
            }
        }
        catch
        {
            Unregister();
            throw;
        }
    }

    private void Unregister()
    {
        ulong key = _key;
        if (key == 0)
        {
            return;
        }

        // The key first: an event of this round that the reactor reads from now on is ignored.
        Volatile.Write(ref _key, 0);
        AsyncWaitReactor reactor = AsyncWaitReactor.Shared;
        for (int i = 0; i < _registeredCount; i++)
        {
            reactor.Remove(_registered[i]);
        }

        _registeredCount = 0;
        reactor.Discharge(key);
    }

    /// <summary>Ends the open round: off the timer, descriptors out of the reactor (they are still open: the use counts
    /// are held until <see cref="End"/>), then the drivers let go.</summary>
    private void EndRound()
    {
        AsyncWaitTimer.Cancel(this);
        Unregister();
        End();
    }
}
