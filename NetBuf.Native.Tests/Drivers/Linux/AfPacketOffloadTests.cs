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
    [TestCase(true)]
    [TestCase(false)]
    public void A_tcp_transfer_forwarded_between_two_namespaces_arrives_intact_with_offloads_on(bool ring)
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
        using var left = new AfPacketDriver(pool, "nbf0", new AfPacketDriverOptions { NetworkNamespace = middle.Name, ReceiveRing = ring });
        using var right = new AfPacketDriver(pool, "nbf1", new AfPacketDriverOptions { NetworkNamespace = middle.Name, ReceiveRing = ring });
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
        TestContext.Out.WriteLine($"segmented {left.SuperPacketsSegmented} + {right.SuperPacketsSegmented} super-packets ({left.RingCopiedFrames} + {right.RingCopiedFrames} read whole from the socket's queue past the ring, {left.RingCopyDrops} + {right.RingCopyDrops} lost to a full receive buffer), completed {left.PartialChecksumsCompleted} + {right.PartialChecksumsCompleted} checksums; kernel drops {left.GetStatistics().Drops} + {right.GetStatistics().Drops}");
    }

    /// <summary>
    /// UDP super-packets (the kernel's UDP segmentation offload, <c>UDP_SEGMENT</c>, which the veth passes on whole) of 8 KiB
    /// to 63 KiB, each followed by a small datagram: every one arrives cut into its segments, each segment once, in the order
    /// sent, byte for byte, through <c>recvmmsg</c> and through the receive ring alike. A super-packet is longer than a ring
    /// slot (4 KiB here), so the ring holds it cut short and flagged <c>TP_STATUS_COPY</c> and the socket's queue holds it
    /// whole: the driver reads that copy instead, and never hands over the slot's cut one.
    /// </summary>
    [TestCase(false)]
    [TestCase(true)]
    public void Udp_super_packets_arrive_cut_into_their_segments_each_once_and_in_order(bool ring)
    {
        const int segment = 1000;
        int[] superSegments = [8, 20, 63, 2, 40];
        using TestNamespace ns = TestNamespace.Create();
        ns.AddVethPair(KernelEnd, DriverEnd);
        ns.AssignKernelAddress(KernelEnd);
        ns.IpIn("neigh", "add", "10.77.0.2", "lladdr", ns.MacOf(DriverEnd), "dev", KernelEnd);
        using var pool = new NetBufPool(512, 2048, new NetBufPoolOptions { DefaultHeadroom = 64, Name = "udp-gso" });
        using var driver = new AfPacketDriver(pool, DriverEnd, new AfPacketDriverOptions { NetworkNamespace = ns.Name, RxQueueSize = 16, TxQueueSize = 16, ReceiveRing = ring });
        Assert.That(driver.ReceivesFromRing, Is.EqualTo(ring));
        DriverHarness.Post(driver, 16);
        using Socket sender = NamespaceThread.Run(ns.Name, () => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
        var target = new IPEndPoint(IPAddress.Parse("10.77.0.2"), UdpPort);

        // What the driver must hand over, in order: each super-packet's segments, then the small datagram after it.
        var expected = new List<byte[]>();
        for (int i = 0; i < superSegments.Length; i++)
        {
            byte[] payload = RandomNumberGenerator.GetBytes(segment * superSegments[i]);

            // SOL_UDP (17), UDP_SEGMENT (103): the segment size of the datagrams the socket sends.
            sender.SetRawSocketOption(17, 103, BitConverter.GetBytes(segment));
            sender.SendTo(payload, target);
            sender.SetRawSocketOption(17, 103, BitConverter.GetBytes(0));
            byte[] marker = [0x4e, 0x42, (byte)i];
            sender.SendTo(marker, target);
            expected.AddRange(payload.Chunk(segment));
            expected.Add(marker);
        }

        // Received by hand: segments beyond the first come in buffers of the pool, not the posted ones, so a buffer the
        // receive queue has no room for goes back to the pool.
        var seen = new List<byte[]>();
        var batch = new NetBufPtr[16];
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (seen.Count < expected.Count && clock.Elapsed < DriverHarness.ReplyTimeout)
        {
            _ = driver.WaitForReceive(TimeSpan.FromMilliseconds(100));
            int received = driver.ReceiveBatch(batch);
            for (int i = 0; i < received; i++)
            {
                byte[] frame = batch[i].Packet.ToArray();
                Assert.That(frame.Length, Is.LessThanOrEqualTo(driver.Mtu + 14), "every frame handed over is at most an MTU long");
                if (IsUdpToTestPort(frame))
                {
                    seen.Add(frame.AsSpan(14 + 20 + 8).ToArray());
                }

                if (!driver.TryRecycleRxBuffer(batch[i]))
                {
                    Assert.That(pool.TryFree(batch[i]), Is.True);
                }
            }
        }

        Assert.That(seen, Is.EqualTo(expected), "every segment once, in the order sent, byte for byte, and the small datagrams between them");
        Assert.That(driver.SuperPacketsSegmented, Is.EqualTo(superSegments.Length), "each super-packet arrived whole and was cut");
        Assert.That(driver.RxDropped, Is.Zero);
        Assert.That(driver.OffloadDrops, Is.Zero);
        Assert.That(driver.RingCopyDrops, Is.Zero);

        // A super-packet of 2 segments (about 2 KiB) fits a slot and is read from the ring; the longer ones do not.
        Assert.That(driver.RingCopiedFrames, Is.EqualTo(ring ? superSegments.Count(n => n * segment > 4096) : 0), "the ring's long frames were read whole from the socket's queue");
    }

    /// <summary>
    /// The ring's fallback failing: the kernel queues the whole copy of a frame longer than a slot only while the socket's
    /// receive buffer has room, so with the smallest buffer and nothing read, the first super-packet's copy is queued and
    /// the later ones' are not (their slots hold them cut short, without <c>TP_STATUS_COPY</c>). Those are lost and counted
    /// (<see cref="AfPacketDriver.RingCopyDrops"/>, and in <see cref="NetDriver.RxDropped"/>), never handed over cut short;
    /// every other frame arrives whole and in order.
    /// </summary>
    [Test]
    public void A_long_frame_whose_copy_the_kernel_refused_is_counted_and_never_handed_over_cut_short()
    {
        const int segment = 1000;
        const int supers = 5;
        const int perSuper = 20;
        using TestNamespace ns = TestNamespace.Create();
        ns.AddVethPair(KernelEnd, DriverEnd);
        ns.AssignKernelAddress(KernelEnd);
        ns.IpIn("neigh", "add", "10.77.0.2", "lladdr", ns.MacOf(DriverEnd), "dev", KernelEnd);
        using var pool = new NetBufPool(256, 2048, new NetBufPoolOptions { DefaultHeadroom = 64, Name = "udp-gso-refused" });
        using var driver = new AfPacketDriver(pool, DriverEnd, new AfPacketDriverOptions { NetworkNamespace = ns.Name, RxQueueSize = 16, TxQueueSize = 16, ReceiveRing = true, ReceiveBufferSize = 1 });
        DriverHarness.Post(driver, 16);
        using Socket sender = NamespaceThread.Run(ns.Name, () => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
        var target = new IPEndPoint(IPAddress.Parse("10.77.0.2"), UdpPort);
        var payloads = new List<byte[][]>();
        for (int i = 0; i < supers; i++)
        {
            byte[] payload = RandomNumberGenerator.GetBytes(segment * perSuper);
            sender.SetRawSocketOption(17, 103, BitConverter.GetBytes(segment));
            sender.SendTo(payload, target);
            sender.SetRawSocketOption(17, 103, BitConverter.GetBytes(0));
            sender.SendTo(new byte[] { 0x4e, 0x42, (byte)i }, target);
            payloads.Add(payload.Chunk(segment).ToArray());
        }

        var seen = new List<byte[]>();
        var batch = new NetBufPtr[16];
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!seen.Any(f => f.Length == 3 && f[2] == supers - 1) && clock.Elapsed < DriverHarness.ReplyTimeout)
        {
            _ = driver.WaitForReceive(TimeSpan.FromMilliseconds(100));
            int received = driver.ReceiveBatch(batch);
            for (int i = 0; i < received; i++)
            {
                byte[] frame = batch[i].Packet.ToArray();
                if (IsUdpToTestPort(frame))
                {
                    seen.Add(frame.AsSpan(14 + 20 + 8).ToArray());
                }

                if (!driver.TryRecycleRxBuffer(batch[i]))
                {
                    Assert.That(pool.TryFree(batch[i]), Is.True);
                }
            }
        }

        // Each super-packet is there whole (all its segments, in order) or not at all, and its small datagram follows.
        int at = 0;
        int lost = 0;
        for (int i = 0; i < supers; i++)
        {
            if (at < seen.Count && seen[at].Length == 3)
            {
                lost++;
            }
            else
            {
                Assert.That(seen.Skip(at).Take(perSuper), Is.EqualTo(payloads[i]), $"super-packet {i}: all its segments, in order");
                at += perSuper;
            }

            Assert.That(at < seen.Count ? seen[at] : null, Is.EqualTo(new byte[] { 0x4e, 0x42, (byte)i }), $"the small datagram after super-packet {i}");
            at++;
        }

        Assert.That(at, Is.EqualTo(seen.Count), "nothing else, nothing cut short");
        Assert.That(lost, Is.GreaterThan(0), "the smallest receive buffer refused a copy");
        Assert.That(driver.RingCopyDrops, Is.EqualTo(lost), "each lost super-packet counted once");
        Assert.That(driver.RxDropped, Is.EqualTo(lost), "and as a driver drop");
        Assert.That(driver.RingCopiedFrames, Is.EqualTo(supers - lost));
        TestContext.Out.WriteLine($"{lost} of {supers} super-packets lost to a full receive buffer (receive buffer {driver.ReceiveBufferSize} bytes)");
    }

    /// <summary>
    /// A TCP stream a kernel sends over a veth with TSO on (super-packets of up to 64 KiB), watched by the driver on the
    /// receiving end, whose own kernel is the other end of the connection (a packet socket sees the frames before the IP
    /// stack takes them): every data segment arrives once, MTU-sized, in sequence order with no gap, and the payloads
    /// together are the bytes sent. Through the ring, the super-packets longer than a slot are read from the socket's queue.
    /// </summary>
    [TestCase(false)]
    [TestCase(true)]
    public void A_tcp_stream_sent_in_super_packets_arrives_in_segments_each_once_and_in_order(bool ring)
    {
        const int Size = 1 << 20;
        const int Port = 5002;
        using TestNamespace client = TestNamespace.Create();
        using TestNamespace server = TestNamespace.Create();
        client.IpIn("link", "add", "nbtc0", "type", "veth", "peer", "name", "nbts0", "netns", server.Name);
        client.IpIn("addr", "add", "10.79.0.1/24", "dev", "nbtc0");
        client.IpIn("link", "set", "nbtc0", "up");
        server.IpIn("addr", "add", "10.79.0.2/24", "dev", "nbts0");
        server.IpIn("link", "set", "nbts0", "up");
        Assert.That(client.Exec("ethtool", "-k", "nbtc0"), Does.Contain("tcp-segmentation-offload: on"), "TSO left on");

        // A receive buffer for the whole stream, so no super-packet's copy is refused while the test reads behind the sender.
        using var pool = new NetBufPool(2048, 2048, new NetBufPoolOptions { Name = "tcp-gso" });
        using var driver = new AfPacketDriver(pool, "nbts0", new AfPacketDriverOptions
        {
            NetworkNamespace = server.Name,
            RxQueueSize = 1024, // a ring with room for the whole stream, should the reader be kept off the CPU a while
            TxQueueSize = 16,
            ReceiveRing = ring,
            ReceiveBufferSize = 4 * Size,
        });
        DriverHarness.Post(driver, 256);
        byte[] data = RandomNumberGenerator.GetBytes(Size);
        using Socket listener = NamespaceThread.Run(server.Name, () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        listener.Bind(new IPEndPoint(IPAddress.Parse("10.79.0.2"), Port));
        listener.Listen();
        Task<byte[]> serverSide = Task.Run(() =>
        {
            using Socket accepted = listener.Accept();
            return ReadExactly(accepted, Size);
        });

        // The driver is read while the stream flows (one thread, the only user of the driver meanwhile): a reader that waited
        // for the end would leave the ring to fill with the stream's frames and the server's ACKs, and the kernel would drop.
        var segments = new List<(uint Sequence, byte[] Payload)>();
        Task reader = Task.Run(() =>
        {
            long bytes = 0;
            var batch = new NetBufPtr[32];
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (bytes < Size && clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                _ = driver.WaitForReceive(TimeSpan.FromMilliseconds(100));
                int received = driver.ReceiveBatch(batch);
                for (int i = 0; i < received; i++)
                {
                    byte[] frame = batch[i].Packet.ToArray();
                    Assert.That(frame.Length, Is.LessThanOrEqualTo(driver.Mtu + 14), "every frame handed over is at most an MTU long");
                    if (TryReadTcpData(frame, Port, out uint sequence, out byte[] payload))
                    {
                        segments.Add((sequence, payload));
                        bytes += payload.Length;
                    }

                    if (!driver.TryRecycleRxBuffer(batch[i]))
                    {
                        Assert.That(pool.TryFree(batch[i]), Is.True);
                    }
                }
            }
        });
        using (Socket connecting = NamespaceThread.Run(client.Name, () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)))
        {
            connecting.Connect(new IPEndPoint(IPAddress.Parse("10.79.0.2"), Port));
            connecting.Send(data);
            Assert.That(serverSide.Wait(TimeSpan.FromSeconds(30)), Is.True, "the server's kernel got the stream");
        }

        Assert.That(serverSide.Result, Is.EqualTo(data), "the stream itself is intact");
        Assert.That(reader.Wait(TimeSpan.FromSeconds(40)), Is.True, "the reader ended");
        reader.GetAwaiter().GetResult();

        Assert.That(segments, Is.Not.Empty);
        uint next = segments[0].Sequence;
        using var stream = new MemoryStream();
        for (int i = 0; i < segments.Count; i++)
        {
            Assert.That(segments[i].Sequence, Is.EqualTo(next), $"segment {i} of {segments.Count} follows the one before: no gap, no repeat, in order");
            next += (uint)segments[i].Payload.Length;
            stream.Write(segments[i].Payload);
        }

        Assert.That(stream.ToArray(), Is.EqualTo(data), "the segments' payloads are the bytes sent");
        Assert.That(driver.SuperPacketsSegmented, Is.GreaterThan(0), "the kernel sent super-packets, the driver cut them");
        Assert.That(driver.RxDropped, Is.Zero);
        Assert.That(driver.OffloadDrops, Is.Zero);
        Assert.That(driver.RingCopyDrops, Is.Zero);
        Assert.That(driver.GetStatistics().Drops, Is.Zero, "the kernel dropped nothing for the socket");
        if (ring)
        {
            Assert.That(driver.RingCopiedFrames, Is.GreaterThan(0), "super-packets longer than a slot were read from the socket's queue");
        }

        TestContext.Out.WriteLine($"{segments.Count} segments from {driver.SuperPacketsSegmented} super-packets, {driver.RingCopiedFrames} read from the socket's queue");
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

    /// <summary>Reads a TCP segment with data to <paramref name="port"/> from an untagged IPv4 frame.</summary>
    private static bool TryReadTcpData(byte[] frame, int port, out uint sequence, out byte[] payload)
    {
        sequence = 0;
        payload = [];
        if (frame.Length < 14 + 20 + 20 || frame[12] != 0x08 || frame[13] != 0x00 || frame[23] != 6)
        {
            return false;
        }

        int ipHeader = (frame[14] & 0x0F) * 4;
        int ipLength = (frame[16] << 8) | frame[17];
        int tcp = 14 + ipHeader;
        if (((frame[tcp + 2] << 8) | frame[tcp + 3]) != port)
        {
            return false;
        }

        int tcpHeader = (frame[tcp + 12] >> 4) * 4;
        int start = tcp + tcpHeader;
        int end = 14 + ipLength;
        sequence = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(frame.AsSpan(tcp + 4));
        payload = frame[start..end];
        return payload.Length > 0;
    }

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
