namespace NetBufNative.Bench.Drivers;

/// <summary>testpmd's port counters (<c>show port stats all</c>), summed over its ports.</summary>
/// <param name="RxPackets">Frames received.</param>
/// <param name="RxMissed">Frames the device or kernel dropped before testpmd took them (imissed; net_af_packet: the socket's drops, net_af_xdp: the ring's).</param>
/// <param name="RxErrors">Receive errors.</param>
/// <param name="RxNoMbuf">Receives that failed for want of an mbuf.</param>
/// <param name="TxPackets">Frames sent.</param>
/// <param name="TxErrors">Frames it failed to send (net_af_packet: dropped when the ring was full).</param>
internal readonly record struct TestpmdStats(long RxPackets, long RxMissed, long RxErrors, long RxNoMbuf, long TxPackets, long TxErrors)
{
    public static TestpmdStats operator +(TestpmdStats a, TestpmdStats b) => new(
        a.RxPackets + b.RxPackets, a.RxMissed + b.RxMissed, a.RxErrors + b.RxErrors, a.RxNoMbuf + b.RxNoMbuf, a.TxPackets + b.TxPackets, a.TxErrors + b.TxErrors);

    public static TestpmdStats operator -(TestpmdStats a, TestpmdStats b) => new(
        a.RxPackets - b.RxPackets, a.RxMissed - b.RxMissed, a.RxErrors - b.RxErrors, a.RxNoMbuf - b.RxNoMbuf, a.TxPackets - b.TxPackets, a.TxErrors - b.TxErrors);

    /// <summary>Adds two readings.</summary>
    public static TestpmdStats Add(TestpmdStats left, TestpmdStats right) => left + right;

    /// <summary>The counts from <paramref name="right"/> to <paramref name="left"/>.</summary>
    public static TestpmdStats Subtract(TestpmdStats left, TestpmdStats right) => left - right;
}
