using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using NetBufNative.Apps;
using NetBufNative.Drivers;
using NetBufNative.Drivers.Linux;
using NetBufNative.Processing;
using NetBufNative.Wire;

namespace NetBufNative.Bench.Drivers;

/// <summary>
/// The forward and macswap modes: frames per second through an app on the <see cref="PacketLoop"/> under an open-loop
/// flood. <c>forward</c>: <see cref="L2Forwarder"/> bridges hosts A and B (<see cref="BridgeTopology"/>); the generator on
/// A's interface sends UDP to B's address (a socket bound on B's discard port takes them, so nothing answers), and B's
/// interface's receive counter is the sink. <c>macswap</c>: <see cref="MacSwapReflector"/> on one port facing A; the
/// generator counts the frames that come back. Per row: offered and passed frames per second, the share passed, drops
/// by cause (the loop's counters, the ports' sockets, the interfaces') and GC bytes per frame on the loop's thread;
/// candidates interleaved (every driver, mode and frame size within a round), medians over the rounds.
/// </summary>
internal static class LoopThroughput
{
    /// <summary>Before the window: the JIT compiles the loop, the queues fill, the first drops settle.</summary>
    private static readonly TimeSpan Warmup = TimeSpan.FromMilliseconds(500);

    /// <summary>The destination of the macswap generator's frames: an address no interface has (locally administered), so
    /// the kernel beside the reflector drops its copy at once; the reflected frames come back addressed to host A.</summary>
    private static readonly MacAddress ReflectTarget = new(0x02, 0x4e, 0x42, 0x00, 0x00, 0x99);

    /// <summary>Runs the forward (or, with <paramref name="macswap"/>, the macswap) mode and prints the table.</summary>
    public static void Run(bool macswap, string[] drivers, PollingMode[] modes, int[] frames, TimeSpan duration, int rounds)
    {
        (int? generatorCpu, int? loopCpu) = Cpus();
        string what = macswap ? "reflected" : "forwarded";
        Console.WriteLine(Text($"// {(macswap ? "macswap: MacSwapReflector on one port facing host A" : "forward: L2Forwarder between host A and host B")}; generator: our AF_PACKET driver on host A's interface, one thread, batches of 32, open loop"));
        Console.WriteLine(Text($"// {rounds} rounds, every candidate once per round; {duration.TotalSeconds:0.#} s measured per row after a {Warmup.TotalSeconds:0.#} s warm-up; {Pinning(generatorCpu, loopCpu)}"));
        var samples = new List<Sample>();
        for (int round = 1; round <= rounds; round++)
        {
            foreach (string driver in drivers)
            {
                using BridgeTopology topology = BridgeTopology.Create(driver, reflector: macswap);
                foreach (int frame in frames)
                {
                    foreach (PollingMode? mode in driver == "kernel" ? [null] : modes.Select(m => (PollingMode?)m))
                    {
                        Sample sample = Measure(topology, mode, frame, duration, macswap, generatorCpu, loopCpu) with { Round = round };
                        samples.Add(sample);
                        Console.WriteLine(Text($"  round {round}: {Label(driver)}, {ModeName(mode)}, {frame} B: offered {sample.Offered:N0}/s, {what} {sample.Passed:N0}/s"));
                    }
                }
            }
        }

        Console.WriteLine();
        Machine.Print();
        Console.WriteLine(Text($"// {Pinning(generatorCpu, loopCpu)}; medians over {rounds} rounds; loop sent/s: frames the loop's ports took per second over the loop's own window; drops are counts summed over the rounds' windows; B/frame: GC bytes per {what} frame on the loop's thread, the largest of the rounds"));
        Console.WriteLine(Text($"| driver | mode | frame | offered/s | {what}/s | {what}/s per round | share | loop sent/s | loop drops: tx-full / tx-error / driver rx / driver tx | port sockets' drops | interfaces' drops (rx_dropped/tx_dropped) | B/frame |"));
        Console.WriteLine("|---|---|---:|---:|---:|---|---:|---:|---|---:|---|---:|");
        foreach (IGrouping<(string Driver, PollingMode? Mode, int Frame), Sample> row in samples.GroupBy(s => (s.Driver, s.Mode, s.Frame)))
        {
            Sample[] rs = [.. row.OrderBy(s => s.Round)];
            string perRound = string.Join(" / ", rs.Select(s => Text($"{s.Passed / 1000:0}k")));
            LoopWindow l = rs.Aggregate(default(LoopWindow), (sum, s) => Add(sum, s.Loop));
            string loopDrops = row.Key.Driver == "kernel" ? "n/a" : Text($"{l.TxFullDrops} / {l.TxErrorDrops} / {l.DriverRxDrops} / {l.DriverTxDrops}{(l.PostShortfalls > 0 ? $", {l.PostShortfalls} post shortfalls" : "")}{(l.Errors > 0 ? $", {l.Errors} errors" : "")}");
            string sockets = row.Key.Driver == "kernel" ? "n/a" : Text($"{rs.Sum(s => s.SocketDrops)}{(macswap ? $" (generator's: {rs.Sum(s => s.GeneratorDrops)})" : "")}");
            var links = new SortedDictionary<string, (long Rx, long Tx)>(StringComparer.Ordinal);
            foreach (Sample s in rs)
            {
                foreach ((string name, LinkCounters c) in s.Links)
                {
                    links.TryGetValue(name, out (long Rx, long Tx) sum);
                    links[name] = (sum.Rx + c.RxDropped, sum.Tx + c.TxDropped);
                }
            }

            string linkDrops = string.Join(", ", links.Where(p => p.Value != (0, 0)).Select(p => Text($"{p.Key} {p.Value.Rx}/{p.Value.Tx}")));
            string bytes = row.Key.Driver == "kernel" ? "n/a" : Text($"{rs.Max(s => s.BytesPerFrame):0.###}");
            Console.WriteLine(Text(
                $"| {Label(row.Key.Driver)} | {ModeName(row.Key.Mode)} | {row.Key.Frame} | {Median(rs.Select(s => s.Offered)):N0} | {Median(rs.Select(s => s.Passed)):N0} | {perRound} | {Median(rs.Select(s => s.Share)):P1} | {(row.Key.Driver == "kernel" ? "n/a" : Text($"{Median(rs.Select(s => s.LoopSent)):N0}"))} | {loopDrops} | {sockets} | {(linkDrops.Length == 0 ? "0" : linkDrops)} | {bytes} |"));
        }
    }

    /// <summary>The generator's and the loop's CPUs: on 2 or more, the generator on CPU 0 and the loop on CPU 1, so neither
    /// takes the other's core (the kernel's receive work for the generator's frames runs on the generator's CPU, the
    /// forwarded frames' on the loop's); on 1, no pinning.</summary>
    public static (int? Generator, int? Loop) Cpus() => Environment.ProcessorCount >= 2 ? (0, 1) : (null, null);

    public static string Pinning(int? generatorCpu, int? loopCpu) =>
        generatorCpu is null ? "one CPU: nothing pinned" : Text($"pinned: generator (or pinger) on CPU {generatorCpu}, loop on CPU {loopCpu} (PacketLoopOptions.Cpu's call, on the loop's thread)");

    public static string Label(string driver) => driver switch
    {
        "afpacket" => "AF_PACKET",
        "xdp" => "AF_XDP (copy)",
        "tap" => "TAP",
        "kernel" => "kernel bridge (br0)",
        _ => driver,
    };

    public static string ModeName(PollingMode? mode) => mode switch
    {
        null => "-",
        PollingMode.Blocking => "blocking",
        PollingMode.BusyPoll => "busy-poll",
        _ => "adaptive",
    };

    public static string Text(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static double Median(IEnumerable<double> values)
    {
        double[] sorted = [.. values.Order()];
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static LoopWindow Add(LoopWindow a, LoopWindow b) => new(
        a.Received + b.Received, a.Transmitted + b.Transmitted, a.TxFullDrops + b.TxFullDrops, a.TxErrorDrops + b.TxErrorDrops,
        a.DriverRxDrops + b.DriverRxDrops, a.DriverTxDrops + b.DriverTxDrops, a.PostShortfalls + b.PostShortfalls, a.Errors + b.Errors, a.AllocatedBytes + b.AllocatedBytes);

    private static Sample Measure(BridgeTopology topology, PollingMode? mode, int frameLength, TimeSpan duration, bool macswap, int? generatorCpu, int? loopCpu)
    {
        INetDriver[] ports = topology.OpenPorts();
        PacketLoop? loop = null;
        MeasuredLoop? measured = null;
        Socket? discard = null;
        try
        {
            if (mode is PollingMode pollingMode)
            {
                var options = new PacketLoopOptions { PollingMode = pollingMode, Name = "bench-" + (macswap ? "macswap" : "forward") };
                loop = macswap ? MacSwapReflector.CreateLoop(ports[0], options) : L2Forwarder.CreateLoop(ports[0], ports[1], options);
                measured = new MeasuredLoop(loop, loopCpu);
            }

            if (!macswap)
            {
                // Host B takes the datagrams into a socket it never reads (dropped there once its buffer is full), so its
                // kernel sends no port-unreachable errors back through the bridge.
                discard = NamespaceThread.Run(topology.HostB!.Name, () => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
                discard.Bind(new IPEndPoint(IPAddress.Parse(BridgeTopology.AddressB), FrameGenerator.DiscardPort));
            }

            byte[] frame = FrameGenerator.UdpFrame(frameLength, topology.MacA, macswap ? ReflectTarget : topology.MacB);
            using var generator = new FrameGenerator(topology.HostA.Name, BridgeTopology.DeviceA, frame, receive: macswap, generatorCpu);
            measured?.Start();

            // The generator's own bound: the warm-up and the window, plus 10 s for the set-up around them.
            generator.Start(Warmup + duration + TimeSpan.FromSeconds(10));
            Thread.Sleep(Warmup);
            measured?.BeginWindow();
            Snapshot before = Snapshot.Take(topology, generator, macswap);
            Thread.Sleep(duration);
            Snapshot after = Snapshot.Take(topology, generator, macswap);
            measured?.EndWindow();
            double seconds = (after.Timestamp - before.Timestamp) / (double)Stopwatch.Frequency;
            double offered = (after.Sent - before.Sent) / seconds;
            double passed = (after.Passed - before.Passed) / seconds;
            LoopWindow window = measured?.Window ?? default;
            long loopFrames = window.Transmitted;
            return new Sample(
                topology.Kind,
                mode,
                frameLength,
                0,
                offered,
                passed,
                offered > 0 ? passed / offered : double.NaN,
                window.Transmitted / seconds,
                window,
                after.SocketDrops - before.SocketDrops,
                after.GeneratorDrops - before.GeneratorDrops,
                [.. after.Links.Select(p => (p.Key, p.Value.Since(before.Links.GetValueOrDefault(p.Key))))],
                loopFrames > 0 ? window.AllocatedBytes / (double)loopFrames : 0);
        }
        finally
        {
            measured?.Abort();
            loop?.Dispose();
            discard?.Dispose();
            topology.ClosePorts();
        }
    }

    /// <summary>One row of one round.</summary>
    private sealed record Sample(
        string Driver,
        PollingMode? Mode,
        int Frame,
        int Round,
        double Offered,
        double Passed,
        double Share,
        double LoopSent,
        LoopWindow Loop,
        long SocketDrops,
        long GeneratorDrops,
        (string Name, LinkCounters Counters)[] Links,
        double BytesPerFrame);

    /// <summary>The counters at one edge of the window.</summary>
    private sealed record Snapshot(long Timestamp, long Sent, long Passed, long SocketDrops, long GeneratorDrops, Dictionary<string, LinkCounters> Links)
    {
        /// <summary>
        /// Reads the counter the rate comes from first, stamping the time around that read (an <c>ip</c> call takes a few
        /// milliseconds), then the generator's count and the rest; the same order at both edges, so the offsets cancel.
        /// </summary>
        public static Snapshot Take(BridgeTopology topology, FrameGenerator generator, bool macswap)
        {
            long start = Stopwatch.GetTimestamp();
            Dictionary<string, LinkCounters>? hostB = macswap ? null : LinkCounters.Read(topology.HostB!);
            long passed = macswap ? generator.Received : hostB![BridgeTopology.DeviceB].RxPackets;
            long timestamp = (start + Stopwatch.GetTimestamp()) / 2;
            long sent = generator.Sent;
            var links = new Dictionary<string, LinkCounters>(StringComparer.Ordinal);
            AddLinks(links, "A", LinkCounters.Read(topology.HostA));
            if (hostB is not null)
            {
                AddLinks(links, "B", hostB);
            }

            if (topology.Bridge is not null)
            {
                AddLinks(links, "bridge", LinkCounters.Read(topology.Bridge));
            }

            long socketDrops = topology.SocketDrops().Sum();
            return new Snapshot(timestamp, sent, passed, socketDrops, macswap ? generator.SocketDrops : 0, links);
        }

        private static void AddLinks(Dictionary<string, LinkCounters> links, string where, Dictionary<string, LinkCounters> read)
        {
            foreach ((string name, LinkCounters counters) in read)
            {
                if (name.StartsWith("nbfw", StringComparison.Ordinal) || name == "br0")
                {
                    links[$"{where}:{name}"] = counters;
                }
            }
        }
    }
}
