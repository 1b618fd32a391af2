using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NetBufNative.Drivers;
using NetBufNative.Drivers.Linux;
using NUnit.Framework;

namespace NetBufNative.Tests.Drivers.Linux;

/// <summary>
/// The interop structures against the sizes and offsets of the facts document
/// (shared/docs/linux-packet-io.md, 64-bit Linux), the errno mapping, and the CI policy for tests
/// that need root. These run everywhere: they need no privilege.
/// </summary>
public sealed class InteropLayoutTests
{
    [Test]
    public void Structures_have_the_kernels_sizes()
    {
        Assert.That(Unsafe.SizeOf<IfReq>(), Is.EqualTo(40), "struct ifreq");
        Assert.That(Unsafe.SizeOf<SockAddrLl>(), Is.EqualTo(20), "struct sockaddr_ll");
        Assert.That(SockAddrLl.Size, Is.EqualTo(20));
        Assert.That(Unsafe.SizeOf<MsgHdr>(), Is.EqualTo(56), "struct msghdr");
        Assert.That(Unsafe.SizeOf<MMsgHdr>(), Is.EqualTo(64), "struct mmsghdr");
        Assert.That(Unsafe.SizeOf<IoVec>(), Is.EqualTo(16), "struct iovec");
        Assert.That(Unsafe.SizeOf<PollFd>(), Is.EqualTo(8), "struct pollfd");
        Assert.That(Unsafe.SizeOf<CMsgHdr>(), Is.EqualTo(16), "struct cmsghdr");
        Assert.That(CMsgHdr.Size, Is.EqualTo(16));
        Assert.That(Unsafe.SizeOf<TPacketAuxData>(), Is.EqualTo(20), "struct tpacket_auxdata");
        Assert.That(TPacketAuxData.Size, Is.EqualTo(20));
        Assert.That(Unsafe.SizeOf<TPacketStats>(), Is.EqualTo(8), "struct tpacket_stats");
        Assert.That(TPacketStats.Size, Is.EqualTo(8));
        Assert.That(Unsafe.SizeOf<VirtioNetHeader>(), Is.EqualTo(10), "struct virtio_net_hdr");
        Assert.That(VirtioNetHeader.Size, Is.EqualTo(10));
        Assert.That(Unsafe.SizeOf<PacketMReq>(), Is.EqualTo(16), "struct packet_mreq");
        Assert.That(PacketMReq.Size, Is.EqualTo(16));
    }

    [Test]
    public void Fields_are_at_the_kernels_offsets()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Offset<IfReq>(nameof(IfReq.Flags)), Is.EqualTo(16), "ifr_flags after the 16-byte name");
            Assert.That(Offset<IfReq>(nameof(IfReq.Mtu)), Is.EqualTo(16));
            Assert.That(Offset<IfReq>(nameof(IfReq.HardwareFamily)), Is.EqualTo(16));
            Assert.That(Offset<IfReq>(nameof(IfReq.HardwareAddress)), Is.EqualTo(18));

            Assert.That(Offset<SockAddrLl>(nameof(SockAddrLl.Family)), Is.EqualTo(0));
            Assert.That(Offset<SockAddrLl>(nameof(SockAddrLl.Protocol)), Is.EqualTo(2));
            Assert.That(Offset<SockAddrLl>(nameof(SockAddrLl.InterfaceIndex)), Is.EqualTo(4));
            Assert.That(Offset<SockAddrLl>(nameof(SockAddrLl.HardwareType)), Is.EqualTo(8));
            Assert.That(Offset<SockAddrLl>(nameof(SockAddrLl.PacketType)), Is.EqualTo(10));
            Assert.That(Offset<SockAddrLl>(nameof(SockAddrLl.AddressLength)), Is.EqualTo(11));
            Assert.That(Offset<SockAddrLl>(nameof(SockAddrLl.Address0)), Is.EqualTo(12));

            Assert.That(Offset<MsgHdr>(nameof(MsgHdr.Name)), Is.EqualTo(0));
            Assert.That(Offset<MsgHdr>(nameof(MsgHdr.NameLength)), Is.EqualTo(8));
            Assert.That(Offset<MsgHdr>(nameof(MsgHdr.IoVecs)), Is.EqualTo(16));
            Assert.That(Offset<MsgHdr>(nameof(MsgHdr.IoVecCount)), Is.EqualTo(24));
            Assert.That(Offset<MsgHdr>(nameof(MsgHdr.Control)), Is.EqualTo(32));
            Assert.That(Offset<MsgHdr>(nameof(MsgHdr.ControlLength)), Is.EqualTo(40));
            Assert.That(Offset<MsgHdr>(nameof(MsgHdr.Flags)), Is.EqualTo(48));

            Assert.That(Offset<MMsgHdr>(nameof(MMsgHdr.Header)), Is.EqualTo(0));
            Assert.That(Offset<MMsgHdr>(nameof(MMsgHdr.Length)), Is.EqualTo(56));

            Assert.That(Offset<IoVec>(nameof(IoVec.Base)), Is.EqualTo(0));
            Assert.That(Offset<IoVec>(nameof(IoVec.Length)), Is.EqualTo(8));

            Assert.That(Offset<PollFd>(nameof(PollFd.Fd)), Is.EqualTo(0));
            Assert.That(Offset<PollFd>(nameof(PollFd.Events)), Is.EqualTo(4));
            Assert.That(Offset<PollFd>(nameof(PollFd.ReturnedEvents)), Is.EqualTo(6));

            Assert.That(Offset<CMsgHdr>(nameof(CMsgHdr.Length)), Is.EqualTo(0));
            Assert.That(Offset<CMsgHdr>(nameof(CMsgHdr.Level)), Is.EqualTo(8));
            Assert.That(Offset<CMsgHdr>(nameof(CMsgHdr.Type)), Is.EqualTo(12));

            Assert.That(Offset<TPacketAuxData>(nameof(TPacketAuxData.Status)), Is.EqualTo(0));
            Assert.That(Offset<TPacketAuxData>(nameof(TPacketAuxData.Length)), Is.EqualTo(4));
            Assert.That(Offset<TPacketAuxData>(nameof(TPacketAuxData.SnapLength)), Is.EqualTo(8));
            Assert.That(Offset<TPacketAuxData>(nameof(TPacketAuxData.MacOffset)), Is.EqualTo(12));
            Assert.That(Offset<TPacketAuxData>(nameof(TPacketAuxData.NetworkOffset)), Is.EqualTo(14));
            Assert.That(Offset<TPacketAuxData>(nameof(TPacketAuxData.VlanTci)), Is.EqualTo(16));
            Assert.That(Offset<TPacketAuxData>(nameof(TPacketAuxData.VlanTpid)), Is.EqualTo(18));

            Assert.That(Offset<TPacketStats>(nameof(TPacketStats.Packets)), Is.EqualTo(0), "tp_packets");
            Assert.That(Offset<TPacketStats>(nameof(TPacketStats.Drops)), Is.EqualTo(4), "tp_drops");

            Assert.That(Offset<VirtioNetHeader>(nameof(VirtioNetHeader.Flags)), Is.EqualTo(0), "flags");
            Assert.That(Offset<VirtioNetHeader>(nameof(VirtioNetHeader.GsoType)), Is.EqualTo(1), "gso_type");
            Assert.That(Offset<VirtioNetHeader>(nameof(VirtioNetHeader.HeaderLength)), Is.EqualTo(2), "hdr_len");
            Assert.That(Offset<VirtioNetHeader>(nameof(VirtioNetHeader.GsoSize)), Is.EqualTo(4), "gso_size");
            Assert.That(Offset<VirtioNetHeader>(nameof(VirtioNetHeader.ChecksumStart)), Is.EqualTo(6), "csum_start");
            Assert.That(Offset<VirtioNetHeader>(nameof(VirtioNetHeader.ChecksumOffset)), Is.EqualTo(8), "csum_offset");

            Assert.That(Offset<PacketMReq>(nameof(PacketMReq.InterfaceIndex)), Is.EqualTo(0), "mr_ifindex");
            Assert.That(Offset<PacketMReq>(nameof(PacketMReq.Type)), Is.EqualTo(4), "mr_type");
            Assert.That(Offset<PacketMReq>(nameof(PacketMReq.AddressLength)), Is.EqualTo(6), "mr_alen");
        });
    }

    [Test]
    public void An_interface_request_carries_the_name_zero_terminated()
    {
        IfReq request = IfReq.For("abcdefghijklmno");
        Assert.That(request.GetName(), Is.EqualTo("abcdefghijklmno"));
        Assert.That(IfReq.For("tap0").GetName(), Is.EqualTo("tap0"));
    }

    [TestCase(Errno.EAGAIN, NetDriverErrorKind.Again, "EAGAIN")]
    [TestCase(Errno.EPERM, NetDriverErrorKind.Unsupported, "CAP_NET_ADMIN/CAP_NET_RAW")]
    [TestCase(Errno.EACCES, NetDriverErrorKind.Unsupported, "needs root")]
    [TestCase(Errno.ENODEV, NetDriverErrorKind.InvalidParam, "check the name")]
    [TestCase(Errno.ENOENT, NetDriverErrorKind.InvalidParam, "ENOENT")]
    [TestCase(Errno.EBUSY, NetDriverErrorKind.ResourceBusy, "in use")]
    [TestCase(Errno.EEXIST, NetDriverErrorKind.AlreadyExists, "another name")]
    [TestCase(Errno.ENOMEM, NetDriverErrorKind.NoMemory, "ENOMEM")]
    [TestCase(Errno.ENOBUFS, NetDriverErrorKind.NoMemory, "ENOBUFS")]
    [TestCase(Errno.EINVAL, NetDriverErrorKind.InvalidParam, "EINVAL")]
    [TestCase(Errno.ENETDOWN, NetDriverErrorKind.BadState, "ip link set dev nbx0 up")]
    [TestCase(Errno.EIO, NetDriverErrorKind.Io, "EIO")]
    [TestCase(Errno.EFAULT, NetDriverErrorKind.Io, "EFAULT")]
    [TestCase(200, NetDriverErrorKind.Io, "errno 200")]
    public void An_errno_becomes_an_exception_that_says_what_failed_why_and_what_to_do(int errno, NetDriverErrorKind kind, string advice)
    {
        NetDriverException error = LinuxError.FromErrno(errno, "ioctl(TUNSETIFF)", "nbx0");
        Assert.That(error.Kind, Is.EqualTo(kind));
        Assert.That(error.ErrorNumber, Is.EqualTo(errno));
        Assert.That(error.Message, Does.StartWith("ioctl(TUNSETIFF) failed for nbx0: "));
        Assert.That(error.Message, Does.Contain(advice));
        if (OperatingSystem.IsLinux() && errno < 200)
        {
            Assert.That(error.Message, Does.Contain(Marshal.GetPInvokeErrorMessage(errno)), "strerror's text");
        }
    }

    [Test]
    public void A_device_that_vanishes_while_open_is_a_bad_state()
    {
        Assert.That(LinuxError.FromErrno(Errno.ENODEV, "sendto", "veth0", opened: true).Kind, Is.EqualTo(NetDriverErrorKind.BadState));
        Assert.That(LinuxError.FromErrno(Errno.ENXIO, "write", "tap0", opened: true).Kind, Is.EqualTo(NetDriverErrorKind.BadState));
    }

    [Test]
    public void The_platform_error_names_what_is_missing()
    {
        NetDriverException error = LinuxError.NotLinux("TapDriver");
        Assert.That(error.Kind, Is.EqualTo(NetDriverErrorKind.Unsupported));
        Assert.That(error.Message, Does.Contain("needs Linux").And.Contain("LoopbackDriver"));
    }

    [TestCase(true, true, true, null, "Run")]
    [TestCase(true, true, false, null, "Run")]
    [TestCase(false, false, false, "not Linux", "Skip")]
    [TestCase(false, false, true, "not Linux", "Skip")]
    [TestCase(true, false, true, "not root", "Skip")]
    [TestCase(true, false, false, "not root", "Skip")]
    [TestCase(true, true, false, "no ip", "Skip")]
    [TestCase(true, true, true, "no ip", "Fail")]
    public void Under_CI_as_root_on_Linux_a_skip_is_a_failure(bool linux, bool root, bool ci, string? missing, string expected) =>
        Assert.That(LinuxTestEnvironment.Decide(linux, root, ci, missing).ToString(), Is.EqualTo(expected));

    private static int Offset<T>(string field) => (int)Marshal.OffsetOf<T>(field);
}
