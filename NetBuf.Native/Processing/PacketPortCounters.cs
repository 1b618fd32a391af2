using NetBufNative.Drivers;

namespace NetBufNative.Processing;

/// <summary>
/// What a <see cref="PacketLoop"/> did with one port's frames, counted by the loop's thread. Each property may be read
/// from any thread (a reading is a moment's value of each counter, not a snapshot of all of them together).
/// </summary>
public sealed class PacketPortCounters
{
    private long _received;
    private long _transmitted;
    private long _handlerDrops;
    private long _txFullDrops;
    private long _txErrorDrops;
    private long _errors;
    private long _postShortfalls;

    internal PacketPortCounters(INetDriver driver) => Driver = driver;

    /// <summary>The port's driver.</summary>
    public INetDriver Driver { get; }

    /// <summary>Frames the loop received on the port.</summary>
    public long Received => Volatile.Read(ref _received);

    /// <summary>Frames the port's driver accepted for transmission (from this port's or any other port's batches).</summary>
    public long Transmitted => Volatile.Read(ref _transmitted);

    /// <summary>Frames received on the port that the handler dropped.</summary>
    public long HandlerDrops => Volatile.Read(ref _handlerDrops);

    /// <summary>Frames for this port dropped because its transmit queue was full even after its sent buffers were recycled
    /// (back-pressure: the port sends slower than frames arrive for it).</summary>
    public long TxFullDrops => Volatile.Read(ref _txFullDrops);

    /// <summary>Frames for this port dropped because its transmit call failed (nothing taken: a device error, or a frame the
    /// driver refused, e.g. too long for its MTU).</summary>
    public long TxErrorDrops => Volatile.Read(ref _txErrorDrops);

    /// <summary>Errors the port's driver reported that the loop went on after (the last is <see cref="LastError"/>).</summary>
    public long Errors => Volatile.Read(ref _errors);

    /// <summary>Turns in which the loop could not post the port all the receive buffers it wanted, as the pool had no more free.</summary>
    public long PostShortfalls => Volatile.Read(ref _postShortfalls);

    /// <summary>Frames the driver itself dropped on receive (unusable, or no buffer posted: <see cref="NetDriver.RxDropped"/>); 0 for a
    /// driver not derived from <see cref="NetDriver"/>.</summary>
    public long DriverRxDrops => (Driver as NetDriver)?.RxDropped ?? 0;

    /// <summary>Frames the driver accepted and then failed to send (<see cref="NetDriver.TxDropped"/>); 0 for a driver not derived from <see cref="NetDriver"/>.</summary>
    public long DriverTxDrops => (Driver as NetDriver)?.TxDropped ?? 0;

    /// <summary>Frames the kernel dropped before the port's driver could take them (AF_PACKET: the socket's receive queue was
    /// full; AF_XDP: the receive ring was full or the fill ring empty); 0 for a driver whose kernel counts none. Reading it
    /// may make a system call.</summary>
    public long KernelRxDrops => (Driver as NetDriver)?.KernelRxDrops ?? 0;

    /// <summary>The last error the loop went on after, or <see langword="null"/>.</summary>
    public NetDriverException? LastError { get; private set; }

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Driver.DeviceName}: received {Received}, transmitted {Transmitted}, handler drops {HandlerDrops}, tx-full drops {TxFullDrops}, tx-error drops {TxErrorDrops}, errors {Errors}, post shortfalls {PostShortfalls}, driver rx/tx drops {DriverRxDrops}/{DriverTxDrops}, kernel rx drops {KernelRxDrops}";

    internal void AddReceived(int count) => Volatile.Write(ref _received, _received + count);

    internal void AddTransmitted(int count) => Volatile.Write(ref _transmitted, _transmitted + count);

    internal void AddHandlerDrops(int count) => Volatile.Write(ref _handlerDrops, _handlerDrops + count);

    internal void AddTxFullDrops(int count) => Volatile.Write(ref _txFullDrops, _txFullDrops + count);

    internal void AddTxErrorDrops(int count) => Volatile.Write(ref _txErrorDrops, _txErrorDrops + count);

    internal void AddPostShortfall() => Volatile.Write(ref _postShortfalls, _postShortfalls + 1);

    internal void AddError(NetDriverException error)
    {
        LastError = error;
        Volatile.Write(ref _errors, _errors + 1);
    }
}
