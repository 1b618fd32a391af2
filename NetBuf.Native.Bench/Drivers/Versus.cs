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
/// The versus mode: our apps on the <see cref="PacketLoop"/> beside DPDK's testpmd on the same topology
/// (<see cref="BridgeTopology"/>), with the same generators, in one run: the echo responder against testpmd's
/// <c>icmpecho</c> (one port facing host A, answering 10.78.0.2), the forwarder against <c>io</c> (two ports, A to B) and
/// the reflector against <c>macswap</c> (one port); over AF_PACKET and AF_XDP (copy mode), 64 and 1514 bytes; under a
/// trafgen flood from host A (open loop) and a closed-loop pinger in host A (64 echo requests in flight).
/// </summary>
/// <remarks>
/// The generators run on CPU 0, our loop and testpmd's forwarding lcore on CPU 1. Ours runs busy-polling (as testpmd
/// does: the fair comparison, and the one the verdict uses) and adaptive. Candidates are interleaved: per round, driver and
/// app, each candidate measures every frame size and load on the same namespaces, in an order that rotates with the round;
/// the table gives medians over the rounds. Rows whose tools are missing say what to install; ours are measured anyway.
/// </remarks>
internal static class Versus
{
    /// <summary>The closed loop's echo requests in flight: the responder mode's default, enough to keep a loop busy and
    /// few enough that the kernel's socket queues never fill (a lost request costs the pinger a 100 ms timeout).</summary>
    private const int InFlight = 64;

    /// <summary>The echo identifier of the pinger's and the flood's requests.</summary>
    private const ushort Identifier = 0x4e77;

    private const string Busy = "busy-poll";
    private const string Adaptive = "adaptive";
    private const string Dpdk = "testpmd";

    /// <summary>Before each window: the JIT compiles the loop, the queues fill, ARP resolves, the first drops settle (as
    /// the forward and macswap modes).</summary>
    private static readonly TimeSpan Warmup = TimeSpan.FromMilliseconds(500);

    /// <summary>The macswap flood's destination: an address no interface has (locally administered), as in the macswap mode.</summary>
    private static readonly MacAddress ReflectTarget = new(0x02, 0x4e, 0x42, 0x00, 0x00, 0x99);

    private static readonly Ipv4Address ResponderAddress = new(10, 78, 0, 2);

    /// <summary>Parses the options, says what is missing, runs the rounds and prints the tables.</summary>
    public static int Run(string[] args)
    {
        string app = Option(args, "--app") ?? "all";
        string driver = Option(args, "--driver") ?? "all";
        string frame = Option(args, "--frame") ?? "both";
        string load = Option(args, "--load") ?? "both";
        BridgeTopology.AfPacketReceiveRing = !args.Contains("--recvmmsg");
        BridgeTopology.AfPacketTransmitRing = args.Contains("--tx-ring");
        BridgeTopology.XdpBusyPollBudget = int.TryParse(Option(args, "--xdp-busy-poll"), NumberStyles.None, CultureInfo.InvariantCulture, out int budget) ? budget : 0;
        string[] apps = app == "all" ? ["responder", "forward", "macswap"] : app.Split(',');
        string[] drivers = driver == "all" ? ["afpacket", "xdp", "tap"] : driver.Split(',');
        string[] loads = load == "both" ? ["flood", "closed"] : load.Split(',');
        int[]? frames = frame switch
        {
            "64" => [64],
            "1514" => [1514],
            "both" => [64, 1514],
            _ => null,
        };
        int seconds = int.TryParse(Option(args, "--seconds") ?? "2", NumberStyles.None, CultureInfo.InvariantCulture, out int s) ? s : -1;
        int rounds = int.TryParse(Option(args, "--rounds") ?? "3", NumberStyles.None, CultureInfo.InvariantCulture, out int r) ? r : -1;
        if (apps.Any(a => a is not ("responder" or "forward" or "macswap")) || drivers.Any(d => d is not ("afpacket" or "xdp" or "tap")) ||
            loads.Any(l => l is not ("flood" or "closed")) || frames is null || seconds is < 1 or > 600 || rounds is < 1 or > 20)
        {
            Console.Error.WriteLine("versus [--app responder|forward|macswap|all] [--driver afpacket|xdp|tap|all] [--frame 64|1514|both] [--load flood|closed|both] [--seconds 1..600] [--rounds 1..20] (lists work too: --app responder,forward)");
            return 2;
        }

        string? missing = Requirements.Missing();
        if (missing is not null)
        {
            return Requirements.Refuse("versus", missing);
        }

        Machine.Print();
        BridgeTopology.PrintAfPacketReceivePath(drivers.Contains("afpacket"));
        (int? generatorCpu, int? loopCpu) = LoopThroughput.Cpus();
        var duration = TimeSpan.FromSeconds(seconds);
        var notMeasured = new List<string>();
        string? trafgenMissing = Trafgen.Missing();
        if (trafgenMissing is not null && loads.Contains("flood"))
        {
            notMeasured.Add($"every flood row: {trafgenMissing}; install: {Testpmd.InstallLine}");
            loads = [.. loads.Where(l => l != "flood")];
        }

        foreach (string d in drivers)
        {
            if (Testpmd.Missing(d) is string why)
            {
                notMeasured.Add($"testpmd over {LoopThroughput.Label(d)}: {why}; install: {Testpmd.InstallLine}");
            }
        }

        if (apps.Contains("macswap") && loads.Contains("closed"))
        {
            notMeasured.Add("macswap in the closed loop: a reflector returns the pinger's requests to it, and nothing answers them");
        }

        Console.WriteLine(LoopThroughput.Text($"// versus: ours (PacketLoop, {Busy} and {Adaptive}) beside DPDK testpmd (busy-polls) on the same namespaces; flood: trafgen on host A's interface; closed loop: a raw ICMP socket in host A, {InFlight} echo requests in flight"));
        Console.WriteLine(LoopThroughput.Text($"// {rounds} rounds; per round, driver and app every candidate measures every frame and load, candidates in an order rotating with the round; {duration.TotalSeconds:0.#} s per row after a {Warmup.TotalSeconds:0.#} s warm-up (testpmd: {Testpmd.StartDelay.TotalSeconds:0} s more after its start); {LoopThroughput.Pinning(generatorCpu, loopCpu)}; testpmd: -l 0-1 --nb-cores=1 (forwarding lcore 1)"));
        var samples = new List<VersusSample>();
        for (int round = 1; round <= rounds; round++)
        {
            foreach (string d in drivers)
            {
                bool withTestpmd = Testpmd.Missing(d) is null;
                foreach (string a in apps)
                {
                    string[] candidates = withTestpmd ? [Busy, Adaptive, Dpdk] : [Busy, Adaptive];
                    candidates = [.. candidates.Skip((round - 1) % candidates.Length), .. candidates.Take((round - 1) % candidates.Length)];
                    using BridgeTopology topology = BridgeTopology.Create(d, reflector: a != "forward");
                    foreach (string candidate in candidates)
                    {
                        foreach (VersusSample sample in MeasureCandidate(topology, a, candidate, frames, loads, duration, generatorCpu, loopCpu))
                        {
                            VersusSample row = sample with { Round = round };
                            samples.Add(row);
                            Console.WriteLine(LoopThroughput.Text($"  round {round}: {a}, {LoopThroughput.Label(d)}, {row.Load}, {row.Frame} B, {candidate}: offered {row.Offered:N0}/s, handled {row.Passed:N0}/s"));
                        }
                    }
                }
            }
        }

        Print(samples, rounds, generatorCpu, loopCpu, notMeasured);
        return 0;
    }

    /// <summary>One candidate's rows on one topology: testpmd is started once for all of them.</summary>
    private static List<VersusSample> MeasureCandidate(BridgeTopology topology, string app, string candidate, int[] frames, string[] loads, TimeSpan duration, int? generatorCpu, int? loopCpu)
    {
        var samples = new List<VersusSample>();
        Testpmd? testpmd = null;
        try
        {
            if (candidate == Dpdk)
            {
                string mode = app switch
                {
                    "responder" => "icmpecho",
                    "forward" => "io",
                    _ => "macswap",
                };
                if (topology.Kind == "tap")
                {
                    // net_tap makes its TAP devices where testpmd runs: in host A's namespace, then host B's moves home.
                    topology.ClosePorts();
                    testpmd = Testpmd.Start(topology.HostA, topology.TestpmdTapDevices(), mode);
                    topology.PlaceTapDevices();
                }
                else
                {
                    string pmd = topology.Kind == "xdp" ? "net_af_xdp" : "net_af_packet";
                    string[] ends = app == "forward" ? [BridgeTopology.BridgeEndA, BridgeTopology.BridgeEndB] : [BridgeTopology.BridgeEndA];
                    testpmd = Testpmd.Start(topology.Bridge!, [.. ends.Select((end, i) => LoopThroughput.Text($"{pmd}{i},iface={end}"))], mode);
                }

                Thread.Sleep(Testpmd.StartDelay);
            }

            foreach (int frame in frames)
            {
                foreach (string load in loads)
                {
                    if (app == "macswap" && load == "closed")
                    {
                        continue;
                    }

                    samples.Add(Measure(topology, app, candidate, testpmd, frame, load, duration, generatorCpu, loopCpu));
                }
            }
        }
        finally
        {
            testpmd?.Dispose();
        }

        return samples;
    }

    private static VersusSample Measure(BridgeTopology topology, string app, string candidate, Testpmd? testpmd, int frameLength, string load, TimeSpan duration, int? generatorCpu, int? loopCpu)
    {
        PacketLoop? loop = null;
        MeasuredLoop? measured = null;
        Socket? discard = null;
        Trafgen? trafgen = null;
        Pinger? pinger = null;
        Thread? pingerThread = null;
        Exception? pingerFailure = null;
        using var stopPinger = new CancellationTokenSource();
        try
        {
            if (testpmd is null)
            {
                INetDriver[] ports = topology.OpenPorts();
                var options = new PacketLoopOptions { PollingMode = candidate == Busy ? PollingMode.BusyPoll : PollingMode.Adaptive, Name = "versus-" + app };
                loop = app switch
                {
                    "responder" => new PacketLoop([ports[0]], new EchoResponderHandler(ports[0].MacAddress, ResponderAddress), options),
                    "forward" => L2Forwarder.CreateLoop(ports[0], ports[1], options),
                    _ => MacSwapReflector.CreateLoop(ports[0], options),
                };
                measured = new MeasuredLoop(loop, loopCpu);
                measured.Start();
            }

            if (app == "forward")
            {
                // As in the forward mode: host B takes the flood's datagrams into a socket it never reads, so its kernel
                // answers nothing (no port-unreachable errors back through the bridge).
                discard = NamespaceThread.Run(topology.HostB!.Name, () => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
                discard.Bind(new IPEndPoint(IPAddress.Parse(BridgeTopology.AddressB), FrameGenerator.DiscardPort));
            }

            TimeSpan limit = Warmup + duration + TimeSpan.FromSeconds(10);
            if (load == "flood")
            {
                MacAddress portMac = topology.PortMacA;
                byte[] frame = app switch
                {
                    "responder" => FrameGenerator.IcmpEchoFrame(frameLength, topology.MacA, portMac, Identifier),
                    "forward" => FrameGenerator.UdpFrame(frameLength, topology.MacA, topology.MacB),
                    _ => FrameGenerator.UdpFrame(frameLength, topology.MacA, ReflectTarget),
                };
                trafgen = Trafgen.Start(topology.HostA, BridgeTopology.DeviceA, frame, generatorCpu, limit);
            }
            else
            {
                Pinger p = pinger = new Pinger(topology.HostA.Name, IPAddress.Parse(BridgeTopology.AddressB), null, frameLength, Identifier);
                CancellationToken token = stopPinger.Token;
                pingerThread = new Thread(() =>
                {
                    try
                    {
                        if (generatorCpu is int cpu)
                        {
                            ThreadAffinity.PinCurrentThread(cpu);
                        }

                        _ = p.Run(limit, InFlight, token);
                    }
#pragma warning disable CA1031 // Reported on the measuring thread.
                    catch (Exception exception)
#pragma warning restore CA1031
                    {
                        pingerFailure = exception;
                    }
                })
                { IsBackground = true, Name = "pinger" };
                pingerThread.Start();
            }

            Thread.Sleep(Warmup);
            measured?.BeginWindow();
            Snapshot before = Snapshot.Take(topology, app, load, pinger, testpmd);
            Thread.Sleep(duration);
            Snapshot after = Snapshot.Take(topology, app, load, pinger, testpmd);
            measured?.EndWindow();
            if (trafgen is { HasExited: true })
            {
                throw new InvalidOperationException("trafgen ended before the window did (see its options in Trafgen.cs)");
            }

            if (pingerFailure is not null)
            {
                throw new InvalidOperationException("the pinger failed", pingerFailure);
            }

            double seconds = (after.Timestamp - before.Timestamp) / (double)Stopwatch.Frequency;
            string drops;
            double? bytesPerFrame = null;
            if (measured is not null)
            {
                LoopWindow w = measured.Window;
                drops = LoopThroughput.Text($"loop {w.TxFullDrops}/{w.TxErrorDrops}/{w.DriverRxDrops}/{w.DriverTxDrops}, sockets {after.SocketDrops - before.SocketDrops}{(w.PostShortfalls > 0 ? $", {w.PostShortfalls} post shortfalls" : "")}{(w.Errors > 0 ? $", {w.Errors} errors" : "")}");
                bytesPerFrame = w.Transmitted > 0 ? w.AllocatedBytes / (double)w.Transmitted : 0;
            }
            else
            {
                TestpmdStats t = after.Testpmd - before.Testpmd;
                drops = LoopThroughput.Text($"missed {t.RxMissed}, rx-err {t.RxErrors}, nombuf {t.RxNoMbuf}, tx-err {t.TxErrors}");
            }

            var links = after.Links
                .Select(p => (p.Key, Delta: p.Value.Since(before.Links.GetValueOrDefault(p.Key))))
                .Where(p => p.Delta.RxDropped != 0 || p.Delta.TxDropped != 0)
                .Select(p => LoopThroughput.Text($"{p.Key} {p.Delta.RxDropped}/{p.Delta.TxDropped}"));
            string linkDrops = string.Join(", ", links);
            return new VersusSample(app, topology.Kind, load, frameLength, candidate, 0, (after.Offered - before.Offered) / seconds, (after.Passed - before.Passed) / seconds, drops, linkDrops.Length == 0 ? "0" : linkDrops, bytesPerFrame);
        }
        finally
        {
            stopPinger.Cancel();
            _ = pingerThread?.Join(TimeSpan.FromSeconds(10));
            pinger?.Dispose();
            trafgen?.Dispose();
            measured?.Abort();
            loop?.Dispose();
            discard?.Dispose();
            topology.ClosePorts();
        }
    }

    private static void Print(List<VersusSample> samples, int rounds, int? generatorCpu, int? loopCpu, List<string> notMeasured)
    {
        Console.WriteLine();
        Machine.Print();
        Console.WriteLine(LoopThroughput.Text($"// {LoopThroughput.Pinning(generatorCpu, loopCpu)}; testpmd's forwarding lcore on CPU 1; medians over {rounds} rounds (other work shares the machine: read the per-round figures too)"));
        Console.WriteLine("// handled/s: flood: frames back at host A's interface (responder: echo replies; macswap: reflected frames) or at host B's (forward), from rx_packets; closed: echo replies/s at the pinger");
        Console.WriteLine("// share: handled / offered (flood: frames host A's interface sent or dropped on the way out, as a TAP device does when its reader is slow; closed: requests the pinger's socket took); x testpmd: our median / testpmd's in the same row group");
        Console.WriteLine("// drops in round 1's window (interfaces: the first round where any moved): ours 'loop tx-full/tx-error/driver rx/driver tx, sockets' (the ports' kernel drops); testpmd's port counters; interfaces: rx_dropped/tx_dropped that moved");
        Console.WriteLine("// lost/s: offered - handled (median): what no counter above may show (a socket's ring, a kernel queue)");
        Console.WriteLine("| app | driver | load | frame | candidate | handled/s | per round | x testpmd | share | lost/s | drops | interfaces' drops | B/frame |");
        Console.WriteLine("|---|---|---|---:|---|---:|---|---:|---:|---:|---|---|---:|");
        var verdicts = new List<string>();
        foreach (IGrouping<(string App, string Driver, string Load, int Frame), VersusSample> group in samples.GroupBy(x => (x.App, x.Driver, x.Load, x.Frame)))
        {
            double? reference = group.Any(x => x.Candidate == Dpdk) ? Median(group.Where(x => x.Candidate == Dpdk).Select(x => x.Passed)) : null;
            foreach (IGrouping<string, VersusSample> row in group.GroupBy(x => x.Candidate).OrderBy(g => g.Key == Dpdk ? 2 : g.Key == Busy ? 0 : 1))
            {
                VersusSample[] rs = [.. row.OrderBy(x => x.Round)];
                double median = Median(rs.Select(x => x.Passed));
                string ratio = row.Key == Dpdk ? "1.00x" : reference is double t && t > 0 ? LoopThroughput.Text($"{median / t:0.00}x") : "n/a";
                string perRound = string.Join(" / ", rs.Select(x => LoopThroughput.Text($"{x.Passed / 1000:0}k")));
                string drops = string.Join("; ", rs.Select(x => x.Drops).Distinct().Take(1)) + (rs.Length > 1 ? " (round 1)" : "");
                string links = string.Join("; ", rs.Select(x => x.LinkDrops).Where(x => x != "0").Take(1));
                string bytes = row.Key == Dpdk ? "n/a" : LoopThroughput.Text($"{rs.Max(x => x.BytesPerFrame ?? 0):0.###}");
                Console.WriteLine(LoopThroughput.Text(
                    $"| {group.Key.App} | {LoopThroughput.Label(group.Key.Driver)} | {group.Key.Load} | {group.Key.Frame} | {row.Key} | {median:N0} | {perRound} | {ratio} | {Median(rs.Select(x => x.Share)):P1} | {Median(rs.Select(x => x.Offered - x.Passed)):N0} | {drops} | {(links.Length == 0 ? "0" : links + (rs.Length > 1 ? " (first round with any)" : ""))} | {bytes} |"));
                if (row.Key == Busy)
                {
                    verdicts.Add(reference is double tp && tp > 0
                        ? LoopThroughput.Text($"| {group.Key.App} | {LoopThroughput.Label(group.Key.Driver)} | {group.Key.Load} | {group.Key.Frame} | {median / tp:0.00}x | {(median >= tp ? "met" : "MISSED")} | {rs.Max(x => x.BytesPerFrame ?? 0):0.###} |")
                        : LoopThroughput.Text($"| {group.Key.App} | {LoopThroughput.Label(group.Key.Driver)} | {group.Key.Load} | {group.Key.Frame} | n/a | not measured (no testpmd) | {rs.Max(x => x.BytesPerFrame ?? 0):0.###} |"));
                }
            }
        }

        Console.WriteLine();
        Console.WriteLine("// Goal: ours (busy-poll, the fair comparison: testpmd busy-polls too) at least 1.0x testpmd on every path, 0 GC bytes per frame");
        Console.WriteLine("| app | driver | load | frame | ours / testpmd | >= 1.0x | B/frame |");
        Console.WriteLine("|---|---|---|---:|---:|---|---:|");
        verdicts.ForEach(Console.WriteLine);
        foreach (string line in notMeasured)
        {
            Console.WriteLine($"// not measured: {line}");
        }
    }

    private static double Median(IEnumerable<double> values)
    {
        double[] sorted = [.. values.Order()];
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    /// <summary>The counters at one edge of a window.</summary>
    private sealed record Snapshot(long Timestamp, long Offered, long Passed, long SocketDrops, TestpmdStats Testpmd, Dictionary<string, LinkCounters> Links)
    {
        /// <summary>
        /// Reads the counters the rates come from first, stamping the time around that read (an <c>ip</c> call takes a
        /// few milliseconds), then the rest; the same order at both edges, so the offsets cancel.
        /// </summary>
        public static Snapshot Take(BridgeTopology topology, string app, string load, Pinger? pinger, Testpmd? testpmd)
        {
            long start = Stopwatch.GetTimestamp();
            long offered;
            long passed;
            Dictionary<string, LinkCounters> hostA = LinkCounters.Read(topology.HostA);
            Dictionary<string, LinkCounters>? hostB = app == "forward" ? LinkCounters.Read(topology.HostB!) : null;
            if (load == "flood")
            {
                // What the generator offered: the frames host A's interface sent, and those it dropped on the way out (a
                // TAP device drops when the program holding it does not read fast enough; a veth end does not).
                offered = hostA[BridgeTopology.DeviceA].TxPackets + hostA[BridgeTopology.DeviceA].TxDropped;
                passed = hostB is null ? hostA[BridgeTopology.DeviceA].RxPackets : hostB[BridgeTopology.DeviceB].RxPackets;
            }
            else
            {
                offered = pinger!.Sent;
                passed = pinger.Replies;
            }

            long timestamp = (start + Stopwatch.GetTimestamp()) / 2;
            var links = new Dictionary<string, LinkCounters>(StringComparer.Ordinal);
            AddLinks(links, "A", hostA);
            if (hostB is not null)
            {
                AddLinks(links, "B", hostB);
            }

            if (topology.Bridge is not null)
            {
                AddLinks(links, "bridge", LinkCounters.Read(topology.Bridge));
            }

            TestpmdStats stats = testpmd?.ReadStats() ?? default;
            return new Snapshot(timestamp, offered, passed, topology.SocketDrops().Sum(), stats, links);
        }

        private static void AddLinks(Dictionary<string, LinkCounters> links, string where, Dictionary<string, LinkCounters> read)
        {
            foreach ((string name, LinkCounters counters) in read)
            {
                if (name.StartsWith("nbfw", StringComparison.Ordinal))
                {
                    links[$"{where}:{name}"] = counters;
                }
            }
        }
    }
}
