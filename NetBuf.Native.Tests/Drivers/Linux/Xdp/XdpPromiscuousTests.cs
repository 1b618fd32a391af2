using NetBufNative.Drivers.Linux.Xdp;
using NUnit.Framework;

namespace NetBufNative.Tests.Drivers.Linux.Xdp;

/// <summary><see cref="XdpDriverOptions.Promiscuous"/>: the interface's promiscuity count while the driver is open, back to
/// what it was when it closes (a membership, not the administrator's PROMISC flag).</summary>
[NonParallelizable]
public sealed class XdpPromiscuousTests
{
    [Test]
    public void Promiscuous_mode_is_held_while_the_driver_is_open_and_released_when_it_closes()
    {
        using TestNamespace ns = TestNamespace.Create();
        ns.AddVethPair("nbxp0", "nbxp1");
        using var pool = XdpDriver.CreatePool(256, name: "xdp-promisc");
        foreach (bool promiscuous in new[] { false, true })
        {
            using (var driver = new XdpDriver(pool, "nbxp1", new XdpDriverOptions { NetworkNamespace = ns.Name, BindMode = XdpBindMode.Copy, Promiscuous = promiscuous, RxQueueSize = 64, TxQueueSize = 64 }))
            {
                Assert.That(driver.IsPromiscuous, Is.EqualTo(promiscuous));
                Assert.That(ns.IpIn("-d", "link", "show", "nbxp1"), Does.Contain(promiscuous ? "promiscuity 1 " : "promiscuity 0 "));
            }

            Assert.That(ns.IpIn("-d", "link", "show", "nbxp1"), Does.Contain("promiscuity 0 "), "released with the driver");
            Assert.That(pool.InUse, Is.Zero);
        }

        var missing = Assert.Throws<NetBufNative.Drivers.NetDriverException>(() => new XdpDriver(pool, "nbxp9", new XdpDriverOptions { NetworkNamespace = ns.Name, Promiscuous = true, RxQueueSize = 64, TxQueueSize = 64 }));
        Assert.That(missing!.Message, Does.Contain("nbxp9"));
        Assert.That(pool.Reserved, Is.Zero, "a failed constructor releases its reservation");
    }
}
