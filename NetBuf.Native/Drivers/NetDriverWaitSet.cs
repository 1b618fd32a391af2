using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NetBufNative.Drivers.Linux;

namespace NetBufNative.Drivers;

/// <summary>
/// Sleeps until any of several drivers may have a received frame: one <c>poll</c> over every driver's descriptor, so a
/// thread that serves two ports (a forwarder) sleeps without spinning and wakes at once on either. The drivers of this
/// library all take part: TAP, AF_PACKET and AF_XDP by their descriptors, the loopback driver by a wake-up its peer's
/// transmit signals.
/// </summary>
/// <remarks>
/// <para>
/// A driver of another kind (an <see cref="INetDriver"/> not derived from <see cref="NetDriver"/>), or any driver off Linux,
/// is looked at every <see cref="FallbackSlice"/> instead (<see cref="INetDriver.CanReceive"/>). Every
/// <see cref="CheckInterval"/> of sleep the set asks each driver whether its device is still there, since a deleted
/// interface wakes no descriptor on some devices (AF_XDP, and a packet socket whose error was already reported).
/// </para>
/// <para>
/// Thread safety: <see cref="WaitForReceive"/> and <see cref="WaitForReceiveAsync"/> are for one thread at a time (the thread
/// that uses the drivers, which calls no driver while an async wait is pending);
/// <see cref="Wake"/> may be called from any thread, and <see cref="Dispose"/> once no wait is in progress. A driver
/// disposed during a wait wakes it (the wait returns <see langword="true"/>, and that driver's next call throws).
/// </para>
/// </remarks>
public sealed unsafe partial class NetDriverWaitSet : IDisposable
{
    /// <summary>How often a sleeping set looks whether its drivers' devices are still there: 100 ms, the AF_XDP
    /// driver's own link check, so a deleted interface ends a wait without a limit within about that long.</summary>
    public static readonly TimeSpan CheckInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>How often a driver without a descriptor is looked at: 1 ms, the shortest sleep <c>poll</c> offers.</summary>
    public static readonly TimeSpan FallbackSlice = TimeSpan.FromMilliseconds(1);

    private readonly INetDriver[] _drivers;
    private readonly NetDriver?[] _cores;
    private readonly WakeEvent? _waker;
    private readonly ManualResetEventSlim? _fallbackWake;
    private int _disposed;

    /// <summary>Creates a set over <paramref name="drivers"/> (it does not own them: disposing the set leaves them open).</summary>
    /// <param name="drivers">One or more drivers, each listed once.</param>
    /// <exception cref="ArgumentException">No driver, a null one, or one listed twice.</exception>
    /// <exception cref="NetDriverException">The wake-up eventfd could not be made (NoMemory or Io, with the errno).</exception>
    public NetDriverWaitSet(params ReadOnlySpan<INetDriver> drivers)
    {
        if (drivers.IsEmpty)
        {
            throw new ArgumentException("A wait set needs at least one driver.", nameof(drivers));
        }

        _drivers = drivers.ToArray();
        _cores = new NetDriver?[_drivers.Length];
        for (int i = 0; i < _drivers.Length; i++)
        {
            if (_drivers[i] is null)
            {
                throw new ArgumentException($"Driver {i} is null.", nameof(drivers));
            }

            if (Array.IndexOf(_drivers, _drivers[i]) != i)
            {
                throw new ArgumentException($"{_drivers[i].DeviceName} is listed twice.", nameof(drivers));
            }

            _cores[i] = _drivers[i] as NetDriver;
        }

        if (OperatingSystem.IsLinux())
        {
            _waker = new WakeEvent("a wait set's wake-up");
        }
        else
        {
            _fallbackWake = new ManualResetEventSlim(false);
        }
    }

    /// <summary>Whether <see cref="Dispose"/> was called (tests read it).</summary>
    internal bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>The drivers the set waits on, in the order given.</summary>
    public IReadOnlyList<INetDriver> Drivers => _drivers;

    /// <summary>Waits until any driver may have a received frame, the set is woken (<see cref="Wake"/>), or the timeout passes.</summary>
    /// <param name="timeout">How long to wait at most; <see cref="Timeout.InfiniteTimeSpan"/> for no limit; <see cref="TimeSpan.Zero"/> to look only.</param>
    /// <param name="cancellationToken">Ends the wait early.</param>
    /// <returns><see langword="true"/> when a driver may have a frame (its <c>ReceiveBatch</c> can still return 0), one was
    /// disposed (its next call says so), or the set was woken; <see langword="false"/> when the timeout passed.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative and not infinite.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The set is disposed.</exception>
    /// <exception cref="NetDriverException">A driver's device is gone (BadState: deleted, or moved to another namespace), or
    /// <c>poll</c> failed.</exception>
    public bool WaitForReceive(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
        }

        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        using CancellationTokenRegistration registration = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static state => ((NetDriverWaitSet)state!).Wake(), this)
            : default;
        long start = Stopwatch.GetTimestamp();
        long lastCheck = start;
        while (true)
        {
            TimeSpan left = timeout == Timeout.InfiniteTimeSpan ? Timeout.InfiniteTimeSpan : timeout - Stopwatch.GetElapsedTime(start);
            if (left != Timeout.InfiniteTimeSpan && left < TimeSpan.Zero)
            {
                left = TimeSpan.Zero;
            }

            Sleep outcome = _waker is not null ? SleepOnDescriptors(left) : SleepInSlices(left);
            cancellationToken.ThrowIfCancellationRequested();
            if (outcome == Sleep.Ready)
            {
                return true;
            }

            if (left == TimeSpan.Zero || (left != Timeout.InfiniteTimeSpan && Stopwatch.GetElapsedTime(start) >= timeout))
            {
                return false;
            }

            if (Stopwatch.GetElapsedTime(lastCheck) >= CheckInterval)
            {
                lastCheck = Stopwatch.GetTimestamp();
                foreach (NetDriver? core in _cores)
                {
                    core?.CheckDevice();
                }
            }
        }
    }

    /// <summary>Makes the wait in progress (or, if none, the next one) return <see langword="true"/> at once.</summary>
    /// <remarks>Thread-safe; does nothing once the set is disposed.</remarks>
    public void Wake()
    {
        _waker?.Signal();
        _fallbackWake?.Set();

        // Off Linux an async wait has no descriptor to be woken by (on Linux the waker's eventfd is registered too).
        Volatile.Read(ref _asyncWaiter)?.OnReady();
    }

    /// <summary>Releases the wake-up descriptor. The drivers stay open. Calling it again does nothing.</summary>
    /// <remarks>Not while a wait is in progress on another thread.</remarks>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _waker?.Dispose();
        }
    }

    /// <summary>One <c>poll</c> over every driver's descriptors and the wake-up, for at most <see cref="CheckInterval"/>.</summary>
    [SkipLocalsInit]
    private Sleep SleepOnDescriptors(TimeSpan left)
    {
        int capacity = (_drivers.Length * NetDriver.MaxWaitDescriptors) + 1;
        PollFd* polls = stackalloc PollFd[capacity];
        int count = 0;
        int entered = 0;
        bool ready = false;
        bool slices = false;
        try
        {
            for (; entered < _drivers.Length; entered++)
            {
                NetDriver? core = _cores[entered];
                if (core is null)
                {
                    slices = true;
                    ready |= _drivers[entered].CanReceive;
                    continue;
                }

                if (!core.TryEnterWait())
                {
                    // Disposed: its next call says so.
                    return Sleep.Ready;
                }

                ready |= core.ArmWait(_waker!) | core.HasBufferedFrames;
                count += core.GetWaitDescriptors(new Span<PollFd>(polls + count, capacity - count));
            }

            if (ready)
            {
                return Sleep.Ready;
            }

            polls[count++] = new PollFd { Fd = _waker!.Fd, Events = LinuxConstants.POLLIN };
            TimeSpan slice = slices ? FallbackSlice : CheckInterval;
            if (left != Timeout.InfiniteTimeSpan && left < slice)
            {
                slice = left;
            }

            while (true)
            {
                // Sound: the entries are on this stack frame; each driver's descriptors stay open while this set is
                // entered in its use count (its Dispose signals its close event, listed here, and waits for the exit).
                int result = LibC.Poll(polls, (nuint)count, (int)Math.Ceiling(slice.TotalMilliseconds));
                if (result < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == Errno.EINTR)
                    {
                        continue;
                    }

                    throw LinuxError.FromErrno(errno, "poll", "a wait set", opened: true);
                }

                if (result == 0)
                {
                    return Sleep.TimedOut;
                }

                if (polls[count - 1].ReturnedEvents != 0)
                {
                    _waker.Drain();
                }

                return Sleep.Ready;
            }
        }
        finally
        {
            for (int i = 0; i < entered; i++)
            {
                NetDriver? core = _cores[i];
                if (core is not null)
                {
                    core.DisarmWait();
                    core.ExitWait();
                }
            }
        }
    }

    /// <summary>Looks at every driver, then sleeps one <see cref="FallbackSlice"/> unless woken (off Linux).</summary>
    private Sleep SleepInSlices(TimeSpan left)
    {
        foreach (INetDriver driver in _drivers)
        {
            if (driver.CanReceive)
            {
                return Sleep.Ready;
            }
        }

        TimeSpan slice = left != Timeout.InfiniteTimeSpan && left < FallbackSlice ? left : FallbackSlice;
        if (_fallbackWake!.Wait(slice))
        {
            _fallbackWake.Reset();
            return Sleep.Ready;
        }

        return Sleep.TimedOut;
    }

    private enum Sleep
    {
        Ready,
        TimedOut,
    }
}
