using NetBufNative.Wire;

namespace NetBufNative.Drivers.Linux;

/// <summary>
/// Constants of the Linux API the drivers use, from the kernel's UAPI headers (x86-64 and
/// AArch64 share them), checked on this project's machines (docs: linux-packet-io).
/// </summary>
internal static class LinuxConstants
{
    // fcntl.h
    internal const int O_RDONLY = 0;
    internal const int O_RDWR = 2;
    internal const int O_NONBLOCK = 0x800;
    internal const int O_CLOEXEC = 0x80000;

    // sys/eventfd.h
    internal const int EFD_NONBLOCK = O_NONBLOCK;
    internal const int EFD_CLOEXEC = O_CLOEXEC;

    // poll.h
    internal const short POLLIN = 0x001;
    internal const short POLLOUT = 0x004;
    internal const short POLLERR = 0x008;
    internal const short POLLHUP = 0x010;
    internal const short POLLNVAL = 0x020;

    // sys/epoll.h: EPOLL_CLOEXEC is O_CLOEXEC; the event bits of poll.h, plus EPOLLONESHOT (1 << 30).
    internal const int EPOLL_CLOEXEC = O_CLOEXEC;
    internal const int EPOLL_CTL_ADD = 1;
    internal const int EPOLL_CTL_DEL = 2;
    internal const uint EPOLLIN = 0x001;
    internal const uint EPOLLERR = 0x008;
    internal const uint EPOLLHUP = 0x010;
    internal const uint EPOLLONESHOT = 1u << 30;

    // socket.h
    internal const int AF_INET = 2;
    internal const int AF_PACKET = 17;
    internal const int SOCK_DGRAM = 2;
    internal const int SOCK_RAW = 3;
    internal const int SOCK_NONBLOCK = O_NONBLOCK;
    internal const int SOCK_CLOEXEC = O_CLOEXEC;
    internal const int MSG_DONTWAIT = 0x40;
    internal const int MSG_TRUNC = 0x20;
    internal const int MSG_CTRUNC = 0x08;
    internal const int SOL_SOCKET = 1;
    internal const int SO_ERROR = 4;
    internal const int SO_RCVBUF = 8;
    internal const int SO_RCVBUFFORCE = 33;

    /// <summary><c>SO_BUSY_POLL</c>: how long (microseconds) a receive on the socket may poll the device's NAPI context.</summary>
    internal const int SO_BUSY_POLL = 46;

    /// <summary><c>SO_PREFER_BUSY_POLL</c> (Linux 5.11): the device's NAPI context prefers the socket's busy polling to its softirq.</summary>
    internal const int SO_PREFER_BUSY_POLL = 69;

    /// <summary><c>SO_BUSY_POLL_BUDGET</c> (Linux 5.11): how many frames one busy poll of the NAPI context may take.</summary>
    internal const int SO_BUSY_POLL_BUDGET = 70;

    // linux/if_packet.h
    internal const int SOL_PACKET = 263;
    internal const int PACKET_FANOUT = 18;
    internal const int PACKET_IGNORE_OUTGOING = 23;
    internal const int PACKET_FANOUT_HASH = 0;
    internal const byte PACKET_OUTGOING = 4;
    internal const int PACKET_AUXDATA = 8;
    internal const int PACKET_STATISTICS = 6;
    internal const int PACKET_ADD_MEMBERSHIP = 1;
    internal const ushort PACKET_MR_PROMISC = 1;
    internal const int PACKET_VNET_HDR = 15;
    internal const int PACKET_RX_RING = 5;
    internal const int PACKET_TX_RING = 13;
    internal const int PACKET_VERSION = 10;
    internal const int PACKET_COPY_THRESH = 7;
    internal const int TPACKET_V2 = 1;
    internal const uint TP_STATUS_KERNEL = 0;
    internal const uint TP_STATUS_USER = 1;
    internal const uint TP_STATUS_COPY = 0x2;
    internal const uint TP_STATUS_VLAN_VALID = 0x10;
    internal const uint TP_STATUS_VLAN_TPID_VALID = 0x40;

    // linux/if_packet.h: a transmit ring slot's tp_status (the user's slot, the user's request, the kernel's, a frame it refused)
    // and the timestamp flags the kernel may add to a sent slot's.
    internal const uint TP_STATUS_AVAILABLE = 0;
    internal const uint TP_STATUS_SEND_REQUEST = 1;
    internal const uint TP_STATUS_SENDING = 2;
    internal const uint TP_STATUS_WRONG_FORMAT = 4;
    internal const uint TP_STATUS_TS_SOFTWARE = 1u << 29;
    internal const uint TP_STATUS_TS_RAW_HARDWARE = 1u << 31;

    // linux/if_ether.h: every protocol, in host order (htons it for the socket and sockaddr_ll).
    internal const ushort ETH_P_ALL = 0x0003;

    // linux/if_ether.h: the 802.1Q tag's protocol, the TPID of a tag whose protocol the kernel does not say.
    internal const ushort ETH_P_8021Q = 0x8100;

    // linux/sockios.h (ioctls on any socket, for an interface named in an ifreq).
    internal const uint SIOCGIFFLAGS = 0x8913;
    internal const uint SIOCSIFFLAGS = 0x8914;
    internal const uint SIOCGIFMTU = 0x8921;
    internal const uint SIOCSIFHWADDR = 0x8924;
    internal const uint SIOCGIFHWADDR = 0x8927;

    // linux/if.h
    internal const short IFF_UP = 0x1;

    // linux/if_arp.h: the hardware type of Ethernet in a sockaddr (ARPHRD_ETHER).
    internal const ushort ARPHRD_ETHER = 1;

    // linux/if_tun.h: TUNSETIFF = _IOW('T', 202, int).
    internal const uint TUNSETIFF = 0x400454CA;

    // linux/if_tun.h: TUNGETIFF = _IOR('T', 210, unsigned int); EBADFD once the interface is deleted.
    internal const uint TUNGETIFF = 0x800454D2;
    internal const short IFF_TAP = 0x0002;
    internal const short IFF_NO_PI = 0x1000;

    // sched.h
    internal const int CLONE_NEWNET = 0x40000000;

    /// <summary>The longest interface name, without its terminating zero (IFNAMSIZ - 1).</summary>
    internal const int MaxInterfaceNameLength = 15;

    /// <summary>An Ethernet header: two addresses and the type (no 802.1Q tag); <see cref="EthernetFrame.UntaggedHeaderLength"/>, under the drivers' name.</summary>
    internal const int EthernetHeaderLength = EthernetFrame.UntaggedHeaderLength;

    /// <summary>Room for one 802.1Q tag beyond the MTU and Ethernet header; <see cref="EthernetFrame.VlanTagLength"/>, under the drivers' name.</summary>
    internal const int VlanTagLength = EthernetFrame.VlanTagLength;
}
