using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using NetBufNative.Apps;
using NetBufNative.Capture;
using NetBufNative.Drivers;
using NetBufNative.Drivers.Linux;
using NetBufNative.Tests.Capture;
using NetBufNative.Tests.Wire;
using NetBufNative.Wire;
using NUnit.Framework;

namespace NetBufNative.Tests.Drivers.Linux;

/// <summary>
/// <see cref="EchoResponderLoop"/> over <see cref="TapDriver"/> and <see cref="AfPacketDriver"/> (single,
/// batched, a fanout group of two workers) in a namespace made for the test: the kernel there resolves
/// the responder by ARP and pings it from a raw ICMP socket; the replies are checked byte for byte as
/// the kernel delivered them and as the responder sent them (recorded by a <see cref="CapturingDriver"/>).
/// Bad frames injected from the kernel's side are counted, never thrown; the pool's counts are exact.
/// </summary>
[NonParallelizable]
public sealed class EchoResponderEndToEndTests
{
    private const string Tap = "nbtap0";
    private const string KernelEnd = "nbk0";
    private const string DriverEnd = "nbd0";
    private const ushort Identifier = 0x4e42;

    private static readonly IPAddress KernelAddress = new(TestNamespace.KernelIp);
    private static readonly IPAddress ResponderAddress = new(TestNamespace.TestIp);
    private static readonly Ipv4Address ResponderIp = Ipv4Address.Read(TestNamespace.TestIp);

    private TestNamespace _ns = null!;
    private NetBufPool _pool = null!;

    [SetUp]
    public void SetUp()
    {
        _ns = TestNamespace.Create();
        _pool = new NetBufPool(1024, 2048, new NetBufPoolOptions { DefaultHeadroom = 64, Name = "responder-e2e" });
    }

    [TearDown]
    public void TearDown()
    {
        _pool?.Dispose();
        _ns?.Dispose();
    }

    [Test]
    public void Over_TAP_the_kernel_resolves_and_pings_the_responder_and_every_reply_is_exact()
    {
        var tap = new TapDriver(_pool, Tap, new TapDriverOptions { NetworkNamespace = _ns.Name });
        _ns.AssignKernelAddress(Tap);
        PingThrough(tap, tap.KernelMacAddress, batchSize: EchoResponderLoopOptions.DefaultBatchSize);
    }

    [TestCase(1)]
    [TestCase(32)]
    public void Over_AF_PACKET_the_kernel_resolves_and_pings_the_responder_and_every_reply_is_exact(int batchSize)
    {
        _ns.AddVethPair(KernelEnd, DriverEnd);
        _ns.AssignKernelAddress(KernelEnd);
        var driver = new AfPacketDriver(_pool, DriverEnd, new AfPacketDriverOptions { NetworkNamespace = _ns.Name, BatchSize = batchSize });
        PingThrough(driver, TestFrames.ParseMac(_ns.MacOf(KernelEnd)), batchSize);
    }

    [Test]
    public void Two_responders_in_a_fanout_group_on_two_threads_share_the_flows_and_one_pool()
    {
        const int sources = 16;
        const int pingsPerSource = 4;
        _ns.AddVethPair(KernelEnd, DriverEnd);
        _ns.AssignKernelAddress(KernelEnd);
        for (int i = 0; i < sources; i++)
        {
            _ns.IpIn("addr", "add", $"10.77.0.{100 + i}/24", "dev", KernelEnd);
        }

        var options = new AfPacketDriverOptions { NetworkNamespace = _ns.Name, FanoutGroup = 4343 };
        var drivers = new[] { new AfPacketDriver(_pool, DriverEnd, options), new AfPacketDriver(_pool, DriverEnd, options) };
        var loops = drivers.Select(d => new EchoResponderLoop(d, ResponderIp, new EchoResponderLoopOptions { PostedBuffers = 64 })).ToArray();
        var pingers = new List<KernelPinger>();
        using var stop = new CancellationTokenSource();
        var failures = new Exception?[2];
        var threads = loops.Select((loop, w) => new Thread(() => failures[w] = RunCatching(loop, stop.Token)) { IsBackground = true, Name = $"responder {w}" }).ToArray();
        try
        {
            foreach (Thread thread in threads)
            {
                thread.Start();
            }

            for (int i = 0; i < sources; i++)
            {
                pingers.Add(new KernelPinger(_ns, IPAddress.Parse($"10.77.0.{100 + i}")));
            }

            for (int k = 0; k < pingsPerSource; k++)
            {
                for (int i = 0; i < sources; i++)
                {
                    ushort sequence = (ushort)((i * pingsPerSource) + k);
                    pingers[i].Send(ResponderAddress, Identifier, sequence, 32);
                    byte[] reply = pingers[i].Receive(Identifier, sequence, DriverHarness.ReplyTimeout);
                    KernelPinger.CheckReply(reply, ResponderAddress, IPAddress.Parse($"10.77.0.{100 + i}"), Identifier, sequence, 32);
                }
            }
        }
        finally
        {
            stop.Cancel();
            foreach (Thread thread in threads)
            {
                Assert.That(!thread.IsAlive || thread.Join(DriverHarness.ReplyTimeout), Is.True, "the responder stopped");
            }

            pingers.ForEach(p => p.Dispose());
        }

        Assert.That(failures, Is.All.Null, "nothing escaped a loop");
        EchoResponderCounters[] counters = loops.Select(l => l.Counters).ToArray();
        TestContext.Out.WriteLine($"worker 0: {counters[0]}\nworker 1: {counters[1]}");
        Assert.That(counters.Sum(c => c.EchoReplies), Is.EqualTo(sources * pingsPerSource), "each echo answered once, by one worker");
        Assert.That(counters.All(c => c.EchoReplies > 0), Is.True, $"the hash spread {sources} flows over both workers");
        Assert.That(counters.Sum(c => c.ArpReplies), Is.GreaterThanOrEqualTo(1));
        Assert.That(counters.Sum(c => c.Malformed + c.TransmitDropped + c.TransmitErrors), Is.Zero);
        Assert.That(_pool.InUse, Is.EqualTo(drivers[0].HeldBuffers + drivers[1].HeldBuffers));
        drivers[0].Dispose();
        drivers[1].Dispose();
        Assert.That(_pool.InUse, Is.Zero);
    }

    [TestCase("tap")]
    [TestCase("afpacket")]
    public void Bad_frames_from_the_wire_are_counted_and_the_responder_goes_on(string kind)
    {
        // An MTU above a buffer's room (1984 bytes after the headroom), so an oversized frame can be sent at all.
        INetDriver driver;
        string wire;
        if (kind == "tap")
        {
            driver = new TapDriver(_pool, Tap, new TapDriverOptions { NetworkNamespace = _ns.Name });
            _ns.AssignKernelAddress(Tap);
            _ns.IpIn("link", "set", Tap, "mtu", "4000");
            wire = Tap;
        }
        else
        {
            _ns.AddVethPair(KernelEnd, DriverEnd);
            _ns.IpIn("link", "set", KernelEnd, "mtu", "4000");
            _ns.IpIn("link", "set", DriverEnd, "mtu", "4000");
            _ns.AssignKernelAddress(KernelEnd);
            driver = new AfPacketDriver(_pool, DriverEnd, new AfPacketDriverOptions { NetworkNamespace = _ns.Name });
            wire = KernelEnd;
        }

        var loop = new EchoResponderLoop(driver, ResponderIp);
        MacAddress responder = loop.MacAddress;
        MacAddress kernel = TestFrames.ParseMac(_ns.MacOf(wire));
        using var injectorPool = new NetBufPool(16, 8192, new NetBufPoolOptions { Name = "injector" });
        using var injector = new AfPacketDriver(injectorPool, wire, new AfPacketDriverOptions { NetworkNamespace = _ns.Name, RxQueueSize = 1, TxQueueSize = 8 });
        using var stop = new CancellationTokenSource();
        Exception? failure = null;
        var thread = new Thread(() => failure = RunCatching(loop, stop.Token)) { IsBackground = true, Name = "responder" };
        thread.Start();
        try
        {
            byte[] ping = new byte[TestFrames.IcmpHeadersLength + 16];
            TestFrames.EchoRequest(ping, kernel, responder, TestNamespace.KernelIp, TestNamespace.TestIp, Identifier, 1, 16);
            byte[] arp = new byte[TestFrames.ArpFrameLength];
            TestFrames.ArpRequest(arp, kernel, TestNamespace.KernelIp, TestNamespace.TestIp);
            (byte[] Frame, bool Malformed)[] bad =
            [
                (Changed(ping, f => f[14] = 0x44), true), // IHL 4
                (Changed(ping, f => BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(16), 1500)), true), // total length past the frame
                (Changed(ping, f => f[25] ^= 1), true), // bad IPv4 checksum
                (ping[..20], true), // IPv4 cut inside its header
                (arp[..24], true), // ARP cut short
                (Changed(ping, f => { f[12] = 0x86; f[13] = 0xDD; }), false), // IPv6 ethertype
                (Changed(ping, f => { f[12] = 0x12; f[13] = 0x34; }), false), // unknown ethertype
                (Changed(ping, f => f[37] ^= 1), false), // bad ICMP checksum: well-formed IPv4, not answered
            ];
            foreach ((byte[] frame, bool _) in bad)
            {
                Inject(injector, frame);
            }

            byte[] oversized = new byte[3000];
            responder.WriteTo(oversized);
            kernel.WriteTo(oversized.AsSpan(6));
            oversized[12] = 0x08;
            Inject(injector, oversized);

            int malformed = bad.Count(b => b.Malformed);
            var clock = Stopwatch.StartNew();
            while (loop.Counters.Malformed + loop.Counters.Ignored < bad.Length && clock.Elapsed < DriverHarness.ReplyTimeout)
            {
                Thread.Sleep(10);
            }

            // The responder still answers the kernel after all that.
            using (var pinger = new KernelPinger(_ns))
            {
                pinger.Send(ResponderAddress, Identifier, 77, 100);
                KernelPinger.CheckReply(pinger.Receive(Identifier, 77, DriverHarness.ReplyTimeout), ResponderAddress, KernelAddress, Identifier, 77, 100);
            }

            EchoResponderCounters counters = loop.Counters;
            TestContext.Out.WriteLine(counters);
            Assert.That(counters.Malformed, Is.EqualTo(malformed));
            Assert.That(counters.Ignored, Is.GreaterThanOrEqualTo(bad.Length - malformed), "plus anything the kernel sent on its own");
            Assert.That(counters.EchoReplies, Is.EqualTo(1));
            long dropped = driver is TapDriver tap ? tap.RxDropped : ((AfPacketDriver)driver).RxDropped;
            Assert.That(dropped, Is.EqualTo(1), "the oversized frame, dropped by the driver");
        }
        finally
        {
            stop.Cancel();
            Assert.That(thread.Join(DriverHarness.ReplyTimeout), Is.True, "the responder stopped");
        }

        Assert.That(failure, Is.Null, "nothing escaped the loop");
        Assert.That(_pool.InUse, Is.EqualTo(Held(driver)));
        driver.Dispose();
        Assert.That(_pool.InUse, Is.Zero);
    }

    /// <summary>Runs the responder over <paramref name="driver"/> (recorded), pings it from the kernel, checks everything, disposes the driver.</summary>
    private void PingThrough(INetDriver driver, MacAddress kernelMac, int batchSize)
    {
        using var stream = new MemoryStream();
        using var writer = new PcapWriter(stream, leaveOpen: true);
        var captured = new CapturingDriver(driver, writer);
        var loop = new EchoResponderLoop(captured, ResponderIp, new EchoResponderLoopOptions { BatchSize = batchSize });
        MacAddress responder = loop.MacAddress;
        Assert.That(responder, Is.EqualTo(driver.MacAddress), "the responder sends from the driver's address, with no knowledge of the driver's type");
        if (driver is TapDriver tap)
        {
            Assert.That(responder, Is.Not.EqualTo(tap.KernelMacAddress), "over TAP the driver's address is the program's side, not the kernel's");
            Assert.That(responder.IsMulticast, Is.False);
        }

        using var stop = new CancellationTokenSource();
        Exception? failure = null;
        var thread = new Thread(() => failure = RunCatching(loop, stop.Token)) { IsBackground = true, Name = "responder" };
        thread.Start();
        const int count = 20;
        try
        {
            using var pinger = new KernelPinger(_ns);
            for (int sequence = 0; sequence < count; sequence++)
            {
                // 0 to 1330 bytes of data: short and near-MTU echoes.
                int dataLength = sequence * 70;
                pinger.Send(ResponderAddress, Identifier, (ushort)sequence, dataLength);
                byte[] reply = pinger.Receive(Identifier, (ushort)sequence, DriverHarness.ReplyTimeout);
                KernelPinger.CheckReply(reply, ResponderAddress, KernelAddress, Identifier, (ushort)sequence, dataLength);
            }
        }
        finally
        {
            stop.Cancel();
            Assert.That(thread.Join(DriverHarness.ReplyTimeout), Is.True, "the responder stopped on cancellation");
        }

        Assert.That(failure, Is.Null, "nothing escaped the loop");
        EchoResponderCounters counters = loop.Counters;
        TestContext.Out.WriteLine(counters);
        Assert.That(counters.EchoReplies, Is.EqualTo(count));
        Assert.That(counters.ArpReplies, Is.GreaterThanOrEqualTo(1), "the kernel resolved the responder");
        Assert.That(counters.Malformed + counters.TransmitDropped + counters.TransmitErrors, Is.Zero);
        Assert.That(counters.Received, Is.EqualTo(counters.ArpReplies + counters.EchoReplies + counters.Ignored));
        Assert.That(_ns.IpIn("neigh", "show", "10.77.0.2"), Does.Contain($"lladdr {responder}"), "the kernel's neighbour entry");

        // The frames as the responder received and sent them.
        writer.Flush();
        List<byte[]> frames = PcapWriterTests.ReadRecords(stream.ToArray()).Select(r => r.Data).ToList();
        byte[] arpReply = frames.First(f => TestFrames.IsArpReply(f));
        TestFrames.CheckArpReply(arpReply, responder, kernelMac, TestNamespace.TestIp, TestNamespace.KernelIp);
        List<byte[]> echoReplies = frames.Where(f => TestFrames.IsEchoReply(f)).ToList();
        Assert.That(echoReplies, Has.Count.EqualTo(count));
        for (int sequence = 0; sequence < count; sequence++)
        {
            TestFrames.CheckEchoReply(echoReplies[sequence], responder, kernelMac, TestNamespace.TestIp, TestNamespace.KernelIp, Identifier, (ushort)sequence, sequence * 70);
        }

        Assert.That(writer.FramesWritten, Is.EqualTo(counters.Received + counters.Transmitted), "every frame recorded");
        Assert.That(_pool.InUse, Is.EqualTo(Held(driver)), "the driver holds every buffer out");
        captured.Dispose();
        Assert.That(_pool.InUse, Is.Zero, "all back once the driver is disposed");
    }

    private static Exception? RunCatching(EchoResponderLoop loop, CancellationToken stop)
    {
        try
        {
            // 60 s: a bound for a broken test only; the test cancels it within seconds.
            _ = loop.Run(TimeSpan.FromSeconds(60), cancellationToken: stop);
            return null;
        }
#pragma warning disable CA1031 // Reported to the test thread, which fails on it.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            return exception;
        }
    }

    private static int Held(INetDriver driver) => driver switch
    {
        TapDriver tap => tap.HeldBuffers,
        AfPacketDriver packet => packet.HeldBuffers,
        _ => throw new ArgumentException("not a Linux driver", nameof(driver)),
    };

    private static void Inject(AfPacketDriver injector, byte[] frame)
    {
        NetBufPtr buffer = injector.AllocTxBuffer(frame.Length);
        frame.CopyTo(buffer.Packet);
        Assert.That(injector.TryTransmit(buffer), Is.True, "injected");
        _ = injector.RecycleTxBuffers();
    }

    private static byte[] Changed(byte[] frame, Action<byte[]> change)
    {
        byte[] copy = (byte[])frame.Clone();
        change(copy);
        return copy;
    }
}
