using System.Runtime.InteropServices;

namespace NetBufNative.Drivers.Linux;

/// <summary>Turns a failed system call's <c>errno</c> into a <see cref="NetDriverException"/> that says what failed, why, and what to do.</summary>
internal static class LinuxError
{
    /// <summary>The advice for a missing privilege, shared by every message that needs it.</summary>
    internal const string PrivilegeAdvice =
        "needs root or CAP_NET_ADMIN/CAP_NET_RAW: run as root, or grant the capabilities to the program (setcap cap_net_admin,cap_net_raw+ep)";

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
    internal static NetDriverException FromErrno(int errno, string call, string device, bool opened = false)
    {
        (NetDriverErrorKind kind, string advice) = errno switch
        {
            Errno.EAGAIN => (NetDriverErrorKind.Again, "try again later (the device has no frame or no room now)"),
            Errno.EPERM or Errno.EACCES => (NetDriverErrorKind.Unsupported, PrivilegeAdvice),
            Errno.ENODEV or Errno.ENOENT or Errno.ENXIO when opened =>
                (NetDriverErrorKind.BadState, "the device is gone (deleted, or its namespace removed): create the driver again"),
            Errno.ENODEV or Errno.ENOENT or Errno.ENXIO =>
                (NetDriverErrorKind.InvalidParam, "check the name (ip link show; ip netns list) and that the kernel has the feature (/dev/net/tun, CONFIG_TUN, CONFIG_PACKET)"),
            Errno.ENETDOWN => (NetDriverErrorKind.BadState, $"the interface is down: ip link set dev {device} up"),
            Errno.EBUSY => (NetDriverErrorKind.ResourceBusy, "the device is in use (a TAP device is attached by one descriptor at a time, or is of another kind): pick another name or close the other user"),
            Errno.EEXIST => (NetDriverErrorKind.AlreadyExists, "the name is taken by another device: pick another name"),
            Errno.ENOMEM or Errno.ENOBUFS => (NetDriverErrorKind.NoMemory, "the kernel is short of memory or socket buffer: retry later, or send less at once"),
            Errno.EINVAL or Errno.EMSGSIZE => (NetDriverErrorKind.InvalidParam, "an argument is invalid for this device (a frame longer than its MTU, a wrong name or option)"),
            _ => (NetDriverErrorKind.Io, "the operating system reported an input/output error; see the text"),
        };

        string text = Marshal.GetPInvokeErrorMessage(errno);
        return new NetDriverException(kind, $"{call} failed for {device}: {Errno.Name(errno)} ({text}); {advice}.", errno);
    }

    /// <summary>The exception every Linux driver constructor throws where it cannot run.</summary>
    internal static NetDriverException NotLinux(string driver) =>
        new(NetDriverErrorKind.Unsupported, $"{driver} needs Linux on a 64-bit process (it uses Linux-only kernel interfaces); this is {RuntimeInformation.OSDescription}, {RuntimeInformation.ProcessArchitecture}. Use LoopbackDriver elsewhere.");
}
