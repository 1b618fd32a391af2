using System.Net;
using NetBufNative.Apps;
using NetBufNative.Drivers;
using NetBufNative.Drivers.Linux;
using NetBufNative.Drivers.Linux.Xdp;
using NetBufNative.Wire;
using NUnit.Framework;

namespace NetBufNative.Tests.Drivers.Linux.Xdp;

/// <summary>
/// <see cref="XdpDriver"/> scaled out over the queues of one interface: a veth pair with two queues
/// each way inside a namespace made for the test, one AF_XDP socket per queue sharing one pool as
/// their UMEM (<see cref="XdpDriverOptions.ShareUmemWith"/>), each served by an echo responder on its
/// own thread; the kernel pings from many addresses so its flow hash spreads the requests over both
/// queues. Also what a thread without the capabilities gets: a clear Unsupported error, nothing left.
/// </summary>
[NonParallelizable]
public sealed class XdpMultiQueueTests
{
    private const string KernelEnd = "nbk0";
    private const string DriverEnd = "nbd0";
    private const ushort Identifier = 0x4e51;

    private static readonly IPAddress ResponderAddress = new(TestNamespace.TestIp);
    private static readonly Ipv4Address ResponderIp = Ipv4Address.Read(TestNamespace.TestIp);

    private TestNamespace _ns = null!;
    private NetBufPool _pool = null!;

    [SetUp]
    public void SetUp()
    {
        _ns = TestNamespace.Create();

        // Two queues on both ends: native XDP on a veth needs at least as many receive queues as its peer sends on.
        _ns.IpIn("link", "add", KernelEnd, "numtxqueues", "2", "numrxqueues", "2", "type", "veth", "peer", "name", DriverEnd, "numtxqueues", "2", "numrxqueues", "2");
        _ns.IpIn("link", "set", DriverEnd, "up");
        _ns.AssignKernelAddress(KernelEnd);
        _pool = XdpDriver.CreatePool(1024, name: "xdp-queues");
    }

    [TearDown]
    public void TearDown()
    {
        _pool?.Dispose();
        _ns?.Dispose();
    }

    [Test]
    public void Two_queues_share_one_pool_as_UMEM_and_each_answers_its_share_of_the_pings_on_its_own_thread()
    {
        const int sources = 16;
        const int pingsPerSource = 8;
        const int dataLength = 56;
        for (int i = 0; i < sources; i++)
        {
            _ns.IpIn("addr", "add", $"10.77.0.{100 + i}/24", "dev", KernelEnd);
        }

        // Native attach: a veth then runs the program on the receive queue the peer's transmit queue maps to.
        var first = new XdpDriver(_pool, DriverEnd, new XdpDriverOptions { NetworkNamespace = _ns.Name, QueueId = 0, AttachMode = XdpAttachMode.Native, BindMode = XdpBindMode.Copy, RxQueueSize = 128, TxQueueSize = 128 });
        XdpDriver? second = null;
        var pingers = new List<KernelPinger>();
        EchoResponderLoop[] loops;
        XdpDriver[] drivers;
        try
        {
            second = new XdpDriver(_pool, DriverEnd, new XdpDriverOptions { NetworkNamespace = _ns.Name, QueueId = 1, ShareUmemWith = first, RxQueueSize = 128, TxQueueSize = 128 });
            drivers = [first, second];
            Assert.That(second.QueueId, Is.EqualTo(1));
            Assert.That(second.AttachMode, Is.EqualTo(XdpAttachMode.Native), "the first driver's program");
            Assert.That(second.ProgramName, Is.EqualTo(first.ProgramName));
            Assert.That(second.IsZeroCopy, Is.False);
            Assert.That(second.MacAddress, Is.EqualTo(first.MacAddress));
            loops = drivers.Select(d => new EchoResponderLoop(d, ResponderIp, new EchoResponderLoopOptions { PostedBuffers = 64 })).ToArray();
            using var stop = new CancellationTokenSource();
            var failures = new Exception?[2];
            var threads = loops.Select((loop, q) => new Thread(() => failures[q] = RunCatching(loop, stop.Token)) { IsBackground = true, Name = $"xdp queue {q}" }).ToArray();
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
                        pingers[i].Send(ResponderAddress, Identifier, sequence, dataLength);
                        byte[] reply = pingers[i].Receive(Identifier, sequence, DriverHarness.ReplyTimeout);
                        KernelPinger.CheckReply(reply, ResponderAddress, IPAddress.Parse($"10.77.0.{100 + i}"), Identifier, sequence, dataLength);
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
            TestContext.Out.WriteLine($"queue 0: {counters[0]} ({first.GetStatistics()})\nqueue 1: {counters[1]} ({second.GetStatistics()})");
            Assert.That(counters.Sum(c => c.EchoReplies), Is.EqualTo(sources * pingsPerSource), "each echo answered once, by one queue");
            Assert.That(counters.All(c => c.EchoReplies > 0), Is.True, $"the kernel's flow hash spread {sources} flows over both queues");
            Assert.That(first.RxFrames > 0 && second.RxFrames > 0, Is.True, "traffic arrived on both sockets");
            Assert.That(counters.Sum(c => c.ArpReplies), Is.GreaterThanOrEqualTo(1));
            Assert.That(counters.Sum(c => c.Malformed + c.TransmitDropped + c.TransmitErrors), Is.Zero);
            Assert.That(first.RxInvalid + second.RxInvalid, Is.Zero);
            Assert.That(_pool.InUse, Is.EqualTo(first.HeldBuffers + second.HeldBuffers), "every buffer out of the pool is held by one queue's driver");

            // The program serves the queue still open until its last driver goes.
            first.Dispose();
            Assert.That(XdpOn(DriverEnd), Does.Contain("xdp"), "the second queue's driver keeps the program attached");
            Assert.That(_pool.InUse, Is.EqualTo(second.HeldBuffers));
        }
        finally
        {
            first.Dispose();
            second?.Dispose();
        }

        Assert.That(_pool.InUse, Is.Zero, "every buffer back from both queues");
        Assert.That(XdpOn(DriverEnd), Does.Not.Contain("xdp"), "nothing left attached");
    }

    [Test]
    public void Sharing_needs_the_same_pool_and_interface_and_another_queue_and_leaves_nothing_on_failure()
    {
        using var first = new XdpDriver(_pool, DriverEnd, new XdpDriverOptions { NetworkNamespace = _ns.Name, BindMode = XdpBindMode.Copy, RxQueueSize = 64, TxQueueSize = 64 });
        using (NetBufPool other = XdpDriver.CreatePool(256, name: "other"))
        {
            NetDriverException? error = Assert.Throws<NetDriverException>(() => new XdpDriver(other, DriverEnd, new XdpDriverOptions { NetworkNamespace = _ns.Name, QueueId = 1, ShareUmemWith = first, RxQueueSize = 64, TxQueueSize = 64 }));
            Assert.That(error!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
            Assert.That(error.Message, Does.Contain("another pool").And.Contain("same pool"));
        }

        NetDriverException? sameQueue = Assert.Throws<NetDriverException>(() => new XdpDriver(_pool, DriverEnd, new XdpDriverOptions { NetworkNamespace = _ns.Name, QueueId = 0, ShareUmemWith = first, RxQueueSize = 64, TxQueueSize = 64 }));
        Assert.That(sameQueue!.Message, Does.Contain("same queue"));
        NetDriverException? otherDevice = Assert.Throws<NetDriverException>(() => new XdpDriver(_pool, KernelEnd, new XdpDriverOptions { NetworkNamespace = _ns.Name, QueueId = 1, ShareUmemWith = first, RxQueueSize = 64, TxQueueSize = 64 }));
        Assert.That(otherDevice!.Message, Does.Contain("another interface"));
        NetDriverException? noQueue = Assert.Throws<NetDriverException>(() => new XdpDriver(_pool, DriverEnd, new XdpDriverOptions { NetworkNamespace = _ns.Name, QueueId = 7, ShareUmemWith = first, RxQueueSize = 64, TxQueueSize = 64 }));
        Assert.That(noQueue!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam), noQueue.Message);
        Assert.That(_pool.Reserved, Is.EqualTo(128), "only the first driver's rings: the failed ones released theirs");

        using (var second = new XdpDriver(_pool, DriverEnd, new XdpDriverOptions { NetworkNamespace = _ns.Name, QueueId = 1, ShareUmemWith = first, RxQueueSize = 64, TxQueueSize = 64 }))
        {
            Assert.That(_pool.InUse, Is.Zero);
        }

        Assert.That(XdpOn(DriverEnd), Does.Contain("xdp"), "the first driver's program stays");
        first.Dispose();
        Assert.That(XdpOn(DriverEnd), Does.Not.Contain("xdp"));
        NetDriverException? disposed = Assert.Throws<NetDriverException>(() => new XdpDriver(_pool, DriverEnd, new XdpDriverOptions { NetworkNamespace = _ns.Name, QueueId = 1, ShareUmemWith = first, RxQueueSize = 64, TxQueueSize = 64 }));
        Assert.That(disposed!.Kind, Is.EqualTo(NetDriverErrorKind.BadState));
        Assert.That(XdpOn(DriverEnd), Does.Not.Contain("xdp"), "no failed attempt left a program");
        Assert.That(_pool.Reserved, Is.Zero, "nor a reservation");
    }

    [Test]
    public void A_queue_whose_rings_the_shared_pool_cannot_cover_besides_the_others_is_refused_naming_them()
    {
        // 1024 buffers: queue 0's rings of 512 + 256 leave 256, too few for queue 1's 256 + 256.
        using var first = new XdpDriver(_pool, DriverEnd, new XdpDriverOptions { NetworkNamespace = _ns.Name, BindMode = XdpBindMode.Copy, RxQueueSize = 512, TxQueueSize = 256 });
        NetDriverException? error = Assert.Throws<NetDriverException>(() => new XdpDriver(_pool, DriverEnd, new XdpDriverOptions { NetworkNamespace = _ns.Name, QueueId = 1, ShareUmemWith = first, RxQueueSize = 256, TxQueueSize = 256 }));
        Assert.That(error!.Kind, Is.EqualTo(NetDriverErrorKind.InvalidParam));
        Assert.That(error.Message, Does.Contain($"xdp-queues cannot reserve 512 buffers for the AF_XDP driver of {DriverEnd} queue 1 in namespace {_ns.Name} (receive queue 256, transmit queue 256)"));
        Assert.That(error.Message, Does.Contain($"768 by the AF_XDP driver of {DriverEnd} queue 0 in namespace {_ns.Name} (receive queue 512, transmit queue 256)), so 256 are left"));
        Assert.That(error.Message, Does.Contain("at least 1280 buffers"));
        Assert.That(_pool.Reserved, Is.EqualTo(768));

        using (var second = new XdpDriver(_pool, DriverEnd, new XdpDriverOptions { NetworkNamespace = _ns.Name, QueueId = 1, ShareUmemWith = first, RxQueueSize = 128, TxQueueSize = 128 }))
        {
            Assert.That(_pool.Reserved, Is.EqualTo(1024), "rings that fit what is left");
        }

        Assert.That(_pool.Reserved, Is.EqualTo(768), "the second queue's disposal released its rings");
    }

    /// <summary>Whichever call the kernel refuses first, the message names every capability the
    /// driver needs, so granting what it says is enough.</summary>
    [TestCase("none", "socket(AF_XDP)")]
    [TestCase("raw-only", "bpf(BPF_MAP_CREATE")]
    public void Without_the_capabilities_the_driver_reports_Unsupported_and_leaves_nothing_attached(string keep, string failingCall)
    {
        // Capabilities are per thread: the namespace's set-up thread drops them from its effective set
        // (it ends afterwards), so the driver's system calls meet the kernel's EPERM as an unprivileged
        // process would; the test process keeps its own.
        int[] kept = keep == "raw-only" ? [ThreadCapabilities.NetRaw, ThreadCapabilities.IpcLock] : [];
        NetDriverException? error = null;
        bool dropped = NamespaceThread.Run(_ns.Name, () =>
        {
            if (!ThreadCapabilities.KeepOnly(kept))
            {
                return false;
            }

            try
            {
                using var driver = new XdpDriver(_pool, DriverEnd, new XdpDriverOptions { BindMode = XdpBindMode.Copy, RxQueueSize = 64, TxQueueSize = 64 });
            }
            catch (NetDriverException exception)
            {
                error = exception;
            }

            return true;
        });
        Assert.That(dropped, Is.True, "capset dropped the thread's capabilities");
        Assert.That(error, Is.Not.Null, "the driver could not be made");
        Assert.That(error!.Kind, Is.EqualTo(NetDriverErrorKind.Unsupported), error.Message);
        Assert.That(error.ErrorNumber, Is.EqualTo(1), "EPERM");
        Assert.That(error.Message, Does.Contain(failingCall));
        Assert.That(error.Message, Does.Contain("CAP_NET_RAW").And.Contain("CAP_NET_ADMIN").And.Contain("CAP_BPF").And.Contain("CAP_IPC_LOCK").And.Contain("RLIMIT_MEMLOCK"), "every capability, whichever call failed");
        Assert.That(error.Message, Does.Contain("setcap cap_net_admin,cap_net_raw,cap_bpf,cap_ipc_lock+ep"));
        Assert.That(_pool.InUse, Is.Zero);
        Assert.That(XdpOn(DriverEnd), Does.Not.Contain("xdp"), "nothing left attached");
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

    /// <summary>What <c>ip link show</c> says about the interface's XDP attachment.</summary>
    private string XdpOn(string device) => _ns.IpIn("link", "show", "dev", device);
}
