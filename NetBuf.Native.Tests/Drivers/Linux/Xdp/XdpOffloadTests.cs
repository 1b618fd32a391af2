using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using NetBufNative.Drivers.Linux;
using NetBufNative.Drivers.Linux.Xdp;
using NetBufNative.Wire;
using NUnit.Framework;

namespace NetBufNative.Tests.Drivers.Linux.Xdp;

/// <summary>
/// What an AF_XDP socket in copy mode on a veth gets from a kernel sender with offloads on: UDP with a partial checksum
/// (no XDP metadata says so), which the driver completes by default and hands over as written with the option off; and
/// the peer's segmentation offload turned off by the kernel while the program is attached (so no super-packet reaches
/// the socket).
/// </summary>
[NonParallelizable]
public sealed class XdpOffloadTests
{
    private const string KernelEnd = "nbk0";
    private const string DriverEnd = "nbd0";

    [TestCase(true)]
    [TestCase(false)]
    public void A_udp_datagram_the_kernel_sends_arrives_partial_and_is_completed_by_default(bool complete)
    {
        using TestNamespace ns = TestNamespace.Create();
        ns.AddVethPair(KernelEnd, DriverEnd);
        ns.AssignKernelAddress(KernelEnd);
        ns.IpIn("neigh", "add", "10.77.0.2", "lladdr", ns.MacOf(DriverEnd), "dev", KernelEnd);
        using NetBufPool pool = XdpDriver.CreatePool(128, name: "xdp-offload");
        using var driver = new XdpDriver(pool, DriverEnd, new XdpDriverOptions
        {
            NetworkNamespace = ns.Name,
            BindMode = XdpBindMode.Copy,
            CompletePartialChecksums = complete,
            Filter = XdpFilter.ForIpProtocol(IpProtocol.Udp),
            RxQueueSize = 32,
            TxQueueSize = 32,
        });
        Assert.That(driver.CompletesPartialChecksums, Is.EqualTo(complete));
        string features = ns.Exec("ethtool", "-k", KernelEnd);
        TestContext.Out.WriteLine(features);
        Assert.That(features, Does.Contain("tx-checksumming: on"));
        Assert.That(features, Does.Contain("tcp-segmentation-offload: off"), "the kernel turns the peer's GSO off while an XDP program without frags is attached");
        DriverHarness.Post(driver, 16);
        using Socket sender = NamespaceThread.Run(ns.Name, () => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
        byte[] payload = RandomNumberGenerator.GetBytes(333);
        sender.SendTo(payload, new IPEndPoint(IPAddress.Parse("10.77.0.2"), 9999));
        byte[] frame = DriverHarness.ReceiveMatching(driver, f => f.Length >= 42 && f[23] == 17);
        Assert.That(frame.AsSpan(42).ToArray(), Is.EqualTo(payload));
        Assert.That(TransportChecksum.Check(frame), Is.EqualTo(complete ? TransportChecksumStatus.Valid : TransportChecksumStatus.Partial));
        Assert.That(driver.PartialChecksumsCompleted, Is.EqualTo(complete ? 1 : 0));
    }
}
