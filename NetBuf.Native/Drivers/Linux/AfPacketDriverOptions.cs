namespace NetBufNative.Drivers.Linux;

/// <summary>How an <see cref="AfPacketDriver"/> opens its socket. Immutable once built; thread-safe to share.</summary>
public sealed class AfPacketDriverOptions
{
    /// <summary>The largest <see cref="ReceiveBufferSize"/>: the kernel keeps twice the value in an <c>int</c>.</summary>
    internal const int MaxReceiveBufferSize = int.MaxValue / 2;

    /// <summary>The named network namespace (from <c>ip netns add</c>) the interface is in; <see langword="null"/> (the default) for the caller's own. Entering a named namespace needs CAP_SYS_ADMIN (root has it).</summary>
    public string? NetworkNamespace { get; init; }

    /// <summary>
    /// A <c>PACKET_FANOUT</c> group id, 0 to 65535, to join in hash mode: the kernel spreads the
    /// interface's received frames over the group's sockets by flow hash (one flow always to one
    /// socket). Open one driver per worker thread with the same id, interface and namespace, all over
    /// one pool. <see langword="null"/> (the default): no fanout, the socket sees every frame.
    /// </summary>
    public int? FanoutGroup { get; init; }

    /// <summary>Buffers the receive queue holds (posted empty ones), 1 to 65536; <see cref="AfPacketDriver.DefaultQueueSize"/> by default.</summary>
    public int RxQueueSize { get; init; } = AfPacketDriver.DefaultQueueSize;

    /// <summary>Sent buffers the transmit queue holds until <see cref="NetDriver.RecycleTxBuffers"/>, 1 to 65536; <see cref="AfPacketDriver.DefaultQueueSize"/> by default.</summary>
    public int TxQueueSize { get; init; } = AfPacketDriver.DefaultQueueSize;

    /// <summary>Most frames one <c>recvmmsg</c>/<c>sendmmsg</c> call moves, 1 to 1024; <see cref="AfPacketDriver.DefaultBatchSize"/> by default.</summary>
    public int BatchSize { get; init; } = AfPacketDriver.DefaultBatchSize;

    /// <summary>
    /// The socket's receive buffer in bytes, 1 to 1073741823 (<c>SO_RCVBUF</c>): without the receive ring
    /// (<see cref="ReceiveRing"/>), how much received traffic waits in the kernel for the driver before it drops frames (counted in <see cref="AfPacketStatistics.Drops"/>). The kernel
    /// doubles the value for its bookkeeping, raises it to its minimum (a few KiB) and counts each frame at its memory cost,
    /// which on a veth is about 800 bytes even for a 60-byte frame (40 of them fill 16 KiB asked for) (<see cref="AfPacketDriver.ReceiveBufferSize"/> tells
    /// what it set). Set with <c>SO_RCVBUFFORCE</c> where the process has CAP_NET_ADMIN (root), so it may exceed
    /// <c>net.core.rmem_max</c>; otherwise with <c>SO_RCVBUF</c>, which the kernel caps there. <see langword="null"/>
    /// (the default): the kernel's default, <c>net.core.rmem_default</c> (208 KiB on most systems). Raise it when
    /// <see cref="AfPacketDriver.GetStatistics"/> shows drops under bursts. With the ring it bounds only the whole copies of
    /// frames longer than a slot waiting for the driver (a 64 KiB super-packet costs about 64 KiB of it): raise it when
    /// <see cref="AfPacketDriver.RingCopyDrops"/> grows.
    /// </summary>
    public int? ReceiveBufferSize { get; init; }

    /// <summary>
    /// Whether received frames get back the 802.1Q/802.1ad tag the kernel took out of them: the kernel
    /// moves a received frame's outer VLAN tag into packet metadata before a packet socket sees it;
    /// with this set (the default) the socket asks for that metadata (<c>PACKET_AUXDATA</c>) and the
    /// driver puts the tag back between the source address and the EtherType, in the buffer's headroom
    /// (12 bytes move, the payload stays where the kernel wrote it; a pool with less than 4 bytes of
    /// headroom gets the payload moved up instead, and a tagged frame that then does not fit is
    /// dropped), so frames arrive as they were on the wire, as from <see cref="TapDriver"/>. <see langword="false"/>: frames arrive untagged and the
    /// VLAN is not known.
    /// </summary>
    public bool RestoreVlanTags { get; init; } = true;

    /// <summary>
    /// Whether the driver completes the partial TCP/UDP checksums of received frames (the default). A Linux sender whose
    /// interface offers checksum offload (a veth, a TAP with offloads, most NICs) leaves only the pseudo-header's sum in the
    /// field for the device to finish; the socket's virtio-net header (<c>PACKET_VNET_HDR</c>, always asked for) says which
    /// frames are so and where the sum starts, and the driver finishes them as the kernel's <c>skb_checksum_help</c> would
    /// (<see cref="Wire.TransportChecksum.TryCompletePartial"/>, vectorized), so a frame forwarded unchanged is accepted by
    /// its receiver. <see langword="false"/>: such frames are handed over partial, and whoever sends them on must complete
    /// them (<see cref="Wire.TransportChecksum.TryCompleteIfPartial"/>) or the receiver drops them. GSO super-packets are
    /// cut into segments with full checksums either way.
    /// </summary>
    public bool CompletePartialChecksums { get; init; } = true;

    /// <summary>
    /// Whether the socket puts the interface in promiscuous mode (<c>PACKET_ADD_MEMBERSHIP</c>, <c>PACKET_MR_PROMISC</c>)
    /// while the driver is open: a NIC then passes up frames to other unicast addresses, which it otherwise filters out in
    /// hardware. The kernel counts the membership per socket and drops it when the socket closes, so nothing stays set and
    /// another holder's promiscuous mode is kept. <see langword="false"/> by default. A veth filters nothing: the packet
    /// socket sees frames to other addresses either way.
    /// </summary>
    public bool Promiscuous { get; init; }

    /// <summary>
    /// Whether frames are received through a receive ring shared with the kernel (<c>PACKET_RX_RING</c>,
    /// <c>TPACKET_V2</c>), the default, instead of <c>recvmmsg</c>: the kernel copies each frame into a slot of the ring in
    /// its receive path (the softirq, on the CPU that received the frame), and a receive call copies the frames from their
    /// slots into the posted buffers in user space, without a system call. An empty poll is then a read of one slot's
    /// status, where it is a system call otherwise. On a 2-vCPU VM under a flood on a veth it forwarded 1.4-1.7 times the
    /// frames of <c>recvmmsg</c> (docs/benchmarks.md). The ring, not the socket's receive buffer, holds what waits: one
    /// slot per receive buffer (<see cref="RxQueueSize"/>), at least 256 (about as many small frames as the default receive
    /// buffer holds), each the smallest power of two that holds 128 bytes of the kernel's headers and a buffer's room after
    /// its headroom (4 KiB for 2 KiB buffers: 1 MiB for 256 slots; 2 KiB with 128 bytes of headroom or more).
    /// <para>
    /// A frame longer than a slot (a GSO super-packet of up to 64 KiB, which a local TCP or UDP sender hands a veth with
    /// segmentation offload on) is put in its slot cut short and, as asked with <c>PACKET_COPY_THRESH</c>, queued whole on
    /// the socket's receive queue too; the driver reads that copy with <c>recvmsg</c> in the slot's place, so it is cut
    /// into segments as on the <c>recvmmsg</c> path, in order with the ring's other frames
    /// (<see cref="AfPacketDriver.RingCopiedFrames"/>). The kernel queues such copies only while the receive buffer
    /// (<see cref="ReceiveBufferSize"/>) has room; one it cannot queue is lost, counted in
    /// <see cref="AfPacketDriver.RingCopyDrops"/> and <see cref="NetDriver.RxDropped"/>, and never handed over cut short.
    /// </para>
    /// <para>
    /// <see langword="false"/>: <c>recvmmsg</c> into the posted buffers, and the socket's receive buffer holds what waits.
    /// A pending socket error (ENETDOWN after the interface went down) is then reported by the next receive; through the ring
    /// only when a long frame's copy is read (the ring's slots are read without a system call).
    /// </para>
    /// </summary>
    public bool ReceiveRing { get; init; } = true;

    /// <summary>
    /// Whether frames are sent through a transmit ring shared with the kernel (<c>PACKET_TX_RING</c>, <c>TPACKET_V2</c>), as
    /// DPDK's net_af_packet sends, instead of <c>sendmmsg</c> straight from the pool buffers. A transmit copies each frame
    /// (after a zero virtio-net header) into the next free slot and requests it, and one <c>send(fd, NULL, 0,
    /// MSG_DONTWAIT)</c> per batch of up to <see cref="BatchSize"/> frames makes the kernel send every requested slot;
    /// the pool buffer is done at once (recycled by the next <see cref="NetDriver.RecycleTxBuffers"/>), and the slot comes back
    /// when the kernel freed the frame it built over it. A frame whose slot is not free yet waits in the transmit queue, as
    /// one the socket has no room for does without the ring, and goes at the next call. The ring has one slot per transmit
    /// buffer (<see cref="TxQueueSize"/>), rounded up to whole pages, each the smallest power of two that holds 32 bytes of
    /// the kernel's header, the virtio-net header and the largest frame (MTU + 18: 2 KiB at MTU 1500); with the receive
    /// ring both are one mapping.
    /// <para>
    /// Differences from <c>sendmmsg</c>: the kernel checks no MTU for a socket with virtio-net headers on this path, so a
    /// frame longer than an MTU lowered after the driver opened is taken and dropped by the device (a veth counts it),
    /// where <c>sendmmsg</c> refuses it (EMSGSIZE); a frame the kernel refuses (<c>TP_STATUS_WRONG_FORMAT</c>, not expected for
    /// frames the driver checked) makes the send fail: that slot and every requested one after it are given back and
    /// counted in <see cref="NetDriver.TxDropped"/>, as the frames waiting in the queue, and the error is reported by the next
    /// call, as a device error without the ring.
    /// </para>
    /// <para>
    /// <see langword="false"/> (the default): <c>sendmmsg</c>. On a 2-vCPU VM shared with other work the ring showed no
    /// clear win (docs/benchmarks.md): 0.83-0.98 times the frames of <c>sendmmsg</c> in the forward bench's quieter rounds,
    /// 0.93-1.36 times in the versus rows of the pair run at one load, so it stays opt-in. A likely reason on a veth: the kernel builds each frame over
    /// the ring's pages (a zero-copy skb), and the veth copies those pages once more before it hands the frame on
    /// (<c>skb_copy_ubufs</c>), so the ring pays two copies where <c>sendmmsg</c> pays one; on a NIC it may differ.
    /// </para>
    /// </summary>
    public bool TransmitRing { get; init; }
}
