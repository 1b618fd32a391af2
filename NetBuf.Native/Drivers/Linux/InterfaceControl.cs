using NetBufNative.Wire;

namespace NetBufNative.Drivers.Linux;

/// <summary>
/// Interface ioctls (<c>linux/sockios.h</c>) on a descriptor that takes them: any socket in the
/// interface's network namespace, or a TAP device's own descriptor for the hardware address.
/// </summary>
internal static unsafe class InterfaceControl
{
    /// <summary>Reads the interface's hardware address (<c>SIOCGIFHWADDR</c>).</summary>
    /// <exception cref="NetDriverException">The ioctl failed.</exception>
    internal static MacAddress GetMacAddress(int fd, string name)
    {
        IfReq request = IfReq.For(name);

        // Sound: the kernel reads and writes the 40 bytes of the local for the duration of the call.
        if (LibC.IoCtl(fd, LinuxConstants.SIOCGIFHWADDR, &request) != 0)
        {
            throw LinuxError.Last("ioctl(SIOCGIFHWADDR)", name);
        }

        byte* a = request.HardwareAddress;
        return new MacAddress(a[0], a[1], a[2], a[3], a[4], a[5]);
    }

    /// <summary>Sets the interface's hardware address (<c>SIOCSIFHWADDR</c>).</summary>
    /// <exception cref="NetDriverException">The ioctl failed.</exception>
    internal static void SetMacAddress(int fd, string name, MacAddress address)
    {
        IfReq request = IfReq.For(name);
        request.HardwareFamily = LinuxConstants.ARPHRD_ETHER;
        address.WriteTo(new Span<byte>(request.HardwareAddress, MacAddress.Length));

        // Sound: as in GetMacAddress.
        if (LibC.IoCtl(fd, LinuxConstants.SIOCSIFHWADDR, &request) != 0)
        {
            throw LinuxError.Last("ioctl(SIOCSIFHWADDR)", name);
        }
    }

    /// <summary>Reads the interface's MTU (<c>SIOCGIFMTU</c>).</summary>
    /// <exception cref="NetDriverException">The ioctl failed.</exception>
    internal static int GetMtu(int socket, string name)
    {
        IfReq request = IfReq.For(name);

        // Sound: as in GetMacAddress.
        if (LibC.IoCtl(socket, LinuxConstants.SIOCGIFMTU, &request) != 0)
        {
            throw LinuxError.Last("ioctl(SIOCGIFMTU)", name);
        }

        return request.Mtu;
    }

    /// <summary>Sets the interface administratively up (<c>IFF_UP</c> by <c>SIOCGIFFLAGS</c>/<c>SIOCSIFFLAGS</c>), if it is not.</summary>
    /// <exception cref="NetDriverException">An ioctl failed.</exception>
    internal static void BringUp(int socket, string name)
    {
        IfReq request = IfReq.For(name);

        // Sound: as in GetMacAddress.
        if (LibC.IoCtl(socket, LinuxConstants.SIOCGIFFLAGS, &request) != 0)
        {
            throw LinuxError.Last("ioctl(SIOCGIFFLAGS)", name);
        }

        if ((request.Flags & LinuxConstants.IFF_UP) != 0)
        {
            return;
        }

        request.Flags |= LinuxConstants.IFF_UP;
        if (LibC.IoCtl(socket, LinuxConstants.SIOCSIFFLAGS, &request) != 0)
        {
            throw LinuxError.Last("ioctl(SIOCSIFFLAGS, IFF_UP)", name);
        }
    }
}
