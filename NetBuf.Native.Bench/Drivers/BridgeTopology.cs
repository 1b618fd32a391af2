using NetBufNative.Drivers;
using NetBufNative.Drivers.Linux;
using NetBufNative.Drivers.Linux.Xdp;
using NetBufNative.Wire;

namespace NetBufNative.Bench.Drivers;

/// <summary>
/// The forward, macswap and latency modes' set-up, as the bridge tests build it: host A (10.78.0.1) and host B
/// (10.78.0.2) in namespaces of their own whose only path to each other is the bridge. For AF_PACKET and AF_XDP (and the
/// kernel's bridge) each host's interface is one end of a veth pair whose other end lies in a third namespace where the
/// ports are opened (or <c>br0</c> joins them); for TAP each host's interface is a TAP device whose program side is the
/// port. With <c>reflector</c> there is no host B: one port, facing host A. Everything is removed by <see cref="Dispose"/>.
/// </summary>
/// <remarks>
/// The ports are opened per measurement (<see cref="OpenPorts"/>, <see cref="ClosePorts"/>), over one pool kept for the
/// topology's life: a loop keeps its own count of what it posted, so a second loop over ports a first one filled would
/// try to post on every turn; fresh ports also give each row its own driver counters.
/// </remarks>
internal sealed class BridgeTopology : IDisposable
{
    public const string AddressA = "10.78.0.1";
    public const string AddressB = "10.78.0.2";

    /// <summary>Host A's interface (and, for TAP, the port's device).</summary>
    public const string DeviceA = "nbfwa0";

    /// <summary>Host B's interface.</summary>
    public const string DeviceB = "nbfwb0";

    /// <summary>The bridge namespace's end of host A's veth pair.</summary>
    public const string BridgeEndA = "nbfwa1";

    /// <summary>The bridge namespace's end of host B's veth pair.</summary>
    public const string BridgeEndB = "nbfwb1";

    /// <summary>
    /// Each port's receive and transmit queue: 512, AF_XDP's default ring, for every driver alike (AF_PACKET's and TAP's
    /// default is 256), so that a burst of the generator finds the same room on each.
    /// </summary>
    public const int QueueSize = 512;

    /// <summary>Whether the AF_PACKET ports receive through a ring (<see cref="AfPacketDriverOptions.ReceiveRing"/>, the
    /// driver's default): off with the <c>--recvmmsg</c> option of the modes that use this topology, set once before any opening.</summary>
    public static bool AfPacketReceiveRing { get; set; } = true;

    /// <summary>Whether the AF_PACKET ports send through a transmit ring (<see cref="AfPacketDriverOptions.TransmitRing"/>,
    /// off by default): on with the <c>--tx-ring</c> option of the modes that use this topology, set once before any opening.</summary>
    public static bool AfPacketTransmitRing { get; set; }

    /// <summary>Says in the output which receive and transmit paths the AF_PACKET ports use, when they are measured.</summary>
    public static void PrintAfPacketReceivePath(bool measured)
    {
        if (measured)
        {
            Console.WriteLine(AfPacketReceiveRing
                ? "// AF_PACKET receives through its ring (PACKET_RX_RING, the default; --recvmmsg for the other path)"
                : "// AF_PACKET receives with recvmmsg (--recvmmsg)");
            Console.WriteLine(AfPacketTransmitRing
                ? "// AF_PACKET sends through its transmit ring (PACKET_TX_RING, --tx-ring)"
                : "// AF_PACKET sends with sendmmsg (the default; --tx-ring for the transmit ring)");
        }
    }

    /// <summary>The AF_XDP ports' busy-poll budget (<see cref="XdpDriverOptions.BusyPollBudget"/>): the
    /// <c>--xdp-busy-poll N</c> option of the modes that use this topology (0, off, without it).</summary>
    public static int XdpBusyPollBudget { get; set; }

    /// <summary>The pool: two ports, each with a full receive and transmit queue, twice over for the loop's staging and
    /// frames in flight between the queues (a power of two, as AF_XDP's UMEM likes).</summary>
    private const int PoolBuffers = 2 * 2 * 2 * QueueSize;

    /// <summary>The TAP devices' (kernel side) hardware addresses: fixed, as the devices are made anew at each opening.</summary>
    private static readonly MacAddress TapMacA = new(0x02, 0x4e, 0x42, 0x00, 0x00, 0x0a);
    private static readonly MacAddress TapMacB = new(0x02, 0x4e, 0x42, 0x00, 0x00, 0x0b);

    /// <summary>The TAP ports' own (program side) hardware addresses: fixed, so that a flood's frames can be addressed
    /// to the port before it opens, and the same for ours and for testpmd's net_tap (its <c>mac=</c>).</summary>
    private static readonly MacAddress TapPortMacA = new(0x02, 0x4e, 0x42, 0x00, 0x01, 0x0a);
    private static readonly MacAddress TapPortMacB = new(0x02, 0x4e, 0x42, 0x00, 0x01, 0x0b);

    private readonly List<IDisposable> _owned = [];

    private BridgeTopology(string kind, bool reflector)
    {
        Kind = kind;
        IsReflector = reflector;
    }

    /// <summary>The drivers (<c>afpacket</c>, <c>xdp</c>, <c>tap</c>) or <c>kernel</c> (a Linux bridge, no ports).</summary>
    public string Kind { get; }

    /// <summary>One port facing host A, no host B.</summary>
    public bool IsReflector { get; }

    public BenchNamespace HostA { get; private set; } = null!;

    /// <summary>Host B; null for a reflector.</summary>
    public BenchNamespace? HostB { get; private set; }

    /// <summary>Where the ports (or the kernel's bridge) are; null for TAP, whose ports are in the hosts' namespaces.</summary>
    public BenchNamespace? Bridge { get; private set; }

    /// <summary>Host A's interface's hardware address.</summary>
    public MacAddress MacA { get; private set; }

    /// <summary>Host B's interface's hardware address (default for a reflector).</summary>
    public MacAddress MacB { get; private set; }

    /// <summary>The open ports (none for the kernel's bridge, or before <see cref="OpenPorts"/>).</summary>
    public INetDriver[] Ports { get; private set; } = [];

    private NetBufPool? Pool { get; set; }

    /// <summary>Builds the topology of <paramref name="kind"/>; on failure removes what it made and throws.</summary>
    public static BridgeTopology Create(string kind, bool reflector = false)
    {
        var topology = new BridgeTopology(kind, reflector);
        try
        {
            topology.Build();
            return topology;
        }
        catch
        {
            topology.Dispose();
            throw;
        }
    }

    /// <summary>Opens the ports (two, or one for a reflector) over the topology's pool; the kernel's bridge has none.</summary>
    public INetDriver[] OpenPorts()
    {
        ClosePorts();
        if (Kind == "kernel")
        {
            return Ports;
        }

        var ports = new List<INetDriver>();
        try
        {
            if (Kind == "tap")
            {
                // A TAP device lives while its driver is open: each opening makes it anew, with the same hardware
                // address, and the host's address is given again.
                ports.Add(new TapDriver(Pool!, DeviceA, new TapDriverOptions { NetworkNamespace = HostA.Name, MacAddress = TapPortMacA, KernelMacAddress = TapMacA, RxQueueSize = QueueSize, TxQueueSize = QueueSize }));
                if (!IsReflector)
                {
                    ports.Add(new TapDriver(Pool!, DeviceB, new TapDriverOptions { NetworkNamespace = HostB!.Name, MacAddress = TapPortMacB, KernelMacAddress = TapMacB, RxQueueSize = QueueSize, TxQueueSize = QueueSize }));
                }

                AddressHosts();
            }
            else
            {
                ports.Add(Open(BridgeEndA));
                if (!IsReflector)
                {
                    ports.Add(Open(BridgeEndB));
                }
            }
        }
        catch
        {
            ports.ForEach(p => p.Dispose());
            throw;
        }

        Ports = [.. ports];
        return Ports;
    }

    /// <summary>Closes the ports: every buffer they hold goes back to the pool.</summary>
    public void ClosePorts()
    {
        foreach (INetDriver port in Ports)
        {
            port.Dispose();
        }

        Ports = [];
    }

    /// <summary>The hardware address of the port facing host A: the veth end's in the bridge namespace, or the TAP port's.</summary>
    public MacAddress PortMacA => Kind == "tap" ? TapPortMacA : ReadMac(Bridge!, BridgeEndA);

    /// <summary>
    /// testpmd's <c>net_tap</c> devices for this (TAP) topology: the virtual devices to start it with in host A's
    /// namespace, where it makes every TAP device it opens. Call <see cref="PlaceTapDevices"/> once it runs. Our ports
    /// must be closed first (a TAP device of the same name would be in use).
    /// </summary>
    public string[] TestpmdTapDevices() => IsReflector
        ? [$"net_tap0,iface={DeviceA},mac={TapPortMacA}"]
        : [$"net_tap0,iface={DeviceA},mac={TapPortMacA}", $"net_tap1,iface={DeviceB},mac={TapPortMacB}"];

    /// <summary>
    /// After another program (testpmd) made the TAP devices in host A's namespace: moves host B's into host B's
    /// namespace (a TAP device keeps working for the program holding it when it moves) and addresses both hosts.
    /// </summary>
    public void PlaceTapDevices()
    {
        if (HostB is not null)
        {
            _ = HostA.Ip("link", "set", DeviceB, "netns", HostB.Name);
        }

        AddressHosts();
    }

    /// <summary>The ports' kernel drop counters: AF_PACKET's socket drops (full receive queue), AF_XDP's receive drops and full rings.</summary>
    public long[] SocketDrops() => [.. Ports.Select(port => port switch
    {
        AfPacketDriver socket => socket.GetStatistics().Drops,
        XdpDriver xdp => XdpDrops(xdp.GetStatistics()),
        _ => 0L,
    })];

    /// <summary>Closes the ports, then removes the namespaces (and every device in them) and the pool.</summary>
    public void Dispose()
    {
        ClosePorts();
        for (int i = _owned.Count - 1; i >= 0; i--)
        {
            _owned[i].Dispose();
        }
    }

    /// <summary>Frames an AF_XDP socket lost in the kernel: dropped before the ring (no fill buffer, too long) and on a full ring (the counters overlap otherwise).</summary>
    private static long XdpDrops(XdpStatistics statistics) => statistics.RxDropped + statistics.RxRingFull;

    /// <summary>An interface's hardware address, as <c>ip</c> shows it.</summary>
    public static MacAddress ReadMac(BenchNamespace ns, string device)
    {
        string address = ns.Ip("-br", "link", "show", device).Split(' ', StringSplitOptions.RemoveEmptyEntries)[2];
        byte[] b = [.. address.Split(':').Select(part => Convert.ToByte(part, 16))];
        return new MacAddress(b[0], b[1], b[2], b[3], b[4], b[5]);
    }

    private INetDriver Open(string device) => Kind switch
    {
        "afpacket" => new AfPacketDriver(Pool!, device, new AfPacketDriverOptions { NetworkNamespace = Bridge!.Name, RxQueueSize = QueueSize, TxQueueSize = QueueSize, ReceiveRing = AfPacketReceiveRing, TransmitRing = AfPacketTransmitRing }),
        "xdp" => new XdpDriver(Pool!, device, new XdpDriverOptions { NetworkNamespace = Bridge!.Name, BindMode = XdpBindMode.Copy, RxQueueSize = QueueSize, TxQueueSize = QueueSize, BusyPollBudget = XdpBusyPollBudget }),
        _ => throw new InvalidOperationException($"{Kind} has no ports of its own"),
    };

    private void Build()
    {
        if (Kind is not ("afpacket" or "xdp" or "tap" or "kernel") || (IsReflector && Kind == "kernel"))
        {
            throw new ArgumentOutOfRangeException(nameof(Kind), Kind, "afpacket, xdp, tap, or kernel (not as a reflector)");
        }

        HostA = Own(BenchNamespace.Create());
        HostB = IsReflector ? null : Own(BenchNamespace.Create());
        Pool = Kind switch
        {
            "kernel" => null,
            "xdp" => Own(XdpDriver.CreatePool(PoolBuffers, name: "bench-forward")),
            _ => Own(new NetBufPool(PoolBuffers, 2048, new NetBufPoolOptions { Name = "bench-forward" })),
        };
        if (Kind == "tap")
        {
            // The TAP devices exist while their driver is open: the first opening makes and addresses them.
            _ = OpenPorts();
            return;
        }

        BenchNamespace bridge = Own(BenchNamespace.Create());
        Bridge = bridge;
        _ = bridge.Ip("link", "add", BridgeEndA, "type", "veth", "peer", "name", DeviceA, "netns", HostA.Name);
        if (!IsReflector)
        {
            _ = bridge.Ip("link", "add", BridgeEndB, "type", "veth", "peer", "name", DeviceB, "netns", HostB!.Name);
        }

        if (Kind == "kernel")
        {
            _ = bridge.Ip("link", "add", "br0", "type", "bridge");
            _ = bridge.Ip("link", "set", BridgeEndA, "master", "br0");
            _ = bridge.Ip("link", "set", BridgeEndB, "master", "br0");
            _ = bridge.Ip("link", "set", "br0", "up");
        }

        _ = bridge.Ip("link", "set", BridgeEndA, "up");
        if (!IsReflector)
        {
            _ = bridge.Ip("link", "set", BridgeEndB, "up");
        }

        AddressHosts();
    }

    /// <summary>Gives the hosts' interfaces their addresses, raises them and reads their hardware addresses.</summary>
    private void AddressHosts()
    {
        _ = HostA.Ip("addr", "replace", AddressA + "/24", "dev", DeviceA);
        _ = HostA.Ip("link", "set", DeviceA, "up");
        MacA = ReadMac(HostA, DeviceA);
        if (HostB is not null)
        {
            _ = HostB.Ip("addr", "replace", AddressB + "/24", "dev", DeviceB);
            _ = HostB.Ip("link", "set", DeviceB, "up");
            MacB = ReadMac(HostB, DeviceB);
        }
    }

    private T Own<T>(T disposable)
        where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }
}
