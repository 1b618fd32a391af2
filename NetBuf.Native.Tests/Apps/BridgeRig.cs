using System.Globalization;
using NetBufNative.Drivers;
using NetBufNative.Drivers.Linux;
using NetBufNative.Drivers.Linux.Xdp;
using NetBufNative.Tests.Drivers.Linux;

namespace NetBufNative.Tests.Apps;

/// <summary>
/// Two hosts in namespaces of their own (A at 10.78.0.1, B at 10.78.0.2, one /24) whose only path to each other is
/// our process: two ports over one pool, of the kind asked. For AF_PACKET and AF_XDP each host's interface is one end of
/// a veth pair whose other end lies in a third namespace where the ports are opened; for TAP each host's interface is a
/// TAP device whose program side is the port. Offloads stay as the kernel sets them (checksum offload and TSO on).
/// Everything is removed by <see cref="Dispose"/>, also when a test fails.
/// </summary>
internal sealed class BridgeRig : IDisposable
{
    internal const string AddressA = "10.78.0.1";
    internal const string AddressB = "10.78.0.2";
    private const int QueueSize = 256;

    private readonly List<IDisposable> _owned = [];

    private BridgeRig(string kind) => Kind = kind;

    /// <summary>
    /// The kinds: each port's driver, "a+b" for one of each. AF_PACKET both ways: "afpacket-ring" receives through its
    /// ring (<see cref="AfPacketDriverOptions.ReceiveRing"/>), "afpacket-recvmmsg" with <c>recvmmsg</c>, "afpacket-txring"
    /// through its receive ring and sends through its transmit ring (<see cref="AfPacketDriverOptions.TransmitRing"/>);
    /// "afpacket" in a pair takes the driver's defaults.
    /// </summary>
    internal static IEnumerable<string> Kinds => ["afpacket-ring", "afpacket-recvmmsg", "afpacket-txring", "xdp", "tap", "afpacket+xdp"];

    internal string Kind { get; }

    internal TestNamespace HostA { get; private set; } = null!;

    internal TestNamespace HostB { get; private set; } = null!;

    /// <summary>The host-side interface of each host.</summary>
    internal string DeviceA { get; private set; } = null!;

    internal string DeviceB { get; private set; } = null!;

    internal NetBufPool Pool { get; private set; } = null!;

    internal INetDriver PortA { get; private set; } = null!;

    internal INetDriver PortB { get; private set; } = null!;

    internal static BridgeRig Create(string kind)
    {
        var rig = new BridgeRig(kind);
        try
        {
            rig.Build();
            return rig;
        }
        catch
        {
            rig.Dispose();
            throw;
        }
    }

    /// <summary>Reads a counter of a host's interface (<c>/sys/class/net/DEV/statistics/NAME</c>) inside its namespace.</summary>
    internal static long KernelCounter(TestNamespace ns, string device, string name) =>
        long.Parse(ns.Exec("cat", $"/sys/class/net/{device}/statistics/{name}").Trim(), CultureInfo.InvariantCulture);

    /// <summary>Disposes the ports first (their buffers go back to the pool), then the pool and the namespaces.</summary>
    public void Dispose()
    {
        PortA?.Dispose();
        PortB?.Dispose();
        for (int i = _owned.Count - 1; i >= 0; i--)
        {
            _owned[i].Dispose();
        }
    }

    /// <summary>Disposes both ports: every buffer they hold goes back to the pool.</summary>
    internal void DisposePorts()
    {
        PortA.Dispose();
        PortB.Dispose();
    }

    private void Build()
    {
        string[] kinds = Kind.Split('+');
        string kindA = kinds[0];
        string kindB = kinds.Length > 1 ? kinds[1] : kinds[0];
        HostA = Own(TestNamespace.Create());
        HostB = Own(TestNamespace.Create());
        bool xdp = kindA == "xdp" || kindB == "xdp";
        Pool = Own(xdp ? XdpDriver.CreatePool(4 * 2 * QueueSize, name: "bridge") : new NetBufPool(4 * 2 * QueueSize, 2048, new NetBufPoolOptions { Name = "bridge" }));
        if (kindA == "tap")
        {
            DeviceA = "nbbra0";
            DeviceB = "nbbrb0";
            PortA = new TapDriver(Pool, DeviceA, new TapDriverOptions { NetworkNamespace = HostA.Name, RxQueueSize = QueueSize, TxQueueSize = QueueSize });
            PortB = new TapDriver(Pool, DeviceB, new TapDriverOptions { NetworkNamespace = HostB.Name, RxQueueSize = QueueSize, TxQueueSize = QueueSize });
        }
        else
        {
            TestNamespace bridge = Own(TestNamespace.Create());
            DeviceA = "nbbra0";
            DeviceB = "nbbrb0";
            bridge.IpIn("link", "add", "nbbra1", "type", "veth", "peer", "name", DeviceA, "netns", HostA.Name);
            bridge.IpIn("link", "add", "nbbrb1", "type", "veth", "peer", "name", DeviceB, "netns", HostB.Name);
            bridge.IpIn("link", "set", "nbbra1", "up");
            bridge.IpIn("link", "set", "nbbrb1", "up");
            PortA = Open(kindA, bridge, "nbbra1");
            PortB = Open(kindB, bridge, "nbbrb1");
        }

        HostA.IpIn("addr", "add", AddressA + "/24", "dev", DeviceA);
        HostA.IpIn("link", "set", DeviceA, "up");
        HostB.IpIn("addr", "add", AddressB + "/24", "dev", DeviceB);
        HostB.IpIn("link", "set", DeviceB, "up");
    }

    private INetDriver Open(string kind, TestNamespace ns, string device) => kind switch
    {
        "afpacket" => new AfPacketDriver(Pool, device, new AfPacketDriverOptions { NetworkNamespace = ns.Name, RxQueueSize = QueueSize, TxQueueSize = QueueSize }),
        "afpacket-ring" or "afpacket-recvmmsg" or "afpacket-txring" => new AfPacketDriver(Pool, device, new AfPacketDriverOptions
        {
            NetworkNamespace = ns.Name,
            RxQueueSize = QueueSize,
            TxQueueSize = QueueSize,
            ReceiveRing = kind != "afpacket-recvmmsg",
            TransmitRing = kind == "afpacket-txring",
        }),
        "xdp" => new XdpDriver(Pool, device, new XdpDriverOptions { NetworkNamespace = ns.Name, BindMode = XdpBindMode.Copy, RxQueueSize = QueueSize, TxQueueSize = QueueSize }),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "afpacket, afpacket-ring, afpacket-recvmmsg, afpacket-txring or xdp"),
    };

    private T Own<T>(T disposable)
        where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }
}
