namespace NetBufNative.Drivers.Linux.Xdp;

/// <summary>The kernel's counters of one AF_XDP socket (<c>XDP_STATISTICS</c>), read by <see cref="XdpDriver.GetStatistics"/>.</summary>
/// <remarks>Immutable and thread-safe; a snapshot.</remarks>
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

    /// <summary>Frames the kernel dropped for this socket for other reasons than below (too long for a chunk, say).</summary>
    public long RxDropped { get; }

    /// <summary>Invalid fill-ring entries (addresses outside the UMEM).</summary>
    public long RxInvalidDescriptors { get; }

    /// <summary>Invalid transmit descriptors (outside the UMEM, crossing a chunk, too long), skipped by the kernel.</summary>
    public long TxInvalidDescriptors { get; }

    /// <summary>Frames dropped because the receive ring was full (the application did not take them in time).</summary>
    public long RxRingFull { get; }

    /// <summary>Frames dropped because the fill ring was empty (no buffer posted: recycle buffers sooner, or post more).</summary>
    public long RxFillRingEmpty { get; }

    /// <summary>Times the kernel found the transmit ring empty when woken to send.</summary>
    public long TxRingEmpty { get; }

    /// <inheritdoc/>
    public override string ToString() =>
        $"rx dropped {RxDropped}, rx invalid {RxInvalidDescriptors}, tx invalid {TxInvalidDescriptors}, rx ring full {RxRingFull}, fill ring empty {RxFillRingEmpty}, tx ring empty {TxRingEmpty}";
}
