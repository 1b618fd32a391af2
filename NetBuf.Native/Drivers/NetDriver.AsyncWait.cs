using NetBufNative.Drivers.Linux;

namespace NetBufNative.Drivers;

/// <summary>The asynchronous receive wait of every driver: <see cref="WaitForReceiveAsync"/> and its reusable waiter.</summary>
public abstract partial class NetDriver
{
    private ReceiveWaiter? _receiveWaiter;

    /// <summary>
    /// Waits until a frame may be received, as <see cref="WaitForReceive"/>, without blocking a thread: for a driver served
    /// by a service's async loop (ASP.NET Core, a worker service). The drivers with a descriptor (TAP, AF_PACKET, AF_XDP)
    /// are watched by one process-wide thread asleep in <c>epoll_wait</c>; the loopback driver is completed by its peer's
    /// transmit. The continuation runs on the thread pool (or the captured context), never on the thread that noticed the frame.
    /// </summary>
    /// <param name="timeout">How long to wait at most; <see cref="Timeout.InfiniteTimeSpan"/> for no limit; <see cref="TimeSpan.Zero"/> to look only.</param>
    /// <param name="cancellationToken">Ends the wait early.</param>
    /// <returns><see langword="true"/> when a frame may be waiting (<see cref="ReceiveBatch"/> can still return 0), or a device
    /// error waits for the next call; <see langword="false"/> when the timeout passed, or at once when the driver has no receive
    /// buffer posted (nothing could arrive).</returns>
    /// <remarks>
    /// <para>
    /// A steady-state wait allocates nothing: the <see cref="ValueTask{TResult}"/> is backed by one reusable source per driver
    /// (made at the first wait that does not complete at once), the timeout is an entry in a shared deadline heap, and a
    /// wait that completes at once returns a completed <see cref="ValueTask{TResult}"/>. A cancellable token's registration
    /// is the token source's (<see cref="CancellationToken.UnsafeRegister(Action{object?, CancellationToken}, object?)"/>), which
    /// may allocate. On AF_PACKET and AF_XDP the wait asks every 100 ms (<see cref="NetDriverWaitSet.CheckInterval"/>) whether the
    /// interface is still there, on a thread-pool thread while the caller awaits.
    /// </para>
    /// <para>
    /// Thread safety: the wait is a use of the driver by its one thread: await it before the next call (but
    /// <see cref="Dispose"/>, which ends it with BadState at once, and the counters). One wait at a time; a
    /// <see cref="ValueTask{TResult}"/> is awaited once.
    /// </para>
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative and not infinite.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (before or during the wait).</exception>
    /// <exception cref="NetDriverException">The driver is disposed, before or during the wait (BadState); its device is gone
    /// (BadState: deleted, or moved to another namespace); or the wait could not be registered (<c>epoll_ctl</c>).</exception>
    /// <exception cref="InvalidOperationException">Another async wait of this driver (or of a wait set over it) is in progress.</exception>
    public ValueTask<bool> WaitForReceiveAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        CheckTimeout(timeout);
        cancellationToken.ThrowIfCancellationRequested();
        TimeSpan checkPeriod;
        Enter();
        try
        {
            if (_pendingError is not null)
            {
                return new ValueTask<bool>(true);
            }

            ThrowIfGone();
            CheckDevice();
            if (HasReceived())
            {
                return new ValueTask<bool>(true);
            }

            if (timeout == TimeSpan.Zero || !CanReceiveLater)
            {
                return new ValueTask<bool>(false);
            }

            checkPeriod = NeedsDeviceChecks ? NetDriverWaitSet.CheckInterval
                : SignalsAsyncWaits || HasWaitDescriptors ? Timeout.InfiniteTimeSpan
                : NetDriverWaitSet.FallbackSlice;
        }
        finally
        {
            Exit();
        }

        return (_receiveWaiter ??= new ReceiveWaiter(this)).Start(timeout, checkPeriod, cancellationToken);
    }

    /// <summary>A driver's waiter: a round holds the use count and has the driver's descriptors (or its own wake-up) armed.</summary>
    private sealed class ReceiveWaiter(NetDriver driver) : AsyncReceiveWaiter(MaxWaitDescriptors)
    {
        protected override string Owner => driver.DeviceName;

        protected override bool Begin(Span<PollFd> descriptors, out int count)
        {
            count = 0;
            if (!driver.TryEnter())
            {
                driver.ThrowDisposed();
            }

            if (driver.SignalsAsyncWaits)
            {
                try
                {
                    return driver.ArmAsyncWait(this);
                }
                catch
                {
                    // Refused (another wait is armed): nothing stays entered.
                    driver.Exit();
                    throw;
                }
            }

            count = driver.GetWaitDescriptors(descriptors);
            return false;
        }

        protected override void End()
        {
            if (driver.SignalsAsyncWaits)
            {
                driver.DisarmAsyncWait(this);
            }

            // From whichever thread ended the round: the driver's own thread is awaiting, so it writes nothing meanwhile.
            driver.Exit();
        }

        protected override bool Look()
        {
            driver.Enter();
            try
            {
                if (driver._pendingError is not null)
                {
                    return true;
                }

                driver.ThrowIfGone();
                driver.CheckDevice();
                return driver.HasReceived();
            }
            finally
            {
                driver.Exit();
            }
        }

        protected override Exception? Completed() => driver.IsDisposed ? driver.DisposedError() : null;
    }
}
