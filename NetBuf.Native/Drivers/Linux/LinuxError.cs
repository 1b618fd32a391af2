using System.Runtime.InteropServices;

namespace NetBufNative.Drivers.Linux;

/// <summary>Turns a failed system call's <c>errno</c> into a <see cref="NetDriverException"/> that says what failed, why, and what to do.</summary>
internal static class LinuxError
{
    /// <summary>The advice for a missing privilege of the TAP and AF_PACKET drivers, shared by every message that needs it.</summary>
    internal const string PrivilegeAdvice =
        "needs root or CAP_NET_ADMIN/CAP_NET_RAW: run as root, or grant the capabilities to the program (setcap cap_net_admin,cap_net_raw+ep)";

    /// <summary>
    /// The advice for a missing privilege of the AF_XDP driver: every capability it needs, whichever
    /// call is refused first, so that granting what one message names does not end at the next call.
    /// </summary>
    internal const string XdpPrivilegeAdvice =
        "an AF_XDP driver needs CAP_NET_RAW (its socket), CAP_NET_ADMIN and CAP_BPF (its XDP program, map and link; CAP_SYS_ADMIN instead of CAP_BPF before Linux 5.8), and CAP_IPC_LOCK or an RLIMIT_MEMLOCK (ulimit -l) above the pool's size (the UMEM is locked in memory): run as root, or grant them to the program (setcap cap_net_admin,cap_net_raw,cap_bpf,cap_ipc_lock+ep)";

    /// <summary>The TUN/TAP control device the TAP driver opens.</summary>
    internal const string TunDevicePath = "/dev/net/tun";

    /// <summary>Reads the last P/Invoke error and builds the exception for it.</summary>
    /// <param name="call">The call and its object, e.g. <c>ioctl(TUNSETIFF)</c>.</param>
    /// <param name="device">The device (or path) it was for.</param>
    /// <param name="opened">Whether the device was open already: a missing device then means it vanished (BadState), not a bad name (InvalidParam).</param>
    internal static NetDriverException Last(string call, string device, bool opened = false) =>
        FromErrno(Marshal.GetLastPInvokeError(), call, device, opened);

    /// <summary>Builds the exception for <paramref name="errno"/>.</summary>
    /// <param name="errno">The error number.</param>
    /// <param name="call">The call and its object.</param>
    /// <param name="device">The device (or path) it was for.</param>
    /// <param name="opened">Whether the device was open already.</param>
    /// <remarks>
    /// A device that is not there is looked for in the network namespace the calling thread runs in
    /// (<see cref="NamespaceThread.Current"/>), and the advice names that namespace; only the TUN/TAP
    /// control device's absence points at the TUN module.
    /// </remarks>
    internal static NetDriverException FromErrno(int errno, string call, string device, bool opened = false)
    {
        (NetDriverErrorKind kind, string advice) = errno switch
        {
            Errno.EAGAIN => (NetDriverErrorKind.Again, "try again later (the device has no frame or no room now)"),
            Errno.EPERM or Errno.EACCES => (NetDriverErrorKind.Unsupported, PrivilegeAdvice),
            Errno.ENODEV or Errno.ENOENT or Errno.ENXIO when opened =>
                (NetDriverErrorKind.BadState, "the device is gone (deleted, or its namespace removed): create the driver again"),
            Errno.ENODEV or Errno.ENOENT or Errno.ENXIO when device == TunDevicePath =>
                (NetDriverErrorKind.InvalidParam, $"the kernel offers no TUN/TAP devices here: load the module (modprobe tun; CONFIG_TUN) and check that {TunDevicePath} exists (in a container, pass it in)"),
            Errno.ENODEV or Errno.ENOENT or Errno.ENXIO => (NetDriverErrorKind.InvalidParam, NoSuchInterfaceAdvice(device, NamespaceThread.Current)),
            Errno.ENETDOWN => (NetDriverErrorKind.BadState, $"the interface is down: ip link set dev {device} up"),
            Errno.EBUSY => (NetDriverErrorKind.ResourceBusy, "the device is in use (a TAP device is attached by one descriptor at a time, or is of another kind): pick another name or close the other user"),
            Errno.EEXIST => (NetDriverErrorKind.AlreadyExists, "the name is taken by another device: pick another name"),
            Errno.ENOMEM or Errno.ENOBUFS => (NetDriverErrorKind.NoMemory, "the kernel is short of memory or socket buffer: retry later, or send less at once"),
            Errno.EINVAL or Errno.EMSGSIZE => (NetDriverErrorKind.InvalidParam, "an argument is invalid for this device (a frame longer than its MTU, a wrong name or option)"),
            _ => (NetDriverErrorKind.Io, "the operating system reported an input/output error; see the text"),
        };

        return Create(kind, errno, call, device, advice);
    }

    /// <summary>Builds the exception (Unsupported) for a call refused for want of privilege, with <paramref name="advice"/> saying what it needs.</summary>
    /// <param name="errno">The error number (EPERM or EACCES).</param>
    /// <param name="call">The call and its object.</param>
    /// <param name="device">The device (or path) it was for.</param>
    /// <param name="advice">What the call needs and how to grant it.</param>
    internal static NetDriverException Privilege(int errno, string call, string device, string advice) =>
        Create(NetDriverErrorKind.Unsupported, errno, call, device, advice);

    /// <summary>The advice when joining the named network namespace <paramref name="name"/> is refused.</summary>
    internal static string NamespacePrivilegeAdvice(string name) =>
        $"entering the network namespace {name} (setns) needs CAP_SYS_ADMIN, which CAP_NET_ADMIN and CAP_NET_RAW do not give: run as root, grant it as well (setcap cap_sys_admin,cap_net_admin,cap_net_raw+ep), or start the program inside the namespace (ip netns exec {name} ...) and leave NetworkNamespace unset";

    /// <summary>The exception every Linux driver constructor throws where it cannot run.</summary>
    internal static NetDriverException NotLinux(string driver) =>
        new(NetDriverErrorKind.Unsupported, $"{driver} needs Linux on a 64-bit process (it uses Linux-only kernel interfaces); this is {RuntimeInformation.OSDescription}, {RuntimeInformation.ProcessArchitecture}. Use LoopbackDriver elsewhere.");

    /// <summary>The advice for an interface that does not exist where it was looked for.</summary>
    private static string NoSuchInterfaceAdvice(string device, string? networkNamespace) => networkNamespace is null
        ? $"there is no interface {device} in this network namespace: check the name (ip link show), or set NetworkNamespace to the namespace it is in (ip netns list)"
        : $"there is no interface {device} in the network namespace {networkNamespace}: check the name (ip -n {networkNamespace} link show)";

    private static NetDriverException Create(NetDriverErrorKind kind, int errno, string call, string device, string advice) =>
        new(kind, $"{call} failed for {device}: {Errno.Name(errno)} ({Marshal.GetPInvokeErrorMessage(errno)}); {advice}.", errno);
}
