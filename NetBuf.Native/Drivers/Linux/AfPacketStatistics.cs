namespace NetBufNative.Drivers.Linux;

/// <summary>
/// The kernel's counters of one <see cref="AfPacketDriver"/>'s socket (<c>PACKET_STATISTICS</c>), totalled since the
/// driver was created, read by <see cref="AfPacketDriver.GetStatistics"/>.
/// </summary>
/// <remarks>
/// <para>
/// The kernel resets its two counters on every read, so the driver adds each reading to its totals; every read, by
/// <see cref="AfPacketDriver.GetStatistics"/> or by the <c>netbuf.afpacket.*</c> metrics, goes into the same totals.
/// Frames the driver itself sent are not counted: from Linux 4.20 the kernel leaves them out of the socket (<c>PACKET_IGNORE_OUTGOING</c>).
/// </para>
/// <para>Immutable and thread-safe; a snapshot.</para>
/// </remarks>
public sealed class AfPacketStatistics
{
    internal AfPacketStatistics(long packets, long drops)
    {
        Packets = packets;
        Drops = drops;
    }

    /// <summary>
    /// Frames that reached the socket (<c>tp_packets</c>): those queued for the driver to receive and those counted in
    /// <see cref="Drops"/>. Frames queued are received by the driver (<see cref="NetDriver.RxFrames"/>) or dropped by it
    /// (<see cref="NetDriver.RxDropped"/>: too long, runts); some may still be waiting in the socket.
    /// </summary>
    public long Packets { get; }

    /// <summary>
    /// Frames the kernel dropped for the socket (<c>tp_drops</c>) because its receive queue was full: the driver did not
    /// receive fast enough, or had too few buffers posted, for the socket's buffer (<see cref="AfPacketDriverOptions.ReceiveBufferSize"/>)
    /// to absorb the burst (also, rarely, frames the kernel had no memory to copy). Frames the driver drops are in
    /// <see cref="NetDriver.RxDropped"/> instead.
    /// </summary>
    public long Drops { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{Packets} packets reached the socket, {Drops} dropped on a full receive queue";
}
