using NetBufNative.Drivers.Linux;

namespace NetBufNative.Drivers;

/// <summary>The asynchronous wait of a wait set: <see cref="WaitForReceiveAsync"/> and its reusable waiter.</summary>
public sealed partial class NetDriverWaitSet
{
    private SetWaiter? _asyncWaiter;

    /// <summary>
    /// Waits until any driver may have a received frame, the set is woken (<see cref="Wake"/>), or the timeout passes, as
    /// <see cref="WaitForReceive"/>, without blocking a thread: the drivers' descriptors are watched by one process-wide
    /// thread asleep in <c>epoll_wait</c>, loopback drivers are completed by their peers' transmits.
    /// </summary>
    /// <param name="timeout">How long to wait at most; <see cref="Timeout.InfiniteTimeSpan"/> for no limit; <see cref="TimeSpan.Zero"/> to look only.</param>
    /// <param name="cancellationToken">Ends the wait early.</param>
    /// <returns><see langword="true"/> when a driver may have a frame, one was disposed (its next call says so), or the set was
    /// woken; <see langword="false"/> when the timeout passed.</returns>
    /// <remarks>
    /// A steady-state wait allocates nothing (one reusable source per set; the timeout is an entry in a shared deadline
    /// heap); a cancellable token's registration may allocate. Every <see cref="CheckInterval"/> the set asks whether the
    /// devices of AF_PACKET and AF_XDP drivers are still there, on a thread-pool thread while the caller awaits; a driver not
    /// derived from <see cref="NetDriver"/> (or one with neither a descriptor nor a wake-up of its own) is looked at every
    /// <see cref="FallbackSlice"/>. One wait at a time; call no driver of the set until it completed.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative and not infinite.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (before or during the wait).</exception>
    /// <exception cref="ObjectDisposedException">The set is disposed.</exception>
    /// <exception cref="NetDriverException">A driver's device is gone (BadState), or the wait could not be registered (<c>epoll_ctl</c>).</exception>
    /// <exception cref="InvalidOperationException">Another async wait of this set, or of one of its drivers, is in progress.</exception>
    public ValueTask<bool> WaitForReceiveAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
        }

        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        if (timeout == TimeSpan.Zero)
        {
            // A look only: the synchronous one does not sleep.
            return new ValueTask<bool>(WaitForReceive(TimeSpan.Zero, cancellationToken));
        }

        SetWaiter waiter = _asyncWaiter ??= new SetWaiter(this);
        return waiter.Start(timeout, waiter.CheckPeriod, cancellationToken);
    }

    /// <summary>A set's waiter: a round holds every driver's use count, with their descriptors and the set's wake-up registered.</summary>
    private sealed class SetWaiter : AsyncReceiveWaiter
    {
        private readonly NetDriverWaitSet _set;
        private int _entered;

        internal SetWaiter(NetDriverWaitSet set)
            : base((set._drivers.Length * NetDriver.MaxWaitDescriptors) + 1)
        {
            _set = set;
            bool checks = false;
            bool slices = false;
            foreach (NetDriver? core in set._cores)
            {
                checks |= core is not null && core.NeedsDeviceChecks;
                slices |= core is null || !(core.SignalsAsyncWaits || (core.HasWaitDescriptors && OperatingSystem.IsLinux()));
            }

            CheckPeriod = slices ? FallbackSlice : checks ? CheckInterval : Timeout.InfiniteTimeSpan;
        }

        /// <summary>How often the set is looked at while nothing wakes it (fixed by its drivers' kinds).</summary>
        internal TimeSpan CheckPeriod { get; }

        protected override string Owner => "a wait set";

        protected override bool Begin(Span<PollFd> descriptors, out int count)
        {
            count = 0;
            bool ready = false;
            try
            {
                for (; _entered < _set._drivers.Length; _entered++)
                {
                    NetDriver? core = _set._cores[_entered];
                    if (core is null)
                    {
                        ready |= _set._drivers[_entered].CanReceive;
                        continue;
                    }

                    if (!core.TryEnterWait())
                    {
                        // Disposed: its next call says so (as the synchronous wait).
                        return true;
                    }

                    if (core.SignalsAsyncWaits)
                    {
                        try
                        {
                            ready |= core.ArmAsyncWait(this);
                        }
                        catch
                        {
                            // Refused (the driver is in another async wait): this one is let go here, the others by End.
                            core.ExitWait();
                            throw;
                        }
                    }
                    else
                    {
                        ready |= core.HasBufferedFrames;
                        count += core.GetWaitDescriptors(descriptors[count..]);
                    }
                }
            }
            catch
            {
                End();
                throw;
            }

            if (_set._waker is not null)
            {
                descriptors[count++] = new PollFd { Fd = _set._waker.Fd, Events = LinuxConstants.POLLIN };
            }
            else
            {
                ready |= _set._fallbackWake!.IsSet;
            }

            return ready;
        }

        protected override void End()
        {
            for (int i = 0; i < _entered; i++)
            {
                NetDriver? core = _set._cores[i];
                if (core is not null)
                {
                    if (core.SignalsAsyncWaits)
                    {
                        core.DisarmAsyncWait(this);
                    }

                    core.ExitWait();
                }
            }

            _entered = 0;
        }

        protected override bool Look()
        {
            for (int i = 0; i < _set._drivers.Length; i++)
            {
                NetDriver? core = _set._cores[i];
                if (core is not null)
                {
                    if (!core.TryEnterWait())
                    {
                        return true;
                    }

                    try
                    {
                        core.CheckDevice();
                    }
                    finally
                    {
                        core.ExitWait();
                    }
                }

                if (_set._drivers[i].CanReceive)
                {
                    return true;
                }
            }

            return false;
        }

        protected override Exception? Completed()
        {
            _set._waker?.Drain();
            _set._fallbackWake?.Reset();
            return null;
        }
    }
}
