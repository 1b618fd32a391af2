using System.Diagnostics;
using System.Net;
using NetBufNative.Apps;
using NetBufNative.Processing;

namespace NetBufNative.Bench.Drivers;

/// <summary>
/// The latency mode: ICMP echo round trips, one in flight, from host A to host B's kernel through the bridge
/// (<see cref="BridgeTopology"/>): our <see cref="L2Forwarder"/> loop over each driver in each polling mode asked, and the
/// kernel's own bridge (<c>br0</c> with the two veth ends as its ports) on the same set-up, in the same run, candidates
/// interleaved over rounds; p50 and p99 over every round's round trips, and the median's difference to the kernel's bridge.
/// </summary>
internal static class BridgeLatency
{
    /// <summary>Round trips before the measured ones: ARP resolution through the bridge, the JIT, the loop's first sleeps.</summary>
    private const int WarmupEchoes = 200;

    /// <summary>At most this many round trips per candidate and round (a bound besides the time; about 1-2 s at the round trips seen here).</summary>
    private const int MaxEchoes = 20_000;

    public static void Run(string[] drivers, PollingMode[] modes, TimeSpan duration, int rounds)
    {
        (int? pingerCpu, int? loopCpu) = LoopThroughput.Cpus();
        Console.WriteLine(LoopThroughput.Text($"// latency: ICMP echo from host A to host B's kernel, one in flight (56 data bytes), through the bridge; {rounds} rounds, every candidate once per round, {duration.TotalSeconds:0.#} s or {MaxEchoes:N0} round trips each after {WarmupEchoes} unmeasured; {LoopThroughput.Pinning(pingerCpu, loopCpu)}"));
        var samples = new Dictionary<(string Driver, PollingMode? Mode), List<double>>();
        var lost = new Dictionary<(string Driver, PollingMode? Mode), int>();
        var roundMedians = new Dictionary<(string Driver, PollingMode? Mode), List<double>>();
        string[] candidates = [.. drivers.Where(d => d != "kernel"), "kernel"];
        for (int round = 1; round <= rounds; round++)
        {
            foreach (string driver in candidates)
            {
                using BridgeTopology topology = BridgeTopology.Create(driver);
                foreach (PollingMode? mode in driver == "kernel" ? [null] : modes.Select(m => (PollingMode?)m))
                {
                    (List<double> times, int missing) = Measure(topology, mode, duration, pingerCpu, loopCpu);
                    var key = (driver, mode);
                    samples.TryAdd(key, []);
                    roundMedians.TryAdd(key, []);
                    samples[key].AddRange(times);
                    roundMedians[key].Add(Percentile([.. times.Order()], 0.5));
                    lost[key] = lost.GetValueOrDefault(key) + missing;
                    Console.WriteLine(LoopThroughput.Text($"  round {round}: {LoopThroughput.Label(driver)}, {LoopThroughput.ModeName(mode)}: {times.Count:N0} round trips, p50 {Percentile([.. times.Order()], 0.5):0.0} us, {missing} lost"));
                }
            }
        }

        Console.WriteLine();
        Machine.Print();
        Console.WriteLine(LoopThroughput.Text($"// {LoopThroughput.Pinning(pingerCpu, loopCpu)}; percentiles over all {rounds} rounds' round trips; 'vs br0': this p50 minus the kernel bridge's"));
        Console.WriteLine("| bridge | mode | round trips | p50 | p99 | p50 per round | vs br0 (p50) | lost |");
        Console.WriteLine("|---|---|---:|---:|---:|---|---:|---:|");
        double kernel = samples.TryGetValue(("kernel", null), out List<double>? k) ? Percentile([.. k.Order()], 0.5) : double.NaN;
        foreach (((string driver, PollingMode? mode), List<double> times) in samples)
        {
            double[] sorted = [.. times.Order()];
            double p50 = Percentile(sorted, 0.5);
            string versus = driver == "kernel" || double.IsNaN(kernel) ? "" : LoopThroughput.Text($"{p50 - kernel:+0.0;-0.0} us");
            string perRound = string.Join(" / ", roundMedians[(driver, mode)].Select(m => LoopThroughput.Text($"{m:0.0}")));
            Console.WriteLine(LoopThroughput.Text($"| {LoopThroughput.Label(driver)} | {LoopThroughput.ModeName(mode)} | {sorted.Length:N0} | {p50:0.0} us | {Percentile(sorted, 0.99):0.0} us | {perRound} us | {versus} | {lost[(driver, mode)]} |"));
        }
    }

    /// <summary>The value below which <paramref name="quantile"/> of the sorted values lie (nearest rank); NaN for none.</summary>
    private static double Percentile(double[] sorted, double quantile) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(quantile * sorted.Length) - 1, 0, sorted.Length - 1)];

    /// <summary>Round trips in microseconds through one candidate, and how many requests were lost.</summary>
    private static (List<double> Times, int Lost) Measure(BridgeTopology topology, PollingMode? mode, TimeSpan duration, int? pingerCpu, int? loopCpu)
    {
        var ports = topology.OpenPorts();
        PacketLoop? loop = null;
        try
        {
            Task? running = null;
            if (mode is PollingMode pollingMode)
            {
                loop = L2Forwarder.CreateLoop(ports[0], ports[1], new PacketLoopOptions { PollingMode = pollingMode, Cpu = loopCpu, Name = "bench-latency" });
                running = loop.Start();
            }

            var times = new List<double>();
            int lost = 0;
            Exception? failure = null;
            var pinger = new Thread(() =>
            {
                try
                {
                    if (pingerCpu is int cpu)
                    {
                        ThreadAffinity.PinCurrentThread(cpu);
                    }

                    using var timer = new EchoTimer(topology.HostA.Name, IPAddress.Parse(BridgeTopology.AddressB), 0x4e4c);
                    for (int i = 0; i < WarmupEchoes; i++)
                    {
                        _ = timer.RoundTrip();
                    }

                    long deadline = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
                    while (Stopwatch.GetTimestamp() < deadline && times.Count + lost < MaxEchoes)
                    {
                        long ticks = timer.RoundTrip();
                        if (ticks < 0)
                        {
                            lost++;
                        }
                        else
                        {
                            times.Add(ticks * 1e6 / Stopwatch.Frequency);
                        }
                    }
                }
#pragma warning disable CA1031 // Rethrown below on the measuring thread.
                catch (Exception exception)
#pragma warning restore CA1031
                {
                    failure = exception;
                }
            })
            { IsBackground = true, Name = "pinger" };
            pinger.Start();

            // The pinger's own bounds are the time and the count, plus the warm-up's 200 waits of 100 ms at most if all are lost.
            if (!pinger.Join(duration + TimeSpan.FromSeconds(30)))
            {
                throw new InvalidOperationException("the pinger did not finish");
            }

            if (failure is not null)
            {
                throw new InvalidOperationException("the pinger failed", failure);
            }

            if (running is { IsFaulted: true })
            {
                throw new InvalidOperationException("the loop failed", running.Exception);
            }

            return (times, lost);
        }
        finally
        {
            loop?.Dispose();
            topology.ClosePorts();
        }
    }
}
