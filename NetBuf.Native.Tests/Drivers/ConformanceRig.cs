using System.Diagnostics;
using NetBufNative.Drivers;
using NetBufNative.Drivers.Linux;
using NetBufNative.Drivers.Linux.Xdp;
using NetBufNative.Tests.Drivers.Linux;
using NetBufNative.Wire;
using NUnit.Framework;

namespace NetBufNative.Tests.Drivers;

/// <summary>
/// One driver under test with a peer on the other end of its wire: frames the peer sends arrive at
/// the driver, frames the driver sends are read by the peer. The peer is another loopback end for
/// the loopback driver, and an <see cref="AfPacketDriver"/> on the kernel's end (a veth peer, or
/// the TAP interface itself) with its own pool for the Linux drivers, so the driver's pool counts
/// only the driver's buffers.
/// </summary>
internal abstract class ConformanceRig : IDisposable
{
    /// <summary>The EtherType of every test frame: IEEE's "local experimental" 0x88B5, which nothing else on the wire uses.</summary>
    internal const ushort TestEtherType = 0x88B5;

    /// <summary>How long a test waits for a frame: they come in microseconds; the bound only ends a broken test.</summary>
    internal static readonly TimeSpan FrameTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The kinds every conformance test runs over: AF_PACKET with its defaults (the receive ring, <c>sendmmsg</c>), with
    /// <c>recvmmsg</c> (<see cref="AfPacketDriverOptions.ReceiveRing"/> off) and with the transmit ring too
    /// (<see cref="AfPacketDriverOptions.TransmitRing"/>: both rings in one mapping).</summary>
    internal static readonly string[] Kinds = ["loopback", "tap", "afpacket", "afpacket-recvmmsg", "afpacket-txring", "xdp"];

    /// <summary>The kinds with an interface to delete, set down or resize.</summary>
    internal static readonly string[] InterfaceKinds = ["tap", "afpacket", "afpacket-recvmmsg", "afpacket-txring", "xdp"];

    /// <summary>The driver under test.</summary>
    internal abstract INetDriver Driver { get; }

    /// <summary>The driver's pool.</summary>
    internal NetBufPool Pool => Driver.Pool;

    /// <summary>Whether the interface can be deleted, set down or given another MTU (the Linux drivers).</summary>
    internal virtual bool HasInterface => false;

    /// <summary>Buffers of the driver's pool that the peer holds (the loopback peer shares the pool).</summary>
    internal virtual int PeerHeld => 0;

    internal static ConformanceRig Create(string kind) => kind switch
    {
        "loopback" => new LoopbackRig(),
        "tap" => new TapRig(),
        "afpacket" => new AfPacketRig(new AfPacketDriverOptions()),
        "afpacket-recvmmsg" => new AfPacketRig(new AfPacketDriverOptions { ReceiveRing = false }),
        "afpacket-txring" => new AfPacketRig(new AfPacketDriverOptions { TransmitRing = true }),
        "xdp" => new XdpRig(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown driver kind"),
    };

    /// <summary>A test frame of <paramref name="length"/> bytes whose payload starts with <paramref name="marker"/>.</summary>
    internal static byte[] Frame(int length, byte marker)
    {
        var frame = new byte[length];
        MacAddress.Broadcast.WriteTo(frame);
        new MacAddress(0x02, 0, 0, 0, 0, 0x42).WriteTo(frame.AsSpan(6));
        frame[12] = TestEtherType >> 8;
        frame[13] = TestEtherType & 0xFF;
        for (int i = 14; i < length; i++)
        {
            frame[i] = (byte)(marker + i);
        }

        return frame;
    }

    /// <summary>Whether <paramref name="frame"/> is a test frame.</summary>
    internal static bool IsTestFrame(ReadOnlySpan<byte> frame) =>
        frame.Length >= 14 && frame[12] == TestEtherType >> 8 && frame[13] == (TestEtherType & 0xFF);

    /// <summary>Makes a frame arrive at the driver.</summary>
    internal abstract void Inject(byte[] frame);

    /// <summary>The next test frame the driver sent, as the peer saw it; null when none came in time.</summary>
    internal abstract byte[]? TakeSent(TimeSpan timeout);

    /// <summary>Receives one test frame at the driver (other frames are re-posted), or fails the test.</summary>
    internal NetBufPtr ReceiveTestFrame()
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < FrameTimeout)
        {
            _ = Driver.WaitForReceive(TimeSpan.FromMilliseconds(50));
            while (Driver.TryReceive(out NetBufPtr received))
            {
                if (IsTestFrame(received.Packet))
                {
                    return received;
                }

                Assert.That(Driver.TryRecycleRxBuffer(received), Is.True, "re-posted");
            }
        }

        Assert.Fail($"no test frame reached {Driver.DeviceName} within {FrameTimeout.TotalSeconds} s");
        return default;
    }

    /// <summary>A fresh lent buffer of the driver's pool.</summary>
    internal NetBufPtr AllocPointer()
    {
        var one = new NetBufPtr[1];
        Assert.That(Pool.TryAllocBulk(one), Is.True);
        return one[0];
    }

    /// <summary>A buffer of the driver's holding <paramref name="frame"/>, to transmit.</summary>
    internal NetBufPtr AllocFrame(byte[] frame)
    {
        NetBufPtr tx = Driver.AllocTxBuffer(frame.Length);
        frame.CopyTo(tx.Packet);
        return tx;
    }

    /// <summary>Posts <paramref name="count"/> fresh receive buffers to the driver.</summary>
    internal void Post(int count)
    {
        for (int i = 0; i < count; i++)
        {
            Assert.That(Driver.TryRecycleRxBuffer(AllocPointer()), Is.True);
        }
    }

    /// <summary>Recycles until <paramref name="count"/> sent buffers came back, or fails the test.</summary>
    internal void RecycleUntil(int count)
    {
        int recycled = 0;
        var deadline = DateTime.UtcNow + FrameTimeout;
        while (recycled < count && DateTime.UtcNow < deadline)
        {
            recycled += Driver.RecycleTxBuffers();
            if (recycled < count)
            {
                Thread.Sleep(1);
            }
        }

        Assert.That(recycled, Is.EqualTo(count));
    }

    /// <summary>Disposes the driver and checks that every buffer of its pool is back (but the peer's).</summary>
    internal void AssertAllBackAfterDispose()
    {
        Driver.Dispose();
        Assert.That(Pool.InUse - PeerHeld, Is.Zero, "every buffer is back once the driver is disposed");
    }

    internal virtual void DeleteInterface() => throw new NotSupportedException();

    internal virtual void SetDown() => throw new NotSupportedException();

    internal virtual void SetMtu(int mtu) => throw new NotSupportedException();

    /// <summary>Disposes the driver, the peer and the namespace; the pools last.</summary>
    public abstract void Dispose();

    private sealed class LoopbackRig : ConformanceRig
    {
        private readonly NetBufPool _pool = new(256, 2048, new NetBufPoolOptions { Name = "conformance-loopback" });
        private readonly LoopbackDriver _driver;
        private readonly LoopbackDriver _peer;

        internal LoopbackRig()
        {
            (_driver, _peer) = LoopbackDriver.CreatePair(_pool, queueSize: 64);
            var posted = new NetBufPtr[32];
            Assert.That(_pool.TryAllocBulk(posted), Is.True);
            foreach (NetBufPtr buffer in posted)
            {
                Assert.That(_peer.TryRecycleRxBuffer(buffer), Is.True);
            }
        }

        internal override INetDriver Driver => _driver;

        internal override int PeerHeld => _peer.HeldBuffers;

        internal override void Inject(byte[] frame)
        {
            _ = _peer.RecycleTxBuffers();
            NetBufPtr buffer = _peer.AllocTxBuffer(frame.Length);
            frame.CopyTo(buffer.Packet);
            Assert.That(_peer.TryTransmit(buffer), Is.True, "the peer sent the frame");
        }

        internal override byte[]? TakeSent(TimeSpan timeout)
        {
            if (!_peer.TryReceive(out NetBufPtr received))
            {
                return null;
            }

            byte[] bytes = received.Packet.ToArray();
            Assert.That(_peer.TryRecycleRxBuffer(received), Is.True);
            return bytes;
        }

        public override void Dispose()
        {
            _driver.Dispose();
            _peer.Dispose();
            _pool.Dispose();
        }
    }

    /// <summary>A Linux driver in a namespace the rig makes, with an AF_PACKET peer on the kernel's end.</summary>
    private abstract class LinuxRig : ConformanceRig
    {
        private readonly NetBufPool _peerPool = new(256, 2048, new NetBufPoolOptions { Name = "conformance-peer" });
        private AfPacketDriver? _peer;

        protected LinuxRig() => Namespace = TestNamespace.Create();

        internal override bool HasInterface => true;

        protected TestNamespace Namespace { get; }

        /// <summary>The interface the driver serves (deleted, set down, MTU changed by the fault tests).</summary>
        protected abstract string DriverInterface { get; }

        protected abstract NetBufPool DriverPool { get; }

        /// <summary>Opens the peer on <paramref name="peerInterface"/> and posts its receive buffers.</summary>
        protected void OpenPeer(string peerInterface)
        {
            _peer = new AfPacketDriver(_peerPool, peerInterface, new AfPacketDriverOptions { NetworkNamespace = Namespace.Name, RxQueueSize = 64, TxQueueSize = 64 });
            DriverHarness.Post(_peer, 64);
        }

        internal override void Inject(byte[] frame)
        {
            _ = _peer!.RecycleTxBuffers();
            NetBufPtr buffer = _peer.AllocTxBuffer(frame.Length);
            frame.CopyTo(buffer.Packet);
            Assert.That(_peer.TryTransmit(buffer), Is.True, "the peer sent the frame");
        }

        internal override byte[]? TakeSent(TimeSpan timeout)
        {
            var clock = Stopwatch.StartNew();
            do
            {
                _ = _peer!.WaitForReceive(TimeSpan.FromMilliseconds(20));
                while (_peer.TryReceive(out NetBufPtr received))
                {
                    byte[] bytes = received.Packet.ToArray();
                    Assert.That(_peer.TryRecycleRxBuffer(received), Is.True);
                    if (IsTestFrame(bytes))
                    {
                        return bytes;
                    }
                }
            }
            while (clock.Elapsed < timeout);
            return null;
        }

        internal override void DeleteInterface() => Namespace.IpIn("link", "del", DriverInterface);

        internal override void SetDown() => Namespace.IpIn("link", "set", DriverInterface, "down");

        internal override void SetMtu(int mtu) => Namespace.IpIn("link", "set", DriverInterface, "mtu", mtu.ToString(System.Globalization.CultureInfo.InvariantCulture));

        public override void Dispose()
        {
            try
            {
                Driver?.Dispose();
                _peer?.Dispose();
            }
            finally
            {
                Namespace.Dispose();
                DriverPool.Dispose();
                _peerPool.Dispose();
            }
        }
    }

    private sealed class TapRig : LinuxRig
    {
        private readonly NetBufPool _pool = new(256, 2048, new NetBufPoolOptions { Name = "conformance-tap" });
        private readonly TapDriver _driver;

        internal TapRig()
        {
            _driver = new TapDriver(_pool, "nbctap0", new TapDriverOptions { NetworkNamespace = Namespace.Name, RxQueueSize = 64, TxQueueSize = 64 });
            OpenPeer("nbctap0");
        }

        internal override INetDriver Driver => _driver;

        protected override string DriverInterface => "nbctap0";

        protected override NetBufPool DriverPool => _pool;
    }

    private sealed class AfPacketRig : LinuxRig
    {
        private readonly NetBufPool _pool = new(256, 2048, new NetBufPoolOptions { Name = "conformance-afpacket" });
        private readonly AfPacketDriver _driver;

        /// <param name="options">The paths to test (<see cref="AfPacketDriverOptions.ReceiveRing"/>, <see cref="AfPacketDriverOptions.TransmitRing"/>); the namespace and queue sizes are the rig's.</param>
        internal AfPacketRig(AfPacketDriverOptions options)
        {
            Namespace.AddVethPair("nbcd0", "nbck0");
            _driver = new AfPacketDriver(_pool, "nbcd0", new AfPacketDriverOptions { NetworkNamespace = Namespace.Name, RxQueueSize = 64, TxQueueSize = 64, ReceiveRing = options.ReceiveRing, TransmitRing = options.TransmitRing });
            Assert.That(_driver.TransmitsThroughRing, Is.EqualTo(options.TransmitRing), "the transmit path asked for");
            OpenPeer("nbck0");
        }

        internal override INetDriver Driver => _driver;

        protected override string DriverInterface => "nbcd0";

        protected override NetBufPool DriverPool => _pool;
    }

    private sealed class XdpRig : LinuxRig
    {
        private readonly NetBufPool _pool = XdpDriver.CreatePool(256, name: "conformance-xdp");
        private readonly XdpDriver _driver;

        internal XdpRig()
        {
            Namespace.AddVethPair("nbcd0", "nbck0");
            _driver = new XdpDriver(_pool, "nbcd0", new XdpDriverOptions
            {
                NetworkNamespace = Namespace.Name,
                RxQueueSize = 64,
                TxQueueSize = 64,
                BindMode = XdpBindMode.Copy,
                Filter = XdpFilter.ForEtherType((EtherType)TestEtherType),
            });
            OpenPeer("nbck0");
        }

        internal override INetDriver Driver => _driver;

        protected override string DriverInterface => "nbcd0";

        protected override NetBufPool DriverPool => _pool;
    }
}
