using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NetBufNative.Wire;

namespace NetBufNative.Drivers.Linux;

/// <summary>
/// A Linux TAP device (<c>IFF_TAP | IFF_NO_PI</c>): the program is the far end of an Ethernet
/// cable whose near end is a kernel interface. Frames the kernel sends out of the interface are
/// received here; frames transmitted here arrive at the interface. Frames are read straight into
/// pool buffers and written straight from them: no managed copy, no <c>byte[]</c>.
/// </summary>
/// <remarks>
/// <para>
/// The constructor creates the device, or attaches to a persistent one of that name, in the
/// caller's network namespace or a named one. The device exists while the driver does: disposing
/// it closes the descriptor, and a non-persistent device vanishes. Creating a device needs root
/// or CAP_NET_ADMIN; Linux only.
/// </para>
/// <para>
/// Receiving: a read goes into the oldest buffer posted with <see cref="NetDriver.TryRecycleRxBuffer"/>, at
/// the pool's <see cref="NetBufPool.DefaultHeadroom"/>; the frame becomes the buffer's packet
/// region. A frame longer than the room after the headroom, or shorter than an Ethernet header, is
/// dropped and counted in <see cref="NetDriver.RxDropped"/> (the buffer stays posted). Transmitting writes the
/// buffer's header and packet regions at once (one frame per write); the buffer then waits in the
/// transmit queue until <see cref="NetDriver.RecycleTxBuffers"/>.
/// </para>
/// <para>
/// Transmitting writes each frame whole; a frame the device has no room for (EAGAIN, ENOBUFS) waits in
/// the transmit queue and goes at the next call. A device error drops the frames not yet written (counted
/// in <see cref="NetDriver.TxDropped"/>) and is reported by the next call.
/// </para>
/// <para>
/// Addresses: <see cref="MacAddress"/> is the program's side of the cable, the address it sends from
/// (<see cref="TapDriverOptions.MacAddress"/>, or a random locally administered one);
/// <see cref="KernelMacAddress"/> is the interface's, the kernel's side.
/// </para>
/// <para>
/// Thread safety: that of <see cref="NetDriver"/>: one thread at a time, except <see cref="NetDriver.Dispose"/>
/// (which ends a wait with <see cref="NetDriverErrorKind.BadState"/> and waits for a call to leave) and the counters.
/// </para>
/// </remarks>
public sealed unsafe class TapDriver : NetDriver
{
    /// <summary>Queue size when none is given: 256 buffers each way, a common NIC ring size.</summary>
    public const int DefaultQueueSize = 256;

    /// <summary>Oversized or runt frames one receive call drops at most before it returns: bounds the call under a flood of them.</summary>
    private const int MaxDropsPerCall = 64;

    /// <summary>Room for the part of a frame beyond the posted buffer: the largest frame a TAP device passes (its MTU can reach 65535).</summary>
    private const int OverflowLength = 65536;

    private readonly DeviceQueues _queues;
    private readonly DeviceHandle _device;
    private readonly BufferFifo _posted;
    private readonly int _rxOffset;
    private readonly int _rxRoom;
    private readonly int _maxFrameLength;
    private readonly void* _overflow;

    /// <summary>Creates the TAP device <paramref name="name"/>, or attaches to the persistent one of that name.</summary>
    /// <param name="pool">The pool of every buffer the driver handles.</param>
    /// <param name="name">The interface name, 1 to 15 characters; a pattern such as <c>tap%d</c> lets the kernel number it (see <see cref="DeviceName"/>).</param>
    /// <param name="options">Namespace, addresses, queue sizes; defaults when null.</param>
    /// <exception cref="ArgumentNullException"><paramref name="pool"/> or <paramref name="name"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A queue size is out of range.</exception>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    /// <exception cref="NetDriverException">
    /// Not Linux or not a 64-bit process (<see cref="NetDriverErrorKind.Unsupported"/>); the pool's buffers not yet
    /// reserved by other drivers are fewer than the two queues hold (InvalidParam, naming every holder:
    /// <see cref="NetBufPool.Reserve"/>); no privilege
    /// (Unsupported, saying what is needed); the name is invalid or the namespace missing
    /// (InvalidParam); the device exists and is busy (ResourceBusy) or is not a TAP device; another
    /// system call failed (its kind, errno and text).
    /// </exception>
    public TapDriver(NetBufPool pool, string name, TapDriverOptions? options = null)
        : base(pool)
    {
        ArgumentNullException.ThrowIfNull(name);
        options ??= new TapDriverOptions();
        FrameChecks.QueueSize(options.RxQueueSize, nameof(options.RxQueueSize));
        FrameChecks.QueueSize(options.TxQueueSize, nameof(options.TxQueueSize));
        if (!OperatingSystem.IsLinux() || !Environment.Is64BitProcess)
        {
            throw LinuxError.NotLinux(nameof(TapDriver));
        }

        FrameChecks.InterfaceName(name);
        ReservePoolBuffers(FrameChecks.Owner("TAP", name, options.NetworkNamespace), options.RxQueueSize, options.TxQueueSize);
        MacAddress kernelMac;
        int mtu;
        try
        {
            int fd;
            string deviceName;
            (fd, deviceName, kernelMac, mtu) = NamespaceThread.Run(options.NetworkNamespace, () => Open(name, options));
            _queues = new DeviceQueues(new DeviceHandle(fd, deviceName), options.RxQueueSize, options.TxQueueSize);
        }
        catch
        {
            ReleasePoolBuffers();
            throw;
        }

        (_device, _posted) = (_queues.Device, _queues.Posted);
        _rxOffset = pool.DefaultHeadroom;
        _rxRoom = pool.BufferLength - _rxOffset;
        _maxFrameLength = mtu + LinuxConstants.EthernetHeaderLength;
        _overflow = NativeMemory.Alloc(OverflowLength);
        KernelMacAddress = kernelMac;
        MacAddress = options.MacAddress ?? RandomLocalAddress();
        Mtu = mtu;
        NetworkNamespace = options.NetworkNamespace;
    }

    /// <inheritdoc/>
    public override string DeviceName => _device.DeviceName;

    /// <summary>
    /// The driver's own address, the program's side of the cable, which it sends from (<see cref="TapDriverOptions.MacAddress"/>,
    /// or a random locally administered unicast one). The interface's address is <see cref="KernelMacAddress"/>.
    /// </summary>
    public override MacAddress MacAddress { get; }

    /// <summary>The interface's hardware address, the kernel's side of the cable, as the driver found it after creation
    /// (read with <c>SIOCGIFHWADDR</c>, or set from <see cref="TapDriverOptions.KernelMacAddress"/>).</summary>
    public MacAddress KernelMacAddress { get; }

    /// <summary>The interface's MTU when the driver was created: frames of up to MTU + 18 bytes (header and one VLAN tag) are sent.</summary>
    public int Mtu { get; }

    /// <summary>The named network namespace the device is in, or <see langword="null"/> for the creator's own.</summary>
    public string? NetworkNamespace { get; }

    /// <inheritdoc/>
    public override int RxQueueSize => _posted.Capacity;

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

    /// <summary>One read per frame (a TAP device has no batched read).</summary>
    protected override int ReceiveBurstSize => 1;

    /// <inheritdoc/>
    protected override void PostRxBurst(ReadOnlySpan<NetBufPtr> buffers) => _queues.Post(buffers);

    /// <inheritdoc/>
    [SkipLocalsInit]
    protected override int ReceiveBurst(Span<NetBufPtr> destination)
    {
        IoVec* vectors = stackalloc IoVec[2];
        for (int drops = 0; drops < MaxDropsPerCall && _posted.Count > 0;)
        {
            NetBufPtr posted = _posted.Peek(0);
            vectors[0] = new IoVec { Base = posted.BufferAddress + _rxOffset, Length = (nuint)_rxRoom };

            // The rest of an oversized frame lands here, so its true length shows and it is dropped whole.
            vectors[1] = new IoVec { Base = (nint)_overflow, Length = OverflowLength };

            // Sound: both pieces are native memory that lives until Dispose, which waits for this
            // call to leave; the posted buffer is lent to this driver, so nobody else writes it.
            nint length = LibC.ReadV(_device.Fd, vectors, 2);
            if (length < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == Errno.EINTR)
                {
                    continue;
                }

                if (errno == Errno.EAGAIN)
                {
                    break;
                }

                throw errno == Errno.EBADFD ? InterfaceGone() : LinuxError.FromErrno(errno, "readv", DeviceName, opened: true);
            }

            if (length > _rxRoom || length < LinuxConstants.EthernetHeaderLength)
            {
                CountRxDropped();
                drops++;
                continue;
            }

            if (TryHandBack(_posted.Dequeue(), _rxOffset, (int)length, out destination[0]))
            {
                return 1;
            }
        }

        return 0;
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
    /// <remarks>Sleeps in <c>poll</c> on the device beside two eventfds (cancellation, disposal), costing no CPU;
    /// <see langword="false"/> at once when no receive buffer is posted (nothing could be received).</remarks>
    protected override bool WaitForReceiveCore(TimeSpan timeout, CancellationToken cancellationToken) => _queues.WaitForReceive(timeout, cancellationToken);

    /// <inheritdoc/>
    /// <remarks><see langword="true"/> at once while the queue has room and nothing waits for the device; <see langword="false"/>
    /// at once when it is full of sent buffers (only <see cref="NetDriver.RecycleTxBuffers"/> makes room); otherwise waits for
    /// the device to take frames again.</remarks>
    protected override bool WaitForTransmitCore(TimeSpan timeout, CancellationToken cancellationToken) => _queues.WaitForTransmit(timeout, cancellationToken);

    /// <inheritdoc/>
    internal override bool HasPendingTransmit => _queues.PendingCount > 0;

    /// <inheritdoc/>
    internal override int GetWaitDescriptors(Span<PollFd> destination) => _queues.GetWaitDescriptors(destination);

    /// <inheritdoc/>
    internal override bool HasWaitDescriptors => true;

    /// <inheritdoc/>
    /// <remarks>A deleted TAP interface detaches the descriptor, which then reports an error to <c>poll</c> and EBADFD to every
    /// call: asked here with <c>ioctl(TUNGETIFF)</c>, which neither reads nor writes a frame.</remarks>
    internal override void CheckDevice()
    {
        IfReq request = default;

        // Sound: the kernel writes at most the 40 bytes of the local for the duration of the call.
        if (LibC.IoCtl(_device.Fd, LinuxConstants.TUNGETIFF, &request) != 0 && Marshal.GetLastPInvokeError() == Errno.EBADFD)
        {
            throw InterfaceGone();
        }
    }

    /// <inheritdoc/>
    internal override bool CanReceiveLater => _queues.Posted.Count > 0;

    /// <inheritdoc/>
    protected override void OnDisposing() => _device.WakeForClose();

    /// <inheritdoc/>
    protected override void CloseDevice() => _device.Close();

    /// <inheritdoc/>
    protected override int TakeHeld(Span<NetBufPtr> destination) => _queues.TakeHeld(destination);

    /// <inheritdoc/>
    protected override void OnDisposed() => NativeMemory.Free(_overflow);

    /// <summary>A random locally administered unicast address (first octet x2, x6, xA or xE).</summary>
    private static MacAddress RandomLocalAddress()
    {
        Span<byte> bytes = stackalloc byte[MacAddress.Length];
        Random.Shared.NextBytes(bytes);
        bytes[0] = (byte)((bytes[0] & 0xFC) | 0x02);
        return new MacAddress(bytes);
    }

    private static (int Fd, string Name, MacAddress Mac, int Mtu) Open(string name, TapDriverOptions options)
    {
        const string Path = "/dev/net/tun";
        int fd = LibC.Open(Path, LinuxConstants.O_RDWR | LinuxConstants.O_NONBLOCK | LinuxConstants.O_CLOEXEC, 0);
        if (fd < 0)
        {
            throw LinuxError.Last("open", Path);
        }

        int control = -1;
        try
        {
            IfReq request = IfReq.For(name);
            request.Flags = LinuxConstants.IFF_TAP | LinuxConstants.IFF_NO_PI;

            // Sound: the kernel reads and writes the 40 bytes of the local for the duration of the call.
            if (LibC.IoCtl(fd, LinuxConstants.TUNSETIFF, &request) != 0)
            {
                throw LinuxError.Last("ioctl(TUNSETIFF, IFF_TAP | IFF_NO_PI)", name);
            }

            string deviceName = request.GetName();
            if (options.KernelMacAddress is MacAddress wanted)
            {
                InterfaceControl.SetMacAddress(fd, deviceName, wanted);
            }

            MacAddress mac = InterfaceControl.GetMacAddress(fd, deviceName);

            // The MTU and the up flag are asked of a socket in the device's namespace (a TAP
            // descriptor takes only the hardware-address ioctls).
            control = LibC.Socket(LinuxConstants.AF_INET, LinuxConstants.SOCK_DGRAM | LinuxConstants.SOCK_CLOEXEC, 0);
            if (control < 0)
            {
                throw LinuxError.Last("socket(AF_INET, SOCK_DGRAM)", deviceName);
            }

            int mtu = InterfaceControl.GetMtu(control, deviceName);
            if (options.BringUp)
            {
                InterfaceControl.BringUp(control, deviceName);
            }

            return (fd, deviceName, mac, mtu);
        }
        catch
        {
            DeviceHandle.CloseQuietly(fd);
            throw;
        }
        finally
        {
            DeviceHandle.CloseQuietly(control);
        }
    }

    /// <summary>Writes the frames waiting in the transmit queue, oldest first, until the device has no room.</summary>
    /// <exception cref="NetDriverException">The device failed: every waiting frame was dropped (counted), and the error is for the next call.</exception>
    /// <remarks>Also right after a transmit burst queued its frames.</remarks>
    protected override void FlushPending()
    {
        while (_queues.PendingCount > 0)
        {
            NetBufPtr buffer = _queues.PeekPending(0);
            int length = buffer.HeaderLength + buffer.PacketLength;

            // Sound: the header and packet regions lie inside the buffer, which the core handed over to
            // this driver (so nobody else holds it) and which stays alive while lent; write only reads them.
            nint written = LibC.Write(_device.Fd, (void*)buffer.HeaderAddress, (nuint)length);
            if (written >= 0)
            {
                // A TAP device takes a frame whole or not at all; the write's count is the frame's.
                _queues.MarkSent(1);
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
            throw errno == Errno.EBADFD ? InterfaceGone() : LinuxError.FromErrno(errno, "write", DeviceName, opened: true);
        }
    }

    /// <summary>The TAP device's descriptor lost its interface: the kernel detaches it when the interface is deleted, and every
    /// read and write then says EBADFD.</summary>
    private NetDriverException InterfaceGone() => DeviceGone("deleted: the TAP descriptor says EBADFD", Errno.EBADFD);
}
