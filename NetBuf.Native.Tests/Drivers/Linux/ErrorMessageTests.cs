using NetBufNative.Drivers;
using NetBufNative.Drivers.Linux;
using NetBufNative.Drivers.Linux.Xdp;
using NUnit.Framework;

namespace NetBufNative.Tests.Drivers.Linux;

/// <summary>
/// The Linux drivers' messages give the advice of the case at hand: a missing interface is looked
/// for in the namespace the driver was given (<c>ip -n NS link show</c>, with its name) or in the
/// process's own; the TUN module is named for the TAP driver's control device only; a named
/// namespace that cannot be entered names CAP_SYS_ADMIN, which the packet capabilities do not give.
/// (What an AF_XDP driver without its capabilities is told: <c>XdpMultiQueueTests</c>.)
/// </summary>
[NonParallelizable]
public sealed class ErrorMessageTests
{
    /// <summary>An interface name that no test makes.</summary>
    private const string Missing = "nbmissing0";

    private TestNamespace? _ns;
    private NetBufPool? _pool;

    [TearDown]
    public void TearDown()
    {
        _pool?.Dispose();
        _ns?.Dispose();
    }

    [Test]
    public void A_missing_interface_is_looked_for_in_the_namespace_the_driver_was_given()
    {
        _ns = TestNamespace.Create();
        _pool = XdpDriver.CreatePool(64);
        string lookThere = $"ip -n {_ns.Name} link show";

        var afPacket = Assert.Throws<NetDriverException>(() => new AfPacketDriver(_pool, Missing, new AfPacketDriverOptions { NetworkNamespace = _ns.Name, RxQueueSize = 16, TxQueueSize = 16 }));
        var xdp = Assert.Throws<NetDriverException>(() => new XdpDriver(_pool, Missing, new XdpDriverOptions { NetworkNamespace = _ns.Name, RxQueueSize = 16, TxQueueSize = 16 }));
        foreach (NetDriverException error in new[] { afPacket!, xdp! })
        {
            Assert.That(error.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam), error.Message);
            Assert.That(error.Message, Does.StartWith($"if_nametoindex failed for {Missing}: ENODEV"));
            Assert.That(error.Message, Does.Contain($"no interface {Missing} in the network namespace {_ns.Name}").And.Contain(lookThere));
            Assert.That(error.Message, Does.Not.Contain("tun").IgnoreCase, "TUN is the TAP driver's");
        }

        Assert.That(_pool.InUse, Is.Zero);
    }

    [Test]
    public void A_missing_interface_without_a_namespace_is_looked_for_in_the_processs_own()
    {
        LinuxTestEnvironment.RequireRootOnLinux("An AF_PACKET driver");
        _pool = new NetBufPool(16, 2048);
        var error = Assert.Throws<NetDriverException>(() => new AfPacketDriver(_pool, Missing, new AfPacketDriverOptions { RxQueueSize = 8, TxQueueSize = 8 }));
        Assert.That(error!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam), error.Message);
        Assert.That(error.Message, Does.Contain($"no interface {Missing} in this network namespace").And.Contain("(ip link show)").And.Contain("NetworkNamespace"));
        Assert.That(error.Message, Does.Not.Contain("ip -n").And.Not.Contain("tun"));
    }

    [Test]
    public void The_TUN_module_is_named_for_the_TAP_control_device_only()
    {
        foreach (int errno in new[] { Errno.ENOENT, Errno.ENODEV, Errno.ENXIO })
        {
            NetDriverException tun = LinuxError.FromErrno(errno, "open", "/dev/net/tun");
            Assert.That(tun.Message, Does.StartWith($"open failed for /dev/net/tun: {Errno.Name(errno)}"));
            Assert.That(tun.Message, Does.Contain("modprobe tun").And.Contain("CONFIG_TUN"));
            Assert.That(tun.Message, Does.Not.Contain("ip link show"));

            NetDriverException device = LinuxError.FromErrno(errno, "ioctl(SIOCGIFMTU)", "nbx0");
            Assert.That(device.Message, Does.Contain("no interface nbx0").And.Contain("ip link show"));
            Assert.That(device.Message, Does.Not.Contain("tun"));
        }
    }

    [Test]
    public void Entering_a_named_namespace_without_CAP_SYS_ADMIN_says_that_it_needs_it()
    {
        // The thread keeps the capabilities the old message advised (and CAP_SYS_ADMIN is what setns checks).
        _ns = TestNamespace.Create();
        _pool = new NetBufPool(16, 2048);
        NetBufPool pool = _pool;
        string name = _ns.Name;
        Exception? failure = ThreadCapabilities.RunKeepingOnly(
            [ThreadCapabilities.NetAdmin, ThreadCapabilities.NetRaw],
            () => new AfPacketDriver(pool, "lo", new AfPacketDriverOptions { NetworkNamespace = name, RxQueueSize = 8, TxQueueSize = 8 }).Dispose());

        Assert.That(failure, Is.TypeOf<NetDriverException>(), failure?.ToString());
        var error = (NetDriverException)failure!;
        Assert.That(error.Kind, Is.EqualTo(NetDriverErrorKind.Unsupported), error.Message);
        Assert.That(error.ErrorNumber, Is.EqualTo(Errno.EPERM));
        Assert.That(error.Message, Does.StartWith($"setns(CLONE_NEWNET) failed for /run/netns/{name}: EPERM"));
        Assert.That(error.Message, Does.Contain("needs CAP_SYS_ADMIN, which CAP_NET_ADMIN and CAP_NET_RAW do not give"));
        Assert.That(error.Message, Does.Contain("setcap cap_sys_admin,cap_net_admin,cap_net_raw+ep").And.Contain($"ip netns exec {name}"));
        Assert.That(pool.InUse, Is.Zero);

        // With CAP_SYS_ADMIN as well the same driver opens.
        failure = ThreadCapabilities.RunKeepingOnly(
            [ThreadCapabilities.SysAdmin, ThreadCapabilities.NetAdmin, ThreadCapabilities.NetRaw],
            () => new AfPacketDriver(pool, "lo", new AfPacketDriverOptions { NetworkNamespace = name, RxQueueSize = 8, TxQueueSize = 8 }).Dispose());
        Assert.That(failure, Is.Null, failure?.ToString());
    }
}
