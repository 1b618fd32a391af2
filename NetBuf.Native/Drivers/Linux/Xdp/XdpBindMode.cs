namespace NetBufNative.Drivers.Linux.Xdp;

/// <summary>How an AF_XDP socket shares frames with the interface's driver.</summary>
public enum XdpBindMode
{
    /// <summary>Zero-copy where the interface's driver supports it, copy mode otherwise (the kernel decides; <see cref="XdpDriver.IsZeroCopy"/> tells which).</summary>
    Auto = 0,

    /// <summary>Copy mode: the kernel copies each frame between its own buffers and the UMEM. Works on every interface (veth included).</summary>
    Copy,

    /// <summary>Zero-copy: the NIC's DMA reads and writes the UMEM (the pool's buffers) directly. Only where the NIC's driver supports it; veth and most virtual NICs do not, and the driver then fails with <see cref="NetDriverErrorKind.Unsupported"/>.</summary>
    ZeroCopy,
}
