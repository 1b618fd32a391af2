using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using NetBufNative.Apps;
using NetBufNative.Drivers;
using NetBufNative.Drivers.Linux;
using NetBufNative.Wire;

namespace NetBufNative.Bench.Drivers;

/// <summary>One measured echo path: replies per second seen by the pinger, GC bytes per frame on the responder's threads.</summary>
internal sealed record EchoResult(string Path, int FrameLength, double PacketsPerSecond, double? BytesPerPacket);

/// <summary>
/// Sets up one echo path in a namespace of its own (removed afterwards), runs its responder and the
/// kernel-side pinger, and measures a window after a warm-up (ARP resolution, JIT): the pinger's replies
/// per second, and the GC bytes allocated per received frame on the responder's threads.
/// </summary>
internal static class EchoRig
{
    public const string KernelEnd = "nbk0";
    public const string DriverEnd = "nbd0";
    public const string Tap = "nbtap0";

    /// <summary>Before the measured window: the kernel resolves the responder, the JIT compiles the loop.</summary>
    private static readonly TimeSpan Warmup = TimeSpan.FromMilliseconds(700);

    private static readonly IPAddress ResponderAddress = IPAddress.Parse("10.77.0.2");
    private static readonly Ipv4Address ResponderIp = new(10, 77, 0, 2);

    /// <summary>Measures one path: <c>tap</c>, <c>afpacket</c>, <c>fanout</c> (AF_PACKET, 2 workers), <c>sharppcap</c>, <c>kernel</c>.</summary>
    public static EchoResult Measure(string path, string label, int batchSize, int frameLength, int inFlight, TimeSpan duration, bool progress)
    {
        using var ns = BenchNamespace.Create();
        BenchNamespace? peer = null;
        using var pool = new NetBufPool(4096, 2048, new NetBufPoolOptions { DefaultHeadroom = 64, Name = "bench-" + path });
        var drivers = new List<INetDriver>();
        var responders = new List<Action<Window, CancellationToken>>();
        IPAddress?[] sources = [null];
        try
        {
            switch (path)
            {
                case "tap":
                    var tap = new TapDriver(pool, Tap, new TapDriverOptions { NetworkNamespace = ns.Name });
                    drivers.Add(tap);
                    _ = ns.Ip("addr", "add", "10.77.0.1/24", "dev", Tap);
                    _ = ns.Ip("link", "set", Tap, "up");
                    responders.Add(Ours(tap, batchSize));
                    break;
                case "afpacket":
                    ns.AddVethPair(KernelEnd, DriverEnd);
                    var socket = new AfPacketDriver(pool, DriverEnd, new AfPacketDriverOptions { NetworkNamespace = ns.Name, BatchSize = batchSize });
                    drivers.Add(socket);
                    responders.Add(Ours(socket, batchSize));
                    break;
                case "fanout":
                    // Two flows (two source addresses), so the fanout hash can give each worker one.
                    ns.AddVethPair(KernelEnd, DriverEnd);
                    _ = ns.Ip("addr", "add", "10.77.0.3/24", "dev", KernelEnd);
                    var options = new AfPacketDriverOptions { NetworkNamespace = ns.Name, BatchSize = batchSize, FanoutGroup = 4747 };
                    for (int w = 0; w < 2; w++)
                    {
                        var worker = new AfPacketDriver(pool, DriverEnd, options);
                        drivers.Add(worker);
                        responders.Add(Ours(worker, batchSize));
                    }

                    sources = [IPAddress.Parse("10.77.0.1"), IPAddress.Parse("10.77.0.3")];
                    break;
                case "sharppcap":
                    ns.AddVethPair(KernelEnd, DriverEnd);
                    var mac = PhysicalAddress.Parse(ns.Ip("-br", "link", "show", DriverEnd).Split(' ', StringSplitOptions.RemoveEmptyEntries)[2].Replace(':', '-'));
                    string name = ns.Name;
                    responders.Add((window, stop) => NamespaceThread.Run(name, () =>
                    {
                        long frames = 0;
                        SharpPcapResponder.Run(DriverEnd, ResponderAddress, mac, () => window.Observe(++frames), stop);
                        return frames;
                    }));
                    break;
                case "kernel":
                    // The kernel of a second namespace answers at 10.77.0.2 on the far end of the veth.
                    peer = BenchNamespace.Create();
                    _ = ns.Ip("link", "add", KernelEnd, "type", "veth", "peer", "name", DriverEnd, "netns", peer.Name);
                    _ = ns.Ip("addr", "add", "10.77.0.1/24", "dev", KernelEnd);
                    _ = ns.Ip("link", "set", KernelEnd, "up");
                    _ = peer.Ip("addr", "add", "10.77.0.2/24", "dev", DriverEnd);
                    _ = peer.Ip("link", "set", DriverEnd, "up");
                    break;
                default:
                    throw new ArgumentException($"unknown path {path}", nameof(path));
            }

            return Drive(ns.Name, label, frameLength, inFlight, duration, progress, responders, sources);
        }
        finally
        {
            drivers.ForEach(d => d.Dispose());
            peer?.Dispose();
        }
    }

    /// <summary>Our responder over a driver, observed at the window's edges.</summary>
    public static Action<Window, CancellationToken> Ours(INetDriver driver, int batchSize) => (window, stop) =>
    {
        var loop = new EchoResponderLoop(driver, ResponderIp, new EchoResponderLoopOptions { BatchSize = batchSize });
        RunUntil(loop, window.Start, stop);
        window.Observe(loop.Counters.Received);
        RunUntil(loop, window.End, stop);
        window.Observe(loop.Counters.Received);
        _ = loop.Run(stop);
    };

    /// <summary>Runs the responders and pingers, measures the window, stops them.</summary>
    public static EchoResult Drive(string ns, string label, int frameLength, int inFlight, TimeSpan duration, bool progress,
        List<Action<Window, CancellationToken>> responders, IPAddress?[] sources)
    {
        long start = Stopwatch.GetTimestamp() + Seconds(Warmup);
        long end = start + Seconds(duration);
        var windows = responders.Select(_ => new Window(start, end)).ToList();
        using var stop = new CancellationTokenSource();
        var failures = new List<Exception>();
        var threads = new List<Thread>();
        for (int i = 0; i < responders.Count; i++)
        {
            Action<Window, CancellationToken> responder = responders[i];
            Window window = windows[i];
            threads.Add(Start($"responder {i}", () => responder(window, stop.Token), failures));
        }

        var pingers = sources.Select((source, i) => new Pinger(ns, ResponderAddress, source, frameLength, (ushort)(0x4e00 + i))).ToList();
        TimeSpan pingFor = Warmup + duration + TimeSpan.FromMilliseconds(300);
        foreach (Pinger pinger in pingers)
        {
            threads.Add(Start("pinger", () => pinger.Run(pingFor, Math.Max(1, inFlight / pingers.Count), stop.Token), failures));
        }

        try
        {
            SleepUntil(start);
            long before = pingers.Sum(p => p.Replies);
            long last = before;
            while (Stopwatch.GetTimestamp() < end)
            {
                SleepUntil(Math.Min(end, Stopwatch.GetTimestamp() + Stopwatch.Frequency));
                long now = pingers.Sum(p => p.Replies);
                if (progress)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {label}: {now - last,10:N0} replies in the last second"));
                }

                last = now;
            }

            long replies = pingers.Sum(p => p.Replies) - before;
            stop.Cancel();
            foreach (Thread thread in threads)
            {
                if (!thread.Join(TimeSpan.FromSeconds(10)))
                {
                    throw new InvalidOperationException($"{thread.Name} did not stop within 10 s");
                }
            }

            if (failures.Count > 0)
            {
                throw new AggregateException(failures);
            }

            long frames = windows.Sum(w => w.Frames);
            double? bytesPerFrame = responders.Count == 0 ? null : frames == 0 ? double.NaN : windows.Sum(w => w.Bytes) / (double)frames;
            return new EchoResult(label, frameLength, replies / duration.TotalSeconds, bytesPerFrame);
        }
        finally
        {
            stop.Cancel();
            foreach (Thread thread in threads)
            {
                _ = thread.Join(TimeSpan.FromSeconds(10));
            }

            pingers.ForEach(p => p.Dispose());
        }
    }

    private static void RunUntil(EchoResponderLoop loop, long timestamp, CancellationToken stop)
    {
        TimeSpan left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), timestamp);
        if (left > TimeSpan.Zero)
        {
            _ = loop.Run(left, cancellationToken: stop);
        }
    }

    private static Thread Start(string name, Action body, List<Exception> failures)
    {
        var thread = new Thread(() =>
        {
            try
            {
                body();
            }
#pragma warning disable CA1031 // Reported by the measuring thread.
            catch (Exception exception)
#pragma warning restore CA1031
            {
                lock (failures)
                {
                    failures.Add(exception);
                }
            }
        })
        { IsBackground = true, Name = name };
        thread.Start();
        return thread;
    }

    private static long Seconds(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    private static void SleepUntil(long timestamp)
    {
        TimeSpan left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), timestamp);
        if (left > TimeSpan.Zero)
        {
            Thread.Sleep(left);
        }
    }
}

/// <summary>A measuring window on one responder thread: its received frames and GC bytes when the window opens and closes.</summary>
internal sealed class Window(long start, long end)
{
    private long _framesAtStart = -1;
    private long _bytesAtStart;
    private long _framesAtEnd = -1;
    private long _bytesAtEnd;

    public long Start => start;

    public long End => end;

    /// <summary>Frames received inside the window.</summary>
    public long Frames => Math.Max(0, Volatile.Read(ref _framesAtEnd) - Volatile.Read(ref _framesAtStart));

    /// <summary>GC bytes allocated on the responder's thread inside the window.</summary>
    public long Bytes => Volatile.Read(ref _bytesAtEnd) - Volatile.Read(ref _bytesAtStart);

    /// <summary>Called on the responder's thread with its frame count: takes the snapshots as the edges pass.</summary>
    public void Observe(long frames)
    {
        long now = Stopwatch.GetTimestamp();
        if (_framesAtStart < 0 && now >= start)
        {
            _bytesAtStart = GC.GetAllocatedBytesForCurrentThread();
            Volatile.Write(ref _framesAtStart, frames);
        }
        else if (_framesAtStart >= 0 && _framesAtEnd < 0 && now >= end)
        {
            _bytesAtEnd = GC.GetAllocatedBytesForCurrentThread();
            Volatile.Write(ref _framesAtEnd, frames);
        }
    }
}
