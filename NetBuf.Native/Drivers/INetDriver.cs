using NetBufNative.Wire;

namespace NetBufNative.Drivers;

/// <summary>
/// A network device driver over pool buffers: the port of the ArceOS driver crates'
/// <c>NetDriverOps</c> (with <c>BaseDriverOps</c>). Loopback, TAP, AF_PACKET and AF_XDP drivers
/// implement it; a packet processor written against it runs over any of them.
/// </summary>
/// <remarks>
/// <para>
/// Ownership is the seed's: a buffer given to the driver (<see cref="TryRecycleRxBuffer"/>, to be
/// filled by a received frame; <see cref="TryTransmit"/>, to be sent) is the driver's until it
/// comes back (<see cref="TryReceive"/> hands out a received frame; <see cref="RecycleTxBuffers"/>
/// returns sent buffers to the pool). Buffers travel as <see cref="NetBufPtr"/>s of the driver's
/// <see cref="Pool"/>: take one back with <see cref="NetBufPool.FromBufPtr(NetBufPtr)"/>, hand one
/// over with <see cref="NetBuf.IntoBufPtr"/>.
/// </para>
/// <para>
/// Every hand-over is checked by the pool (the drivers of this library derive from <see cref="NetDriver"/>, which
/// does it once for all): a driver that accepts a buffer takes it under a new token
/// (<see cref="NetBufPool.TryHandOver(NetBufPtr, out NetBufPtr)"/>), so the pointer the caller passed and every copy
/// of it go stale at once: a second post, a free, a restore or a transmit of a kept copy throws at that call. A
/// received frame comes back under a new token the same way.
/// </para>
/// <para>
/// An exception always means that nothing was taken. A device error met after something was taken ends the call with
/// the count, and the next receive or transmit call throws it.
/// </para>
/// <para>
/// "No packet now" and "queue full" are the common case, not errors: the <c>Try*</c> methods return
/// <see langword="false"/> (the seed's <c>DevError::Again</c>). Other failures throw
/// <see cref="NetDriverException"/> with a <see cref="NetDriverErrorKind"/> and, for system calls,
/// the <c>errno</c>. Disposing a driver gives every buffer it holds back to the pool.
/// </para>
/// <para>
/// A device that is gone for good (its interface deleted, or moved to another namespace) makes every receive, transmit
/// and wait after the driver noticed it throw <see cref="NetDriverErrorKind.BadState"/> with a message saying it is
/// gone, so a loop with an infinite wait ends; posting and recycling still work, and disposing returns every buffer.
/// A device set down is not gone: its errors are reported once and frames flow again when it is up.
/// </para>
/// <para>
/// Thread safety: a driver instance is one device queue and is used by one thread at a time (as
/// a NIC queue is); scale out with one driver per thread where the driver supports it (AF_PACKET
/// fanout, AF_XDP queues). Members that say otherwise are noted.
/// </para>
/// </remarks>
public interface INetDriver : IDisposable
{
    /// <summary>The device's name (an interface name such as <c>tap0</c>, or a generated one).</summary>
    string DeviceName { get; }

    /// <summary>The kind of device: <see cref="DeviceType.Net"/>.</summary>
    DeviceType DeviceType { get; }

    /// <summary>The hardware address the driver's frames are sent from: the user's side of the wire (for a TAP device,
    /// the program's side, not the kernel interface's; for AF_PACKET and AF_XDP, the interface's own).</summary>
    MacAddress MacAddress { get; }

    /// <summary>The pool every buffer of this driver comes from and goes back to.</summary>
    NetBufPool Pool { get; }

    /// <summary>Whether a frame can be transmitted now (the transmit queue has room).</summary>
    bool CanTransmit { get; }

    /// <summary>Whether a received frame is waiting (<see cref="TryReceive"/> would return one).</summary>
    bool CanReceive { get; }

    /// <summary>How many empty buffers the receive queue takes (<see cref="TryRecycleRxBuffer"/>); the device fills them with frames.</summary>
    int RxQueueSize { get; }

    /// <summary>How many buffers the transmit queue holds: frames being sent plus sent ones not yet recycled.</summary>
    int TxQueueSize { get; }

    /// <summary>Gives the driver an empty buffer to receive a frame into (the seed's <c>recycle_rx_buffer</c>).</summary>
    /// <param name="rxBuffer">A buffer lent by <see cref="Pool"/>; the driver's from now on if accepted.</param>
    /// <returns><see langword="false"/> when the receive queue is full; the buffer is still the caller's.</returns>
    /// <exception cref="NetDriverException">The buffer is not a current lending of this driver's pool: null, foreign, freed, or
    /// posted or sent already (<see cref="NetDriverErrorKind.InvalidParam"/>); or the driver is disposed (<see cref="NetDriverErrorKind.BadState"/>).</exception>
    bool TryRecycleRxBuffer(NetBufPtr rxBuffer);

    /// <summary>Returns the buffers of frames that were sent to the pool (the seed's <c>recycle_tx_buffers</c>).</summary>
    /// <returns>How many buffers were returned.</returns>
    /// <exception cref="NetDriverException">The driver is disposed, or the device failed.</exception>
    int RecycleTxBuffers();

    /// <summary>Queues a frame for transmission: the packet-with-header region of <paramref name="txBuffer"/>.</summary>
    /// <param name="txBuffer">A buffer lent by <see cref="Pool"/>; the driver's from now on if accepted.</param>
    /// <returns><see langword="false"/> when the transmit queue is full (call <see cref="RecycleTxBuffers"/>, or wait); the buffer is still the caller's.</returns>
    /// <exception cref="NetDriverException">The buffer is not of this driver's pool or the frame does not fit the device, the driver is disposed, or the device failed.</exception>
    bool TryTransmit(NetBufPtr txBuffer);

    /// <summary>Takes a received frame, if one is waiting (the seed's <c>receive</c>).</summary>
    /// <param name="rxBuffer">The buffer, with the frame as its packet region; the caller's from now on.</param>
    /// <returns><see langword="false"/> when no frame is waiting.</returns>
    /// <exception cref="NetDriverException">The driver is disposed, or the device failed.</exception>
    bool TryReceive(out NetBufPtr rxBuffer);

    /// <summary>Allocates a buffer for a frame of <paramref name="size"/> bytes to transmit (the seed's <c>alloc_tx_buffer</c>).</summary>
    /// <param name="size">The frame's length: the packet region of the returned buffer has this length.</param>
    /// <returns>The buffer, lent to the caller, to fill and pass to <see cref="TryTransmit"/>.</returns>
    /// <exception cref="NetDriverException">No buffer is free (<see cref="NetDriverErrorKind.NoMemory"/>), <paramref name="size"/> does not fit a buffer after the pool's headroom (<see cref="NetDriverErrorKind.InvalidParam"/>), or the driver or its pool is disposed (<see cref="NetDriverErrorKind.BadState"/>).</exception>
    NetBufPtr AllocTxBuffer(int size);

    /// <summary>Takes up to <paramref name="destination"/>.Length received frames at once.</summary>
    /// <param name="destination">Receives the buffers, the caller's from now on.</param>
    /// <returns>How many were taken (0 when none is waiting).</returns>
    /// <exception cref="NetDriverException">The driver is disposed, or the device failed. An exception always means that
    /// no frame was taken: a device error met after some frames were taken ends the call with their count.</exception>
    int ReceiveBatch(Span<NetBufPtr> destination);

    /// <summary>Queues frames for transmission, in order, as many as the queue takes.</summary>
    /// <param name="txBuffers">Buffers lent by <see cref="Pool"/>.</param>
    /// <returns>How many were accepted: the first that many are the driver's; the rest are still the caller's.</returns>
    /// <exception cref="NetDriverException">A buffer is not of this driver's pool or does not fit the device, the driver is
    /// disposed, or the device failed. An exception always means that no buffer was taken: a device error met after some
    /// frames were taken ends the call with their count, and the next call meets it.</exception>
    int TransmitBatch(ReadOnlySpan<NetBufPtr> txBuffers);

    /// <summary>Waits until a frame can be received, without spinning.</summary>
    /// <param name="timeout">How long to wait at most; <see cref="Timeout.InfiniteTimeSpan"/> for no limit.</param>
    /// <param name="cancellationToken">Ends the wait early.</param>
    /// <returns><see langword="true"/> when a frame is waiting (or may be: <see cref="TryReceive"/> can still return false), <see langword="false"/> on timeout.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="NetDriverException">The driver is disposed, or the device failed.</exception>
    bool WaitForReceive(TimeSpan timeout, CancellationToken cancellationToken = default);

    /// <summary>Waits until a frame can be transmitted (the device takes frames again), without spinning.</summary>
    /// <param name="timeout">How long to wait at most; <see cref="Timeout.InfiniteTimeSpan"/> for no limit.</param>
    /// <param name="cancellationToken">Ends the wait early.</param>
    /// <returns><see langword="true"/> when a frame can (or may) be transmitted, <see langword="false"/> on timeout.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="NetDriverException">The driver is disposed, or the device failed.</exception>
    bool WaitForTransmit(TimeSpan timeout, CancellationToken cancellationToken = default);
}
