using NetBufNative.Drivers;
using NetBufNative.Wire;

namespace NetBufNative.Tests.Drivers;

/// <summary>
/// The smallest driver on the core: a device whose transmit completes at once and that receives nothing unless a test
/// queues a frame. For tests of what the core itself checks (frame lengths, hand-overs), with no device in the way.
/// </summary>
internal sealed class FakeDevice(NetBufPool pool, int maxFrameLength, int queueSize = 16) : NetDriver(pool)
{
    private readonly Queue<NetBufPtr> _posted = new();
    private readonly Queue<NetBufPtr> _sent = new();

    public override string DeviceName => "fake0";

    public override MacAddress MacAddress => new(0x02, 0, 0, 0, 0, 1);

    public override int RxQueueSize => queueSize;

    public override int TxQueueSize => queueSize;

    public override int HeldBuffers => _posted.Count + _sent.Count;

    protected override int RxRoom => queueSize - _posted.Count;

    protected override int TxRoom => queueSize - _sent.Count;

    protected override int MaxFrameLength => maxFrameLength;

    protected override int MinFrameLength => EthernetFrame.UntaggedHeaderLength;

    protected override void PostRxBurst(ReadOnlySpan<NetBufPtr> buffers)
    {
        foreach (NetBufPtr buffer in buffers)
        {
            _posted.Enqueue(buffer);
        }
    }

    /// <summary>When set, the next receive finds the device gone (as a deleted interface is found).</summary>
    public bool Vanished { get; set; }

    /// <summary>Lengths of frames the device "receives" next, each into the oldest posted buffer at offset 0.</summary>
    public Queue<int> Arriving { get; } = new();

    protected override int ReceiveBurst(Span<NetBufPtr> destination)
    {
        if (Vanished)
        {
            throw DeviceGone("removed by the test", 19);
        }

        int taken = 0;
        while (taken < destination.Length && Arriving.Count > 0 && _posted.Count > 0)
        {
            if (TryHandBack(_posted.Dequeue(), 0, Arriving.Dequeue(), out destination[taken]))
            {
                taken++;
            }
        }

        return taken;
    }

    protected override void TransmitBurst(ReadOnlySpan<NetBufPtr> frames)
    {
        foreach (NetBufPtr frame in frames)
        {
            _sent.Enqueue(frame);
        }
    }

    protected override int TakeCompleted(Span<NetBufPtr> destination)
    {
        int count = 0;
        while (count < destination.Length && _sent.TryDequeue(out NetBufPtr sent))
        {
            destination[count++] = sent;
        }

        return count;
    }

    protected override bool HasReceived() => false;

    protected override bool WaitForReceiveCore(TimeSpan timeout, CancellationToken cancellationToken) => false;

    protected override bool WaitForTransmitCore(TimeSpan timeout, CancellationToken cancellationToken) => TxRoom > 0;

    protected override void CloseDevice()
    {
    }

    protected override int TakeHeld(Span<NetBufPtr> destination)
    {
        int count = TakeCompleted(destination);
        while (count < destination.Length && _posted.TryDequeue(out NetBufPtr posted))
        {
            destination[count++] = posted;
        }

        return count;
    }
}
