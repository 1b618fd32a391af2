namespace NetBufNative.Drivers.Linux.Xdp;

/// <summary>Where the XDP program runs in the interface's receive path.</summary>
public enum XdpAttachMode
{
    /// <summary>Native where the interface's driver supports XDP, generic otherwise (the kernel decides).</summary>
    Auto = 0,

    /// <summary>Generic (SKB) mode: after the kernel has built its socket buffer; works on every interface, slower.</summary>
    Generic,

    /// <summary>Native (driver) mode: in the driver's receive path before any allocation; veth and most NIC drivers support it.</summary>
    Native,
}
