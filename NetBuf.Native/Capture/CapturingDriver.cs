using NetBufNative.Apps;
using NetBufNative.Drivers;
using NetBufNative.Wire;

namespace NetBufNative.Capture;

/// <summary>
/// A driver that records the traffic of another: every frame it receives and every frame it
/// transmits is written to a <see cref="PcapWriter"/> (for <c>tcpdump -r</c> or Wireshark) straight
/// from the pool buffer it is in, with no copy. Everything else is the wrapped driver's, so any
/// processor written against <see cref="INetDriver"/> (an <see cref="EchoResponderLoop"/>, say) runs over
/// it unchanged.
/// </summary>
/// <remarks>
/// <para>
/// A received frame is written when it is taken (<see cref="TryReceive"/>, <see cref="ReceiveBatch"/>),
/// before the caller can change it; a transmitted frame once the driver has accepted it, so the file
/// holds exactly the frames that were taken for sending, not those refused for want of room. A
/// driver that hands an accepted buffer on at once (the two ends of a <see cref="LoopbackDriver"/> pair
/// on two threads) lets the other end change it before it is written: capture such a pair from the
/// receiving end.
/// </para>
/// <para>
/// Recording costs a stream write and the writer's lock per frame; it allocates nothing. The capture
/// never costs a frame: a write that fails (the stream's <see cref="IOException"/>, a disposed writer)
/// is counted in <see cref="CaptureFailures"/> and the traffic goes on.
/// </para>
/// <para>
/// Thread safety: the wrapped driver's (one thread at a time). Several capturing drivers may share one
/// writer (the workers of a fanout group, say): the writer serializes whole records.
/// </para>
/// </remarks>
public sealed class CapturingDriver : INetDriver
{
    private readonly INetDriver _inner;
    private readonly PcapWriter _writer;
    private readonly CaptureDirections _directions;
    private long _captureFailures;

    /// <summary>Wraps <paramref name="driver"/>, recording its traffic to <paramref name="writer"/>.</summary>
    /// <param name="driver">The driver to record; disposed with this one.</param>
    /// <param name="writer">Where the frames go; not disposed with this driver (several may share it): dispose it after them.</param>
    /// <param name="directions">Which frames to record; both directions by default.</param>
    /// <exception cref="ArgumentNullException"><paramref name="driver"/> or <paramref name="writer"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="directions"/> names no direction, or an unknown one.</exception>
    public CapturingDriver(INetDriver driver, PcapWriter writer, CaptureDirections directions = CaptureDirections.Both)
    {
        ArgumentNullException.ThrowIfNull(driver);
        ArgumentNullException.ThrowIfNull(writer);
        if (directions is not (CaptureDirections.Received or CaptureDirections.Transmitted or CaptureDirections.Both))
        {
            throw new ArgumentOutOfRangeException(nameof(directions), directions, "Record received frames, transmitted frames, or both.");
        }

        _inner = driver;
        _writer = writer;
        _directions = directions;
    }

    /// <summary>The driver whose traffic is recorded.</summary>
    public INetDriver Inner => _inner;

    /// <summary>The writer the frames go to.</summary>
    public PcapWriter Writer => _writer;

    /// <summary>Which frames are recorded.</summary>
    public CaptureDirections Directions => _directions;

    /// <summary>Frames that could not be written (the stream failed or the writer was disposed); the traffic went on.</summary>
    public long CaptureFailures => Volatile.Read(ref _captureFailures);

    /// <inheritdoc/>
    public string DeviceName => _inner.DeviceName;

    /// <inheritdoc/>
    public DeviceType DeviceType => _inner.DeviceType;

    /// <inheritdoc/>
    public MacAddress MacAddress => _inner.MacAddress;

    /// <inheritdoc/>
    public NetBufPool Pool => _inner.Pool;

    /// <inheritdoc/>
    public bool CanTransmit => _inner.CanTransmit;

    /// <inheritdoc/>
    public bool CanReceive => _inner.CanReceive;

    /// <inheritdoc/>
    public int RxQueueSize => _inner.RxQueueSize;

    /// <inheritdoc/>
    public int TxQueueSize => _inner.TxQueueSize;

    /// <inheritdoc/>
    public bool TryRecycleRxBuffer(NetBufPtr rxBuffer) => _inner.TryRecycleRxBuffer(rxBuffer);

    /// <inheritdoc/>
    public int RecycleTxBuffers() => _inner.RecycleTxBuffers();

    /// <inheritdoc/>
    /// <remarks>The frame is recorded when the driver accepted it.</remarks>
    public bool TryTransmit(NetBufPtr txBuffer)
    {
        if (!_inner.TryTransmit(txBuffer))
        {
            return false;
        }

        if ((_directions & CaptureDirections.Transmitted) != 0)
        {
            Record(txBuffer);
        }

        return true;
    }

    /// <inheritdoc/>
    /// <remarks>The frames the driver accepted are recorded, in order.</remarks>
    public int TransmitBatch(ReadOnlySpan<NetBufPtr> txBuffers)
    {
        int sent = _inner.TransmitBatch(txBuffers);
        if ((_directions & CaptureDirections.Transmitted) != 0)
        {
            foreach (NetBufPtr buffer in txBuffers[..sent])
            {
                Record(buffer);
            }
        }

        return sent;
    }

    /// <inheritdoc/>
    /// <remarks>The frame is recorded before it is returned.</remarks>
    public bool TryReceive(out NetBufPtr rxBuffer)
    {
        if (!_inner.TryReceive(out rxBuffer))
        {
            return false;
        }

        if ((_directions & CaptureDirections.Received) != 0)
        {
            Record(rxBuffer);
        }

        return true;
    }

    /// <inheritdoc/>
    /// <remarks>The frames are recorded, in order, before they are returned.</remarks>
    public int ReceiveBatch(Span<NetBufPtr> destination)
    {
        int count = _inner.ReceiveBatch(destination);
        if ((_directions & CaptureDirections.Received) != 0)
        {
            foreach (NetBufPtr buffer in destination[..count])
            {
                Record(buffer);
            }
        }

        return count;
    }

    /// <inheritdoc/>
    public NetBufPtr AllocTxBuffer(int size) => _inner.AllocTxBuffer(size);

    /// <inheritdoc/>
    public bool WaitForReceive(TimeSpan timeout, CancellationToken cancellationToken = default) => _inner.WaitForReceive(timeout, cancellationToken);

    /// <inheritdoc/>
    public bool WaitForTransmit(TimeSpan timeout, CancellationToken cancellationToken = default) => _inner.WaitForTransmit(timeout, cancellationToken);

    /// <summary>Disposes the wrapped driver (which returns its buffers to the pool); the writer stays open. Calling it again does what the wrapped driver's second Dispose does (nothing, for the drivers of this library).</summary>
    public void Dispose() => _inner.Dispose();

    /// <inheritdoc/>
    public override string ToString() => $"{_inner} (recorded: {_directions}, {CaptureFailures} failed)";

    private void Record(NetBufPtr buffer)
    {
        try
        {
            // Straight from the pool buffer: the frame is the header and packet regions, as sent or received.
            _writer.WriteFrame(buffer.PacketWithHeader);
        }
#pragma warning disable CA1031 // Any failure of the capture (a full stream throws NotSupportedException, say) must not
        // escape: the inner driver has already acted on the buffer, so an exception here would make
        // the caller believe it had not (and free a buffer the driver holds, or lose a received one).
        catch (Exception exception) when (exception is not OutOfMemoryException)
#pragma warning restore CA1031
        {
            _captureFailures++;
        }
    }
}
