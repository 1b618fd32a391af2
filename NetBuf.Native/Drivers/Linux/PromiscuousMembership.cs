namespace NetBufNative.Drivers.Linux;

/// <summary>
/// Holds an interface in promiscuous mode for a driver that is not a packet socket (AF_XDP): a packet socket of protocol 0
/// (which the kernel delivers no frame to) with a <c>PACKET_MR_PROMISC</c> membership. The kernel counts the membership per
/// socket and takes it back when the socket closes, so nothing is left behind if the process dies, and another holder's
/// promiscuous mode (<c>ip link set promisc on</c>) is not turned off with it.
/// </summary>
internal static unsafe class PromiscuousMembership
{
    /// <summary>Opens the socket and joins; call on a thread in the interface's namespace.</summary>
    /// <returns>The socket: close it to leave promiscuous mode.</returns>
    /// <exception cref="NetDriverException">The interface is missing, or a call failed (EPERM: needs CAP_NET_RAW).</exception>
    internal static int Open(string interfaceName)
    {
        uint index = LibC.IfNameToIndex(interfaceName);
        if (index == 0)
        {
            throw LinuxError.Last("if_nametoindex", interfaceName);
        }

        int fd = LibC.Socket(LinuxConstants.AF_PACKET, LinuxConstants.SOCK_RAW | LinuxConstants.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            throw LinuxError.Last("socket(AF_PACKET, SOCK_RAW, 0) for promiscuous mode", interfaceName);
        }

        PacketMReq request = new() { InterfaceIndex = (int)index, Type = LinuxConstants.PACKET_MR_PROMISC };

        // Sound: setsockopt reads the 16 bytes of the local.
        if (LibC.SetSockOpt(fd, LinuxConstants.SOL_PACKET, LinuxConstants.PACKET_ADD_MEMBERSHIP, &request, PacketMReq.Size) != 0)
        {
            NetDriverException error = LinuxError.Last("setsockopt(PACKET_ADD_MEMBERSHIP, PACKET_MR_PROMISC)", interfaceName);
            DeviceHandle.CloseQuietly(fd);
            throw error;
        }

        return fd;
    }
}
