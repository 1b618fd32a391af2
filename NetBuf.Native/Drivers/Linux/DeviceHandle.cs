using System.Diagnostics;
using System.Runtime.InteropServices;

namespace NetBufNative.Drivers.Linux;

/// <summary>
/// The file descriptor of a Linux driver (a TAP device or a packet socket) with what makes it
/// safe to close while another thread waits on it: a count of the calls using it, and two
/// eventfds that a readiness wait polls beside it, one written once by <see cref="Close"/> (and
/// never drained, so every later poll returns at once), one written when a wait's cancellation
/// token is cancelled.
/// </summary>
/// <remarks>
/// <para>
/// Cancellation by eventfd rather than by polling in short slices: a waiting thread sleeps in the
/// kernel until a frame, the cancellation or the disposal wakes it, so a waiting driver costs no
/// CPU at all (a slice would wake the thread hundreds of times a second per driver on a machine
/// with two cores shared with the packet traffic), and it wakes at once rather than within a slice.
/// </para>
/// <para>
/// Thread safety: any member may be called from any thread. <see cref="Close"/> waits for the
/// calls in progress (which are non-blocking, or polls it wakes) to leave before closing, so a
/// descriptor is never closed under a call that uses it (and never reused by another file under it).
/// Readiness waits on one handle are for one thread at a time (besides <see cref="Close"/>).
/// </para>
/// </remarks>
internal sealed unsafe class DeviceHandle
{
    private readonly int _closeEvent;
    private readonly int _cancelEvent;
    private int _users;
    private int _closed;
    private int _released;

    /// <summary>Takes ownership of <paramref name="fd"/> (closed if this throws).</summary>
    /// <exception cref="NetDriverException">An eventfd could not be made.</exception>
    internal DeviceHandle(int fd, string deviceName)
    {
        Fd = fd;
        DeviceName = deviceName;
        _closeEvent = LibC.EventFd(0, LinuxConstants.EFD_NONBLOCK | LinuxConstants.EFD_CLOEXEC);
        _cancelEvent = _closeEvent < 0 ? -1 : LibC.EventFd(0, LinuxConstants.EFD_NONBLOCK | LinuxConstants.EFD_CLOEXEC);
        if (_cancelEvent < 0)
        {
            NetDriverException error = LinuxError.Last("eventfd", deviceName);
            CloseQuietly(_closeEvent);
            CloseQuietly(fd);
            throw error;
        }
    }

    /// <summary>The descriptor: valid between <see cref="Enter"/> and <see cref="Exit"/>.</summary>
    internal int Fd { get; }

    /// <summary>The device's name, for messages.</summary>
    internal string DeviceName { get; }

    /// <summary>The eventfd that <see cref="WakeForClose"/> signals (and never drains): a wait set polls it beside
    /// <see cref="Fd"/> so that disposing the driver wakes it. Valid while the driver's use count is held.</summary>
    internal int CloseEvent => _closeEvent;

    /// <summary>Whether <see cref="Close"/> has begun.</summary>
    internal bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>Closes <paramref name="fd"/>, ignoring errors (for clean-up paths that already report one).</summary>
    internal static void CloseQuietly(int fd)
    {
        if (fd >= 0)
        {
            _ = LibC.Close(fd);
        }
    }

    /// <summary>Marks a call using the descriptor; pair with <see cref="Exit"/>.</summary>
    /// <exception cref="NetDriverException">The handle is closed (BadState).</exception>
    internal void Enter()
    {
        Interlocked.Increment(ref _users);

        // Both sides use full fences (this increment, the exchange in Close), so either Close sees
        // this user and waits for it, or this sees the close.
        if (Volatile.Read(ref _closed) != 0)
        {
            Interlocked.Decrement(ref _users);
            ThrowClosed();
        }
    }

    /// <summary>Ends a call marked by <see cref="Enter"/>.</summary>
    internal void Exit() => Interlocked.Decrement(ref _users);

    /// <summary>Throws the exception of a disposed driver once <see cref="Close"/> has run.</summary>
    /// <exception cref="NetDriverException">Closed (BadState).</exception>
    internal void ThrowIfClosed()
    {
        if (IsClosed)
        {
            ThrowClosed();
        }
    }

    /// <summary>Throws the exception of a disposed driver.</summary>
    /// <exception cref="NetDriverException">Always (BadState).</exception>
    internal void ThrowClosed() =>
        throw new NetDriverException(NetDriverErrorKind.BadState, $"The driver of {DeviceName} is disposed.");

    /// <summary>Whether the descriptor is ready for <paramref name="events"/> now (a poll that does not wait). Call inside Enter/Exit.</summary>
    internal bool IsReady(short events)
    {
        PollFd poll = new() { Fd = Fd, Events = events };

        // Sound: poll reads and writes the one local it is given, for the duration of the call.
        int ready = LibC.Poll(&poll, 1, 0);
        return ready > 0 && (poll.ReturnedEvents & events) != 0;
    }

    /// <summary>Waits until the descriptor is ready for <paramref name="events"/>, the timeout passes, the token is cancelled, or the handle closes.</summary>
    /// <returns><see langword="true"/> when ready (or in error: the next call reports it), <see langword="false"/> on timeout.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative and not infinite.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    /// <exception cref="NetDriverException">The handle is closed, or poll failed.</exception>
    internal bool Wait(short events, TimeSpan timeout, CancellationToken cancellationToken)
    {
        long timeoutMs = ToMilliseconds(timeout);
        cancellationToken.ThrowIfCancellationRequested();
        Enter();
        try
        {
            DrainCancelEvent();
            using CancellationTokenRegistration registration = cancellationToken.CanBeCanceled
                ? cancellationToken.UnsafeRegister(static state => ((DeviceHandle)state!).SignalCancel(), this)
                : default;
            long start = Stopwatch.GetTimestamp();
            PollFd* polls = stackalloc PollFd[3];
            while (true)
            {
                long remaining = timeoutMs < 0 ? -1 : Math.Max(0, timeoutMs - (long)Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                polls[0] = new PollFd { Fd = Fd, Events = events };
                polls[1] = new PollFd { Fd = _closeEvent, Events = LinuxConstants.POLLIN };
                polls[2] = new PollFd { Fd = _cancelEvent, Events = LinuxConstants.POLLIN };

                // Sound: the three entries are on this stack frame for the whole call.
                int ready = LibC.Poll(polls, 3, (int)Math.Min(remaining, int.MaxValue));
                if (ready < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == Errno.EINTR)
                    {
                        continue;
                    }

                    throw LinuxError.FromErrno(errno, "poll", DeviceName, opened: true);
                }

                if (polls[1].ReturnedEvents != 0)
                {
                    ThrowClosed();
                }

                if (polls[2].ReturnedEvents != 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    DrainCancelEvent();
                }

                if ((polls[0].ReturnedEvents & (events | LinuxConstants.POLLERR | LinuxConstants.POLLHUP | LinuxConstants.POLLNVAL)) != 0)
                {
                    return true;
                }

                if (ready == 0 && remaining == 0)
                {
                    return false;
                }
            }
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Wakes every wait (which then throws BadState) and makes later ones throw at once; the descriptor stays open. Calling it again does nothing.</summary>
    internal void WakeForClose()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0)
        {
            SignalEvent(_closeEvent);
        }
    }

    /// <summary>
    /// Closes the descriptor: wakes every wait (<see cref="WakeForClose"/>), waits for the calls in
    /// progress to leave, and closes the descriptor and the eventfds. Calling it again does nothing.
    /// </summary>
    /// <returns><see langword="true"/> for the call that closed it.</returns>
    internal bool Close()
    {
        WakeForClose();
        if (Interlocked.Exchange(ref _released, 1) != 0)
        {
            return false;
        }

        // The calls in progress are non-blocking system calls or polls the close event just woke, so
        // this wait is short; yield rather than spin, the waiter may need this very core.
        var spinner = default(SpinWait);
        while (Volatile.Read(ref _users) != 0)
        {
            spinner.SpinOnce(sleep1Threshold: 20);
        }

        CloseQuietly(Fd);
        CloseQuietly(_cancelEvent);
        CloseQuietly(_closeEvent);
        return true;
    }

    private static long ToMilliseconds(TimeSpan timeout)
    {
        if (timeout == Timeout.InfiniteTimeSpan)
        {
            return -1;
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);

        // Round up: a wait of 0.5 ms waits at least that long rather than not at all.
        return (long)Math.Ceiling(timeout.TotalMilliseconds);
    }

    private static void SignalEvent(int eventFd)
    {
        ulong one = 1;

        // Sound: write reads the 8 bytes of the local for the duration of the call. It can fail only
        // when the counter would overflow (it is then readable anyway).
        _ = LibC.Write(eventFd, &one, sizeof(ulong));
    }

    private void SignalCancel() => SignalEvent(_cancelEvent);

    private void DrainCancelEvent()
    {
        ulong count;

        // Sound: read writes at most 8 bytes into the local. Non-blocking: EAGAIN when not signalled.
        _ = LibC.Read(_cancelEvent, &count, sizeof(ulong));
    }
}
