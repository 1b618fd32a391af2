namespace NetBufNative.Drivers.Linux;

/// <summary>
/// The queues of the descriptor-based drivers (<see cref="TapDriver"/>, <see cref="AfPacketDriver"/>): the device handle,
/// the posted receive buffers, and the transmit queue, whose oldest entries are sent (awaiting recycling) and the rest
/// accepted but not yet taken by the device (a software transmit ring, as a NIC's: a frame the socket had no room for
/// waits here and goes at the next call).
/// </summary>
/// <remarks>Thread safety: that of the drivers (one thread at a time; <see cref="NetDriver.Dispose"/> only after calls leave).</remarks>
internal sealed class DeviceQueues
{
    private int _sent;

    /// <summary>Takes ownership of <paramref name="device"/>; the queues start empty.</summary>
    internal DeviceQueues(DeviceHandle device, int rxQueueSize, int txQueueSize)
    {
        Device = device;
        Posted = new BufferFifo(rxQueueSize);
        Tx = new BufferFifo(txQueueSize);
    }

    /// <summary>The device's descriptor and its wake-ups.</summary>
    internal DeviceHandle Device { get; }

    /// <summary>Empty buffers posted for receiving, oldest first.</summary>
    internal BufferFifo Posted { get; }

    /// <summary>The transmit queue: <see cref="SentCount"/> sent buffers first, then <see cref="PendingCount"/> frames not yet sent.</summary>
    internal BufferFifo Tx { get; }

    /// <summary>Sent buffers at the head of <see cref="Tx"/>, waiting for recycling.</summary>
    internal int SentCount => _sent;

    /// <summary>Accepted frames the device has not taken yet.</summary>
    internal int PendingCount => Tx.Count - _sent;

    /// <summary>Room for more posted buffers.</summary>
    internal int RxRoom => Posted.Capacity - Posted.Count;

    /// <summary>Room for more frames to send.</summary>
    internal int TxRoom => Tx.Capacity - Tx.Count;

    /// <summary>Posted and transmit buffers (a snapshot).</summary>
    internal int HeldBuffers => Posted.Count + Tx.Count;

    /// <summary>The <paramref name="index"/>-th frame not yet sent (0 is the next to go).</summary>
    internal NetBufPtr PeekPending(int index) => Tx.Peek(_sent + index);

    /// <summary>Records that the device took the next <paramref name="count"/> pending frames.</summary>
    internal void MarkSent(int count) => _sent += count;

    /// <summary>Posts empty buffers (the core checked the room).</summary>
    internal void Post(ReadOnlySpan<NetBufPtr> buffers)
    {
        foreach (NetBufPtr buffer in buffers)
        {
            _ = Posted.TryEnqueue(buffer);
        }
    }

    /// <summary>Queues frames to send (the core checked the room).</summary>
    internal void Queue(ReadOnlySpan<NetBufPtr> frames)
    {
        foreach (NetBufPtr frame in frames)
        {
            _ = Tx.TryEnqueue(frame);
        }
    }

    /// <summary>Gives up on every pending frame: they count as sent (for recycling) and dropped.</summary>
    /// <returns>How many were dropped.</returns>
    internal int DropPending()
    {
        int dropped = PendingCount;
        _sent = Tx.Count;
        return dropped;
    }

    /// <summary>Takes up to <paramref name="destination"/>.Length sent buffers.</summary>
    internal int TakeSent(Span<NetBufPtr> destination)
    {
        int count = Tx.DequeueBatch(destination[..Math.Min(destination.Length, _sent)]);
        _sent -= count;
        return count;
    }

    /// <summary>Takes up to <paramref name="destination"/>.Length of every buffer held (after the device is closed).</summary>
    internal int TakeHeld(Span<NetBufPtr> destination)
    {
        int count = Posted.DequeueBatch(destination);
        int fromTx = Tx.DequeueBatch(destination[count..]);
        _sent = Math.Max(0, _sent - fromTx);
        return count + fromTx;
    }

    /// <summary>A frame may be waiting: a buffer is posted and the descriptor is readable (or in error).</summary>
    internal bool HasReceived() => Posted.Count > 0 && Device.IsReady(LinuxConstants.POLLIN);

    /// <summary>The descriptors a wait set polls: the device (for a frame, while a buffer is posted to take it) and the close event.</summary>
    /// <returns>How many were written.</returns>
    internal int GetWaitDescriptors(Span<PollFd> destination)
    {
        int count = 0;
        if (Posted.Count > 0)
        {
            destination[count++] = new PollFd { Fd = Device.Fd, Events = LinuxConstants.POLLIN };
        }

        destination[count++] = new PollFd { Fd = Device.CloseEvent, Events = LinuxConstants.POLLIN };
        return count;
    }

    /// <summary>Waits for a frame; <see langword="false"/> at once when no buffer is posted.</summary>
    /// <exception cref="NetDriverException">Closed during the wait (BadState), or poll failed.</exception>
    internal bool WaitForReceive(TimeSpan timeout, CancellationToken cancellationToken) =>
        Posted.Count > 0 && Device.Wait(LinuxConstants.POLLIN, timeout, cancellationToken);

    /// <summary>Waits for room to send: at once while the queue has room and nothing is pending; otherwise for the descriptor to be writable.</summary>
    /// <exception cref="NetDriverException">Closed during the wait (BadState), or poll failed.</exception>
    internal bool WaitForTransmit(TimeSpan timeout, CancellationToken cancellationToken) =>
        (TxRoom > 0 && PendingCount == 0) || (PendingCount > 0 && Device.Wait(LinuxConstants.POLLOUT, timeout, cancellationToken));
}
