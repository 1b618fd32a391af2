using System.Runtime.InteropServices;
using NetBufNative.Wire;

namespace NetBufNative.Drivers.Linux;

/// <summary>
/// The kernel objects behind an <see cref="XdpDriver"/>, made in the order the kernel needs: the
/// AF_XDP socket, the pool's block registered as its UMEM, the four rings sized and mapped, the
/// socket bound to the interface's queue, then an XSKMAP holding the socket, the redirect program
/// and the BPF link that attaches it to the interface. Made on the thread that runs in the
/// interface's namespace (the interface index, the bind and the link are resolved in it).
/// </summary>
/// <remarks>
/// Not thread-safe; <see cref="DetachProgram"/> may race itself (each descriptor is taken once).
/// </remarks>
internal sealed unsafe class XdpSocket
{
    private int _mapFd = -1;
    private int _programFd = -1;
    private int _linkFd = -1;

    private XdpSocket(string device) => Device = device;

    internal string Device { get; }

    /// <summary>The socket's descriptor (owned by the driver's <see cref="DeviceHandle"/> once it exists).</summary>
    internal int Fd { get; private set; } = -1;

    internal int InterfaceIndex { get; private set; }

    internal MacAddress MacAddress { get; private set; }

    internal int Mtu { get; private set; }

    internal bool IsZeroCopy { get; private set; }

    internal string ProgramName { get; private set; } = string.Empty;

    internal XdpRing Fill { get; private set; } = null!;

    internal XdpRing Completion { get; private set; } = null!;

    internal XdpRing Rx { get; private set; } = null!;

    internal XdpRing Tx { get; private set; } = null!;

    /// <summary>Makes everything, or nothing: on failure whatever was made is closed again.</summary>
    /// <exception cref="NetDriverException">A step failed; the message says which and what to do.</exception>
    internal static XdpSocket Open(NetBufPool pool, string device, XdpDriverOptions options)
    {
        var socket = new XdpSocket(device);
        try
        {
            socket.Create(pool, options);
            return socket;
        }
        catch
        {
            socket.DetachProgram();
            DeviceHandle.CloseQuietly(socket.Fd);
            socket.UnmapRings();
            throw;
        }
    }

    /// <summary>Detaches the program (closing the link) and closes it and the map. Calling it again does nothing.</summary>
    internal void DetachProgram()
    {
        // The link first: closing its descriptor detaches the program from the interface at once.
        DeviceHandle.CloseQuietly(Interlocked.Exchange(ref _linkFd, -1));
        DeviceHandle.CloseQuietly(Interlocked.Exchange(ref _programFd, -1));
        DeviceHandle.CloseQuietly(Interlocked.Exchange(ref _mapFd, -1));
    }

    /// <summary>Unmaps the rings (after the socket is closed, or no call can use them).</summary>
    internal void UnmapRings()
    {
        Fill?.Unmap();
        Completion?.Unmap();
        Rx?.Unmap();
        Tx?.Unmap();
    }

    /// <summary>Reads the socket's statistics.</summary>
    /// <exception cref="NetDriverException">getsockopt failed.</exception>
    internal static XdpStatisticsRaw ReadStatistics(int fd, string device)
    {
        XdpStatisticsRaw statistics = default;
        uint length = XdpStatisticsRaw.Size;

        // Sound: the kernel writes at most `length` bytes into the local and the new length into `length`.
        if (LibC.GetSockOpt(fd, XdpConstants.SOL_XDP, XdpConstants.XDP_STATISTICS, &statistics, &length) != 0)
        {
            throw LinuxError.Last("getsockopt(XDP_STATISTICS)", device, opened: true);
        }

        return statistics;
    }

    private void Create(NetBufPool pool, XdpDriverOptions options)
    {
        uint index = LibC.IfNameToIndex(Device);
        if (index == 0)
        {
            throw LinuxError.Last("if_nametoindex", Device);
        }

        InterfaceIndex = (int)index;
        ReadInterface();
        Fd = LibC.Socket(XdpConstants.AF_XDP, LinuxConstants.SOCK_RAW | LinuxConstants.SOCK_CLOEXEC, 0);
        if (Fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw errno == Errno.EAFNOSUPPORT
                ? new NetDriverException(NetDriverErrorKind.Unsupported, $"socket(AF_XDP) failed for {Device}: EAFNOSUPPORT; the kernel has no AF_XDP sockets (CONFIG_XDP_SOCKETS).", errno)
                : LinuxError.FromErrno(errno, "socket(AF_XDP)", Device);
        }

        RegisterUmem(pool);
        SetRingSize(XdpConstants.XDP_UMEM_FILL_RING, options.RxQueueSize, "fill");
        SetRingSize(XdpConstants.XDP_UMEM_COMPLETION_RING, options.TxQueueSize, "completion");
        SetRingSize(XdpConstants.XDP_RX_RING, options.RxQueueSize, "rx");
        SetRingSize(XdpConstants.XDP_TX_RING, options.TxQueueSize, "tx");
        MapRings(options);
        Bind(options);
        AttachProgram(options);
    }

    private void ReadInterface()
    {
        // The interface ioctls need an ordinary socket of the namespace (an AF_XDP socket takes none).
        int control = LibC.Socket(LinuxConstants.AF_INET, LinuxConstants.SOCK_DGRAM | LinuxConstants.SOCK_CLOEXEC, 0);
        if (control < 0)
        {
            throw LinuxError.Last("socket(AF_INET, SOCK_DGRAM)", Device);
        }

        try
        {
            MacAddress = InterfaceControl.GetMacAddress(control, Device);
            Mtu = InterfaceControl.GetMtu(control, Device);
        }
        finally
        {
            DeviceHandle.CloseQuietly(control);
        }
    }

    private void RegisterUmem(NetBufPool pool)
    {
        XdpUmemReg registration = new()
        {
            Address = (ulong)pool.BlockAddress,
            Length = (ulong)pool.BlockLength,
            ChunkSize = (uint)pool.BufferStride,
        };

        // Sound: setsockopt reads the 32 bytes of the local. The kernel pins the block's pages; it
        // writes only into chunks this driver puts on the fill ring (buffers lent to it).
        if (LibC.SetSockOpt(Fd, XdpConstants.SOL_XDP, XdpConstants.XDP_UMEM_REG, &registration, XdpUmemReg.Size) == 0)
        {
            return;
        }

        int errno = Marshal.GetLastPInvokeError();
        if (errno is Errno.ENOBUFS or Errno.ENOMEM or Errno.EPERM)
        {
            throw new NetDriverException(
                NetDriverErrorKind.NoMemory,
                $"setsockopt(XDP_UMEM_REG) failed for {Device}: {Errno.Name(errno)} ({Marshal.GetPInvokeErrorMessage(errno)}); registering {pool.Name} ({pool.BlockLength} bytes) locks it in memory: raise RLIMIT_MEMLOCK (ulimit -l), give the process CAP_IPC_LOCK (root has it), or use a smaller pool.",
                errno);
        }

        throw LinuxError.FromErrno(errno, $"setsockopt(XDP_UMEM_REG, {pool.BlockLength} bytes in chunks of {pool.BufferStride})", Device);
    }

    private void SetRingSize(int option, int size, string ring)
    {
        // Sound: setsockopt reads the 4 bytes of the local.
        if (LibC.SetSockOpt(Fd, XdpConstants.SOL_XDP, option, &size, sizeof(int)) != 0)
        {
            throw LinuxError.Last($"setsockopt({ring} ring of {size} entries)", Device);
        }
    }

    private void MapRings(XdpDriverOptions options)
    {
        XdpMmapOffsets offsets = default;
        uint length = XdpMmapOffsets.Size;

        // Sound: the kernel writes at most `length` bytes into the local.
        if (LibC.GetSockOpt(Fd, XdpConstants.SOL_XDP, XdpConstants.XDP_MMAP_OFFSETS, &offsets, &length) != 0)
        {
            throw LinuxError.Last("getsockopt(XDP_MMAP_OFFSETS)", Device);
        }

        // 8-byte entries (a chunk's address) in the fill and completion rings, 16-byte descriptors in rx and tx.
        Fill = XdpRing.Map(Fd, offsets.Fill, XdpConstants.XDP_UMEM_PGOFF_FILL_RING, (uint)options.RxQueueSize, sizeof(ulong), "fill", Device);
        Completion = XdpRing.Map(Fd, offsets.Completion, XdpConstants.XDP_UMEM_PGOFF_COMPLETION_RING, (uint)options.TxQueueSize, sizeof(ulong), "completion", Device);
        Rx = XdpRing.Map(Fd, offsets.Rx, XdpConstants.XDP_PGOFF_RX_RING, (uint)options.RxQueueSize, sizeof(XdpDesc), "rx", Device);
        Tx = XdpRing.Map(Fd, offsets.Tx, XdpConstants.XDP_PGOFF_TX_RING, (uint)options.TxQueueSize, sizeof(XdpDesc), "tx", Device);
    }

    private void Bind(XdpDriverOptions options)
    {
        ushort flags = options.BindMode switch
        {
            XdpBindMode.Copy => XdpConstants.XDP_COPY,
            XdpBindMode.ZeroCopy => XdpConstants.XDP_ZEROCOPY,
            _ => 0,
        };
        if (options.UseNeedWakeup)
        {
            flags |= XdpConstants.XDP_USE_NEED_WAKEUP;
        }

        SockAddrXdp address = new()
        {
            Family = XdpConstants.AF_XDP,
            Flags = flags,
            InterfaceIndex = (uint)InterfaceIndex,
            QueueId = (uint)options.QueueId,
        };

        // Sound: bind reads the 16 bytes of the local.
        if (LibC.Bind(Fd, &address, SockAddrXdp.Size) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            string call = $"bind(AF_XDP, queue {options.QueueId}, {options.BindMode} mode)";
            throw errno switch
            {
                Errno.EOPNOTSUPP when options.BindMode == XdpBindMode.ZeroCopy => new NetDriverException(
                    NetDriverErrorKind.Unsupported,
                    $"{call} failed for {Device}: EOPNOTSUPP; the interface's driver has no AF_XDP zero-copy support (veth and most virtual NICs have none): use XdpBindMode.Copy or XdpBindMode.Auto.",
                    errno),
                Errno.EINVAL => new NetDriverException(
                    NetDriverErrorKind.InvalidParam,
                    $"{call} failed for {Device}: EINVAL; the queue may not exist (ethtool -l {Device} lists them), or the pool's chunks do not suit the mode.",
                    errno),
                Errno.EBUSY => new NetDriverException(
                    NetDriverErrorKind.ResourceBusy,
                    $"{call} failed for {Device}: EBUSY; another AF_XDP socket is bound to this queue: dispose it, or use another queue.",
                    errno),
                _ => LinuxError.FromErrno(errno, call, Device),
            };
        }

        uint xdpOptions = 0;
        uint length = sizeof(uint);

        // Sound: the kernel writes at most 4 bytes into the local.
        if (LibC.GetSockOpt(Fd, XdpConstants.SOL_XDP, XdpConstants.XDP_OPTIONS, &xdpOptions, &length) == 0)
        {
            IsZeroCopy = (xdpOptions & XdpConstants.XDP_OPTIONS_ZEROCOPY) != 0;
        }
    }

    private void AttachProgram(XdpDriverOptions options)
    {
        // One XSKMAP slot per queue up to this one: the program looks frames up by their queue.
        _mapFd = Bpf.CreateXskMap((uint)options.QueueId + 1, Device);
        Bpf.SetXskMapEntry(_mapFd, (uint)options.QueueId, Fd, Device);
        ProgramName = options.Filter.Kind switch
        {
            XdpFilterKind.EtherType => "nb_xsk_ether",
            XdpFilterKind.IpProtocol => "nb_xsk_ipproto",
            XdpFilterKind.UdpDestinationPort => "nb_xsk_udp",
            _ => "nb_xsk_all",
        };
        _programFd = Bpf.LoadXdpProgram(XdpProgram.Build(options.Filter, _mapFd), ProgramName, Device);
        uint flags = options.AttachMode switch
        {
            XdpAttachMode.Generic => XdpConstants.XDP_FLAGS_SKB_MODE,
            XdpAttachMode.Native => XdpConstants.XDP_FLAGS_DRV_MODE,
            _ => 0,
        };
        _linkFd = Bpf.CreateXdpLink(_programFd, InterfaceIndex, flags, Device);
    }
}
