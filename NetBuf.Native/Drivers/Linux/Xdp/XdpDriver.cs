using System.Numerics;
using System.Runtime.InteropServices;
using NetBufNative.Wire;

namespace NetBufNative.Drivers.Linux.Xdp;

/// <summary>
/// An AF_XDP socket on one queue of a Linux interface whose UMEM is a <see cref="NetBufPool"/>: the
/// kernel writes received frames straight into pool buffers and sends frames straight from them,
/// so a frame is read and answered in place as a <see cref="Span{T}"/> with no copy of ours. A small
/// XDP program, generated for an <see cref="XdpFilter"/>, redirects the frames the application wants
/// to the socket and passes the rest to the kernel's stack; a BPF link attaches it, so it is
/// detached when the driver is disposed (or the process dies).
/// </summary>
/// <remarks>
/// <para>
/// The pool must suit the kernel: its block page-aligned, its buffers chunks of 2048 or 4096 bytes
/// (<see cref="CreatePool"/> makes one), and at least as many buffers as the receive and transmit
/// queues hold, besides those other drivers over it reserved (<see cref="NetBufPool.Reserve"/>: the
/// queues of one interface sharing the UMEM reserve their rings in the one pool). Buffers map onto
/// the rings one to one: <see cref="NetDriver.TryRecycleRxBuffer"/> puts a buffer's chunk on the fill
/// ring; a receive descriptor comes back as that buffer, its packet the frame where the kernel put
/// it (<see cref="ReceiveHeadroom"/> bytes in, in copy mode), with no copy;
/// <see cref="NetDriver.TryTransmit"/> puts a descriptor of the buffer's frame on the transmit ring; the
/// completion ring's entries are the buffers <see cref="NetDriver.RecycleTxBuffers"/> returns to the pool.
/// Ring operations are batched, with acquire/release ordering on the indices, no lock and no GC
/// allocation per frame; the kernel is woken (<c>need_wakeup</c>) only when it asks, except for
/// copy-mode transmission, which happens in the <c>sendto</c> call.
/// </para>
/// <para>
/// Needs root, or CAP_NET_ADMIN, CAP_NET_RAW and CAP_BPF (and CAP_IPC_LOCK or a large enough
/// RLIMIT_MEMLOCK for the pool's block); Linux 5.9 or later on a 64-bit little-endian process.
/// </para>
/// <para>
/// Thread safety: that of <see cref="NetDriver"/> (one thread at a time, except <see cref="NetDriver.Dispose"/> and the
/// counters), and <see cref="GetStatistics"/> from any thread. Scale out with one driver per interface queue.
/// </para>
/// <para>
/// A deleted interface is noticed within <see cref="LinkCheckInterval"/> by a wait and within 256 empty receive polls by a
/// busy-polling loop (the socket signals nothing: it is checked with an empty <c>recvfrom</c>, which says ENXIO), and
/// reported as <see cref="NetDriverErrorKind.BadState"/>; an interface set down is not an error (frames simply stop, and
/// flow again when it is set up).
/// </para>
/// <para>
/// Scale-out: the first driver of an interface registers the pool as the UMEM and attaches the
/// program; a driver for each further queue names it in <see cref="XdpDriverOptions.ShareUmemWith"/>
/// and gets a socket of its own on its queue, with fill and completion rings of its own, over the
/// same UMEM (<c>XDP_SHARED_UMEM</c>), put into the same XSKMAP at its queue's index. Each is served
/// by its own thread; the pool's per-thread caches keep their allocations and frees apart. The
/// program stays attached until the last of them is disposed.
/// </para>
/// </remarks>
public sealed unsafe class XdpDriver : NetDriver
{
    /// <summary>Ring size when none is given: 512 entries each way, so a pool of 1024 chunks of 2048 bytes (2 MiB, a quarter of a common 8 MiB RLIMIT_MEMLOCK) serves one driver.</summary>
    public const int DefaultRingSize = 512;

    /// <summary>The chunk size <see cref="CreatePool"/> uses by default: 2048 bytes, the smallest the kernel takes, room for a 1500-byte MTU frame after the 256-byte receive headroom.</summary>
    public const int DefaultChunkSize = 2048;

    /// <summary>Where a received frame starts in its buffer in copy mode: the kernel's <c>XDP_PACKET_HEADROOM</c>.</summary>
    public const int ReceiveHeadroom = XdpConstants.PacketHeadroom;

    /// <summary>Completion entries returned to the pool per <see cref="NetBufPool.FreeBulk(ReadOnlySpan{NetBufPtr})"/>: 64, a pool batch of a thread cache's size.</summary>
    private const int RecycleBatch = 64;

    /// <summary>The largest <see cref="XdpDriverOptions.BusyPollBudget"/>: the kernel's limit for <c>SO_BUSY_POLL_BUDGET</c> (<c>U16_MAX</c>).</summary>
    public const int MaxBusyPollBudget = ushort.MaxValue;

    /// <summary><c>SO_BUSY_POLL</c> with a busy-poll budget: 20 microseconds, DPDK's <c>net_af_xdp</c> value.</summary>
    public const int BusyPollMicroseconds = 20;

    /// <summary>Frames the kernel sends per copy-mode <c>sendto</c> (its <c>max_tx_budget</c> default, <c>TX_BATCH_SIZE</c>).</summary>
    private const uint KernelTxBatch = 32;

    /// <summary>How long one slice of <see cref="NetDriver.WaitForTransmit"/> sleeps while every transmit buffer is in flight: copy-mode completions come within microseconds on a veth.</summary>
    private static readonly TimeSpan s_completionSlice = TimeSpan.FromMilliseconds(1);

    /// <summary>How often a wait for a frame looks whether the interface still exists (the socket signals nothing when it is deleted).</summary>
    public static readonly TimeSpan LinkCheckInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>Empty receive polls between two looks at the interface (each one system call, about 1.2 µs measured here): 256, so a busy-polling loop pays one call per 256 empty polls.</summary>
    private const int EmptyPollsPerLinkCheck = 256;

    private readonly NetBufPool _pool;
    private readonly XdpSocket _socket;
    private readonly DeviceHandle _device;

    /// <summary>The packet socket that holds the interface promiscuous (<see cref="XdpDriverOptions.Promiscuous"/>), or -1.</summary>
    private readonly int _promiscuous = -1;
    private readonly XdpRing _fill;
    private readonly XdpRing _completion;
    private readonly XdpRing _rx;
    private readonly XdpRing _tx;

    /// <summary>The buffers the driver holds, by index (= chunk): posted ones and ones in flight; default where none.</summary>
    private readonly NetBufPtr[] _held;

    /// <summary>What each held buffer is for (<see cref="Posted"/> or <see cref="InFlight"/>), so a descriptor of the wrong ring is refused.</summary>
    private readonly byte[] _roles;
    private readonly NetBufPtr[] _recycled = new NetBufPtr[RecycleBatch];
    private readonly nint _umem;
    private readonly int _chunkShift;
    private readonly ulong _chunkMask;
    private readonly int _maxFrameLength;
    private readonly bool _kickTx;
    private readonly bool _completeChecksums;
    private readonly bool _kickFill;

    /// <summary>Whether an empty receive ring makes a <c>recvfrom</c>, to busy-poll the interface (<see cref="XdpDriverOptions.BusyPollBudget"/>).</summary>
    private readonly bool _busyPoll;
    /// <summary>A held buffer's role: on the fill ring for a frame to be received into.</summary>
    private const byte Posted = 1;

    /// <summary>A held buffer's role: on the transmit ring, sent or being sent.</summary>
    private const byte InFlight = 2;

    private int _posted;
    private int _inFlight;
    private int _emptyPolls;
    private long _rxInvalid;
    private long _checksumsCompleted;

    /// <summary>Opens an AF_XDP socket on a queue of <paramref name="interfaceName"/> with <paramref name="pool"/> as its UMEM, and attaches the redirect program.</summary>
    /// <param name="pool">The pool of every buffer the driver handles; page-aligned, chunks of 2048 or 4096 bytes (see <see cref="CreatePool"/>).</param>
    /// <param name="interfaceName">The interface, 1 to 15 characters; it must exist and should be up.</param>
    /// <param name="options">Namespace, queue, ring sizes, modes and filter; defaults when null.</param>
    /// <exception cref="ArgumentNullException"><paramref name="pool"/> or <paramref name="interfaceName"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A ring size is not a power of two from 1 to 65536, or the queue is negative.</exception>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    /// <exception cref="NetDriverException">
    /// The pool does not suit AF_XDP, or its buffers not yet reserved by other drivers are too few for
    /// the rings (InvalidParam, saying what to change); not Linux or not 64-bit, no privilege,
    /// zero-copy or the attach mode not supported by the interface (Unsupported); no such interface, namespace or queue (InvalidParam); the verifier
    /// rejected the program (InvalidParam, with its log); the interface has an XDP program already or
    /// the queue a socket (ResourceBusy); the block could not be locked (NoMemory); the driver named in
    /// <see cref="XdpDriverOptions.ShareUmemWith"/> has another pool, interface, namespace or the same
    /// queue (InvalidParam) or is disposed (BadState). Nothing is left attached to the interface.
    /// </exception>
    public XdpDriver(NetBufPool pool, string interfaceName, XdpDriverOptions? options = null)
        : base(pool)
    {
        ArgumentNullException.ThrowIfNull(interfaceName);
        options ??= new XdpDriverOptions();
        ArgumentNullException.ThrowIfNull(options.Filter, nameof(options.Filter));
        CheckRingSize(options.RxQueueSize, nameof(options.RxQueueSize));
        CheckRingSize(options.TxQueueSize, nameof(options.TxQueueSize));
        ArgumentOutOfRangeException.ThrowIfNegative(options.QueueId, nameof(options.QueueId));
        ArgumentOutOfRangeException.ThrowIfNegative(options.BusyPollBudget, nameof(options.BusyPollBudget));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.BusyPollBudget, MaxBusyPollBudget, nameof(options.BusyPollBudget));
        ObjectDisposedException.ThrowIf(pool.IsDisposed, pool);
        if (!OperatingSystem.IsLinux() || !Environment.Is64BitProcess || !BitConverter.IsLittleEndian)
        {
            throw LinuxError.NotLinux(nameof(XdpDriver));
        }

        CheckPool(pool, interfaceName);
        FrameChecks.InterfaceName(interfaceName);
        XdpDriver? shareWith = options.ShareUmemWith;
        if (shareWith is not null)
        {
            CheckShare(shareWith, pool, interfaceName, options);
        }

        // The rings of every driver over the pool (the queues of one interface sharing its UMEM) must fit it together.
        ReservePoolBuffers(FrameChecks.Owner("AF_XDP", $"{interfaceName} queue {options.QueueId}", options.NetworkNamespace), options.RxQueueSize, options.TxQueueSize);
        try
        {
            if (shareWith is null)
            {
                _socket = NamespaceThread.Run(options.NetworkNamespace, () => XdpSocket.Open(pool, interfaceName, options, null));
            }
            else
            {
                // The other driver's socket stays open while this one binds to its UMEM with its descriptor.
                shareWith._device.Enter();
                try
                {
                    _socket = NamespaceThread.Run(options.NetworkNamespace, () => XdpSocket.Open(pool, interfaceName, options, shareWith._socket));
                }
                finally
                {
                    shareWith._device.Exit();
                }
            }
        }
        catch
        {
            ReleasePoolBuffers();
            throw;
        }

        try
        {
            _device = new DeviceHandle(_socket.Fd, interfaceName);
        }
        catch
        {
            // The handle closed the socket; the program and the rings are still ours to undo.
            _socket.DetachProgram();
            _socket.UnmapRings();
            ReleasePoolBuffers();
            throw;
        }

        if (options.Promiscuous)
        {
            try
            {
                _promiscuous = NamespaceThread.Run(options.NetworkNamespace, () => PromiscuousMembership.Open(interfaceName));
            }
            catch
            {
                _socket.DetachProgram();
                _ = _device.Close();
                _socket.UnmapRings();
                ReleasePoolBuffers();
                throw;
            }
        }

        XdpAttachment attachment = _socket.Attachment!;
        _pool = pool;
        _fill = _socket.Fill;
        _completion = _socket.Completion;
        _rx = _socket.Rx;
        _tx = _socket.Tx;
        _held = new NetBufPtr[pool.Capacity];
        _roles = new byte[pool.Capacity];
        _umem = pool.BlockAddress;
        _chunkShift = BitOperations.Log2((uint)pool.BufferStride);
        _chunkMask = (ulong)pool.BufferStride - 1;
        _maxFrameLength = _socket.Mtu + LinuxConstants.EthernetHeaderLength;
        _kickTx = !_socket.IsZeroCopy || !_socket.UsesNeedWakeup;
        _completeChecksums = options.CompletePartialChecksums && !_socket.IsZeroCopy;
        _kickFill = _socket.UsesNeedWakeup;
        _busyPoll = options.BusyPollBudget > 0;
        BusyPollBudget = options.BusyPollBudget;
        RxQueueSize = options.RxQueueSize;
        TxQueueSize = options.TxQueueSize;
        QueueId = options.QueueId;
        NetworkNamespace = options.NetworkNamespace;
        Filter = attachment.Filter;
        BindMode = _socket.BindModeUsed;
        AttachMode = attachment.AttachMode;
        ProgramName = attachment.ProgramName;
        XdpMetrics.Register(this);
    }

    /// <inheritdoc/>
    public override string DeviceName => _device.DeviceName;

    /// <summary>The busy-poll budget the socket was given (<see cref="XdpDriverOptions.BusyPollBudget"/>); 0 when busy polling is off.</summary>
    public int BusyPollBudget { get; }

    /// <summary>The interface's hardware address (read with <c>SIOCGIFHWADDR</c> when the driver was created): the address the driver's frames are sent from.</summary>
    public override MacAddress MacAddress => _socket.MacAddress;

    /// <summary>The interface's index in its namespace.</summary>
    public int InterfaceIndex => _socket.InterfaceIndex;

    /// <summary>The interface's MTU when the driver was created: frames of up to MTU + 18 bytes are sent.</summary>
    public int Mtu => _socket.Mtu;

    /// <summary>The interface queue the socket is bound to.</summary>
    public int QueueId { get; }

    /// <summary>The named network namespace of the interface, or <see langword="null"/> for the creator's own.</summary>
    public string? NetworkNamespace { get; }

    /// <summary>Which frames the program redirects to this socket (for a driver that shares a UMEM: the first driver's filter).</summary>
    public XdpFilter Filter { get; }

    /// <summary>The bind mode asked for (<see cref="IsZeroCopy"/> tells what <see cref="XdpBindMode.Auto"/> became); for a driver that shares a UMEM, the first driver's.</summary>
    public XdpBindMode BindMode { get; }

    /// <summary>The attach mode asked for (for a driver that shares a UMEM: the first driver's).</summary>
    public XdpAttachMode AttachMode { get; }

    /// <summary>Whether the socket runs in zero-copy mode (the kernel's <c>XDP_OPTIONS_ZEROCOPY</c>); false in copy mode.</summary>
    public bool IsZeroCopy => _socket.IsZeroCopy;

    /// <summary>The name of the loaded XDP program, as <c>bpftool prog</c> and <c>ip link show</c> list it.</summary>
    public string ProgramName { get; }


    /// <inheritdoc/>
    /// <remarks>The fill and receive rings' size.</remarks>
    public override int RxQueueSize { get; }

    /// <inheritdoc/>
    /// <remarks>The transmit and completion rings' size.</remarks>
    public override int TxQueueSize { get; }

    /// <summary>Whether the driver holds its interface in promiscuous mode (<see cref="XdpDriverOptions.Promiscuous"/>).</summary>
    public bool IsPromiscuous => _promiscuous >= 0;

    /// <summary>Receive or completion descriptors the driver refused (not a chunk it gave the kernel, or a frame beyond its buffer); the kernel's own counts are in <see cref="GetStatistics"/>.</summary>
    /// <remarks>Thread-safe.</remarks>
    public long RxInvalid => Volatile.Read(ref _rxInvalid);

    /// <summary>Whether received frames' partial TCP/UDP checksums are completed: <see cref="XdpDriverOptions.CompletePartialChecksums"/>
    /// in copy mode; never in zero-copy mode (frames there come from the NIC's wire, never partial).</summary>
    public bool CompletesPartialChecksums => _completeChecksums;

    /// <summary>Received frames whose partial TCP/UDP checksum the driver completed.</summary>
    /// <remarks>Thread-safe.</remarks>
    public long PartialChecksumsCompleted => Volatile.Read(ref _checksumsCompleted);

    /// <inheritdoc/>
    /// <remarks>Here: posted for receiving, and transmitted but not yet recycled.</remarks>
    public override int HeldBuffers => Volatile.Read(ref _posted) + Volatile.Read(ref _inFlight);

    /// <inheritdoc/>
    protected override int RxRoom => Math.Min(RxQueueSize - _posted, (int)_fill.Free((uint)RxQueueSize));

    /// <inheritdoc/>
    protected override int TxRoom => Math.Min(TxQueueSize - _inFlight, (int)_tx.Free((uint)TxQueueSize));

    /// <inheritdoc/>
    protected override int MaxFrameLength => _maxFrameLength;

    /// <inheritdoc/>
    protected override int MinFrameLength => LinuxConstants.EthernetHeaderLength;

    /// <summary>
    /// Creates a pool that can be the UMEM of <see cref="XdpDriver"/>s: its block aligned to the page,
    /// its buffers chunks of <paramref name="chunkSize"/> bytes (buffer length = stride = chunk).
    /// </summary>
    /// <param name="capacity">How many buffers; at least the receive plus transmit queue sizes of the drivers that will use it.</param>
    /// <param name="chunkSize">2048 (default; frames up to 1792 bytes after the receive headroom) or 4096.</param>
    /// <param name="name">A name for messages and metrics.</param>
    /// <returns>The pool; the caller disposes it after the drivers.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="chunkSize"/> is neither 2048 nor 4096 (or above the page size), or <paramref name="capacity"/> is out of the pool's range.</exception>
    /// <exception cref="OutOfMemoryException">The block could not be allocated.</exception>
    /// <remarks>Thread-safe.</remarks>
    public static NetBufPool CreatePool(int capacity, int chunkSize = DefaultChunkSize, string? name = null)
    {
        if (chunkSize is not (2048 or 4096) || chunkSize > Environment.SystemPageSize)
        {
            throw new ArgumentOutOfRangeException(nameof(chunkSize), chunkSize, $"An AF_XDP chunk is 2048 or 4096 bytes, at most the page size ({Environment.SystemPageSize}).");
        }

        return new NetBufPool(capacity, chunkSize, new NetBufPoolOptions { BlockAlignment = Environment.SystemPageSize, Name = name });
    }

    /// <summary>Reads the kernel's counters of this socket (<c>XDP_STATISTICS</c>); also published as <c>netbuf.xdp.*</c> metrics.</summary>
    /// <returns>A snapshot.</returns>
    /// <exception cref="NetDriverException">The driver is disposed (BadState), or getsockopt failed.</exception>
    /// <remarks>Thread-safe.</remarks>
    public XdpStatistics GetStatistics()
    {
        _device.Enter();
        try
        {
            return new XdpStatistics(XdpSocket.ReadStatistics(_device.Fd, DeviceName));
        }
        finally
        {
            _device.Exit();
        }
    }

    /// <inheritdoc/>
    /// <remarks>Puts the buffers' chunks on the fill ring and publishes them to the kernel at once.</remarks>
    protected override void PostRxBurst(ReadOnlySpan<NetBufPtr> buffers)
    {
        foreach (NetBufPtr buffer in buffers)
        {
            _held[buffer.BufferIndex] = buffer;
            _roles[buffer.BufferIndex] = Posted;
            _fill.NextToStage<ulong>() = (ulong)buffer.BufferIndex << _chunkShift;
            _fill.Stage();
        }

        _posted += buffers.Length;

        // Published at once: a frame may be on its way already (one release store, a plain
        // store on x86-64, and a read of the flags word).
        PublishFill();
    }

    /// <inheritdoc/>
    /// <remarks>Each receive descriptor is the buffer the kernel filled, its packet the frame where the kernel wrote it (no copy).</remarks>
    protected override int ReceiveBurst(Span<NetBufPtr> destination)
    {
        uint count = _rx.Available((uint)destination.Length);
        if (count == 0 && _busyPoll)
        {
            // Sound: no buffer: a zero-length receive in which the kernel busy-polls the interface's NAPI context.
            _ = LibC.RecvFrom(_device.Fd, null, 0, LinuxConstants.MSG_DONTWAIT, null, null);
            count = _rx.Available((uint)destination.Length);
        }

        if (count == 0)
        {
            if (++_emptyPolls >= EmptyPollsPerLinkCheck)
            {
                _emptyPolls = 0;
                CheckLink();
            }

            return 0;
        }

        _emptyPolls = 0;
        int taken = 0;
        for (uint i = 0; i < count; i++)
        {
            ref XdpDesc descriptor = ref _rx.Entry<XdpDesc>(i);
            if (TryTake(descriptor.Address, Posted, out NetBufPtr posted, out int offset))
            {
                _posted--;
                // A frame beyond its chunk cannot come from a kernel that keeps to the chunk: TryHandBack drops it
                // (counted in RxDropped) and returns the buffer to the pool.
                if (TryHandBack(posted, offset, (int)descriptor.Length, out destination[taken]))
                {
                    // A frame a Linux sender left partial (CHECKSUM_PARTIAL: the veth offers checksum offload) comes without
                    // the kernel's word on it: a TCP/UDP checksum that does not verify and holds the pseudo-header's sum is
                    // completed; a wrong one that does not is left wrong.
                    if (_completeChecksums && TransportChecksum.TryCompleteIfPartial(destination[taken].Packet))
                    {
                        _checksumsCompleted++;
                    }

                    taken++;
                }
            }
        }

        _rx.Release(count);
        return taken;
    }

    /// <inheritdoc/>
    /// <remarks>The descriptors are published with one index store and the kernel woken once (in copy mode, once per 32
    /// frames, the kernel's batch). A kick that fails after the publication (the interface deleted, say) is reported by
    /// the next call: the frames were taken.</remarks>
    protected override void TransmitBurst(ReadOnlySpan<NetBufPtr> frames)
    {
        foreach (NetBufPtr buffer in frames)
        {
            _held[buffer.BufferIndex] = buffer;
            _roles[buffer.BufferIndex] = InFlight;
            ref XdpDesc descriptor = ref _tx.NextToStage<XdpDesc>();
            descriptor.Address = (ulong)(buffer.HeaderAddress - _umem);
            descriptor.Length = (uint)(buffer.HeaderLength + buffer.PacketLength);
            descriptor.Options = 0;
            _tx.Stage();
        }

        _tx.Publish();
        _inFlight += frames.Length;
        KickTx();
    }

    /// <inheritdoc/>
    /// <remarks>Reads the completion ring.</remarks>
    protected override int TakeCompleted(Span<NetBufPtr> destination)
    {
        uint count = _completion.Available((uint)destination.Length);
        int taken = 0;
        for (uint i = 0; i < count; i++)
        {
            if (TryTake(_completion.Entry<ulong>(i), InFlight, out NetBufPtr sent, out _))
            {
                destination[taken++] = sent;
            }
        }

        _completion.Release(count);
        _inFlight -= taken;
        return taken;
    }

    /// <inheritdoc/>
    /// <remarks>Reads the receive ring's producer index (no system call).</remarks>
    protected override bool HasReceived() => _rx.Available(1) != 0;

    /// <inheritdoc/>
    /// <remarks>
    /// Sleeps in <c>poll</c> on the socket beside two eventfds (cancellation, disposal), costing no CPU, waking every
    /// <see cref="LinkCheckInterval"/> to look whether the interface still exists. <see langword="false"/> at once when no
    /// receive buffer is posted.
    /// </remarks>
    /// <exception cref="NetDriverException">The interface was deleted (BadState).</exception>
    protected override bool WaitForReceiveCore(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (HasReceived())
        {
            return true;
        }

        if (_posted == 0)
        {
            return false;
        }

        long start = Environment.TickCount64;
        while (true)
        {
            CheckLink();
            TimeSpan left = timeout == Timeout.InfiniteTimeSpan ? LinkCheckInterval : timeout - TimeSpan.FromMilliseconds(Environment.TickCount64 - start);
            if (left < TimeSpan.Zero)
            {
                return false;
            }

            if (_device.Wait(LinuxConstants.POLLIN, left < LinkCheckInterval ? left : LinkCheckInterval, cancellationToken) || HasReceived())
            {
                return true;
            }

            if (left <= LinkCheckInterval && timeout != Timeout.InfiniteTimeSpan)
            {
                return false;
            }
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// <see langword="true"/> at once while fewer than <see cref="TxQueueSize"/> frames are in flight, or when sent buffers
    /// wait for recycling. Otherwise waits for the kernel's completions, which signal no descriptor: in slices of 1 ms
    /// asleep in <c>poll</c> on the cancellation and disposal eventfds.
    /// </remarks>
    protected override bool WaitForTransmitCore(TimeSpan timeout, CancellationToken cancellationToken)
    {
        long start = Environment.TickCount64;
        while (true)
        {
            if (_inFlight < TxQueueSize || _completion.Available(1) != 0)
            {
                return true;
            }

            CheckLink();
            TimeSpan left = timeout == Timeout.InfiniteTimeSpan ? s_completionSlice : timeout - TimeSpan.FromMilliseconds(Environment.TickCount64 - start);
            if (left <= TimeSpan.Zero)
            {
                return false;
            }

            // Events 0: the socket cannot signal completions, so only the eventfds (cancel, close) wake this early.
            _ = _device.Wait(0, left < s_completionSlice ? left : s_completionSlice, cancellationToken);
        }
    }

    /// <inheritdoc/>
    protected override void OnDisposing() => _device.WakeForClose();

    /// <inheritdoc/>
    /// <remarks>The socket is readable while its receive ring holds a descriptor (while a buffer is posted to fill).</remarks>
    internal override int GetWaitDescriptors(Span<PollFd> destination)
    {
        int count = 0;
        if (_posted > 0)
        {
            destination[count++] = new PollFd { Fd = _device.Fd, Events = LinuxConstants.POLLIN };
        }

        destination[count++] = new PollFd { Fd = _device.CloseEvent, Events = LinuxConstants.POLLIN };
        return count;
    }

    /// <inheritdoc/>
    internal override void CheckDevice() => CheckLink();

    /// <inheritdoc/>
    /// <remarks>The socket's <c>rx_dropped</c> (which includes frames that found the fill ring empty) plus <c>rx_ring_full</c>
    /// (<see cref="GetStatistics"/>); 0 once the driver is disposed.</remarks>
    internal override long KernelRxDrops => TryGetStatistics() is { } statistics ? statistics.RxDropped + statistics.RxRingFull : 0;

    /// <inheritdoc/>
    internal override bool HasWaitDescriptors => true;

    /// <inheritdoc/>
    internal override bool CanReceiveLater => _posted > 0;

    /// <inheritdoc/>
    internal override bool NeedsDeviceChecks => true;

    /// <summary>
    /// Detaches the XDP program (closes the BPF link; when drivers of other queues share it, the last of them to be
    /// disposed does), closes the socket (the kernel stops using the UMEM and takes the socket out of the XSKMAP) and
    /// unmaps the rings. Frames still in the transmit ring or not completed are dropped; in copy mode the kernel has
    /// copied every frame it took, so the buffers are free to reuse at once.
    /// </summary>
    protected override void CloseDevice()
    {
        XdpMetrics.Unregister(this);
        _socket.DetachProgram();
        _device.Close();
        _socket.UnmapRings();
        DeviceHandle.CloseQuietly(_promiscuous);
    }

    /// <inheritdoc/>
    /// <remarks>Every buffer of the held table, whatever ring it was in.</remarks>
    protected override int TakeHeld(Span<NetBufPtr> destination)
    {
        int count = 0;
        for (int i = 0; i < _held.Length && count < destination.Length; i++)
        {
            if (!_held[i].IsNull)
            {
                destination[count++] = _held[i];
                _held[i] = default;
                _roles[i] = 0;
            }
        }

        _posted = 0;
        _inFlight = 0;
        return count;
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"AF_XDP {DeviceName} queue {QueueId} ({MacAddress}, {(IsZeroCopy ? "zero-copy" : "copy")} mode, {Filter}) over {_pool.Name}: {RxFrames} received, {TxFrames} sent";

    /// <summary>The socket's statistics for the metrics, or null once disposed.</summary>
    internal XdpStatistics? TryGetStatistics()
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

    private static void CheckRingSize(int size, string name)
    {
        FrameChecks.QueueSize(size, name);
        if (!BitOperations.IsPow2(size))
        {
            throw new ArgumentOutOfRangeException(name, size, "An AF_XDP ring size must be a power of two (the kernel masks its indices), e.g. 512 or 2048.");
        }
    }

    private static void CheckShare(XdpDriver shareWith, NetBufPool pool, string device, XdpDriverOptions options)
    {
        string? problem = !ReferenceEquals(shareWith._pool, pool)
            ? $"it has another pool ({shareWith._pool.Name}, not {pool.Name}): give both drivers the same pool"
            : shareWith.DeviceName != device || shareWith.NetworkNamespace != options.NetworkNamespace
            ? $"it serves another interface ({shareWith.DeviceName} in namespace {shareWith.NetworkNamespace ?? "(own)"}, not {device} in {options.NetworkNamespace ?? "(own)"}): share only between queues of one interface"
            : shareWith.QueueId == options.QueueId
            ? $"it serves the same queue ({options.QueueId}): give each driver a queue of its own"
            : null;
        if (problem is not null)
        {
            throw new NetDriverException(NetDriverErrorKind.InvalidParam, $"The AF_XDP driver of {device} queue {options.QueueId} cannot share the UMEM of {shareWith}: {problem}.");
        }
    }

    private static void CheckPool(NetBufPool pool, string device)
    {
        int page = Environment.SystemPageSize;
        string fix = $"create it with XdpDriver.CreatePool(capacity), or with a buffer length of 2048 or 4096 and new NetBufPoolOptions {{ BlockAlignment = Environment.SystemPageSize }}";
        string? problem = pool.BlockAlignment < page
            ? $"its block is aligned to {pool.BlockAlignment} bytes, and the kernel registers only page-aligned memory ({page} bytes)"
            : pool.BufferLength != pool.BufferStride || !BitOperations.IsPow2(pool.BufferStride) || pool.BufferStride < XdpConstants.MinChunkSize || pool.BufferStride > page
            ? $"its buffers are {pool.BufferLength} bytes long, {pool.BufferStride} apart, and the kernel needs each buffer to be one whole chunk of a power of two from {XdpConstants.MinChunkSize} bytes to the page size ({page})"
            : null;
        if (problem is not null)
        {
            throw new NetDriverException(NetDriverErrorKind.InvalidParam, $"{pool.Name} cannot be the UMEM of an AF_XDP socket on {device}: {problem}. {char.ToUpperInvariant(fix[0])}{fix[1..]}.");
        }
    }

    /// <summary>Takes the held buffer of <paramref name="role"/> whose chunk holds UMEM address <paramref name="address"/> out of the held table.</summary>
    /// <returns><see langword="false"/> (counted in <see cref="RxInvalid"/>) when the address is not a chunk the driver gave this ring of the kernel's.</returns>
    private bool TryTake(ulong address, byte role, out NetBufPtr buffer, out int offset)
    {
        ulong index = address >> _chunkShift;
        offset = (int)(address & _chunkMask);

        // Only a buffer the driver gave to this very ring: a completion for a posted buffer (or a receive
        // descriptor for one being sent) would free or hand out a buffer the kernel still uses.
        if (index >= (ulong)_held.Length || _held[index].IsNull || _roles[index] != role)
        {
            _rxInvalid++;
            buffer = default;
            return false;
        }

        buffer = _held[index];
        _held[index] = default;
        _roles[index] = 0;
        return true;
    }

    /// <summary>Throws once the interface is gone: an empty <c>recvfrom</c> says ENXIO (ENETDOWN for a downed interface, which recovers).</summary>
    /// <exception cref="NetDriverException">The interface was deleted (BadState); the core then says so at every later call.</exception>
    private void CheckLink()
    {
        // Sound: no buffer: a zero-length receive that only asks the socket's state (in zero-copy mode it also
        // wakes the kernel's receive path, which is harmless).
        if (LibC.RecvFrom(_device.Fd, null, 0, LinuxConstants.MSG_DONTWAIT, null, null) < 0 && Marshal.GetLastPInvokeError() == Errno.ENXIO)
        {
            throw InterfaceGone();
        }
    }

    private NetDriverException InterfaceGone() => DeviceGone("deleted, or moved to another namespace: the AF_XDP socket says ENXIO", Errno.ENXIO);

    /// <summary>Hands the staged fill entry to the kernel, and wakes it if it asks (zero-copy drivers that ran dry).</summary>
    private void PublishFill()
    {
        _fill.Publish();
        if (_kickFill && _fill.NeedsWakeup)
        {
            // Sound: no buffer: a zero-length receive that only wakes the driver's receive path.
            _ = LibC.RecvFrom(_device.Fd, null, 0, LinuxConstants.MSG_DONTWAIT, null, null);
        }
    }

    /// <summary>Makes the kernel send the published descriptors: in copy mode it sends in the <c>sendto</c> call, up to 32 frames per call.</summary>
    private void KickTx()
    {
        if (!_kickTx && !_tx.NeedsWakeup)
        {
            return;
        }

        // Enough calls for every outstanding descriptor in batches of the kernel's, and one more.
        uint calls = (_tx.Outstanding() / KernelTxBatch) + 1;
        for (uint i = 0; i < calls; i++)
        {
            // Sound: no buffer: an empty send that only makes the kernel process the transmit ring.
            if (LibC.SendTo(_device.Fd, null, 0, LinuxConstants.MSG_DONTWAIT, null, 0) >= 0)
            {
                return;
            }

            int errno = Marshal.GetLastPInvokeError();
            switch (errno)
            {
                case Errno.EINTR:
                    continue;

                // EAGAIN: the kernel's batch ended with more to send (go on), or the completion ring
                // is full (RecycleTxBuffers makes room); EBUSY, ENOBUFS, ENETDOWN: try later.
                case Errno.EAGAIN:
                    if (_tx.Outstanding() == 0)
                    {
                        return;
                    }

                    continue;
                case Errno.EBUSY or Errno.ENOBUFS or Errno.ENETDOWN:
                    return;
                case Errno.ENXIO:
                    throw InterfaceGone();
                default:
                    throw LinuxError.FromErrno(errno, "sendto (AF_XDP transmit)", DeviceName, opened: true);
            }
        }
    }
}
