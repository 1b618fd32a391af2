namespace NetBufNative.Drivers.Linux;

/// <summary>
/// What the descriptor-based drivers (<see cref="TapDriver"/>, <see cref="AfPacketDriver"/>) share: the
/// device handle, the posted receive buffers and the sent ones, and the <see cref="INetDriver"/>
/// members that depend on nothing else. Each driver forwards to it and keeps its own documentation.
/// </summary>
/// <remarks>Thread safety: that of the drivers (one thread at a time, <see cref="Close"/> from any).</remarks>
internal sealed class DeviceQueues
{
    /// <summary>Takes ownership of <paramref name="device"/>; the queues start empty.</summary>
    internal DeviceQueues(NetBufPool pool, DeviceHandle device, int rxQueueSize, int txQueueSize)
    {
        Pool = pool;
        Device = device;
        Posted = new BufferFifo(rxQueueSize);
        Sent = new BufferFifo(txQueueSize);
    }

    /// <summary>The pool of every buffer the driver handles.</summary>
    internal NetBufPool Pool { get; }

    /// <summary>The device's descriptor, its use count and its wake-ups.</summary>
    internal DeviceHandle Device { get; }

    /// <summary>Empty buffers posted for receiving, oldest first.</summary>
    internal BufferFifo Posted { get; }

    /// <summary>Sent buffers waiting for <see cref="INetDriver.RecycleTxBuffers"/>.</summary>
    internal BufferFifo Sent { get; }

    /// <summary>Open and the transmit queue has room.</summary>
    internal bool CanTransmit => !Device.IsClosed && Sent.Count < Sent.Capacity;

    /// <summary>Open, a buffer posted and a frame waiting (a poll that does not wait).</summary>
    internal bool CanReceive
    {
        get
        {
            if (Posted.Count == 0 || Device.IsClosed)
            {
                return false;
            }

            Device.Enter();
            try
            {
                return Device.IsReady(LinuxConstants.POLLIN);
            }
            finally
            {
                Device.Exit();
            }
        }
    }

    /// <summary>Posted and sent buffers (0 once closed).</summary>
    internal int HeldBuffers => Posted.Count + Sent.Count;

    /// <summary>Checks that <paramref name="rxBuffer"/> is lent by the pool and posts it.</summary>
    /// <returns><see langword="false"/> when the receive queue is full.</returns>
    /// <exception cref="NetDriverException">Closed (BadState), or not a lent buffer of the pool (InvalidParam).</exception>
    internal bool TryRecycleRx(NetBufPtr rxBuffer)
    {
        Device.Enter();
        try
        {
            FrameChecks.Ownership(Pool, rxBuffer, Device.DeviceName);
            return Posted.TryEnqueue(rxBuffer);
        }
        finally
        {
            Device.Exit();
        }
    }

    /// <summary>Frees every sent buffer.</summary>
    /// <returns>How many were freed.</returns>
    /// <exception cref="NetDriverException">Closed (BadState).</exception>
    internal int RecycleTx()
    {
        Device.Enter();
        try
        {
            return Sent.FreeAll(Pool);
        }
        finally
        {
            Device.Exit();
        }
    }

    /// <summary>A buffer for a frame of <paramref name="size"/> bytes (<see cref="FrameChecks.AllocTx"/>).</summary>
    /// <exception cref="NetDriverException">Closed (BadState), the size does not fit, or the pool is empty.</exception>
    internal NetBufPtr AllocTx(int size)
    {
        Device.ThrowIfClosed();

        return FrameChecks.AllocTx(Pool, size);
    }

    /// <summary>Waits for a frame; <see langword="false"/> at once when no buffer is posted.</summary>
    /// <exception cref="NetDriverException">Closed, before or during the wait (BadState).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative and not infinite.</exception>
    internal bool WaitForReceive(TimeSpan timeout, CancellationToken cancellationToken)
    {
        Device.ThrowIfClosed();

        return Posted.Count > 0 && Device.Wait(LinuxConstants.POLLIN, timeout, cancellationToken);
    }

    /// <summary>Waits for room to send; <see langword="false"/> at once when the transmit queue is full.</summary>
    /// <exception cref="NetDriverException">Closed, before or during the wait (BadState).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative and not infinite.</exception>
    internal bool WaitForTransmit(TimeSpan timeout, CancellationToken cancellationToken)
    {
        Device.ThrowIfClosed();

        return Sent.Count < Sent.Capacity && Device.Wait(LinuxConstants.POLLOUT, timeout, cancellationToken);
    }

    /// <summary>
    /// Closes the device (waking waits, waiting for calls in progress) and frees every posted and sent
    /// buffer. Only the first call does anything.
    /// </summary>
    /// <returns>Whether this call closed it: the caller then frees what else it owns.</returns>
    internal bool Close()
    {
        if (!Device.Close())
        {
            return false;
        }

        // No call is in progress any more and none can start: the queues are this thread's.
        Posted.FreeAll(Pool);
        Sent.FreeAll(Pool);
        return true;
    }
}
