namespace NetBufNative.Drivers.Linux.Xdp;

/// <summary>Optional settings of an <see cref="XdpDriver"/>.</summary>
/// <remarks>Read once by the constructor; later changes have no effect on a driver.</remarks>
public sealed class XdpDriverOptions
{
    /// <summary>The named network namespace of the interface (one made by <c>ip netns add</c>), or <see langword="null"/> for the creator's own. Entering a named namespace needs CAP_SYS_ADMIN (root has it).</summary>
    public string? NetworkNamespace { get; init; }

    /// <summary>The interface's receive/transmit queue the socket binds to (0 on a single-queue interface).</summary>
    public int QueueId { get; init; }

    /// <summary>The size of the fill and receive rings: how many empty buffers the driver can hold for the kernel to fill. A power of two; default <see cref="XdpDriver.DefaultRingSize"/>.</summary>
    public int RxQueueSize { get; init; } = XdpDriver.DefaultRingSize;

    /// <summary>The size of the transmit and completion rings: how many frames can be in flight. A power of two; default <see cref="XdpDriver.DefaultRingSize"/>.</summary>
    public int TxQueueSize { get; init; } = XdpDriver.DefaultRingSize;

    /// <summary>Copy or zero-copy; <see cref="XdpBindMode.Auto"/> by default.</summary>
    public XdpBindMode BindMode { get; init; }

    /// <summary>Where the XDP program runs; <see cref="XdpAttachMode.Auto"/> by default.</summary>
    public XdpAttachMode AttachMode { get; init; }

    /// <summary>Which frames go to the socket (the rest pass to the kernel's stack); <see cref="XdpFilter.Every"/> by default.</summary>
    public XdpFilter Filter { get; init; } = XdpFilter.Every;

    /// <summary>
    /// Whether the socket uses <c>XDP_USE_NEED_WAKEUP</c> (default on): the kernel then says in the
    /// rings' flags when it needs a system call to go on, and the driver makes one only then, rather
    /// than after every batch. Off only to measure what it saves.
    /// </summary>
    public bool UseNeedWakeup { get; init; } = true;

    /// <summary>
    /// Another driver of the same interface, namespace and pool, on another queue, whose UMEM and XDP
    /// program this driver shares (<c>XDP_SHARED_UMEM</c>): how a driver per queue serves a
    /// multi-queue interface from one pool. The new driver has its own socket, rings and thread, is
    /// put into the shared XSKMAP at <see cref="QueueId"/>, and takes the other driver's bind mode,
    /// <c>need_wakeup</c> setting, attach mode and filter (this object's
    /// <see cref="BindMode"/>, <see cref="UseNeedWakeup"/>, <see cref="AttachMode"/> and
    /// <see cref="Filter"/> are not used). <see langword="null"/> (the default): the driver registers
    /// the pool and attaches a program of its own.
    /// </summary>
    /// <remarks>
    /// The pool needs room for every sharing driver's rings (the sum of their receive and transmit
    /// queue sizes). The first driver's program has XSKMAP slots for queues 0 to 63 (or up to its own
    /// queue, if higher).
    /// </remarks>
    public XdpDriver? ShareUmemWith { get; init; }

    /// <summary>
    /// Whether the driver holds the interface in promiscuous mode while it is open (off by default): a real NIC then hands
    /// the XDP program frames addressed to other hosts too, as a bridge port needs; a veth delivers them anyway. Done with a
    /// packet socket's membership (<c>PACKET_MR_PROMISC</c>, which the kernel counts per holder and takes back when the
    /// driver closes or the process dies), so it shows as the interface's <c>promiscuity</c> count, not its <c>PROMISC</c> flag.
    /// </summary>
    public bool Promiscuous { get; init; }

    /// <summary>
    /// Whether the driver completes partial TCP/UDP checksums of received frames in copy mode (the default). A Linux sender
    /// whose interface offers checksum offload (a veth) leaves only the pseudo-header's sum in the field, and an AF_XDP
    /// socket gets no word of it (no XDP metadata carries the skb's checksum state), so the driver checks every TCP/UDP
    /// checksum (<see cref="Wire.TransportChecksum.TryCompleteIfPartial"/>, vectorized) and completes one that fails and holds
    /// the pseudo-header's sum; a wrong one that does not is left wrong. Not done in zero-copy mode, where frames come from the
    /// NIC's wire. <see langword="false"/>: frames are handed over as the kernel wrote them.
    /// </summary>
    public bool CompletePartialChecksums { get; init; } = true;

    /// <summary>
    /// Preferred busy polling (Linux 5.11), DPDK's <c>busy_budget</c>: 0 (the default) leaves it off; a budget of 1 to
    /// <see cref="XdpDriver.MaxBusyPollBudget"/> sets <c>SO_PREFER_BUSY_POLL</c>, <c>SO_BUSY_POLL</c>
    /// (<see cref="XdpDriver.BusyPollMicroseconds"/>) and <c>SO_BUSY_POLL_BUDGET</c> on the socket, and a receive that finds
    /// the ring empty makes one <c>recvfrom</c> system call, in which the kernel runs the interface's receive work (its NAPI
    /// poll, up to the budget's frames) on the calling thread instead of in a softirq wherever the sender runs. Meant for a
    /// thread that polls a CPU of its own (<see cref="Processing.PollingMode.BusyPoll"/>); DPDK's <c>net_af_xdp</c> has it on
    /// with a budget of 64. Measured on a shared 2-vCPU VM over a veth it cost more than it saved (a system call per empty
    /// poll; docs/benchmarks.md), hence off by default: measure it on the machine it is meant for. A budget above the kernel's <c>net.core.busy_poll</c> rules may need CAP_NET_ADMIN (root has it).
    /// </summary>
    public int BusyPollBudget { get; init; }
}
