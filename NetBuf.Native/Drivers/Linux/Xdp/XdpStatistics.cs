namespace NetBufNative.Drivers.Linux.Xdp;

/// <summary>The kernel's counters of one AF_XDP socket (<c>XDP_STATISTICS</c>), read by <see cref="XdpDriver.GetStatistics"/>.</summary>
/// <remarks>
/// <para>
/// Each property is one field of the kernel's <c>struct xdp_statistics</c>, described by what the kernel counts in it
/// (<c>xsk_getsockopt</c> and the receive and transmit paths of <c>net/xdp</c>), which is not always what the field's
/// name or its header comment suggest: a frame dropped in copy mode because the fill ring was empty is counted in both
/// <see cref="RxDropped"/> and <see cref="RxFillRingEmpty"/>, so the counters overlap and are not to be added up.
/// The kernel keeps them from the socket's creation and never resets them.
/// </para>
/// <para>Immutable and thread-safe; a snapshot.</para>
/// </remarks>
public sealed class XdpStatistics
{
    internal XdpStatistics(in XdpStatisticsRaw raw)
    {
        RxDropped = (long)raw.RxDropped;
        RxInvalidDescriptors = (long)raw.RxInvalidDescriptors;
        TxInvalidDescriptors = (long)raw.TxInvalidDescriptors;
        RxRingFull = (long)raw.RxRingFull;
        RxFillRingEmpty = (long)raw.RxFillRingEmpty;
        TxRingEmpty = (long)raw.TxRingEmpty;
    }

    /// <summary>
    /// <c>rx_dropped</c>: frames redirected to the socket that the kernel dropped before they reached the receive ring,
    /// because they were longer than a chunk's room after the headroom, or (copy mode) because no buffer could be taken
    /// from the fill ring to copy them into. In copy mode it therefore includes every frame counted in
    /// <see cref="RxFillRingEmpty"/>; on a veth, with frames that fit, the two are equal. Frames dropped on a full
    /// receive ring are not in it (<see cref="RxRingFull"/>).
    /// </summary>
    public long RxDropped { get; }

    /// <summary>
    /// <c>rx_invalid_descs</c>: the invalid-descriptor count of the socket's receive ring. The kernel writes that ring
    /// and never checks its own entries, so this stays 0; invalid fill-ring entries (an address outside the UMEM, which
    /// this driver never posts) are skipped without being counted in any field here.
    /// </summary>
    public long RxInvalidDescriptors { get; }

    /// <summary>
    /// <c>tx_invalid_descs</c>: transmit-ring descriptors the kernel skipped without sending (an address outside the
    /// UMEM, a frame crossing its chunk or longer than it, unknown options), and in copy mode multi-buffer frames it
    /// dropped for having too many pieces. The kernel puts none of them on the completion ring. This driver checks every
    /// frame against its chunk before it queues it, so it stays 0 here.
    /// </summary>
    public long TxInvalidDescriptors { get; }

    /// <summary><c>rx_ring_full</c>: frames dropped because the receive ring was full (the application did not take
    /// received frames in time).</summary>
    public long RxRingFull { get; }

    /// <summary>
    /// <c>rx_fill_ring_empty_descs</c>: times the kernel needed a buffer from the fill ring for a frame and found it
    /// empty (no buffer posted: recycle buffers sooner, or post more). In copy mode each is a frame dropped, also counted
    /// in <see cref="RxDropped"/>; in zero-copy mode the NIC driver counts its own attempts, which need not be one a frame.
    /// </summary>
    public long RxFillRingEmpty { get; }

    /// <summary>
    /// <c>tx_ring_empty_descs</c>: times the kernel's transmit path looked for a descriptor and found the transmit ring
    /// empty. Not a drop: in copy mode a <c>sendto</c> kick that sends the ring dry typically ends with one such look.
    /// </summary>
    public long TxRingEmpty { get; }

    /// <inheritdoc/>
    public override string ToString() =>
        $"rx dropped {RxDropped}, rx invalid {RxInvalidDescriptors}, tx invalid {TxInvalidDescriptors}, rx ring full {RxRingFull}, fill ring empty {RxFillRingEmpty}, tx ring empty {TxRingEmpty}";
}
