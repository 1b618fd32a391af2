using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using NetBufNative.Drivers.Linux;
using NetBufNative.Wire;
using NUnit.Framework;

namespace NetBufNative.Tests.Drivers.Linux;

/// <summary>
/// Checksum and segmentation offloads with a veth's offloads left on (the default): the kernel sends UDP and TCP with
/// partial checksums (CHECKSUM_PARTIAL) and TCP in GSO super-packets of up to 64 KiB; the AF_PACKET driver completes the
/// checksums and cuts the super-packets, so frames arrive valid, byte for byte, and a TCP transfer forwarded unchanged
/// between two namespaces through the process succeeds with no checksum error at the receiver. Promiscuous mode as
/// a veth shows it.
/// </summary>
[NonParallelizable]
public sealed class AfPacketOffloadTests
{
    private const string KernelEnd = "nbk0";
    private const string DriverEnd = "nbd0";
    private const int UdpPort = 9999;

    [TestCase(true, false)]
    [TestCase(false, false)]
    [TestCase(true, true)]
    [TestCase(false, true)]
    public void A_udp_datagram_the_kernel_sends_arrives_with_a_valid_checksum_unless_completion_is_off(bool complete, bool ring)
    {
        using TestNamespace ns = TestNamespace.Create();
        ns.AddVethPair(KernelEnd, DriverEnd);
        ns.AssignKernelAddress(KernelEnd);
        ns.IpIn("neigh", "add", "10.77.0.2", "lladdr", ns.MacOf(DriverEnd), "dev", KernelEnd);
        using var pool = new NetBufPool(64, 2048, new NetBufPoolOptions { DefaultHeadroom = 64, Name = "udp-offload" });
        using var driver = new AfPacketDriver(pool, DriverEnd, new AfPacketDriverOptions { NetworkNamespace = ns.Name, CompletePartialChecksums = complete, RxQueueSize = 16, TxQueueSize = 16, ReceiveRing = ring });
        Assert.That(driver.CompletesPartialChecksums, Is.EqualTo(complete));
        DriverHarness.Post(driver, 16);
        using Socket sender = NamespaceThread.Run(ns.Name, () => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));

        foreach (int length in new[] { 1, 101, 1000, 1472 })
        {
            byte[] payload = RandomNumberGenerator.GetBytes(length);
            sender.SendTo(payload, new IPEndPoint(IPAddress.Parse("10.77.0.2"), UdpPort));
            byte[] frame = DriverHarness.ReceiveMatching(driver, IsUdpToTestPort);
            Assert.That(frame.AsSpan(14 + 20 + 8).ToArray(), Is.EqualTo(payload), "byte for byte");
            Assert.That(
                TransportChecksum.Check(frame),
                Is.EqualTo(complete ? TransportChecksumStatus.Valid : TransportChecksumStatus.Partial),
                complete ? "completed by the driver" : "as the kernel sent it: partial (the veth offers checksum offload)");
        }

        Assert.That(driver.PartialChecksumsCompleted, Is.EqualTo(complete ? 4 : 0));
        Assert.That(driver.RxDropped, Is.Zero);
    }

    /// <summary>
    /// The user's case: client and server in two namespaces, each behind a veth whose other end is in a third namespace,
    /// where two AF_PACKET drivers forward every frame unchanged. With the veths' offloads on, the client's TCP leaves in
    /// super-packets with partial checksums; 4 MiB cross each way intact, and the server's kernel counts no checksum error.
    /// </summary>
    [Test]
    public void A_tcp_transfer_forwarded_between_two_namespaces_arrives_intact_with_offloads_on()
    {
        using TestNamespace client = TestNamespace.Create();
        using TestNamespace server = TestNamespace.Create();
        using TestNamespace middle = TestNamespace.Create();
        middle.IpIn("link", "add", "nbf0", "type", "veth", "peer", "name", "nbc0", "netns", client.Name);
        middle.IpIn("link", "add", "nbf1", "type", "veth", "peer", "name", "nbs0", "netns", server.Name);
        middle.IpIn("link", "set", "nbf0", "up");
        middle.IpIn("link", "set", "nbf1", "up");
        client.IpIn("addr", "add", "10.78.0.1/24", "dev", "nbc0");
        client.IpIn("link", "set", "nbc0", "up");
        server.IpIn("addr", "add", "10.78.0.2/24", "dev", "nbs0");
        server.IpIn("link", "set", "nbs0", "up");
        Assert.That(client.Exec("ethtool", "-k", "nbc0"), Does.Contain("tcp-segmentation-offload: on").And.Contain("tx-checksumming: on"), "offloads left on");

        // Each driver reserves 256 + 256; the rest of the pool is for segments of super-packets in flight.
        using var pool = new NetBufPool(4096, 2048, new NetBufPoolOptions { Name = "forwarder" });
        using var left = new AfPacketDriver(pool, "nbf0", new AfPacketDriverOptions { NetworkNamespace = middle.Name });
        using var right = new AfPacketDriver(pool, "nbf1", new AfPacketDriverOptions { NetworkNamespace = middle.Name });
        byte[] upload = RandomNumberGenerator.GetBytes(4 << 20);
        byte[] download = RandomNumberGenerator.GetBytes(4 << 20);
        using (new TestForwarder(left, right))
        {
            using Socket listener = NamespaceThread.Run(server.Name, () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
            listener.Bind(new IPEndPoint(IPAddress.Parse("10.78.0.2"), 5001));
            listener.Listen();
            using Socket connecting = NamespaceThread.Run(client.Name, () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
            Task<byte[]> serverSide = Task.Run(() =>
            {
                using Socket accepted = listener.Accept();
                Task send = Task.Run(() => accepted.Send(download));
                byte[] got = ReadExactly(accepted, upload.Length);
                send.Wait();
                return got;
            });
            connecting.Connect(new IPEndPoint(IPAddress.Parse("10.78.0.2"), 5001));
            Task send = Task.Run(() => connecting.Send(upload));
            byte[] downloaded = ReadExactly(connecting, download.Length);
            send.Wait(TimeSpan.FromSeconds(60));
            Assert.That(serverSide.Wait(TimeSpan.FromSeconds(60)), Is.True, "the server got everything in time");
            Assert.That(serverSide.Result, Is.EqualTo(upload), "upload intact");
            Assert.That(downloaded, Is.EqualTo(download), "download intact");
        }

        Assert.That(left.SuperPacketsSegmented + right.SuperPacketsSegmented, Is.GreaterThan(0), "the kernel sent super-packets, the drivers cut them");
        Assert.That(CsumErrors(server), Is.Zero, "no TCP checksum error at the server");
        Assert.That(CsumErrors(client), Is.Zero, "none at the client");
        Assert.That(left.OffloadDrops + right.OffloadDrops, Is.Zero);
        TestContext.Out.WriteLine($"segmented {left.SuperPacketsSegmented} + {right.SuperPacketsSegmented} super-packets, completed {left.PartialChecksumsCompleted} + {right.PartialChecksumsCompleted} checksums");
    }

    /// <summary>
    /// A UDP super-packet (the kernel's UDP segmentation offload, <c>UDP_SEGMENT</c>: 8 segments of 1000 bytes in one
    /// 8 KiB datagram, which the veth passes on whole): <c>recvmmsg</c> hands it over cut into its 8 segments; the receive
    /// ring, whose slots are smaller, gets it cut to a slot and drops it, counted, as its option says. A small datagram
    /// after it arrives either way.
    /// </summary>
    [TestCase(false)]
    [TestCase(true)]
    public void A_udp_super_packet_is_cut_into_segments_by_recvmmsg_and_dropped_and_counted_by_the_ring(bool ring)
    {
        const int segment = 1000;
        const int segments = 8;
        using TestNamespace ns = TestNamespace.Create();
        ns.AddVethPair(KernelEnd, DriverEnd);
        ns.AssignKernelAddress(KernelEnd);
        ns.IpIn("neigh", "add", "10.77.0.2", "lladdr", ns.MacOf(DriverEnd), "dev", KernelEnd);
        using var pool = new NetBufPool(64, 2048, new NetBufPoolOptions { DefaultHeadroom = 64, Name = "udp-gso" });
        using var driver = new AfPacketDriver(pool, DriverEnd, new AfPacketDriverOptions { NetworkNamespace = ns.Name, RxQueueSize = 16, TxQueueSize = 16, ReceiveRing = ring });
        DriverHarness.Post(driver, 16);
        using Socket sender = NamespaceThread.Run(ns.Name, () => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));

        // SOL_UDP (17), UDP_SEGMENT (103): the segment size of the datagrams the socket sends.
        sender.SetRawSocketOption(17, 103, BitConverter.GetBytes(segment));
        byte[] payload = RandomNumberGenerator.GetBytes(segment * segments);
        var target = new IPEndPoint(IPAddress.Parse("10.77.0.2"), UdpPort);
        sender.SendTo(payload, target);
        sender.SetRawSocketOption(17, 103, BitConverter.GetBytes(0));
        sender.SendTo(new byte[] { 0x4e, 0x42 }, target);

        // Received by hand: segments beyond the first come in buffers of the pool, not the posted ones, so a buffer the
        // receive queue has no room for goes back to the pool.
        var seen = new List<byte[]>();
        var batch = new NetBufPtr[16];
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!seen.Any(f => IsUdpToTestPort(f) && f.Length == 14 + 20 + 8 + 2) && clock.Elapsed < DriverHarness.ReplyTimeout)
        {
            _ = driver.WaitForReceive(TimeSpan.FromMilliseconds(100));
            int received = driver.ReceiveBatch(batch);
            for (int i = 0; i < received; i++)
            {
                seen.Add(batch[i].Packet.ToArray());
                if (!driver.TryRecycleRxBuffer(batch[i]))
                {
                    Assert.That(pool.TryFree(batch[i]), Is.True);
                }
            }
        }

        byte[][] segmentsSeen = seen.Where(f => IsUdpToTestPort(f) && f.Length != 14 + 20 + 8 + 2).ToArray();
        Assert.That(seen.Count(f => IsUdpToTestPort(f) && f.Length == 14 + 20 + 8 + 2), Is.EqualTo(1), "the small datagram after it arrived");
        if (ring)
        {
            Assert.That(segmentsSeen, Is.Empty, "the super-packet did not fit a slot");
            Assert.That(driver.RxDropped, Is.EqualTo(1), "dropped once, counted");
            Assert.That(driver.SuperPacketsSegmented, Is.Zero);
        }
        else
        {
            Assert.That(segmentsSeen.Select(f => f.AsSpan(14 + 20 + 8).ToArray()), Is.EqualTo(payload.Chunk(segment)), "the segments, in order, byte for byte");
            Assert.That(driver.SuperPacketsSegmented, Is.EqualTo(1), "one super-packet arrived and was cut");
            Assert.That(driver.RxDropped, Is.Zero);
        }
    }

    /// <summary>What is true on a veth: it filters no address, so the packet socket gets a frame to a foreign unicast
    /// address with or without the option; the option shows as the interface's promiscuity count while the driver is open
    /// (<c>ip -d link</c>; a membership does not set the PROMISC flag <c>ip link</c> shows, which is the administrator's), and goes with it.</summary>
    [Test]
    public void Promiscuous_mode_is_held_while_the_driver_is_open_and_a_veth_passes_foreign_frames_either_way()
    {
        using TestNamespace ns = TestNamespace.Create();
        ns.AddVethPair(KernelEnd, DriverEnd);
        using var pool = new NetBufPool(64, 2048, new NetBufPoolOptions { Name = "promisc" });
        using var sender = new AfPacketDriver(pool, KernelEnd, new AfPacketDriverOptions { NetworkNamespace = ns.Name, RxQueueSize = 4, TxQueueSize = 8 });
        foreach (bool promiscuous in new[] { false, true })
        {
            using (var driver = new AfPacketDriver(pool, DriverEnd, new AfPacketDriverOptions { NetworkNamespace = ns.Name, Promiscuous = promiscuous, RxQueueSize = 8, TxQueueSize = 4 }))
            {
                Assert.That(driver.IsPromiscuous, Is.EqualTo(promiscuous));
                Assert.That(ns.IpIn("-d", "link", "show", DriverEnd), Does.Contain(promiscuous ? "promiscuity 1 " : "promiscuity 0 "));
                DriverHarness.Post(driver, 8);
                byte[] frame = new byte[60];
                TestFrames.Write(frame, MacAddress.Parse("02:99:99:99:99:99"));
                TestFrames.Write(frame.AsSpan(6), TestFrames.TestMac);
                frame[12] = 0x88;
                frame[13] = 0xB5;
                frame[14] = promiscuous ? (byte)1 : (byte)0;
                DriverHarness.Send(sender, frame);
                byte[] received = DriverHarness.ReceiveMatching(driver, f => f.Length == 60 && f[12] == 0x88 && f[13] == 0xB5);
                Assert.That(received, Is.EqualTo(frame), "a veth does not filter: the foreign frame arrives either way");
            }

            Assert.That(ns.IpIn("-d", "link", "show", DriverEnd), Does.Contain("promiscuity 0 "), "released with the socket");
            _ = sender.RecycleTxBuffers();
        }
    }

    private static bool IsUdpToTestPort(byte[] frame) =>
        frame.Length >= 42 && frame[12] == 0x08 && frame[13] == 0x00 && frame[23] == 17 && ((frame[36] << 8) | frame[37]) == UdpPort;

    private static byte[] ReadExactly(Socket socket, int length)
    {
        var data = new byte[length];
        socket.ReceiveTimeout = 60_000;
        int at = 0;
        while (at < length)
        {
            int n = socket.Receive(data, at, length - at, SocketFlags.None);
            if (n == 0)
            {
                break;
            }

            at += n;
        }

        return data[..at];
    }

    /// <summary>The namespace's TCP and UDP InCsumErrors (from /proc/net/snmp).</summary>
    private static long CsumErrors(TestNamespace ns)
    {
        string[] lines = ns.Exec("cat", "/proc/net/snmp").Split('\n');
        long total = 0;
        for (int i = 0; i + 1 < lines.Length; i++)
        {
            if (lines[i].StartsWith("Tcp: ", StringComparison.Ordinal) || lines[i].StartsWith("Udp: ", StringComparison.Ordinal))
            {
                string[] names = lines[i].Split(' ');
                string[] values = lines[i + 1].Split(' ');
                int at = Array.IndexOf(names, "InCsumErrors");
                if (at > 0 && names[0] == values[0])
                {
                    total += long.Parse(values[at], System.Globalization.CultureInfo.InvariantCulture);
                }
            }
        }

        return total;
    }
}
