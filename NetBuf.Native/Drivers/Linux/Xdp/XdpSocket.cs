using System.Runtime.InteropServices;
using NetBufNative.Wire;

namespace NetBufNative.Drivers.Linux.Xdp;

/// <summary>
/// The kernel objects behind an <see cref="XdpDriver"/>, made in the order the kernel needs: the
/// AF_XDP socket, the pool's block registered as its UMEM, the four rings sized and mapped, the
/// socket bound to the interface's queue, then an XSKMAP holding the socket, the redirect program
/// and the BPF link that attaches it to the interface (an <see cref="XdpAttachment"/>). A socket that
/// shares another's UMEM (<c>XDP_SHARED_UMEM</c>, another queue of the same interface) registers
/// nothing, has fill and completion rings of its own (the kernel needs one pair per queue since
/// Linux 5.10), binds with the other's descriptor and joins the other's attachment: its socket goes
/// into the same XSKMAP at its queue's index. Made on the thread that runs in the interface's
/// namespace (the interface index, the bind and the link are resolved in it).
/// </summary>
/// <remarks>
/// Not thread-safe; <see cref="DetachProgram"/> may race itself (the attachment is let go once).
/// </remarks>
internal sealed unsafe class XdpSocket
{
    private XdpAttachment? _attachment;

    private XdpSocket(string device) => Device = device;

    internal string Device { get; }

    /// <summary>The socket's descriptor (owned by the driver's <see cref="DeviceHandle"/> once it exists).</summary>
    internal int Fd { get; private set; } = -1;

    internal int InterfaceIndex { get; private set; }

    internal MacAddress MacAddress { get; private set; }

    internal int Mtu { get; private set; }

    internal bool IsZeroCopy { get; private set; }

    /// <summary>The queue bound to.</summary>
    internal int QueueId { get; private set; }

    /// <summary>How long a bind waits for a queue that a closed socket still holds: 1 s, about 35 times the longest release measured (28 ms).</summary>
    internal static readonly TimeSpan QueueReleaseWait = TimeSpan.FromSeconds(1);

    /// <summary>The bind mode asked for (for a shared UMEM: the first socket's).</summary>
    internal XdpBindMode BindModeUsed { get; private set; }

    /// <summary>Whether the socket uses need_wakeup (for a shared UMEM: as the first socket).</summary>
    internal bool UsesNeedWakeup { get; private set; }

    /// <summary>The program and map this socket is in (null once detached).</summary>
    internal XdpAttachment? Attachment => Volatile.Read(ref _attachment);

    internal XdpRing Fill { get; private set; } = null!;

    internal XdpRing Completion { get; private set; } = null!;

    internal XdpRing Rx { get; private set; } = null!;

    internal XdpRing Tx { get; private set; } = null!;

    /// <summary>Makes everything, or nothing: on failure whatever was made is closed again.</summary>
    /// <param name="pool">The pool: the UMEM to register, or the one <paramref name="shareWith"/> registered.</param>
    /// <param name="device">The interface.</param>
    /// <param name="options">Queue and ring sizes (and, without <paramref name="shareWith"/>, modes and filter).</param>
    /// <param name="shareWith">The bound socket whose UMEM and attachment to share, or null; its descriptor must stay open during the call.</param>
    /// <exception cref="NetDriverException">A step failed; the message says which and what to do.</exception>
    internal static XdpSocket Open(NetBufPool pool, string device, XdpDriverOptions options, XdpSocket? shareWith)
    {
        var socket = new XdpSocket(device);
        try
        {
            socket.Create(pool, options, shareWith);
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

    /// <summary>
    /// Lets go of the attachment: the last socket of the interface to do so detaches the program
    /// (closing the link) and closes it and the map. Calling it again does nothing.
    /// </summary>
    internal void DetachProgram() => Interlocked.Exchange(ref _attachment, null)?.Release();

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

    private void Create(NetBufPool pool, XdpDriverOptions options, XdpSocket? shareWith)
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
                : Error(errno, "socket(AF_XDP)");
        }

        if (shareWith is null)
        {
            RegisterUmem(pool);
        }

        SetRingSize(XdpConstants.XDP_UMEM_FILL_RING, options.RxQueueSize, "fill");
        SetRingSize(XdpConstants.XDP_UMEM_COMPLETION_RING, options.TxQueueSize, "completion");
        SetRingSize(XdpConstants.XDP_RX_RING, options.RxQueueSize, "rx");
        SetRingSize(XdpConstants.XDP_TX_RING, options.TxQueueSize, "tx");
        MapRings(options);
        if (options.BusyPollBudget > 0)
        {
            SetBusyPolling(options.BusyPollBudget);
        }

        if (shareWith is null)
        {
            Bind(options, options.BindMode, options.UseNeedWakeup, shareWith);
            _attachment = XdpAttachment.Attach(Fd, options.QueueId, InterfaceIndex, options.Filter, options.AttachMode, Device);
        }
        else
        {
            // The attachment first: it fails cleanly when every driver of the interface is gone.
            XdpAttachment shared = shareWith.Attachment is { } attachment && attachment.TryAddReference()
                ? attachment
                : throw new NetDriverException(NetDriverErrorKind.BadState, $"The AF_XDP driver of {Device} to share the UMEM with is disposed.");
            _attachment = shared;
            Bind(options, shareWith.BindModeUsed, shareWith.UsesNeedWakeup, shareWith);
            shared.AddSocket(Fd, options.QueueId, Device);
        }
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
        if (errno is Errno.ENOBUFS or Errno.ENOMEM)
        {
            throw new NetDriverException(
                NetDriverErrorKind.NoMemory,
                $"setsockopt(XDP_UMEM_REG) failed for {Device}: {Errno.Name(errno)} ({Marshal.GetPInvokeErrorMessage(errno)}); registering {pool.Name} ({pool.BlockLength} bytes) locks it in memory: raise RLIMIT_MEMLOCK (ulimit -l), give the process CAP_IPC_LOCK (root has it), or use a smaller pool.",
                errno);
        }

        throw Error(errno, $"setsockopt(XDP_UMEM_REG, {pool.BlockLength} bytes in chunks of {pool.BufferStride})");
    }

    /// <summary>Preferred busy polling, as DPDK's <c>net_af_xdp</c> sets it (see <see cref="XdpDriverOptions.BusyPollBudget"/>).</summary>
    private void SetBusyPolling(int budget)
    {
        SetSocketOption(LinuxConstants.SO_PREFER_BUSY_POLL, 1, "SO_PREFER_BUSY_POLL");
        SetSocketOption(LinuxConstants.SO_BUSY_POLL, XdpDriver.BusyPollMicroseconds, "SO_BUSY_POLL");
        SetSocketOption(LinuxConstants.SO_BUSY_POLL_BUDGET, budget, "SO_BUSY_POLL_BUDGET");
    }

    private void SetSocketOption(int option, int value, string name)
    {
        // Sound: setsockopt reads the 4 bytes of the local.
        if (LibC.SetSockOpt(Fd, LinuxConstants.SOL_SOCKET, option, &value, sizeof(int)) == 0)
        {
            return;
        }

        int errno = Marshal.GetLastPInvokeError();
        throw errno switch
        {
            Errno.ENOPROTOOPT or Errno.EINVAL => new NetDriverException(
                NetDriverErrorKind.Unsupported,
                $"setsockopt({name}, {value}) failed for {Device}: {Errno.Name(errno)}; preferred busy polling needs Linux 5.11 or later: set XdpDriverOptions.BusyPollBudget to 0.",
                errno),
            Errno.EPERM => new NetDriverException(
                NetDriverErrorKind.Unsupported,
                $"setsockopt({name}, {value}) failed for {Device}: EPERM; a busy-poll budget or time above the system's needs CAP_NET_ADMIN (root has it): run with it, or lower XdpDriverOptions.BusyPollBudget.",
                errno),
            _ => Error(errno, $"setsockopt({name}, {value})"),
        };
    }

    private void SetRingSize(int option, int size, string ring)
    {
        // Sound: setsockopt reads the 4 bytes of the local.
        if (LibC.SetSockOpt(Fd, XdpConstants.SOL_XDP, option, &size, sizeof(int)) != 0)
        {
            throw Error(Marshal.GetLastPInvokeError(), $"setsockopt({ring} ring of {size} entries)");
        }
    }

    private void MapRings(XdpDriverOptions options)
    {
        XdpMmapOffsets offsets = default;
        uint length = XdpMmapOffsets.Size;

        // Sound: the kernel writes at most `length` bytes into the local.
        if (LibC.GetSockOpt(Fd, XdpConstants.SOL_XDP, XdpConstants.XDP_MMAP_OFFSETS, &offsets, &length) != 0)
        {
            throw Error(Marshal.GetLastPInvokeError(), "getsockopt(XDP_MMAP_OFFSETS)");
        }

        // 8-byte entries (a chunk's address) in the fill and completion rings, 16-byte descriptors in rx and tx.
        Fill = XdpRing.Map(Fd, offsets.Fill, XdpConstants.XDP_UMEM_PGOFF_FILL_RING, (uint)options.RxQueueSize, sizeof(ulong), "fill", Device);
        Completion = XdpRing.Map(Fd, offsets.Completion, XdpConstants.XDP_UMEM_PGOFF_COMPLETION_RING, (uint)options.TxQueueSize, sizeof(ulong), "completion", Device);
        Rx = XdpRing.Map(Fd, offsets.Rx, XdpConstants.XDP_PGOFF_RX_RING, (uint)options.RxQueueSize, sizeof(XdpDesc), "rx", Device);
        Tx = XdpRing.Map(Fd, offsets.Tx, XdpConstants.XDP_PGOFF_TX_RING, (uint)options.TxQueueSize, sizeof(XdpDesc), "tx", Device);
    }

    /// <summary>
    /// Binds, retrying while the queue is busy for at most <see cref="QueueReleaseWait"/>: the kernel releases a closed
    /// socket's queue in the background, after an RCU grace period (13 to 28 ms measured here on a veth, 260 closes), so a
    /// driver opened right after another's disposal would otherwise fail with EBUSY. A queue held by a live socket stays
    /// busy, and the bind fails with EBUSY after the wait.
    /// </summary>
    /// <returns><see langword="false"/> when bind failed (errno set).</returns>
    private bool BindRetryingWhileReleased(SockAddrXdp* address)
    {
        long deadline = Environment.TickCount64 + (long)QueueReleaseWait.TotalMilliseconds;
        while (true)
        {
            // Sound: bind reads the 16 bytes of the local the caller passes.
            if (LibC.Bind(Fd, address, SockAddrXdp.Size) == 0)
            {
                return true;
            }

            if (Marshal.GetLastPInvokeError() != Errno.EBUSY || Environment.TickCount64 >= deadline)
            {
                return false;
            }

            Thread.Sleep(2);
        }
    }

    private void Bind(XdpDriverOptions options, XdpBindMode bindMode, bool useNeedWakeup, XdpSocket? shareWith)
    {
        BindModeUsed = bindMode;
        UsesNeedWakeup = useNeedWakeup;
        ushort flags = bindMode switch
        {
            XdpBindMode.Copy => XdpConstants.XDP_COPY,
            XdpBindMode.ZeroCopy => XdpConstants.XDP_ZEROCOPY,
            _ => 0,
        };
        if (useNeedWakeup)
        {
            flags |= XdpConstants.XDP_USE_NEED_WAKEUP;
        }

        if (shareWith is not null)
        {
            // The kernel takes no mode flags with XDP_SHARED_UMEM: the shared UMEM's mode and
            // need_wakeup setting carry over to this socket (xp_assign_dev_shared).
            flags = XdpConstants.XDP_SHARED_UMEM;
        }

        SockAddrXdp address = new()
        {
            Family = XdpConstants.AF_XDP,
            Flags = flags,
            InterfaceIndex = (uint)InterfaceIndex,
            QueueId = (uint)options.QueueId,
            SharedUmemFd = shareWith is null ? 0 : (uint)shareWith.Fd,
        };

        QueueId = options.QueueId;

        if (!BindRetryingWhileReleased(&address))
        {
            int errno = Marshal.GetLastPInvokeError();
            string call = shareWith is null
                ? $"bind(AF_XDP, queue {options.QueueId}, {bindMode} mode)"
                : $"bind(AF_XDP, queue {options.QueueId}, sharing the UMEM of queue {shareWith.QueueId})";
            throw errno switch
            {
                Errno.EOPNOTSUPP when bindMode == XdpBindMode.ZeroCopy => new NetDriverException(
                    NetDriverErrorKind.Unsupported,
                    $"{call} failed for {Device}: EOPNOTSUPP; the interface's driver has no AF_XDP zero-copy support (veth and most virtual NICs have none): use XdpBindMode.Copy or XdpBindMode.Auto.",
                    errno),
                Errno.EINVAL => new NetDriverException(
                    NetDriverErrorKind.InvalidParam,
                    $"{call} failed for {Device}: EINVAL; the queue may not exist (ethtool -l {Device} lists them), or the pool's chunks do not suit the mode.",
                    errno),
                Errno.EBUSY => new NetDriverException(
                    NetDriverErrorKind.ResourceBusy,
                    $"{call} failed for {Device}: EBUSY for {QueueReleaseWait.TotalSeconds:0} s; another AF_XDP socket is bound to this queue: dispose it, or use another queue.",
                    errno),
                _ => Error(errno, call),
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

    /// <summary>
    /// The exception for a failed call of the socket's set-up: a refusal for want of privilege names
    /// everything an AF_XDP driver needs (<see cref="LinuxError.XdpPrivilegeAdvice"/>), any other
    /// error is the usual one.
    /// </summary>
    private NetDriverException Error(int errno, string call) => errno is Errno.EPERM or Errno.EACCES
        ? LinuxError.Privilege(errno, call, Device, LinuxError.XdpPrivilegeAdvice)
        : LinuxError.FromErrno(errno, call, Device);
}
