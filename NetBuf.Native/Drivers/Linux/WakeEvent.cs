namespace NetBufNative.Drivers.Linux;

/// <summary>
/// An eventfd that other threads signal to wake a thread asleep in <c>poll</c> on it (a wait set's wake-up): safe to
/// signal while it is being disposed, since a signal enters a use count that <see cref="Dispose"/> waits for, so the
/// descriptor is never written after it is closed (and its number reused by another file).
/// </summary>
/// <remarks>Thread safety: <see cref="Signal"/> from any thread; <see cref="Drain"/> and <see cref="Fd"/> by the waiting thread.</remarks>
internal sealed unsafe class WakeEvent : IDisposable
{
    private int _users;
    private int _closed;

    /// <summary>Makes the eventfd (non-blocking, close-on-exec).</summary>
    /// <exception cref="NetDriverException">eventfd failed.</exception>
    internal WakeEvent(string owner)
    {
        Fd = LibC.EventFd(0, LinuxConstants.EFD_NONBLOCK | LinuxConstants.EFD_CLOEXEC);
        if (Fd < 0)
        {
            throw LinuxError.Last("eventfd", owner);
        }
    }

    /// <summary>The descriptor to poll for <c>POLLIN</c>: readable once signalled, until drained.</summary>
    internal int Fd { get; }

    /// <summary>Makes the descriptor readable (a sleeping poll on it returns). Does nothing once disposed.</summary>
    internal void Signal()
    {
        Interlocked.Increment(ref _users);

        // Both sides use full fences (this increment, the exchange in Dispose): either Dispose sees this
        // signaller and waits for it, or this sees the close and writes nothing.
        if (Volatile.Read(ref _closed) == 0)
        {
            ulong one = 1;

            // Sound: write reads the 8 bytes of the local; the descriptor is open (see above). It fails only
            // when the counter would overflow, and it is readable then anyway.
            _ = LibC.Write(Fd, &one, sizeof(ulong));
        }

        Interlocked.Decrement(ref _users);
    }

    /// <summary>Makes the descriptor not readable again (reads the counter; nothing when not signalled).</summary>
    internal void Drain()
    {
        ulong count;

        // Sound: read writes at most 8 bytes into the local; non-blocking, EAGAIN when not signalled.
        _ = LibC.Read(Fd, &count, sizeof(ulong));
    }

    /// <summary>Closes the descriptor once no signal is in progress. Calling it again does nothing.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        var spinner = default(SpinWait);
        while (Volatile.Read(ref _users) != 0)
        {
            spinner.SpinOnce(sleep1Threshold: 20);
        }

        DeviceHandle.CloseQuietly(Fd);
    }
}
