using System.Buffers.Binary;
using System.Runtime.InteropServices;
using NetBufNative.Wire;

namespace NetBufNative.Drivers.Linux;

/// <summary>
/// An AF_PACKET raw socket bound to one Linux interface (a veth end, a NIC): frames arriving at the
/// interface are received here, frames transmitted here leave by it. Frames are received straight
/// into pool buffers and sent straight from them, in batches with <c>recvmmsg</c>/<c>sendmmsg</c>
/// (<see cref="NetDriver.ReceiveBatch"/>, <see cref="NetDriver.TransmitBatch"/>) or one per call
/// (<see cref="NetDriver.TryReceive"/>, <see cref="NetDriver.TryTransmit"/>). Scale out with
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
/// for (EAGAIN, ENOBUFS) waits there too and goes at the next call. A device error drops the frames not yet sent
/// (counted in <see cref="NetDriver.TxDropped"/>) and is reported by the next call.
/// </para>
/// <para>
/// Thread safety: that of <see cref="NetDriver"/>: one thread at a time, except <see cref="NetDriver.Dispose"/> and the counters,
/// and <see cref="GetStatistics"/> from any thread. Drivers of one fanout group are independent objects: each on its own thread.
/// </para>
/// <para>
/// Frames the driver's thread does not take in time wait in the socket's receive buffer
/// (<see cref="AfPacketDriverOptions.ReceiveBufferSize"/>); when it is full the kernel drops them, and
/// <see cref="GetStatistics"/> counts them (<c>PACKET_STATISTICS</c>).
/// </para>
/// <para>
/// VLAN tags: the kernel removes the outer 802.1Q/802.1ad tag from a received frame and keeps it
/// as packet metadata. By default (<see cref="AfPacketDriverOptions.RestoreVlanTags"/>) the driver
/// reads that metadata (<c>PACKET_AUXDATA</c>) and puts the tag back, with the protocol (0x8100 or
/// 0x88A8) and the priority, DEI and VLAN id the kernel reports, so frames arrive as they were on the
/// wire; an inner tag (QinQ) stays in the frame as the kernel left it. Tagged frames are transmitted
/// as they are.
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
        ReservePoolBuffers(FrameChecks.Owner("AF_PACKET", interfaceName, options.NetworkNamespace), options.RxQueueSize, options.TxQueueSize);
        int index;
        MacAddress mac;
        int mtu;
        int receiveBufferSize;
        try
        {
            int fd;
            (fd, index, mac, mtu, receiveBufferSize) =
                NamespaceThread.Run(options.NetworkNamespace, () => Open(interfaceName, options.FanoutGroup, restoreVlanTags, options.ReceiveBufferSize));
            _queues = new DeviceQueues(new DeviceHandle(fd, interfaceName), options.RxQueueSize, options.TxQueueSize);
        }
        catch
        {
            ReleasePoolBuffers();
            throw;
        }

        (_device, _posted) = (_queues.Device, _queues.Posted);
        _restoreVlanTags = restoreVlanTags;

        _rxOffset = pool.DefaultHeadroom;
        _rxRoom = pool.BufferLength - _rxOffset;
        _maxFrameLength = mtu + LinuxConstants.EthernetHeaderLength;
        _batchSize = options.BatchSize;
        _messages = (MMsgHdr*)NativeMemory.AllocZeroed((nuint)_batchSize, (nuint)sizeof(MMsgHdr));
        _vectors = (IoVec*)NativeMemory.AllocZeroed((nuint)_batchSize, (nuint)sizeof(IoVec));
        _addresses = (SockAddrLl*)NativeMemory.AllocZeroed((nuint)_batchSize, (nuint)sizeof(SockAddrLl));
        _control = restoreVlanTags ? (byte*)NativeMemory.AllocZeroed((nuint)_batchSize, ControlSpace) : null;
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

    /// <summary>
    /// The socket's receive buffer in bytes, as the kernel reported it (<c>SO_RCVBUF</c>) when the driver was created:
    /// twice <see cref="AfPacketDriverOptions.ReceiveBufferSize"/> when that was given (the kernel doubles the value for its
    /// bookkeeping and raises it to its minimum), <c>net.core.rmem_default</c> otherwise. Received frames wait within it,
    /// each counted at its memory cost rather than its length; beyond it the kernel drops them (<see cref="AfPacketStatistics.Drops"/>).
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
    /// <remarks>Here: posted empty ones and the transmit queue (sent ones not yet recycled, and frames waiting for room).</remarks>
    public override int HeldBuffers => _queues.HeldBuffers;

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
    /// <remarks><c>recvmmsg</c> (<c>recvmsg</c> for one frame) into the oldest posted buffers.</remarks>
    protected override int ReceiveBurst(Span<NetBufPtr> destination)
    {
        int taken = 0;
        int drops = 0;
        while (taken == 0 && _posted.Count > 0 && drops < MaxDropsPerCall)
        {
            int count = Math.Min(Math.Min(destination.Length, _posted.Count), _batchSize);
            for (int i = 0; i < count; i++)
            {
                NetBufPtr posted = _posted.Peek(i);
                _vectors[i] = new IoVec { Base = posted.BufferAddress + _rxOffset, Length = (nuint)_rxRoom };
                _messages[i] = new MMsgHdr
                {
                    Header = new MsgHdr
                    {
                        Name = (nint)(_addresses + i),
                        NameLength = SockAddrLl.Size,
                        IoVecs = (nint)(_vectors + i),
                        IoVecCount = 1,
                        Control = _restoreVlanTags ? (nint)(_control + (i * ControlSpace)) : 0,
                        ControlLength = _restoreVlanTags ? (nuint)ControlSpace : 0,
                    },
                };
            }

            int received = Receive(count);
            if (received <= 0)
            {
                break;
            }

            for (int i = 0; i < received; i++)
            {
                NetBufPtr posted = _posted.Dequeue();
                int length = (int)_messages[i].Length;
                bool unusable = (_messages[i].Header.Flags & (LinuxConstants.MSG_TRUNC | LinuxConstants.MSG_CTRUNC)) != 0 ||
                    length < LinuxConstants.EthernetHeaderLength || _addresses[i].PacketType == LinuxConstants.PACKET_OUTGOING;
                ushort tpid = 0;
                ushort tci = 0;
                bool tagged = !unusable && _restoreVlanTags && TryGetRemovedTag(i, out tpid, out tci);
                if (unusable || (tagged && !FitsWithTag(length)))
                {
                    // Dropped: the buffer goes back to the end of the posted queue (a place is free: one was just taken).
                    _ = _posted.TryEnqueue(posted);
                    CountRxDropped();
                    drops++;
                    continue;
                }

                int start = _rxOffset;
                if (tagged)
                {
                    (start, length) = RestoreTag(posted, length, tpid, tci);
                }

                if (TryHandBack(posted, start, length, out destination[taken]))
                {
                    taken++;
                }
            }

            if (received < count)
            {
                break;
            }
        }

        return taken;
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
    protected override bool HasReceived() => _queues.HasReceived();

    /// <inheritdoc/>
    /// <remarks>
    /// Sleeps in <c>poll</c> on the socket beside two eventfds (cancellation, disposal), so it costs no CPU and wakes at
    /// once; a deleted or downed interface wakes it too (the socket reports the error to the next receive).
    /// <see langword="false"/> at once when no receive buffer is posted.
    /// </remarks>
    protected override bool WaitForReceiveCore(TimeSpan timeout, CancellationToken cancellationToken)
    {
        CheckBound();
        return _queues.WaitForReceive(timeout, cancellationToken);
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
    internal override bool HasPendingTransmit => _queues.PendingCount > 0;

    /// <inheritdoc/>
    internal override int GetWaitDescriptors(Span<PollFd> destination) => _queues.GetWaitDescriptors(destination);

    /// <inheritdoc/>
    internal override bool HasWaitDescriptors => true;

    /// <inheritdoc/>
    internal override bool CanReceiveLater => _queues.Posted.Count > 0;

    /// <inheritdoc/>
    internal override bool NeedsDeviceChecks => true;

    /// <inheritdoc/>
    internal override void CheckDevice() => CheckBound();

    /// <inheritdoc/>
    protected override void OnDisposing() => _device.WakeForClose();

    /// <inheritdoc/>
    protected override void CloseDevice()
    {
        AfPacketMetrics.Unregister(this);
        _device.Close();
    }

    /// <inheritdoc/>
    protected override int TakeHeld(Span<NetBufPtr> destination) => _queues.TakeHeld(destination);

    /// <inheritdoc/>
    protected override void OnDisposed()
    {
        NativeMemory.Free(_messages);
        NativeMemory.Free(_vectors);
        NativeMemory.Free(_addresses);
        NativeMemory.Free(_control);
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

    private static (int Fd, int Index, MacAddress Mac, int Mtu, int ReceiveBufferSize) Open(string name, int? fanoutGroup, bool restoreVlanTags, int? receiveBufferSize)
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

            // Before bind, so the size holds for the first frame queued.
            if (receiveBufferSize is int size)
            {
                SetReceiveBuffer(fd, size, name);
            }

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

            if (fanoutGroup is int group)
            {
                int argument = group | (LinuxConstants.PACKET_FANOUT_HASH << 16);

                // Sound: setsockopt reads the 4 bytes of the local.
                if (LibC.SetSockOpt(fd, LinuxConstants.SOL_PACKET, LinuxConstants.PACKET_FANOUT, &argument, sizeof(int)) != 0)
                {
                    throw LinuxError.Last($"setsockopt(PACKET_FANOUT, group {group}, hash)", name);
                }
            }

            return (fd, (int)index, InterfaceControl.GetMacAddress(fd, name), InterfaceControl.GetMtu(fd, name), GetReceiveBuffer(fd, name));
        }
        catch
        {
            DeviceHandle.CloseQuietly(fd);
            throw;
        }
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

            CheckBound();
            throw LinuxError.FromErrno(errno, count == 1 ? "recvmsg" : "recvmmsg", DeviceName, opened: true);
        }
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
        while (_queues.PendingCount > 0)
        {
            int count = Math.Min(_queues.PendingCount, _batchSize);
            for (int i = 0; i < count; i++)
            {
                NetBufPtr buffer = _queues.PeekPending(i);
                _vectors[i] = new IoVec { Base = buffer.HeaderAddress, Length = (nuint)(buffer.HeaderLength + buffer.PacketLength) };
                _messages[i] = new MMsgHdr { Header = new MsgHdr { IoVecs = (nint)(_vectors + i), IoVecCount = 1 } };
            }

            // Sound: the messages and vectors are this driver's native arrays (freed only after Dispose waited
            // for this call), and the frames lie in buffers the core handed over to this driver.
            int sent = count == 1
                ? (LibC.SendTo(_device.Fd, (void*)_vectors[0].Base, _vectors[0].Length, LinuxConstants.MSG_DONTWAIT, null, 0) >= 0 ? 1 : -1)
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
            throw LinuxError.FromErrno(errno, count == 1 ? "sendto" : "sendmmsg", DeviceName, opened: true);
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
