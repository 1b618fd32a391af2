using System.Runtime.InteropServices;

namespace NetBufNative.Drivers.Linux.Xdp;

/// <summary><c>struct xdp_statistics</c> (48 bytes since Linux 5.9; 24 before): the counters of <c>getsockopt(XDP_STATISTICS)</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 48)]
internal struct XdpStatisticsRaw
{
    /// <summary>The structure's size.</summary>
    public const int Size = 48;

    /// <summary><c>rx_dropped</c>.</summary>
    [FieldOffset(0)]
    public ulong RxDropped;

    /// <summary><c>rx_invalid_descs</c>.</summary>
    [FieldOffset(8)]
    public ulong RxInvalidDescriptors;

    /// <summary><c>tx_invalid_descs</c>.</summary>
    [FieldOffset(16)]
    public ulong TxInvalidDescriptors;

    /// <summary><c>rx_ring_full</c>.</summary>
    [FieldOffset(24)]
    public ulong RxRingFull;

    /// <summary><c>rx_fill_ring_empty_descs</c>.</summary>
    [FieldOffset(32)]
    public ulong RxFillRingEmpty;

    /// <summary><c>tx_ring_empty_descs</c>.</summary>
    [FieldOffset(40)]
    public ulong TxRingEmpty;
}
