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
/// Receiving: a read goes into the oldest buffer posted with <see cref="TryRecycleRxBuffer"/>, at
/// the pool's <see cref="NetBufPool.DefaultHeadroom"/>; the frame becomes the buffer's packet
/// region. A frame longer than the room after the headroom, or shorter than an Ethernet header, is
/// dropped and counted in <see cref="RxDropped"/> (the buffer stays posted). Transmitting writes the
/// buffer's header and packet regions at once (one frame per write); the buffer then waits in the
/// transmit queue until <see cref="RecycleTxBuffers"/>.
/// </para>
/// <para>
/// Thread safety: one thread at a time, as for every driver, except <see cref="Dispose"/>, which may
/// run while another thread waits in <see cref="WaitForReceive"/> or <see cref="WaitForTransmit"/>
/// (the wait ends with <see cref="NetDriverErrorKind.BadState"/>) or is in any other call (Dispose
/// waits for it to leave; those calls never block).
/// </para>
/// </remarks>
public sealed unsafe class TapDriver : INetDriver
{
    /// <summary>Queue size when none is given: 256 buffers each way, a common NIC ring size.</summary>
    public const int DefaultQueueSize = 256;

    /// <summary>Oversized or runt frames one receive call drops at most before it returns: bounds the call under a flood of them.</summary>
    private const int MaxDropsPerCall = 64;

    /// <summary>Room for the part of a frame beyond the posted buffer: the largest frame a TAP device passes (its MTU can reach 65535).</summary>
    private const int OverflowLength = 65536;

    private readonly DeviceQueues _queues;
    private readonly NetBufPool _pool;
    private readonly DeviceHandle _device;
    private readonly BufferFifo _posted;
    private readonly BufferFifo _sent;
    private readonly int _rxRoom;
    private readonly int _maxFrameLength;
    private readonly void* _overflow;
    private long _rxFrames;
    private long _txFrames;
    private long _rxDropped;

    /// <summary>Creates the TAP device <paramref name="name"/>, or attaches to the persistent one of that name.</summary>
    /// <param name="pool">The pool of every buffer the driver handles.</param>
    /// <param name="name">The interface name, 1 to 15 characters; a pattern such as <c>tap%d</c> lets the kernel number it (see <see cref="DeviceName"/>).</param>
    /// <param name="options">Namespace, address, queue sizes; defaults when null.</param>
    /// <exception cref="ArgumentNullException"><paramref name="pool"/> or <paramref name="name"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A queue size is out of range.</exception>
    /// <exception cref="NetDriverException">
    /// Not Linux or not a 64-bit process (<see cref="NetDriverErrorKind.Unsupported"/>); no privilege
    /// (Unsupported, saying what is needed); the name is invalid or the namespace missing
    /// (InvalidParam); the device exists and is busy (ResourceBusy) or is not a TAP device; another
    /// system call failed (its kind, errno and text).
    /// </exception>
    public TapDriver(NetBufPool pool, string name, TapDriverOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(pool);
        ArgumentNullException.ThrowIfNull(name);
        options ??= new TapDriverOptions();
        FrameChecks.QueueSize(options.RxQueueSize, nameof(options.RxQueueSize));
        FrameChecks.QueueSize(options.TxQueueSize, nameof(options.TxQueueSize));
        if (!OperatingSystem.IsLinux() || !Environment.Is64BitProcess)
        {
            throw LinuxError.NotLinux(nameof(TapDriver));
        }

        FrameChecks.InterfaceName(name);
        (int fd, string deviceName, MacAddress mac, int mtu) = NamespaceThread.Run(options.NetworkNamespace, () => Open(name, options));
        _queues = new DeviceQueues(pool, new DeviceHandle(fd, deviceName), options.RxQueueSize, options.TxQueueSize);
        (_pool, _device, _posted, _sent) = (pool, _queues.Device, _queues.Posted, _queues.Sent);
        _rxRoom = pool.BufferLength - pool.DefaultHeadroom;
        _maxFrameLength = mtu + LinuxConstants.EthernetHeaderLength + LinuxConstants.VlanTagLength;
        _overflow = NativeMemory.Alloc(OverflowLength);
        MacAddress = mac;
        Mtu = mtu;
        NetworkNamespace = options.NetworkNamespace;
    }

    /// <inheritdoc/>
    public string DeviceName => _device.DeviceName;

    /// <inheritdoc/>
    public DeviceType DeviceType => DeviceType.Net;

    /// <summary>
    /// The interface's hardware address as the driver found it after creation (read with
    /// <c>SIOCGIFHWADDR</c>, or set from <see cref="TapDriverOptions.MacAddress"/>). It is the address of
    /// the kernel's side of the cable: a program that plays a separate host on the wire (a responder)
    /// should use an address of its own.
    /// </summary>
    public MacAddress MacAddress { get; }

    /// <summary>The interface's MTU when the driver was created: frames of up to MTU + 18 bytes (header and one VLAN tag) are sent.</summary>
    public int Mtu { get; }

    /// <summary>The named network namespace the device is in, or <see langword="null"/> for the creator's own.</summary>
    public string? NetworkNamespace { get; }

    /// <inheritdoc/>
    public NetBufPool Pool => _pool;

    /// <inheritdoc/>
    /// <remarks>The transmit queue has room for a sent buffer; the device itself always takes frames (it drops them when the kernel's queue is full).</remarks>
    public bool CanTransmit => _queues.CanTransmit;

    /// <inheritdoc/>
    /// <remarks>A buffer is posted and the device has a frame (a poll that does not wait); <see langword="false"/> once disposed.</remarks>
    public bool CanReceive => _queues.CanReceive;

    /// <inheritdoc/>
    public int RxQueueSize => _posted.Capacity;

    /// <inheritdoc/>
    public int TxQueueSize => _sent.Capacity;

    /// <summary>Frames received (taken by <see cref="TryReceive"/> or <see cref="ReceiveBatch"/>).</summary>
    public long RxFrames => Volatile.Read(ref _rxFrames);

    /// <summary>Frames transmitted (written to the device).</summary>
    public long TxFrames => Volatile.Read(ref _txFrames);

    /// <summary>Frames read and dropped: longer than a buffer's room after the headroom, or shorter than an Ethernet header.</summary>
    public long RxDropped => Volatile.Read(ref _rxDropped);

    /// <summary>Buffers the driver holds now: posted empty ones and sent ones not yet recycled (0 once disposed).</summary>
    public int HeldBuffers => _queues.HeldBuffers;

    /// <inheritdoc/>
    public bool TryRecycleRxBuffer(NetBufPtr rxBuffer) => _queues.TryRecycleRx(rxBuffer);

    /// <inheritdoc/>
    public int RecycleTxBuffers() => _queues.RecycleTx();

    /// <inheritdoc/>
    /// <remarks>The frame is written at once; <see langword="false"/> when the transmit queue is full of sent buffers, or the kernel is out of buffer space (EAGAIN/ENOBUFS).</remarks>
    public bool TryTransmit(NetBufPtr txBuffer)
    {
        _device.Enter();
        try
        {
            FrameChecks.Ownership(_pool, txBuffer, DeviceName);
            FrameChecks.TransmitLength(txBuffer, _maxFrameLength, DeviceName);
            return _sent.Count < _sent.Capacity && WriteOne(txBuffer);
        }
        finally
        {
            _device.Exit();
        }
    }

    /// <inheritdoc/>
    /// <remarks>Every buffer is checked before any is taken: on an exception, nothing was taken.</remarks>
    public int TransmitBatch(ReadOnlySpan<NetBufPtr> txBuffers)
    {
        _device.Enter();
        try
        {
            foreach (NetBufPtr buffer in txBuffers)
            {
                FrameChecks.Ownership(_pool, buffer, DeviceName);
                FrameChecks.TransmitLength(buffer, _maxFrameLength, DeviceName);
            }

            int sent = 0;
            try
            {
                while (sent < txBuffers.Length && _sent.Count < _sent.Capacity && WriteOne(txBuffers[sent]))
                {
                    sent++;
                }
            }
            catch (NetDriverException) when (sent > 0)
            {
                // Frames were taken: report how many, and let the next call meet the error (an
                // exception would tell the caller that none was taken).
            }

            return sent;
        }
        finally
        {
            _device.Exit();
        }
    }

    /// <inheritdoc/>
    public bool TryReceive(out NetBufPtr rxBuffer)
    {
        _device.Enter();
        try
        {
            return ReadOne(out rxBuffer);
        }
        finally
        {
            _device.Exit();
        }
    }

    /// <inheritdoc/>
    /// <remarks>One read per frame (a TAP device has no batched read).</remarks>
    public int ReceiveBatch(Span<NetBufPtr> destination)
    {
        _device.Enter();
        try
        {
            int count = 0;
            try
            {
                while (count < destination.Length && ReadOne(out destination[count]))
                {
                    count++;
                    if (Internal.TestSwitches.Enabled && Internal.TestSwitches.ReceiveFailsAfterFrames == count)
                    {
                        throw LinuxError.FromErrno(Errno.ENETDOWN, "readv", DeviceName, opened: true);
                    }
                }
            }
            catch (NetDriverException) when (count > 0)
            {
                // Frames are already in the caller's span: return them, and let the next call
                // meet the error (an exception would leak them).
            }

            return count;
        }
        finally
        {
            _device.Exit();
        }
    }

    /// <inheritdoc/>
    public NetBufPtr AllocTxBuffer(int size) => _queues.AllocTx(size);

    /// <inheritdoc/>
    /// <remarks>
    /// Sleeps in <c>poll</c> on the device beside two eventfds, one the cancellation token writes
    /// and one <see cref="Dispose"/> writes, so it costs no CPU and wakes at once. Returns
    /// <see langword="false"/> at once when no receive buffer is posted (nothing could be received).
    /// A <see cref="Dispose"/> on another thread ends it with <see cref="NetDriverErrorKind.BadState"/>.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative and not infinite.</exception>
    public bool WaitForReceive(TimeSpan timeout, CancellationToken cancellationToken = default) => _queues.WaitForReceive(timeout, cancellationToken);

    /// <inheritdoc/>
    /// <remarks>
    /// Returns <see langword="false"/> at once when the transmit queue is full (only <see cref="RecycleTxBuffers"/>
    /// makes room); otherwise waits for the device to be writable, as <see cref="WaitForReceive"/> does.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative and not infinite.</exception>
    public bool WaitForTransmit(TimeSpan timeout, CancellationToken cancellationToken = default) => _queues.WaitForTransmit(timeout, cancellationToken);

    /// <summary>
    /// Closes the device (a non-persistent one vanishes) and returns every buffer the driver holds,
    /// posted and sent, to the pool. Wakes a wait on another thread and waits for a call in progress
    /// to leave. Calling it again does nothing.
    /// </summary>
    public void Dispose()
    {
        if (_queues.Close())
        {
            // No call is in progress any more and none can start: the scratch piece is this thread's.
            NativeMemory.Free(_overflow);
        }
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"TAP {DeviceName} ({MacAddress}) over {_pool.Name}: {RxFrames} received, {TxFrames} sent, {RxDropped} dropped";

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
            if (options.MacAddress is MacAddress wanted)
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

    /// <summary>Reads one frame into the oldest posted buffer; drops (and counts) unusable ones, at most <see cref="MaxDropsPerCall"/>.</summary>
    [SkipLocalsInit]
    private bool ReadOne(out NetBufPtr frame)
    {
        IoVec* vectors = stackalloc IoVec[2];
        for (int drops = 0; drops < MaxDropsPerCall && _posted.Count > 0;)
        {
            NetBufPtr posted = _posted.Peek(0);
            vectors[0] = new IoVec { Base = posted.BufferAddress + _pool.DefaultHeadroom, Length = (nuint)_rxRoom };

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

                throw LinuxError.FromErrno(errno, "readv", DeviceName, opened: true);
            }

            if (length > _rxRoom || length < LinuxConstants.EthernetHeaderLength)
            {
                _rxDropped++;
                drops++;
                continue;
            }

            frame = FrameChecks.Received(_pool, _posted.Dequeue(), (int)length);
            _rxFrames++;
            return true;
        }

        frame = default;
        return false;
    }

    /// <summary>Writes one checked frame; on success its buffer joins the sent queue (the caller checked there is room).</summary>
    private bool WriteOne(NetBufPtr buffer)
    {
        int length = buffer.HeaderLength + buffer.PacketLength;
        while (true)
        {
            // Sound: the header and packet regions lie inside the buffer, which is lent to this
            // driver (checked) and stays alive while lent; write only reads them.
            nint written = LibC.Write(_device.Fd, (void*)buffer.HeaderAddress, (nuint)length);
            if (written < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == Errno.EINTR)
                {
                    continue;
                }

                if (errno is Errno.EAGAIN or Errno.ENOBUFS)
                {
                    return false;
                }

                throw LinuxError.FromErrno(errno, "write", DeviceName, opened: true);
            }

            if (written != length)
            {
                throw new NetDriverException(NetDriverErrorKind.Io, $"write to {DeviceName} took {written} of the frame's {length} bytes; the frame was not sent whole.");
            }

            _ = _sent.TryEnqueue(buffer);
            _txFrames++;
            return true;
        }
    }
}
