using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using NetBufNative.Drivers.Linux.Xdp;
using NetBufNative.Wire;

namespace NetBufNative.Drivers.Linux;

/// <summary>
/// An AF_PACKET raw socket bound to one Linux interface (a veth end, a NIC): frames arriving at the
/// interface are received here, frames transmitted here leave by it. Frames are received from a ring the kernel fills
/// (<c>PACKET_RX_RING</c>, <see cref="AfPacketDriverOptions.ReceiveRing"/>, the default), copied from it into pool
/// buffers, or without the ring straight into pool buffers with <c>recvmmsg</c>; they are sent straight from pool buffers
/// with <c>sendmmsg</c>, or copied into a transmit ring (<c>PACKET_TX_RING</c>, <see cref="AfPacketDriverOptions.TransmitRing"/>)
/// and sent with one kick per batch, in batches (<see cref="NetDriver.ReceiveBatch"/>, <see cref="NetDriver.TransmitBatch"/>) or one
/// per call (<see cref="NetDriver.TryReceive"/>, <see cref="NetDriver.TryTransmit"/>). Scale out with
/// <see cref="AfPacketDriverOptions.FanoutGroup"/>: one driver per worker thread in one
/// <c>PACKET_FANOUT</c> group, all over one pool.
/// </summary>
/// <remarks>
/// <para>
/// The socket sees every protocol (<c>ETH_P_ALL</c>) on its interface only (it is bound before it
/// listens), and not the interface's outgoing frames: the kernel is asked to leave them out
/// (<c>PACKET_IGNORE_OUTGOING</c>) and any that still arrive (<c>sll_pkttype</c> =
/// <c>PACKET_OUTGOING</c>) are dropped, so the driver never receives what it sent. Needs root or
/// CAP_NET_RAW; Linux only.
/// </para>
/// <para>
/// Receiving goes into the oldest posted buffers (<see cref="NetDriver.TryRecycleRxBuffer"/>) at the pool's
/// <see cref="NetBufPool.DefaultHeadroom"/>. A restored VLAN tag's 4 bytes come out of the headroom
/// (the frame then starts 4 bytes earlier; 12 bytes move); with less than 4 bytes of headroom the
/// frame's payload moves 4 bytes up instead (a copy), and a tagged frame that would then not fit the
/// buffer is dropped. A frame longer than the room after the headroom (the kernel flags it
/// <c>MSG_TRUNC</c>), shorter than an Ethernet header, or outgoing is dropped and counted in
/// <see cref="NetDriver.RxDropped"/>, and so is one whose VLAN metadata did not fit (<c>MSG_CTRUNC</c>, not
/// expected: a tag must not be lost silently); its buffer stays posted. Transmission is synchronous: a sent
/// buffer waits in the transmit queue until <see cref="NetDriver.RecycleTxBuffers"/>; a frame the socket has no room
/// for (EAGAIN, ENOBUFS), or with the transmit ring no free slot, waits there too and goes at the next call. A device error drops the frames not yet sent
/// (counted in <see cref="NetDriver.TxDropped"/>) and is reported by the next call.
/// </para>
/// <para>
/// Thread safety: that of <see cref="NetDriver"/>: one thread at a time, except <see cref="NetDriver.Dispose"/> and the counters,
/// and <see cref="GetStatistics"/> from any thread. Drivers of one fanout group are independent objects: each on its own thread.
/// </para>
/// <para>
/// Frames the driver's thread does not take in time wait in the receive ring (one slot per receive buffer, at least 256)
/// or, without it, in the socket's receive buffer (<see cref="AfPacketDriverOptions.ReceiveBufferSize"/>); when that is
/// full the kernel drops them, and <see cref="GetStatistics"/> counts them (<c>PACKET_STATISTICS</c>). A frame longer
/// than a ring slot (a GSO super-packet) is read whole from the socket's receive queue in its slot's place
/// (<see cref="RingCopiedFrames"/>), or lost and counted (<see cref="RingCopyDrops"/>) when the receive buffer had no room
/// for it.
/// </para>
/// <para>
/// VLAN tags: the kernel removes the outer 802.1Q/802.1ad tag from a received frame and keeps it
/// as packet metadata. By default (<see cref="AfPacketDriverOptions.RestoreVlanTags"/>) the driver
/// reads that metadata (<c>PACKET_AUXDATA</c>) and puts the tag back, with the protocol (0x8100 or
/// 0x88A8) and the priority, DEI and VLAN id the kernel reports, so frames arrive as they were on the
/// wire; an inner tag (QinQ) stays in the frame as the kernel left it. Tagged frames are transmitted
/// as they are.
/// </para>
/// <para>
/// Offloads: a sender whose interface offers checksum offload and TSO (a veth, and a NIC's GRO on receive) leaves
/// TCP/UDP checksums partial and hands TCP over in super-packets of up to 64 KiB. The socket asks for a virtio-net header
/// per frame (<c>PACKET_VNET_HDR</c>); by default (<see cref="AfPacketDriverOptions.CompletePartialChecksums"/>) a partial
/// checksum is completed, and a super-packet is always received whole and cut into segments of the sender's segment size
/// with full checksums (the first in the posted buffer, the others in buffers taken from the pool, beyond the driver's
/// reservation), so every frame handed over is valid and at most one MTU long. Segments beyond the caller's span are held
/// ready, in order, for the next receive call. What cannot be finished is dropped and counted in
/// <see cref="OffloadDrops"/>. Promiscuous mode: <see cref="AfPacketDriverOptions.Promiscuous"/>.
/// </para>
/// </remarks>
public sealed unsafe class AfPacketDriver : NetDriver
{
    /// <summary>Queue size when none is given: 256 buffers each way, a common NIC ring size.</summary>
    public const int DefaultQueueSize = 256;

    /// <summary>Frames per <c>recvmmsg</c>/<c>sendmmsg</c> when none is given: 32, where the facts measured the batched rate (a larger batch gained little).</summary>
    public const int DefaultBatchSize = 32;

    /// <summary>The largest batch: 1024 is the kernel's <c>UIO_MAXIOV</c>, the most messages one call takes.</summary>
    private const int MaxBatchSize = 1024;

    /// <summary>Unusable frames one receive call drops at most before it returns: bounds the call under a flood of them.</summary>
    private const int MaxDropsPerCall = 64;

    /// <summary>Control buffer per message: the one <c>PACKET_AUXDATA</c> message asked for takes
    /// <c>CMSG_SPACE(20)</c> = 40 bytes; 64 keeps each message's buffer on its own 64-byte boundary.</summary>
    private const int ControlSpace = 64;

    /// <summary>Empty receives between two looks at the socket's binding (<c>getsockname</c>, one system call): 256, as the AF_XDP
    /// driver's link check, so a busy-polling loop pays one call per 256 empty polls and still notices a deleted interface.</summary>
    private const int EmptyPollsPerLinkCheck = 256;

    /// <summary>Room for the part of a received frame beyond its buffer: 64 KiB, the largest GSO super-packet a veth or
    /// a NIC's GRO hands over by default (<c>gso_max_size</c> / <c>gro_max_size</c> 65536; larger with BIG TCP, which is
    /// then truncated and dropped).</summary>
    private const int OverflowLength = 65536;

    /// <summary>I/O vectors per received message: the virtio-net header, the posted buffer, the overflow.</summary>
    private const int ReceiveVectors = 3;

    /// <summary>Most segments one super-packet is cut into: 64 KiB in segments of 88 bytes, the smallest MSS Linux
    /// allows, is 745; a super-packet that would need more is dropped.</summary>
    private const int MaxSegments = 768;

    /// <summary>Room for a super-packet's headers, copied before its first segment's are changed: Ethernet with two
    /// VLAN tags (22), IPv6 with extension headers, TCP with options (60) fit in 256.</summary>
    private const int MaxHeaderLength = 256;

    /// <summary>Room before the frame in a receive ring's slot: the kernel puts the frame at
    /// <c>TPACKET_ALIGN(52 + max(16, link header)) + 10 - link header</c> (52: <c>tpacket2_hdr</c> and <c>sockaddr_ll</c>; 10: the
    /// virtio-net header), 76 bytes after the slot's start for an Ethernet header, 96 for a 32-byte one; 128 keeps room for more.</summary>
    private const int RingHeadRoom = 128;

    /// <summary>The smallest block of a receive ring: one page of 4 KiB (the kernel wants whole pages).</summary>
    private const int RingMinBlockSize = 4096;

    /// <summary>The fewest slots of a receive ring: 256, about as many small frames as the socket's default receive buffer
    /// holds (<c>net.core.rmem_default</c>, 208 KiB, at about 800 bytes a frame), so the ring absorbs the bursts the socket
    /// would, also behind a small receive queue.</summary>
    private const int RingMinFrames = 256;

    private static int s_lastSocketNumber;

    private readonly DeviceQueues _queues;
    private readonly DeviceHandle _device;
    private readonly BufferFifo _posted;
    private readonly int _rxOffset;
    private readonly int _rxRoom;
    private readonly bool _restoreVlanTags;
    private readonly byte* _control;
    private readonly int _maxFrameLength;
    private readonly int _batchSize;
    private readonly MMsgHdr* _messages;
    private readonly IoVec* _vectors;
    private readonly SockAddrLl* _addresses;
    private readonly VirtioNetHeader* _rxHeaders;
    private readonly VirtioNetHeader* _txHeader;
    private readonly byte* _overflow;
    private readonly int _overflowStride;
    private readonly byte* _headerCopy;
    private readonly ReadyFrames _ready;
    private readonly NetBufPtr[] _segmentBuffers;
    private readonly bool _completeChecksums;
    private readonly byte* _ring;
    private readonly byte* _mapping;
    private readonly nuint _mappingLength;
    private readonly PacketTransmitRing? _txRing;
    private bool _txKickNeeded;
    private long _txRingRefused;
    private readonly int _ringFrameSize;
    private readonly int _ringFrames;
    private int _ringHead;
    private long _ringCopies;
    private long _ringCopyDrops;
    private long _checksumsCompleted;
    private long _superPackets;
    private long _segmentationDrops;

    /// <summary>Serializes the reads of the kernel's counters with the additions to the totals, so a snapshot never
    /// shows the drops of a reading without its packets.</summary>
    private readonly Lock _statisticsLock = new();
    private int _emptyPolls;
    private long _kernelPackets;
    private long _kernelDrops;

    /// <summary>Opens a packet socket bound to <paramref name="interfaceName"/>.</summary>
    /// <param name="pool">The pool of every buffer the driver handles.</param>
    /// <param name="interfaceName">The interface, 1 to 15 characters (it must exist; it may be down, but sending then fails).</param>
    /// <param name="options">Namespace, fanout group, queue and batch sizes; defaults when null.</param>
    /// <exception cref="ArgumentNullException"><paramref name="pool"/> or <paramref name="interfaceName"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A queue size, the batch size, the fanout group or the receive buffer size is out of range.</exception>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    /// <exception cref="NetDriverException">
    /// Not Linux or not a 64-bit process (<see cref="NetDriverErrorKind.Unsupported"/>); the pool's buffers not yet
    /// reserved by other drivers are fewer than the two queues hold (InvalidParam, naming every holder:
    /// <see cref="NetBufPool.Reserve"/>); no privilege (Unsupported, saying what is needed); no such interface or
    /// namespace (InvalidParam); the fanout group exists with another mode or interface (InvalidParam); another system
    /// call failed.
    /// </exception>
    public AfPacketDriver(NetBufPool pool, string interfaceName, AfPacketDriverOptions? options = null)
        : base(pool)
    {
        ArgumentNullException.ThrowIfNull(interfaceName);
        options ??= new AfPacketDriverOptions();
        FrameChecks.QueueSize(options.RxQueueSize, nameof(options.RxQueueSize));
        FrameChecks.QueueSize(options.TxQueueSize, nameof(options.TxQueueSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchSize, 1, nameof(options.BatchSize));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.BatchSize, MaxBatchSize, nameof(options.BatchSize));
        if (options.FanoutGroup is int group)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(group, nameof(options.FanoutGroup));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(group, ushort.MaxValue, nameof(options.FanoutGroup));
        }

        if (options.ReceiveBufferSize is int receiveBuffer)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(receiveBuffer, 1, nameof(options.ReceiveBufferSize));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(receiveBuffer, AfPacketDriverOptions.MaxReceiveBufferSize, nameof(options.ReceiveBufferSize));
        }

        if (!OperatingSystem.IsLinux() || !Environment.Is64BitProcess)
        {
            throw LinuxError.NotLinux(nameof(AfPacketDriver));
        }

        FrameChecks.InterfaceName(interfaceName);
        bool restoreVlanTags = options.RestoreVlanTags;
        bool promiscuous = options.Promiscuous;
        ReservePoolBuffers(FrameChecks.Owner("AF_PACKET", interfaceName, options.NetworkNamespace), options.RxQueueSize, options.TxQueueSize);
        int index;
        MacAddress mac;
        int mtu;
        int receiveBufferSize;
        TPacketRequest ring = options.ReceiveRing ? RingShape(pool.BufferLength - pool.DefaultHeadroom, Math.Max(options.RxQueueSize, RingMinFrames)) : default;
        int txSlots = options.TransmitRing ? options.TxQueueSize : 0;
        nint mapping;
        TPacketRequest txRing;
        try
        {
            int fd;
            (fd, index, mac, mtu, receiveBufferSize, mapping, txRing) =
                NamespaceThread.Run(options.NetworkNamespace, () => Open(interfaceName, options.FanoutGroup, restoreVlanTags, promiscuous, options.ReceiveBufferSize, ring, txSlots));
            _queues = new DeviceQueues(new DeviceHandle(fd, interfaceName), options.RxQueueSize, options.TxQueueSize);
        }
        catch
        {
            ReleasePoolBuffers();
            throw;
        }

        (_device, _posted) = (_queues.Device, _queues.Posted);
        _restoreVlanTags = restoreVlanTags;
        _completeChecksums = options.CompletePartialChecksums;
        IsPromiscuous = promiscuous;

        _rxOffset = pool.DefaultHeadroom;
        _rxRoom = pool.BufferLength - _rxOffset;
        _maxFrameLength = mtu + LinuxConstants.EthernetHeaderLength;
        _batchSize = options.BatchSize;
        _mapping = (byte*)mapping;
        _mappingLength = RingLength(ring) + RingLength(txRing);
        _ring = ring.FrameCount > 0 ? _mapping : null;
        _ringFrameSize = (int)ring.FrameSize;
        _ringFrames = (int)ring.FrameCount;

        // One mapping holds both rings, the receive ring first (packet_mmap maps them in that order).
        _txRing = txRing.FrameCount > 0 ? new PacketTransmitRing(_mapping + RingLength(ring), txRing) : null;
        _messages = (MMsgHdr*)NativeMemory.AllocZeroed((nuint)_batchSize, (nuint)sizeof(MMsgHdr));
        _vectors = (IoVec*)NativeMemory.AllocZeroed((nuint)(_batchSize * ReceiveVectors), (nuint)sizeof(IoVec));
        _addresses = (SockAddrLl*)NativeMemory.AllocZeroed((nuint)_batchSize, (nuint)sizeof(SockAddrLl));
        _control = restoreVlanTags ? (byte*)NativeMemory.AllocZeroed((nuint)_batchSize, ControlSpace) : null;
        _rxHeaders = (VirtioNetHeader*)NativeMemory.AllocZeroed((nuint)_batchSize, (nuint)sizeof(VirtioNetHeader));
        _txHeader = (VirtioNetHeader*)NativeMemory.AllocZeroed(1, (nuint)sizeof(VirtioNetHeader));
        _headerCopy = (byte*)NativeMemory.Alloc(MaxHeaderLength);

        // Per message: room for the tail of the posted buffer (moved here when a super-packet is cut, so its payload is
        // one span), then the overflow the kernel writes. Pages the kernel never writes are never backed.
        _overflowStride = _rxRoom + LinuxConstants.VlanTagLength + OverflowLength;
        _overflow = (byte*)NativeMemory.Alloc((nuint)_batchSize, (nuint)_overflowStride);
        _ready = new ReadyFrames(_batchSize + MaxSegments);
        _segmentBuffers = new NetBufPtr[MaxSegments];
        InterfaceIndex = index;
        MacAddress = mac;
        Mtu = mtu;
        NetworkNamespace = options.NetworkNamespace;
        FanoutGroup = options.FanoutGroup;
        ReceiveBufferSize = receiveBufferSize;
        SocketNumber = Interlocked.Increment(ref s_lastSocketNumber);
        AfPacketMetrics.Register(this);
    }

    /// <inheritdoc/>
    public override string DeviceName => _device.DeviceName;

    /// <summary>The interface's hardware address (read with <c>SIOCGIFHWADDR</c> when the driver was created): the address the driver's frames are sent from.</summary>
    public override MacAddress MacAddress { get; }

    /// <summary>The interface's index in its namespace.</summary>
    public int InterfaceIndex { get; }

    /// <summary>The interface's MTU when the driver was created: frames of up to MTU + 18 bytes (header and one VLAN tag) are sent.</summary>
    public int Mtu { get; }

    /// <summary>The named network namespace of the interface, or <see langword="null"/> for the creator's own.</summary>
    public string? NetworkNamespace { get; }

    /// <summary>The <c>PACKET_FANOUT</c> group the socket joined (hash mode), or <see langword="null"/>.</summary>
    public int? FanoutGroup { get; }

    /// <summary>Whether received frames get back the VLAN tag the kernel took out (<see cref="AfPacketDriverOptions.RestoreVlanTags"/>).</summary>
    public bool RestoresVlanTags => _restoreVlanTags;

    /// <summary>Whether partial TCP/UDP checksums of received frames are completed (<see cref="AfPacketDriverOptions.CompletePartialChecksums"/>).</summary>
    public bool CompletesPartialChecksums => _completeChecksums;

    /// <summary>Whether the socket holds the interface in promiscuous mode (<see cref="AfPacketDriverOptions.Promiscuous"/>).</summary>
    public bool IsPromiscuous { get; }

    /// <summary>Received frames whose partial TCP/UDP checksum the driver completed (segments of super-packets not included).</summary>
    /// <remarks>Thread-safe.</remarks>
    public long PartialChecksumsCompleted => Volatile.Read(ref _checksumsCompleted);

    /// <summary>Received GSO super-packets the driver cut into segments.</summary>
    /// <remarks>Thread-safe.</remarks>
    public long SuperPacketsSegmented => Volatile.Read(ref _superPackets);

    /// <summary>
    /// Received frames dropped (and counted in <see cref="NetDriver.RxDropped"/> too) because the driver could not finish
    /// them: a super-packet of a kind it does not cut (UDP fragmentation offload), with headers it cannot read, needing
    /// more than 768 segments or a segment larger than a buffer, or for whose segments the pool had no free buffers; a
    /// partial checksum that is not an Internet checksum (SCTP's CRC32c) or lies outside the frame.
    /// </summary>
    /// <remarks>Thread-safe.</remarks>
    public long OffloadDrops => Volatile.Read(ref _segmentationDrops);

    /// <summary>Whether frames are received through the receive ring (<see cref="AfPacketDriverOptions.ReceiveRing"/>, the
    /// default) rather than with <c>recvmmsg</c>.</summary>
    public bool ReceivesFromRing => _ring != null;

    /// <summary>Whether frames are sent through the transmit ring (<see cref="AfPacketDriverOptions.TransmitRing"/>) rather
    /// than with <c>sendmmsg</c>.</summary>
    public bool TransmitsThroughRing => _txRing != null;

    /// <summary>Slots of the transmit ring (0 without it).</summary>
    internal int TransmitRingSlots => _txRing?.SlotCount ?? 0;

    /// <summary>Bytes of a transmit ring slot (0 without it).</summary>
    internal int TransmitRingSlotSize => _txRing?.SlotSize ?? 0;

    /// <summary>Frames the kernel refused in the transmit ring (<c>TP_STATUS_WRONG_FORMAT</c>), also in <see cref="NetDriver.TxDropped"/>.</summary>
    internal long TransmitRingRefused => Volatile.Read(ref _txRingRefused);

    /// <summary>
    /// Frames longer than a slot of the receive ring that were received whole all the same: the kernel put each in its slot
    /// cut short and flagged (<c>TP_STATUS_COPY</c>) and a whole copy on the socket's receive queue (<c>PACKET_COPY_THRESH</c>),
    /// and the driver read that copy with <c>recvmsg</c> in the slot's place (GSO super-packets, mostly). 0 without the ring.
    /// </summary>
    /// <remarks>Thread-safe.</remarks>
    public long RingCopiedFrames => Volatile.Read(ref _ringCopies);

    /// <summary>
    /// Frames longer than a slot of the receive ring that were lost: the kernel queues the whole copy only while the
    /// socket's receive buffer (<see cref="ReceiveBufferSize"/>) has room, and a frame it could not copy is in its slot cut
    /// short, which the driver never hands over. Counted in <see cref="NetDriver.RxDropped"/> too; the kernel counts such a
    /// frame as received (<see cref="AfPacketStatistics.Packets"/>), not as a drop. Raise
    /// <see cref="AfPacketDriverOptions.ReceiveBufferSize"/> when it grows. 0 without the ring.
    /// </summary>
    /// <remarks>Thread-safe.</remarks>
    public long RingCopyDrops => Volatile.Read(ref _ringCopyDrops);

    /// <summary>
    /// The socket's receive buffer in bytes, as the kernel reported it (<c>SO_RCVBUF</c>) when the driver was created:
    /// twice <see cref="AfPacketDriverOptions.ReceiveBufferSize"/> when that was given (the kernel doubles the value for its
    /// bookkeeping and raises it to its minimum), <c>net.core.rmem_default</c> otherwise. Without the receive ring, received
    /// frames wait within it, each counted at its memory cost rather than its length, and beyond it the kernel drops them
    /// (<see cref="AfPacketStatistics.Drops"/>); with the ring, only the whole copies of frames longer than a slot do, and
    /// beyond it they are lost (<see cref="RingCopyDrops"/>).
    /// </summary>
    public int ReceiveBufferSize { get; }

    /// <inheritdoc/>
    public override int RxQueueSize => _posted.Capacity;

    /// <summary>
    /// Reads the kernel's counters of the socket (<c>PACKET_STATISTICS</c>) and returns the totals since the driver was
    /// created: frames that reached the socket and frames dropped because its receive queue was full. Also published as
    /// <c>netbuf.afpacket.*</c> metrics.
    /// </summary>
    /// <returns>A snapshot of the totals.</returns>
    /// <exception cref="NetDriverException">The driver is disposed (<see cref="NetDriverErrorKind.BadState"/>), or getsockopt failed.</exception>
    /// <remarks>
    /// Thread-safe: any thread may call it at any time, also while the driver's thread receives. The kernel resets its
    /// counters on each read; the driver adds every reading to its totals under a lock, so no reading is lost or counted
    /// twice, whoever reads.
    /// </remarks>
    public AfPacketStatistics GetStatistics()
    {
        _device.Enter();
        try
        {
            TPacketStats reading = default;
            uint length = TPacketStats.Size;
            lock (_statisticsLock)
            {
                // Sound: getsockopt writes at most length (8) bytes into the local, and the descriptor stays open
                // between Enter and Exit.
                if (LibC.GetSockOpt(_device.Fd, LinuxConstants.SOL_PACKET, LinuxConstants.PACKET_STATISTICS, &reading, &length) != 0)
                {
                    throw LinuxError.Last("getsockopt(PACKET_STATISTICS)", DeviceName, opened: true);
                }

                _kernelPackets += reading.Packets;
                _kernelDrops += reading.Drops;
                return new AfPacketStatistics(_kernelPackets, _kernelDrops);
            }
        }
        finally
        {
            _device.Exit();
        }
    }

    /// <inheritdoc/>
    public override int TxQueueSize => _queues.Tx.Capacity;

    /// <inheritdoc/>
    /// <remarks>Here: posted empty ones, received frames ready for the next receive call (segments of a super-packet
    /// beyond what the last call took), and the transmit queue (sent ones not yet recycled, and frames waiting for room).</remarks>
    public override int HeldBuffers => _queues.HeldBuffers + _ready.Count;

    /// <inheritdoc/>
    protected override int RxRoom => _queues.RxRoom;

    /// <inheritdoc/>
    protected override int TxRoom => _queues.TxRoom;

    /// <inheritdoc/>
    protected override int MaxFrameLength => _maxFrameLength;

    /// <inheritdoc/>
    protected override int MinFrameLength => LinuxConstants.EthernetHeaderLength;

    /// <summary>One <c>recvmmsg</c> of up to <see cref="AfPacketDriverOptions.BatchSize"/> frames.</summary>
    protected override int ReceiveBurstSize => _batchSize;

    /// <inheritdoc/>
    protected override void PostRxBurst(ReadOnlySpan<NetBufPtr> buffers) => _queues.Post(buffers);

    /// <inheritdoc/>
    /// <remarks>From the receive ring, or <c>recvmmsg</c> (<c>recvmsg</c> for one frame), into the oldest posted buffers;
    /// frames held ready from the last call (segments of a super-packet) come first.</remarks>
    protected override int ReceiveBurst(Span<NetBufPtr> destination)
    {
        int taken = TakeReady(destination);
        if (_ready.Count > 0)
        {
            return taken;
        }

        int drops = 0;
        while (taken == 0 && _posted.Count > 0 && drops < MaxDropsPerCall)
        {
            int count = Math.Min(Math.Min(destination.Length, _posted.Count), _batchSize);
            for (int i = 0; _ring == null && i < count; i++)
            {
                PrepareMessage(i, _posted.Peek(i));
            }

            int received = _ring != null ? ReceiveFromRing(count) : Receive(count);
            if (received <= 0)
            {
                break;
            }

            for (int i = 0; i < received; i++)
            {
                NetBufPtr posted = _posted.Dequeue();
                if (!TryDeliver(i, posted, destination, ref taken))
                {
                    // Dropped: the buffer goes back to the end of the posted queue (a place is free: one was just taken).
                    _ = _posted.TryEnqueue(posted);
                    CountRxDropped();
                    drops++;
                }
            }

            if (received < count)
            {
                break;
            }
        }

        return taken;
    }

    /// <summary>Prepares message <paramref name="i"/> for <c>recvmsg</c>/<c>recvmmsg</c> into <paramref name="posted"/>: the
    /// virtio-net header into its slot, the frame into the buffer after its headroom, the rest of a super-packet into the
    /// message's overflow; the address and the control message (the VLAN tag) into theirs.</summary>
    private void PrepareMessage(int i, NetBufPtr posted)
    {
        IoVec* vectors = _vectors + (i * ReceiveVectors);
        vectors[0] = new IoVec { Base = (nint)(_rxHeaders + i), Length = VirtioNetHeader.Size };
        vectors[1] = new IoVec { Base = posted.BufferAddress + _rxOffset, Length = (nuint)_rxRoom };

        // Bytes past the buffer (a super-packet's) land after the room kept for the buffer's tail.
        vectors[2] = new IoVec { Base = (nint)(_overflow + ((nint)i * _overflowStride) + (_overflowStride - OverflowLength)), Length = OverflowLength };
        _messages[i] = new MMsgHdr
        {
            Header = new MsgHdr
            {
                Name = (nint)(_addresses + i),
                NameLength = SockAddrLl.Size,
                IoVecs = (nint)vectors,
                IoVecCount = ReceiveVectors,
                Control = _restoreVlanTags ? (nint)(_control + (i * ControlSpace)) : 0,
                ControlLength = _restoreVlanTags ? (nuint)ControlSpace : 0,
            },
        };
    }

    /// <summary>Hands the frames held ready to the caller, oldest first, as many as <paramref name="destination"/> takes.</summary>
    private int TakeReady(Span<NetBufPtr> destination)
    {
        int taken = 0;
        while (taken < destination.Length && _ready.Count > 0)
        {
            NetBufPtr held = _ready.Dequeue(out int start, out int length);
            if (TryHandBack(held, start, length, out destination[taken]))
            {
                taken++;
            }
        }

        return taken;
    }

    /// <summary>
    /// Finishes the frame of message <paramref name="message"/>, received into <paramref name="posted"/>: its VLAN tag
    /// back, its partial checksum completed, a super-packet cut into segments; hands it (or them) to the caller, or holds
    /// them ready when the caller's span is full.
    /// </summary>
    /// <returns><see langword="false"/> when the frame is dropped (the caller counts it and posts the buffer again).</returns>
    private bool TryDeliver(int message, NetBufPtr posted, Span<NetBufPtr> destination, ref int taken)
    {
        int length = (int)_messages[message].Length - VirtioNetHeader.Size;
        if ((_messages[message].Header.Flags & (LinuxConstants.MSG_TRUNC | LinuxConstants.MSG_CTRUNC)) != 0 ||
            length < LinuxConstants.EthernetHeaderLength || _addresses[message].PacketType == LinuxConstants.PACKET_OUTGOING)
        {
            return false;
        }

        VirtioNetHeader header = _rxHeaders[message];
        bool super = (header.GsoType & ~VirtioNetHeader.GsoEcn) != VirtioNetHeader.GsoNone;
        if (!super && length > _rxRoom)
        {
            // Longer than the buffer and not a super-packet to cut: a frame beyond the buffer's room.
            return false;
        }

        int inBuffer = Math.Min(length, _rxRoom);
        int start = _rxOffset;
        int shift = 0;
        if (_restoreVlanTags && TryGetRemovedTag(message, out ushort tpid, out ushort tci))
        {
            // A super-packet's tag goes into the headroom only: its payload past the buffer cannot move up.
            if (super ? _rxOffset < LinuxConstants.VlanTagLength : !FitsWithTag(length))
            {
                return false;
            }

            (start, inBuffer) = RestoreTag(posted, inBuffer, tpid, tci);
            shift = LinuxConstants.VlanTagLength;
        }

        // Sound: the frame's first inBuffer bytes lie at start in a buffer lent to this driver (inBuffer fits the room
        // after the headroom, plus the tag's 4 bytes moved into the headroom or checked to fit by FitsWithTag).
        var frame = new Span<byte>((byte*)posted.BufferAddress + start, inBuffer);
        if (super)
        {
            return TrySegment(message, posted, start, frame, length + shift, header, shift, destination, ref taken);
        }

        if (_completeChecksums && (header.Flags & VirtioNetHeader.NeedsChecksum) != 0)
        {
            if (!TransportChecksum.TryCompletePartial(frame, header.ChecksumStart + shift, header.ChecksumOffset))
            {
                _segmentationDrops++;
                return false;
            }

            _checksumsCompleted++;
        }

        if (destination.Length - taken + _ready.Room < 1)
        {
            return false;
        }

        Deliver(posted, start, inBuffer, destination, ref taken);
        return true;
    }

    /// <summary>
    /// Cuts a GSO super-packet into segments of <see cref="VirtioNetHeader.GsoSize"/> payload bytes, each a whole frame
    /// with full checksums: the first in place in <paramref name="posted"/>, the others in buffers taken from the pool.
    /// </summary>
    /// <param name="message">The message's index (for its overflow area).</param>
    /// <param name="posted">The buffer holding the super-packet's first bytes.</param>
    /// <param name="start">Where the frame starts in it.</param>
    /// <param name="head">The frame's bytes in the buffer.</param>
    /// <param name="total">The super-packet's length (its tag included).</param>
    /// <param name="header">The kernel's virtio-net header.</param>
    /// <param name="shift">4 when a VLAN tag was put back (the kernel's offsets are from the untagged frame), else 0.</param>
    /// <param name="destination">The caller's span.</param>
    /// <param name="taken">Frames in it so far.</param>
    /// <returns><see langword="false"/> when it is dropped (counted in <see cref="OffloadDrops"/>).</returns>
    private bool TrySegment(int message, NetBufPtr posted, int start, Span<byte> head, int total, in VirtioNetHeader header, int shift, Span<NetBufPtr> destination, ref int taken)
    {
        int type = header.GsoType & ~VirtioNetHeader.GsoEcn;
        bool isIpv6;
        IpProtocol protocol;
        if (type is VirtioNetHeader.GsoTcpV4 or VirtioNetHeader.GsoTcpV6)
        {
            (isIpv6, protocol) = (type == VirtioNetHeader.GsoTcpV6, IpProtocol.Tcp);
        }
        else if (type == VirtioNetHeader.GsoUdpL4 && TransportLayout.TryFindNetwork(head, out _, out isIpv6))
        {
            protocol = IpProtocol.Udp;
        }
        else
        {
            // UDP fragmentation offload (IP fragments, not segments) or a type this driver does not know.
            _segmentationDrops++;
            return false;
        }

        int size = header.GsoSize;
        if (!TransportSegmenter.TryReadHeaders(head, header.ChecksumStart + shift, isIpv6, protocol, out TransportSegmenter.Headers headers) ||
            headers.Length > MaxHeaderLength || size == 0 || headers.Length + size > _rxRoom || total <= headers.Length)
        {
            _segmentationDrops++;
            return false;
        }

        int payload = total - headers.Length;
        int count = (payload + size - 1) / size;

        // The count is the sender's (a small gso_size cuts a long super-packet into many): checked before it sizes anything.
        if (count > MaxSegments || destination.Length - taken + _ready.Room < count)
        {
            _segmentationDrops++;
            return false;
        }

        Span<NetBufPtr> extra = _segmentBuffers.AsSpan(0, count - 1);
        if (count > 1 && !Pool.TryAllocBulk(extra))
        {
            _segmentationDrops++;
            return false;
        }

        // The headers as the kernel sent them, for every segment after the first (whose own are changed in place).
        var headerCopy = new Span<byte>(_headerCopy, headers.Length);
        head[..headers.Length].CopyTo(headerCopy);

        // The payload after the first segment: the rest of the buffer, moved to just before the bytes the kernel wrote
        // past the buffer, so the whole of it is one span. Sound: the overflow area of this message is _overflowStride
        // bytes, the kernel wrote its last OverflowLength bytes, and the room before them (_rxRoom + 4) holds any tail.
        int first = headers.Length + Math.Min(size, payload);
        int inHead = Math.Min(total, head.Length);
        int tail = inHead - first;
        byte* overflow = _overflow + ((nint)message * _overflowStride) + (_overflowStride - OverflowLength);
        head[first..inHead].CopyTo(new Span<byte>(overflow - tail, tail));
        var rest = new ReadOnlySpan<byte>(overflow - tail, total - first);

        TransportSegmenter.Fix(head[..first], headers, 0, size, last: count == 1);
        _superPackets++;
        Deliver(posted, start, first, destination, ref taken);
        for (int i = 1; i < count; i++)
        {
            int chunk = Math.Min(size, payload - (i * size));
            NetBufPtr buffer = extra[i - 1];

            // Sound: a buffer just allocated from the pool, lent to this driver; headers.Length + chunk <= _rxRoom (checked).
            var segment = new Span<byte>((byte*)buffer.BufferAddress + _rxOffset, headers.Length + chunk);
            headerCopy.CopyTo(segment);
            rest.Slice((i - 1) * size, chunk).CopyTo(segment[headers.Length..]);
            TransportSegmenter.Fix(segment, headers, i, size, last: i == count - 1);
            Deliver(buffer, _rxOffset, segment.Length, destination, ref taken);
        }

        extra.Clear();
        return true;
    }

    /// <summary>Hands a finished frame to the caller, or holds it ready when the caller's span is full (or frames are
    /// held already: order is kept). The caller checked the room.</summary>
    private void Deliver(NetBufPtr held, int start, int length, Span<NetBufPtr> destination, ref int taken)
    {
        if (_ready.Count == 0 && taken < destination.Length)
        {
            if (TryHandBack(held, start, length, out destination[taken]))
            {
                taken++;
            }

            return;
        }

        _ready.Enqueue(held, start, length);
    }

    /// <inheritdoc/>
    protected override void TransmitBurst(ReadOnlySpan<NetBufPtr> frames)
    {
        _queues.Queue(frames);
        FlushPending();
    }

    /// <inheritdoc/>
    protected override int TakeCompleted(Span<NetBufPtr> destination) => _queues.TakeSent(destination);

    /// <inheritdoc/>
    protected override bool HasReceived() => _ready.Count > 0 || _queues.HasReceived();

    /// <inheritdoc/>
    /// <remarks>
    /// Sleeps in <c>poll</c> on the socket beside two eventfds (cancellation, disposal), so it costs no CPU and wakes at
    /// once; a downed interface wakes it too (the socket reports the error to the next receive). A deleted one is first
    /// taken down (that error wakes the wait, while the socket may still be bound) and unregistered later, which wakes
    /// nothing: so a long wait looks at the binding every <see cref="NetDriverWaitSet.CheckInterval"/>.
    /// <see langword="false"/> at once when no receive buffer is posted.
    /// </remarks>
    protected override bool WaitForReceiveCore(TimeSpan timeout, CancellationToken cancellationToken)
    {
        long start = Environment.TickCount64;
        while (true)
        {
            CheckBound();
            if (_ready.Count > 0)
            {
                return true;
            }

            if (TakeSocketError() is NetDriverException error)
            {
                // The next receive reports it, as recvmmsg's would have; poll would have ended the wait at once.
                Defer(error);
                return true;
            }

            TimeSpan left = timeout == Timeout.InfiniteTimeSpan ? NetDriverWaitSet.CheckInterval : timeout - TimeSpan.FromMilliseconds(Environment.TickCount64 - start);
            if (left < TimeSpan.Zero)
            {
                return false;
            }

            bool last = timeout != Timeout.InfiniteTimeSpan && left <= NetDriverWaitSet.CheckInterval;
            if (_queues.WaitForReceive(left < NetDriverWaitSet.CheckInterval ? left : NetDriverWaitSet.CheckInterval, cancellationToken))
            {
                return true;
            }

            if (last || _queues.Posted.Count == 0)
            {
                return false;
            }
        }
    }

    /// <inheritdoc/>
    /// <remarks><see langword="true"/> at once while the queue has room and nothing waits for the socket; <see langword="false"/>
    /// at once when it is full of sent buffers (only <see cref="NetDriver.RecycleTxBuffers"/> makes room); otherwise waits
    /// for the socket to have send buffer space.</remarks>
    protected override bool WaitForTransmitCore(TimeSpan timeout, CancellationToken cancellationToken)
    {
        CheckBound();
        return _queues.WaitForTransmit(timeout, cancellationToken);
    }

    /// <inheritdoc/>
    internal override bool HasPendingTransmit => _queues.PendingCount > 0 || _txKickNeeded;

    /// <inheritdoc/>
    internal override int GetWaitDescriptors(Span<PollFd> destination) => _queues.GetWaitDescriptors(destination);

    /// <inheritdoc/>
    internal override bool HasWaitDescriptors => true;

    /// <inheritdoc/>
    internal override bool CanReceiveLater => _queues.Posted.Count > 0;

    /// <inheritdoc/>
    internal override bool NeedsDeviceChecks => true;

    /// <inheritdoc/>
    /// <remarks>Through the ring, also takes the socket's pending error (see <see cref="TakeSocketError"/>) for the next
    /// receive to report: a wait woken by it (POLLERR) would otherwise be woken again at once.</remarks>
    internal override void CheckDevice()
    {
        CheckBound();
        if (TakeSocketError() is NetDriverException error)
        {
            Defer(error);
        }
    }

    /// <inheritdoc/>
    /// <remarks><c>PACKET_STATISTICS</c>' tp_drops, totalled (<see cref="GetStatistics"/>); 0 once the driver is disposed.</remarks>
    internal override long KernelRxDrops => TryGetStatistics()?.Drops ?? 0;

    /// <inheritdoc/>
    /// <remarks>Segments of a super-packet that did not fit the last receive wait here, not in the socket.</remarks>
    internal override bool HasBufferedFrames => _ready.Count > 0;

    /// <inheritdoc/>
    protected override void OnDisposing() => _device.WakeForClose();

    /// <inheritdoc/>
    protected override void CloseDevice()
    {
        AfPacketMetrics.Unregister(this);
        _device.Close();
    }

    /// <inheritdoc/>
    protected override int TakeHeld(Span<NetBufPtr> destination)
    {
        int taken = 0;
        while (taken < destination.Length && _ready.Count > 0)
        {
            destination[taken++] = _ready.Dequeue(out _, out _);
        }

        return taken + _queues.TakeHeld(destination[taken..]);
    }

    /// <inheritdoc/>
    protected override void OnDisposed()
    {
        NativeMemory.Free(_messages);
        NativeMemory.Free(_vectors);
        NativeMemory.Free(_addresses);
        NativeMemory.Free(_control);
        NativeMemory.Free(_rxHeaders);
        NativeMemory.Free(_txHeader);
        NativeMemory.Free(_headerCopy);
        NativeMemory.Free(_overflow);
        if (_mapping != null)
        {
            // Sound: the mapping (both rings) is this driver's, and no call uses it any more.
            _ = LibC.Munmap(_mapping, _mappingLength);
        }
    }

    /// <summary>The driver's number in the process, for the metrics' socket tag.</summary>
    internal int SocketNumber { get; }

    /// <summary>The socket's statistics for the metrics, or null once disposed.</summary>
    internal AfPacketStatistics? TryGetStatistics()
    {
        try
        {
            return _device.IsClosed ? null : GetStatistics();
        }
        catch (NetDriverException)
        {
            return null;
        }
    }

    private static (int Fd, int Index, MacAddress Mac, int Mtu, int ReceiveBufferSize, nint Mapping, TPacketRequest TxRing) Open(string name, int? fanoutGroup, bool restoreVlanTags, bool promiscuous, int? receiveBufferSize, TPacketRequest ring, int txSlots)
    {
        uint index = LibC.IfNameToIndex(name);
        if (index == 0)
        {
            throw LinuxError.Last("if_nametoindex", name);
        }

        // Protocol 0: the socket receives nothing until bind names the protocol and the interface, so
        // no frame of another interface slips in between.
        int fd = LibC.Socket(LinuxConstants.AF_PACKET, LinuxConstants.SOCK_RAW | LinuxConstants.SOCK_NONBLOCK | LinuxConstants.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            throw LinuxError.Last("socket(AF_PACKET, SOCK_RAW)", name);
        }

        try
        {
            int one = 1;

            // Sound: setsockopt reads the 4 bytes of the local. Older kernels (before 4.20) lack the
            // option; the sll_pkttype check on receive covers them, so its failure is ignored.
            _ = LibC.SetSockOpt(fd, LinuxConstants.SOL_PACKET, LinuxConstants.PACKET_IGNORE_OUTGOING, &one, sizeof(int));

            // Sound: as above. Every kernel since 2.6.21 has the option; without it a tag would be lost.
            if (restoreVlanTags && LibC.SetSockOpt(fd, LinuxConstants.SOL_PACKET, LinuxConstants.PACKET_AUXDATA, &one, sizeof(int)) != 0)
            {
                throw LinuxError.Last("setsockopt(PACKET_AUXDATA)", name);
            }

            // Sound: as above. Every received frame then comes after a virtio-net header saying whether its checksum is
            // partial and whether it is a GSO super-packet (every kernel since 3.1 has the option); every sent one needs one.
            if (LibC.SetSockOpt(fd, LinuxConstants.SOL_PACKET, LinuxConstants.PACKET_VNET_HDR, &one, sizeof(int)) != 0)
            {
                throw LinuxError.Last("setsockopt(PACKET_VNET_HDR)", name);
            }

            // Before bind, so the size holds for the first frame queued.
            if (receiveBufferSize is int size)
            {
                SetReceiveBuffer(fd, size, name);
            }

            // The transmit ring's slots hold the largest frame the core lets through: MTU + header + a VLAN tag.
            int mtu = InterfaceControl.GetMtu(fd, name);
            TPacketRequest txRing = txSlots > 0 ? PacketTransmitRing.Shape(mtu + LinuxConstants.EthernetHeaderLength + LinuxConstants.VlanTagLength, txSlots) : default;

            // After PACKET_VNET_HDR (which a socket with a ring refuses) and before bind, so the first frame goes to the ring.
            nint mapping = ring.FrameCount > 0 || txRing.FrameCount > 0 ? MapRings(fd, ring, txRing, name) : 0;

            SockAddrLl address = new()
            {
                Family = LinuxConstants.AF_PACKET,
                Protocol = BinaryPrimitives.ReverseEndianness(LinuxConstants.ETH_P_ALL),
                InterfaceIndex = (int)index,
            };

            // Sound: bind reads the 20 bytes of the local.
            if (LibC.Bind(fd, &address, SockAddrLl.Size) != 0)
            {
                throw LinuxError.Last("bind(AF_PACKET, ETH_P_ALL)", name);
            }

            if (promiscuous)
            {
                // A membership the kernel counts per socket and takes back when the socket closes: nothing is left
                // behind, and another holder's promiscuous mode (ip link set promisc on) is not turned off with it.
                PacketMReq request = new() { InterfaceIndex = (int)index, Type = LinuxConstants.PACKET_MR_PROMISC };

                // Sound: setsockopt reads the 16 bytes of the local.
                if (LibC.SetSockOpt(fd, LinuxConstants.SOL_PACKET, LinuxConstants.PACKET_ADD_MEMBERSHIP, &request, PacketMReq.Size) != 0)
                {
                    throw LinuxError.Last("setsockopt(PACKET_ADD_MEMBERSHIP, PACKET_MR_PROMISC)", name);
                }
            }

            if (fanoutGroup is int group)
            {
                int argument = group | (LinuxConstants.PACKET_FANOUT_HASH << 16);

                // Sound: setsockopt reads the 4 bytes of the local.
                if (LibC.SetSockOpt(fd, LinuxConstants.SOL_PACKET, LinuxConstants.PACKET_FANOUT, &argument, sizeof(int)) != 0)
                {
                    throw LinuxError.Last($"setsockopt(PACKET_FANOUT, group {group}, hash)", name);
                }
            }

            try
            {
                return (fd, (int)index, InterfaceControl.GetMacAddress(fd, name), mtu, GetReceiveBuffer(fd, name), mapping, txRing);
            }
            catch
            {
                if (mapping != 0)
                {
                    // Sound: the mapping was made above and is not handed out.
                    _ = LibC.Munmap((void*)mapping, RingLength(ring) + RingLength(txRing));
                }

                throw;
            }
        }
        catch
        {
            DeviceHandle.CloseQuietly(fd);
            throw;
        }
    }

    /// <summary>Bytes a ring of <paramref name="ring"/>'s shape takes in the mapping (0 for none).</summary>
    private static nuint RingLength(TPacketRequest ring) => (nuint)ring.BlockSize * ring.BlockCount;

    /// <summary>
    /// Sets up the socket's <c>TPACKET_V2</c> rings of the given shapes (a shape of no slots: no such ring) and maps them
    /// in one mapping: the kernel maps every ring of a socket with one <c>mmap</c> of their total length, the receive ring
    /// first, then the transmit ring (<c>packet_mmap</c>).
    /// </summary>
    /// <returns>The mapping's address.</returns>
    private static nint MapRings(int fd, TPacketRequest ring, TPacketRequest txRing, string name)
    {
        int version = LinuxConstants.TPACKET_V2;

        // Sound: setsockopt reads the 4 bytes of the local (then the 16 of the request, below).
        if (LibC.SetSockOpt(fd, LinuxConstants.SOL_PACKET, LinuxConstants.PACKET_VERSION, &version, sizeof(int)) != 0)
        {
            throw LinuxError.Last("setsockopt(PACKET_VERSION, TPACKET_V2)", name);
        }

        // A frame longer than a slot is then still put in its slot, cut short and flagged TP_STATUS_COPY, and a whole copy
        // of it goes on the socket's receive queue (while the receive buffer has room), in the slots' order: the driver
        // reads that copy in the slot's place. Without it such a frame (a GSO super-packet) is only cut short. Every kernel
        // with PACKET_RX_RING (2.6.x) has the option. Sound: setsockopt reads the 4 bytes of the local.
        int one = 1;
        if (ring.FrameCount > 0 && LibC.SetSockOpt(fd, LinuxConstants.SOL_PACKET, LinuxConstants.PACKET_COPY_THRESH, &one, sizeof(int)) != 0)
        {
            throw LinuxError.Last("setsockopt(PACKET_COPY_THRESH, 1)", name);
        }

        if (ring.FrameCount > 0 && LibC.SetSockOpt(fd, LinuxConstants.SOL_PACKET, LinuxConstants.PACKET_RX_RING, &ring, (uint)sizeof(TPacketRequest)) != 0)
        {
            throw LinuxError.Last($"setsockopt(PACKET_RX_RING, {ring.FrameCount} slots of {ring.FrameSize} bytes)", name);
        }

        // Sound: setsockopt reads the 16 bytes of the local. No PACKET_LOSS: a frame the kernel refuses stays in its slot
        // marked TP_STATUS_WRONG_FORMAT, for the driver to count and give back, rather than being skipped without a trace.
        if (txRing.FrameCount > 0 && LibC.SetSockOpt(fd, LinuxConstants.SOL_PACKET, LinuxConstants.PACKET_TX_RING, &txRing, (uint)sizeof(TPacketRequest)) != 0)
        {
            throw LinuxError.Last($"setsockopt(PACKET_TX_RING, {txRing.FrameCount} slots of {txRing.FrameSize} bytes)", name);
        }

        // Sound: maps the rings the kernel just made for this socket, of the total size they were asked with.
        string rings = ring.FrameCount > 0 && txRing.FrameCount > 0 ? "PACKET_RX_RING and PACKET_TX_RING" : ring.FrameCount > 0 ? "PACKET_RX_RING" : "PACKET_TX_RING";
        void* address = LibC.Mmap(null, RingLength(ring) + RingLength(txRing), XdpConstants.PROT_READ | XdpConstants.PROT_WRITE, XdpConstants.MAP_SHARED | XdpConstants.MAP_POPULATE, fd, 0);
        if (address == (void*)-1)
        {
            throw LinuxError.Last($"mmap({rings})", name);
        }

        return (nint)address;
    }

    /// <summary>Sets the socket's receive buffer: <c>SO_RCVBUFFORCE</c>, which may go beyond <c>net.core.rmem_max</c> and
    /// needs CAP_NET_ADMIN, or else <c>SO_RCVBUF</c>, which the kernel caps at <c>rmem_max</c>.</summary>
    private static void SetReceiveBuffer(int fd, int size, string name)
    {
        // Sound: setsockopt reads the 4 bytes of the local.
        if (LibC.SetSockOpt(fd, LinuxConstants.SOL_SOCKET, LinuxConstants.SO_RCVBUFFORCE, &size, sizeof(int)) == 0)
        {
            return;
        }

        // Sound: as above.
        if (Marshal.GetLastPInvokeError() != Errno.EPERM ||
            LibC.SetSockOpt(fd, LinuxConstants.SOL_SOCKET, LinuxConstants.SO_RCVBUF, &size, sizeof(int)) != 0)
        {
            throw LinuxError.Last($"setsockopt(SO_RCVBUF, {size})", name);
        }
    }

    /// <summary>The socket's receive buffer as the kernel reports it (the doubled size it accounts with).</summary>
    private static int GetReceiveBuffer(int fd, string name)
    {
        int size = 0;
        uint length = sizeof(int);

        // Sound: getsockopt writes at most length (4) bytes into the local.
        if (LibC.GetSockOpt(fd, LinuxConstants.SOL_SOCKET, LinuxConstants.SO_RCVBUF, &size, &length) != 0)
        {
            throw LinuxError.Last("getsockopt(SO_RCVBUF)", name);
        }

        return size;
    }

    /// <summary>Receives into the first <paramref name="count"/> prepared messages.</summary>
    /// <returns>How many arrived (0 when none is waiting).</returns>
    private int Receive(int count)
    {
        int invalid = 0;
        while (true)
        {
            int received;
            if (count == 1)
            {
                // Sound: the message, its vector and its address are this driver's native arrays; the
                // vector points into a posted buffer, lent to this driver.
                nint length = LibC.RecvMsg(_device.Fd, &_messages[0].Header, LinuxConstants.MSG_DONTWAIT);
                _messages[0].Length = (uint)length;
                received = length < 0 ? -1 : 1;
            }
            else
            {
                // Sound: as above, for count entries of each array.
                received = LibC.RecvMMsg(_device.Fd, _messages, (uint)count, LinuxConstants.MSG_DONTWAIT, null);
            }

            if (received >= 0)
            {
                return received;
            }

            int errno = Marshal.GetLastPInvokeError();
            if (errno == Errno.EINTR)
            {
                continue;
            }

            if (errno == Errno.EAGAIN)
            {
                if (++_emptyPolls >= EmptyPollsPerLinkCheck)
                {
                    _emptyPolls = 0;
                    CheckBound();
                }

                return 0;
            }

            if (errno == Errno.EINVAL && ++invalid <= MaxDropsPerCall)
            {
                // The kernel could not describe a frame in a virtio-net header (a GSO type it has no virtio name for,
                // such as a tunnel's); it freed the frame and says so once: a drop, the next frame may be fine.
                CountRxDropped();
                _segmentationDrops++;
                continue;
            }

            CheckBound();
            throw LinuxError.FromErrno(errno, count == 1 ? "recvmsg" : "recvmmsg", DeviceName, opened: true);
        }
    }

    /// <summary>
    /// Takes up to <paramref name="count"/> frames out of the receive ring into the oldest posted buffers, and describes
    /// each as <c>recvmmsg</c> would have (its message's length and flags, address, virtio-net header, the tag's control
    /// message), so the frames go on as received ones; every slot read is given back to the kernel at once. A frame longer
    /// than a slot (flagged <c>TP_STATUS_COPY</c>) is read whole from the socket's receive queue instead, with <c>recvmsg</c>
    /// into the same message, and the slot's cut copy is given back unread; one the kernel could not copy is dropped.
    /// </summary>
    /// <returns>How many were taken (0 when the next slot is the kernel's).</returns>
    /// <exception cref="NetDriverException">The socket reported an error (a pending ENETDOWN) before the first frame's copy:
    /// nothing was taken, and the slot and its copy wait for the next call.</exception>
    private int ReceiveFromRing(int count)
    {
        int received = 0;
        for (; received < count; received++)
        {
            // Sound: the ring is this driver's mapping of _ringFrames slots of _ringFrameSize bytes (unmapped only after
            // Dispose waited for this call); the kernel wrote the slot's contents before it set its status (the acquire
            // read below orders the reads after it), and every offset it wrote is checked against the slot below.
            byte* slot = _ring + ((nint)_ringHead * _ringFrameSize);
            TPacket2Header* header = (TPacket2Header*)slot;
            uint status = Volatile.Read(ref header->Status);
            if ((status & LinuxConstants.TP_STATUS_USER) == 0)
            {
                break;
            }

            int length = (int)header->Length;
            NetBufPtr posted = _posted.Peek(received);
            if ((status & LinuxConstants.TP_STATUS_COPY) != 0)
            {
                if (!TryReceiveCopy(received, posted))
                {
                    // A socket error came first: the slot and its copy stay for the next call, which reads them.
                    break;
                }
            }
            else
            {
                CopyFromSlot(received, slot, status, posted, length);
            }

            // The address as the slot has it, for a copy too: tpacket_rcv does not write the copy's address (packet_rcv's
            // PACKET_SKB_CB), so the one recvmsg returned for it is not the frame's (seen on Linux 6.18: sll_ifindex 0).
            _addresses[received] = *(SockAddrLl*)(slot + TPacket2Header.Size);

            // The slot back to the kernel (release: the copies above are done before it may write again).
            Volatile.Write(ref header->Status, LinuxConstants.TP_STATUS_KERNEL);
            _ringHead = _ringHead + 1 == _ringFrames ? 0 : _ringHead + 1;
        }

        if (received == 0 && ++_emptyPolls >= EmptyPollsPerLinkCheck)
        {
            _emptyPolls = 0;
            CheckBound();
            if (TakeSocketError() is NetDriverException error)
            {
                throw error;
            }
        }

        return received;
    }

    /// <summary>
    /// Reads and clears the socket's pending error (<c>SO_ERROR</c>; ENETDOWN once the interface went down) when frames
    /// come through the ring. No receive system call reads it there (but a long frame's <c>recvmsg</c>), and <c>poll</c>
    /// reports it (POLLERR) until something does, so every wait would end at once, for ever: a loop would spin. Read here,
    /// it is reported as <c>recvmmsg</c> would have reported it, once. Called where the ring was found empty 256 times, before a
    /// wait and at a wait set's device check: never on the path of a frame.
    /// </summary>
    /// <returns>The error as the receive reports it, or null when none is pending (or without the ring).</returns>
    private NetDriverException? TakeSocketError()
    {
        if (_ring == null)
        {
            return null;
        }

        int error = 0;
        uint length = sizeof(int);

        // Sound: getsockopt writes at most length (4) bytes into the local.
        if (LibC.GetSockOpt(_device.Fd, LinuxConstants.SOL_SOCKET, LinuxConstants.SO_ERROR, &error, &length) != 0 || error == 0)
        {
            return null;
        }

        return LinuxError.FromErrno(error, "receive (the socket's pending error, read with getsockopt(SO_ERROR))", DeviceName, opened: true);
    }

    /// <summary>Copies the frame of a ring slot into <paramref name="posted"/> (its bytes past the buffer into message
    /// <paramref name="message"/>'s overflow) and describes it in the message as <c>recvmmsg</c> would have. A frame the
    /// slot holds cut short (the kernel had no room to queue its whole copy) is described as truncated, so it is dropped.</summary>
    private void CopyFromSlot(int message, byte* slot, uint status, NetBufPtr posted, int length)
    {
        // Sound: slot is a slot of this driver's ring (see ReceiveFromRing); the frame's offset and length are checked
        // against the slot before anything is read, and the copies are bounded by the buffer's room and the overflow's.
        TPacket2Header* header = (TPacket2Header*)slot;
        int mac = header->MacOffset;
        int snap = (int)header->SnapLength;
        bool intact = mac >= TPacket2Header.Size + SockAddrLl.Size + VirtioNetHeader.Size && snap <= _ringFrameSize - mac;
        if (!intact)
        {
            snap = 0;
        }
        else if (snap < length)
        {
            // Longer than the slot and not flagged TP_STATUS_COPY: the socket's receive buffer was full, the frame is lost.
            _ringCopyDrops++;
        }

        int inBuffer = Math.Min(snap, _rxRoom);
        Buffer.MemoryCopy(slot + mac, (byte*)posted.BufferAddress + _rxOffset, _rxRoom, inBuffer);
        if (snap > inBuffer)
        {
            // A super-packet's bytes past the buffer go where recvmmsg's third vector would have put them.
            byte* overflow = _overflow + ((nint)message * _overflowStride) + (_overflowStride - OverflowLength);
            Buffer.MemoryCopy(slot + mac + inBuffer, overflow, OverflowLength, snap - inBuffer);
        }

        _rxHeaders[message] = intact ? *(VirtioNetHeader*)(slot + mac - VirtioNetHeader.Size) : default;
        nint control = 0;
        nuint controlLength = 0;
        if (_restoreVlanTags)
        {
            // The tag as the PACKET_AUXDATA control message recvmmsg would have carried.
            control = (nint)(_control + (message * ControlSpace));
            *(CMsgHdr*)control = new CMsgHdr { Length = CMsgHdr.Size + TPacketAuxData.Size, Level = LinuxConstants.SOL_PACKET, Type = LinuxConstants.PACKET_AUXDATA };
            *(TPacketAuxData*)(control + CMsgHdr.Size) = new TPacketAuxData { Status = status, Length = (uint)length, SnapLength = (uint)snap, VlanTci = header->VlanTci, VlanTpid = header->VlanTpid };
            controlLength = CMsgHdr.Align(CMsgHdr.Size + TPacketAuxData.Size);
        }

        _messages[message] = new MMsgHdr
        {
            Header = new MsgHdr { Control = control, ControlLength = controlLength, Flags = snap < length || !intact ? LinuxConstants.MSG_TRUNC : 0 },
            Length = (uint)(VirtioNetHeader.Size + length),
        };
    }

    /// <summary>
    /// Reads the whole copy of a frame longer than a ring slot from the socket's receive queue into <paramref name="posted"/>,
    /// as message <paramref name="message"/> (<c>recvmsg</c>, with the virtio-net header and the tag's control message of
    /// the <c>recvmmsg</c> path). The kernel queues the copy before it hands the slot over, and copies only for such slots,
    /// so the queue's head is this slot's copy: frames keep the ring's order, each once.
    /// </summary>
    /// <returns><see langword="false"/> when the socket reported an error (ENETDOWN, pending since the interface went down)
    /// after frames were taken in this call: the error is kept for the next call, and the copy stays queued.</returns>
    /// <exception cref="NetDriverException">The same error when no frame was taken yet (the copy stays queued, the slot
    /// is not given back), or the interface is gone.</exception>
    private bool TryReceiveCopy(int message, NetBufPtr posted)
    {
        PrepareMessage(message, posted);
        while (true)
        {
            // Sound: the message, its vectors, address and control buffer are this driver's native arrays; the vectors
            // point into a posted buffer lent to this driver and into the message's overflow.
            nint length = LibC.RecvMsg(_device.Fd, &_messages[message].Header, LinuxConstants.MSG_DONTWAIT);
            if (length >= 0)
            {
                _messages[message].Length = (uint)length;
                _ringCopies++;
                return true;
            }

            int errno = Marshal.GetLastPInvokeError();
            if (errno == Errno.EINTR)
            {
                continue;
            }

            // The frame is lost either way below: the message says truncated, so it is dropped and counted.
            _messages[message].Header.Flags = LinuxConstants.MSG_TRUNC;
            _messages[message].Length = 0;
            if (errno == Errno.EAGAIN)
            {
                // No copy queued (not expected: the kernel queues it before it flags the slot): the frame is lost.
                _ringCopyDrops++;
                return true;
            }

            if (errno == Errno.EINVAL)
            {
                // As in Receive: the kernel could not describe the frame in a virtio-net header, and freed it.
                _segmentationDrops++;
                return true;
            }

            NetDriverException error = LinuxError.FromErrno(errno, "recvmsg", DeviceName, opened: true);
            if (errno != Errno.ENETDOWN)
            {
                // Another failure consumed the copy (the kernel frees a frame it failed to copy out): a drop, and the
                // error is the next call's.
                Defer(error);
                return true;
            }

            // The socket's pending error, reported before the queue is read: the copy is still there.
            if (message > 0)
            {
                Defer(error);
                return false;
            }

            CheckBound();
            throw error;
        }
    }

    /// <summary>The receive ring for buffers of <paramref name="room"/> bytes after their headroom: slots of a power of two
    /// that hold <see cref="RingHeadRoom"/> and a full buffer, <paramref name="frames"/> of them rounded up to whole blocks
    /// of at least a page.</summary>
    private static TPacketRequest RingShape(int room, int frames)
    {
        uint frameSize = BitOperations.RoundUpToPowerOf2((uint)(RingHeadRoom + room));
        uint blockSize = Math.Max(frameSize, RingMinBlockSize);
        uint perBlock = blockSize / frameSize;
        uint blocks = ((uint)frames + perBlock - 1) / perBlock;
        return new TPacketRequest { BlockSize = blockSize, BlockCount = blocks, FrameSize = frameSize, FrameCount = blocks * perBlock };
    }

    /// <summary>Reads the VLAN tag the kernel took out of the frame of message <paramref name="message"/>, if it had one.</summary>
    private bool TryGetRemovedTag(int message, out ushort tpid, out ushort tci)
    {
        // Sound: the message's control buffer is this driver's native array of ControlSpace bytes;
        // the kernel set the length to the bytes it wrote, at most that (clamped anyway).
        int written = (int)Math.Min(_messages[message].Header.ControlLength, ControlSpace);
        return VlanAuxData.TryRead(new ReadOnlySpan<byte>(_control + (message * ControlSpace), written), out tpid, out tci);
    }

    /// <summary>Whether a received frame of <paramref name="length"/> bytes still fits its buffer with its tag back:
    /// always with 4 bytes of headroom, otherwise when 4 bytes are left after it.</summary>
    private bool FitsWithTag(int length) =>
        _rxOffset >= LinuxConstants.VlanTagLength || length + LinuxConstants.VlanTagLength <= _rxRoom;

    /// <summary>
    /// Puts a VLAN tag back into a received frame: into the headroom (<see cref="VlanAuxData.Insert"/>,
    /// the frame then starts 4 bytes earlier) or, with less than 4 bytes of headroom, by moving the
    /// payload up (<see cref="VlanAuxData.InsertMovingPayload"/>); the caller checked it fits (<see cref="FitsWithTag"/>).
    /// </summary>
    private (int Start, int Length) RestoreTag(NetBufPtr posted, int length, ushort tpid, ushort tci)
    {
        // Sound: the frame lies at _rxOffset in a buffer lent to this driver and is at least an Ethernet
        // header long (checked by the caller); the 4 bytes the tag needs are either before it
        // (_rxOffset >= 4) or after it (length + 4 <= _rxRoom, checked by FitsWithTag).
        int total = length + LinuxConstants.VlanTagLength;
        if (_rxOffset >= LinuxConstants.VlanTagLength)
        {
            int start = _rxOffset - LinuxConstants.VlanTagLength;
            VlanAuxData.Insert(new Span<byte>((byte*)posted.BufferAddress + start, total), tpid, tci);
            return (start, total);
        }

        VlanAuxData.InsertMovingPayload(new Span<byte>((byte*)posted.BufferAddress + _rxOffset, total), tpid, tci);
        return (_rxOffset, total);
    }

    /// <summary>Sends the frames waiting in the transmit queue with <c>sendmmsg</c>, oldest first, until the socket has no room.</summary>
    /// <exception cref="NetDriverException">The device failed: every waiting frame was dropped (counted), and the error is for the next call.</exception>
    /// <remarks>Also right after a transmit burst queued its frames.</remarks>
    protected override void FlushPending()
    {
        if (_txRing != null)
        {
            FlushToRing(_txRing);
            return;
        }

        while (_queues.PendingCount > 0)
        {
            int count = Math.Min(_queues.PendingCount, _batchSize);
            for (int i = 0; i < count; i++)
            {
                NetBufPtr buffer = _queues.PeekPending(i);
                IoVec* vectors = _vectors + (i * ReceiveVectors);

                // A zero virtio-net header: the frame goes as it is (no offload asked of the kernel).
                vectors[0] = new IoVec { Base = (nint)_txHeader, Length = VirtioNetHeader.Size };
                vectors[1] = new IoVec { Base = buffer.HeaderAddress, Length = (nuint)(buffer.HeaderLength + buffer.PacketLength) };
                _messages[i] = new MMsgHdr { Header = new MsgHdr { IoVecs = (nint)vectors, IoVecCount = 2 } };
            }

            // Sound: the messages and vectors are this driver's native arrays (freed only after Dispose waited
            // for this call), and the frames lie in buffers the core handed over to this driver.
            int sent = count == 1
                ? (LibC.SendMsg(_device.Fd, &_messages[0].Header, LinuxConstants.MSG_DONTWAIT) >= 0 ? 1 : -1)
                : LibC.SendMMsg(_device.Fd, _messages, (uint)count, LinuxConstants.MSG_DONTWAIT);
            if (sent > 0)
            {
                // A raw socket sends a datagram whole or not at all: each counted message is a frame sent.
                _queues.MarkSent(sent);
                if (sent < count)
                {
                    return;
                }

                continue;
            }

            int errno = Marshal.GetLastPInvokeError();
            if (errno == Errno.EINTR)
            {
                continue;
            }

            if (errno is Errno.EAGAIN or Errno.ENOBUFS)
            {
                return;
            }

            CountTxDropped(_queues.DropPending());
            CheckBound();
            throw LinuxError.FromErrno(errno, count == 1 ? "sendmsg" : "sendmmsg", DeviceName, opened: true);
        }
    }

    /// <summary>
    /// Copies the frames waiting in the transmit queue into the transmit ring, oldest first, until the ring is full, and
    /// kicks the kernel once per batch of up to <see cref="AfPacketDriverOptions.BatchSize"/>; a kick the kernel could not
    /// finish (its send buffer full) is made again at the next call. Each frame copied counts as sent at once (its buffer
    /// goes back at the next recycle).
    /// </summary>
    /// <exception cref="NetDriverException">The kick failed (the interface down or gone, a refused frame): the frames the
    /// kernel had not taken and those still waiting were dropped (counted), and the error is for the next call.</exception>
    private void FlushToRing(PacketTransmitRing ring)
    {
        while (_queues.PendingCount > 0 || _txKickNeeded)
        {
            int count = Math.Min(_queues.PendingCount, _batchSize);
            int published = 0;
            while (published < count && ring.TryPut(_queues.PeekPending(published)))
            {
                published++;
            }

            _queues.MarkSent(published);
            if (published == 0 && !_txKickNeeded)
            {
                // The ring is full: the waiting frames go once the kernel freed a slot, at a later call.
                return;
            }

            if (!Kick(ring) || published < count)
            {
                return;
            }
        }
    }

    /// <summary>Asks the kernel to send the requested slots of the ring (<c>send(fd, NULL, 0, MSG_DONTWAIT)</c>, as DPDK's
    /// net_af_packet kicks).</summary>
    /// <returns><see langword="false"/> when the kernel did not take every requested slot (its send buffer was full, or
    /// EAGAIN/ENOBUFS): they stay requested and the next call kicks again.</returns>
    /// <exception cref="NetDriverException">Another error: every slot the kernel had not taken (a refused one among them)
    /// is given back and, with the frames still waiting in the queue, counted as dropped.</exception>
    private bool Kick(PacketTransmitRing ring)
    {
        while (true)
        {
            // Sound: a send of no bytes from no buffer: the kernel reads only the ring it mapped for this socket.
            if (LibC.SendTo(_device.Fd, null, 0, LinuxConstants.MSG_DONTWAIT, null, 0) >= 0)
            {
                // tpacket_snd returns the bytes sent also when it stopped early (no send buffer for the next frame).
                _txKickNeeded = ring.HasUnsent;
                return !_txKickNeeded;
            }

            int errno = Marshal.GetLastPInvokeError();
            if (errno == Errno.EINTR)
            {
                continue;
            }

            if (errno is Errno.EAGAIN or Errno.ENOBUFS)
            {
                _txKickNeeded = true;
                return false;
            }

            // ENETDOWN, ENXIO (the interface down, or gone), or a frame refused (EMSGSIZE, EINVAL: its slot marked
            // TP_STATUS_WRONG_FORMAT, where the kernel's head stays): give back what the kernel did not take, as the
            // sendmmsg path drops what it could not send.
            _txKickNeeded = false;
            (int unsent, int refused) = ring.Reclaim();
            _txRingRefused += refused;
            CountTxDropped(unsent + _queues.DropPending());
            CheckBound();
            string what = refused > 0 ? "send (PACKET_TX_RING; the kernel refused a frame: TP_STATUS_WRONG_FORMAT)" : "send (PACKET_TX_RING)";
            throw LinuxError.FromErrno(errno, what, DeviceName, opened: true);
        }
    }

    /// <summary>
    /// Throws once the socket lost its interface. The kernel unbinds a packet socket when its interface is unregistered
    /// (deleted, or moved to another namespace): <c>getsockname</c> then gives <c>sll_ifindex</c> -1, for good, while the
    /// socket's error (ENETDOWN) is reported to one call only and a later <c>poll</c> shows nothing, so a wait would
    /// never end.
    /// </summary>
    /// <exception cref="NetDriverException">The interface is gone (BadState); the core then says so at every later call.</exception>
    private void CheckBound()
    {
        SockAddrLl address = default;
        uint length = SockAddrLl.Size;

        // Sound: the address is a local of the size passed; the kernel writes at most that many bytes.
        if (LibC.GetSockName(_device.Fd, &address, &length) == 0 && address.InterfaceIndex == -1)
        {
            throw DeviceGone("deleted, or moved to another namespace: the packet socket was unbound", Errno.ENETDOWN);
        }
    }
}
