using System.Buffers.Binary;
using System.Diagnostics;
using NetBufNative.Drivers.Linux;
using NetBufNative.Drivers.Linux.Xdp;
using NetBufNative.Wire;
using NUnit.Framework;

namespace NetBufNative.Tests.Drivers.Linux.Xdp;

/// <summary>
/// The XDP filters against the kernel's own stack on the same interface: the driver end of the
/// veth has an address of its own (10.77.0.3), a remote host played by an AF_PACKET socket on the
/// other end sends ARP, ping and UDP to it, and each frame must arrive either at the AF_XDP socket
/// (byte for byte, and nowhere else) or at the kernel (which then answers: an ARP reply, an echo
/// reply, or "port unreachable" for UDP).
/// </summary>
[NonParallelizable]
public sealed class XdpFilterTests
{
    private const string KernelEnd = "nbk0";
    private const string DriverEnd = "nbd0";
    private const ushort TakenPort = 4242;
    private const ushort OtherPort = 4243;
    private static readonly byte[] s_driverIp = [10, 77, 0, 3];
    private TestNamespace _ns = null!;
    private NetBufPool _pool = null!;
    private NetBufPool _remotePool = null!;
    private MacAddress _driverMac;

    /// <summary>The frames the remote host sends.</summary>
    public enum Probe
    {
        Arp,
        Ping,
        UdpTakenPort,
        UdpOtherPort,
    }

    [SetUp]
    public void SetUp()
    {
        _ns = TestNamespace.Create();
        _ns.AddVethPair(KernelEnd, DriverEnd);
        _ns.IpIn("addr", "add", "10.77.0.3/24", "dev", DriverEnd);

        // The kernel answers the remote host without asking for its address: an ARP request of the
        // kernel's would go unanswered (the remote host is a test's socket), and with ARP redirected
        // to the AF_XDP socket the kernel would not learn it either.
        _ns.IpIn("neigh", "replace", "10.77.0.2", "lladdr", TestFrames.TestMac.ToString().ToLowerInvariant(), "dev", DriverEnd, "nud", "permanent");
        _driverMac = TestFrames.ParseMac(_ns.MacOf(DriverEnd));
        _pool = XdpDriver.CreatePool(512, name: "xdp-filter-test");
        _remotePool = new NetBufPool(64, 2048, new NetBufPoolOptions { Name = "remote" });
    }

    [TearDown]
    public void TearDown()
    {
        _pool?.Dispose();
        _remotePool?.Dispose();
        _ns?.Dispose();
    }

    [TestCase(XdpFilterKind.Every, new[] { Probe.Arp, Probe.Ping, Probe.UdpTakenPort, Probe.UdpOtherPort })]
    [TestCase(XdpFilterKind.EtherType, new[] { Probe.Arp })]
    [TestCase(XdpFilterKind.IpProtocol, new[] { Probe.UdpTakenPort, Probe.UdpOtherPort })]
    [TestCase(XdpFilterKind.UdpDestinationPort, new[] { Probe.UdpTakenPort })]
    public void The_socket_takes_what_the_filter_matches_and_the_kernel_still_answers_the_rest(XdpFilterKind kind, Probe[] taken)
    {
        XdpFilter filter = kind switch
        {
            XdpFilterKind.EtherType => XdpFilter.ForEtherType(EtherType.Arp),
            XdpFilterKind.IpProtocol => XdpFilter.ForIpProtocol(IpProtocol.Udp),
            XdpFilterKind.UdpDestinationPort => XdpFilter.ForUdpDestinationPort(TakenPort),
            _ => XdpFilter.Every,
        };
        using var driver = new XdpDriver(_pool, DriverEnd, new XdpDriverOptions { NetworkNamespace = _ns.Name, Filter = filter, RxQueueSize = 64, TxQueueSize = 64 });
        using var remote = new AfPacketDriver(_remotePool, KernelEnd, new AfPacketDriverOptions { NetworkNamespace = _ns.Name, RxQueueSize = 16, TxQueueSize = 16 });
        DriverHarness.Post(driver, 32);
        DriverHarness.Post(remote, 16);
        Assert.That(driver.Filter, Is.SameAs(filter));

        foreach (Probe probe in Enum.GetValues<Probe>())
        {
            byte[] frame = Build(probe);
            DriverHarness.Send(remote, frame);
            _ = remote.RecycleTxBuffers();
            if (taken.Contains(probe))
            {
                byte[] arrived = ReceiveOne(driver);
                Assert.That(arrived, Is.EqualTo(frame), $"{probe}: the socket got the frame as sent");
                Assert.That(KernelReplyWithin(remote, probe, TimeSpan.FromMilliseconds(200)), Is.False, $"{probe}: the kernel did not see it");
            }
            else
            {
                Assert.That(KernelReplyWithin(remote, probe, DriverHarness.ReplyTimeout), Is.True, $"{probe}: the kernel got it and answered");
                Assert.That(driver.TryReceive(out _), Is.False, $"{probe}: not redirected to the socket");
            }
        }

        Assert.That(driver.RxFrames, Is.EqualTo(taken.Length));
    }

    private byte[] Build(Probe probe)
    {
        switch (probe)
        {
            case Probe.Arp:
                var arp = new byte[TestFrames.ArpFrameLength];
                TestFrames.ArpRequest(arp, TestFrames.TestMac, TestNamespace.TestIp, s_driverIp);
                return arp;
            case Probe.Ping:
                var ping = new byte[TestFrames.IcmpHeadersLength + 56];
                TestFrames.EchoRequest(ping, TestFrames.TestMac, _driverMac, TestNamespace.TestIp, s_driverIp, 0x4e42, 1, 56);
                return ping;
            default:
                return UdpFrame(probe == Probe.UdpTakenPort ? TakenPort : OtherPort, 32);
        }
    }

    /// <summary>An IPv4 UDP datagram from the remote host to the driver end's address (UDP checksum 0: none, allowed over IPv4).</summary>
    private byte[] UdpFrame(ushort port, int payload)
    {
        var frame = new byte[14 + 20 + 8 + payload];
        TestFrames.Write(frame, _driverMac);
        TestFrames.Write(frame.AsSpan(6), TestFrames.TestMac);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), 0x0800);
        Span<byte> ip = frame.AsSpan(14);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(20 + 8 + payload));
        ip[8] = 64;
        ip[9] = 17;
        TestNamespace.TestIp.CopyTo(ip[12..]);
        s_driverIp.CopyTo(ip[16..]);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], TestFrames.Checksum(ip[..20]));
        Span<byte> udp = ip[20..];
        BinaryPrimitives.WriteUInt16BigEndian(udp, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], port);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)(8 + payload));
        for (int i = 0; i < payload; i++)
        {
            udp[8 + i] = (byte)i;
        }

        return frame;
    }

    private static byte[] ReceiveOne(XdpDriver driver)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < DriverHarness.ReplyTimeout)
        {
            _ = driver.WaitForReceive(DriverHarness.ReplyTimeout - clock.Elapsed);
            if (driver.TryReceive(out NetBufPtr received))
            {
                byte[] bytes = received.Packet.ToArray();
                Assert.That(driver.TryRecycleRxBuffer(received), Is.True);
                return bytes;
            }
        }

        Assert.Fail("nothing reached the socket");
        return [];
    }

    /// <summary>Whether the kernel's answer to <paramref name="probe"/> reaches the remote host within <paramref name="timeout"/> (other frames are ignored).</summary>
    private bool KernelReplyWithin(AfPacketDriver remote, Probe probe, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            _ = remote.WaitForReceive(timeout - clock.Elapsed);
            while (remote.TryReceive(out NetBufPtr received))
            {
                byte[] f = received.Packet.ToArray();
                Assert.That(remote.TryRecycleRxBuffer(received), Is.True);
                bool answer = probe switch
                {
                    Probe.Arp => TestFrames.IsArpReply(f),
                    Probe.Ping => TestFrames.IsEchoReply(f),
                    _ => IsPortUnreachable(f),
                };
                if (!answer)
                {
                    continue;
                }

                if (probe == Probe.Arp)
                {
                    TestFrames.CheckArpReply(f, _driverMac, TestFrames.TestMac, s_driverIp, TestNamespace.TestIp);
                }
                else if (probe == Probe.Ping)
                {
                    TestFrames.CheckEchoReply(f, _driverMac, TestFrames.TestMac, s_driverIp, TestNamespace.TestIp, 0x4e42, 1, 56);
                }

                return true;
            }
        }

        return false;
    }

    /// <summary>ICMP destination unreachable, port unreachable (type 3, code 3), from the driver end's address.</summary>
    private static bool IsPortUnreachable(byte[] f) =>
        f.Length >= 14 + 20 + 8 && BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(12)) == 0x0800 && f[23] == 1 &&
        f.AsSpan(26, 4).SequenceEqual(s_driverIp) && f[34] == 3 && f[35] == 3;
}
