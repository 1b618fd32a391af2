using System.Diagnostics;
using System.Globalization;
using NetBufNative.Apps;
using NetBufNative.Drivers;
using NetBufNative.Wire;

namespace NetBufNative.Bench.Drivers;

/// <summary>
/// The loopback paths, both ends in this process: the responder on one end of a
/// <see cref="LoopbackDriver"/> pair with an in-process pinger on the other; and the bare cycle
/// (alloc, transmit, receive, recycle) beside the cached alloc+free pair.
/// </summary>
internal static class LoopbackRig
{
    private static readonly MacAddress HostMac = new(0x02, 0, 0, 0, 0, 0x01);
    private static readonly MacAddress ResponderMac = new(0x02, 0, 0, 0, 0, 0x02);
    private static readonly Ipv4Address HostIp = new(10, 77, 0, 1);
    private static readonly Ipv4Address ResponderIp = new(10, 77, 0, 2);

    /// <summary>The responder over a loopback pair, pinged by a host loop keeping <paramref name="inFlight"/> requests in flight.</summary>
    public static EchoResult Responder(int batchSize, int frameLength, int inFlight, TimeSpan duration, bool progress)
    {
        using var pool = new NetBufPool(4096, 2048, new NetBufPoolOptions { DefaultHeadroom = 64, Name = "bench-loopback" });
        (LoopbackDriver host, LoopbackDriver device) = LoopbackDriver.CreatePair(pool, queueSize: 1024);
        try
        {
            byte[] request = Request(frameLength);
            long replies = 0;
            var responders = new List<Action<Window, CancellationToken>>
            {
                (window, stop) =>
                {
                    var loop = new EchoResponderLoop(device, ResponderIp, new EchoResponderLoopOptions { MacAddress = ResponderMac, BatchSize = batchSize });
                    foreach (long edge in new[] { window.Start, window.End })
                    {
                        TimeSpan left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), edge);
                        if (left > TimeSpan.Zero)
                        {
                            _ = loop.Run(left, cancellationToken: stop);
                        }

                        window.Observe(loop.Counters.Received);
                    }

                    _ = loop.Run(stop);
                },
            };
            using var stop = new CancellationTokenSource();
            var pinger = new Thread(() => Ping(host, request, inFlight, ref replies, stop.Token)) { IsBackground = true, Name = "loopback pinger" };
            pinger.Start();
            try
            {
                return Measure(responders, () => Volatile.Read(ref replies), frameLength, duration, progress);
            }
            finally
            {
                stop.Cancel();
                _ = pinger.Join(TimeSpan.FromSeconds(10));
            }
        }
        finally
        {
            host.Dispose();
            device.Dispose();
        }
    }

    /// <summary>Nanoseconds (process CPU time) and GC bytes per loopback cycle and per cached alloc+free pair.</summary>
    public static (double CycleNs, double PairNs, double CycleBytes, double PairBytes) Cycle(int frameLength)
    {
        // 1,000,000 per repeat: about 50 ms each, long enough for the CPU clock's resolution; best of 5 against a busy VM.
        const int Iterations = 1_000_000;
        const int Repeats = 5;
        using var pool = new NetBufPool(1024, 2048, new NetBufPoolOptions { DefaultHeadroom = 64, Name = "bench-cycle" });
        using var driver = new LoopbackDriver(pool, queueSize: 256);
        var posted = new NetBufPtr[32];
        _ = pool.TryAllocBulk(posted);
        foreach (NetBufPtr buffer in posted)
        {
            _ = driver.TryRecycleRxBuffer(buffer);
        }

        double bestCycle = double.MaxValue;
        double bestPair = double.MaxValue;
        long cycleBytes = 0;
        long pairBytes = 0;
        for (int repeat = 0; repeat < Repeats; repeat++)
        {
            long bytes = GC.GetAllocatedBytesForCurrentThread();
            long t0 = CpuTimeClock.Instance.GetTimestamp();
            for (int i = 0; i < Iterations; i++)
            {
                NetBufPtr frame = driver.AllocTxBuffer(frameLength);
                _ = driver.TryTransmit(frame);
                _ = driver.TryReceive(out NetBufPtr received);
                _ = driver.TryRecycleRxBuffer(received);
                _ = driver.RecycleTxBuffers();
            }

            long t1 = CpuTimeClock.Instance.GetTimestamp();
            cycleBytes += GC.GetAllocatedBytesForCurrentThread() - bytes;
            bytes = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < Iterations; i++)
            {
                using NetBuf buffer = pool.Alloc();
            }

            long t2 = CpuTimeClock.Instance.GetTimestamp();
            pairBytes += GC.GetAllocatedBytesForCurrentThread() - bytes;
            bestCycle = Math.Min(bestCycle, (t1 - t0) / (double)Iterations);
            bestPair = Math.Min(bestPair, (t2 - t1) / (double)Iterations);
        }

        return (bestCycle, bestPair, cycleBytes / (double)(Iterations * Repeats), pairBytes / (double)(Iterations * Repeats));
    }

    private static EchoResult Measure(List<Action<Window, CancellationToken>> responders, Func<long> replies, int frameLength, TimeSpan duration, bool progress)
    {
        long start = Stopwatch.GetTimestamp() + (Stopwatch.Frequency * 7 / 10);
        long end = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var window = new Window(start, end);
        using var stop = new CancellationTokenSource();
        var thread = new Thread(() => responders[0](window, stop.Token)) { IsBackground = true, Name = "responder" };
        thread.Start();
        Thread.Sleep(Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), start));
        long before = replies();
        long last = before;
        while (Stopwatch.GetTimestamp() < end)
        {
            TimeSpan left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), end);
            Thread.Sleep(left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1));
            long now = replies();
            if (progress)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  loopback: {now - last,10:N0} replies in the last second"));
            }

            last = now;
        }

        long total = replies() - before;
        stop.Cancel();
        _ = thread.Join(TimeSpan.FromSeconds(10));
        return new EchoResult("loopback", frameLength, total / duration.TotalSeconds, window.Frames == 0 ? double.NaN : window.Bytes / (double)window.Frames);
    }

    /// <summary>The host end: keeps <paramref name="inFlight"/> requests out, counts the replies, re-posts their buffers.</summary>
    private static void Ping(LoopbackDriver host, byte[] request, int inFlight, ref long replies, CancellationToken stop)
    {
        var batch = new NetBufPtr[64];
        var posted = new NetBufPtr[Math.Min(1024, inFlight * 2)];
        _ = host.Pool.TryAllocBulk(posted);
        foreach (NetBufPtr buffer in posted)
        {
            _ = host.TryRecycleRxBuffer(buffer);
        }

        int outstanding = 0;
        long lastReply = Stopwatch.GetTimestamp();
        while (!stop.IsCancellationRequested)
        {
            while (outstanding < inFlight)
            {
                NetBufPtr frame = host.AllocTxBuffer(request.Length);
                request.CopyTo(frame.Packet);
                if (!host.TryTransmit(frame))
                {
                    host.Pool.FreeBulk(new ReadOnlySpan<NetBufPtr>(in frame));
                    break;
                }

                outstanding++;
            }

            _ = host.RecycleTxBuffers();
            int count = host.ReceiveBatch(batch);
            if (count == 0)
            {
                // Requests lost (the responder was not posted yet): after 100 ms without a reply, send a new window.
                if (Stopwatch.GetElapsedTime(lastReply) > TimeSpan.FromMilliseconds(100))
                {
                    outstanding = 0;
                    lastReply = Stopwatch.GetTimestamp();
                }

                try
                {
                    _ = host.WaitForReceive(TimeSpan.FromMilliseconds(10), stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            lastReply = Stopwatch.GetTimestamp();
            for (int i = 0; i < count; i++)
            {
                _ = host.TryRecycleRxBuffer(batch[i]);
            }

            outstanding -= count;
            Volatile.Write(ref replies, replies + count);
        }
    }

    /// <summary>An echo request from the host to the responder, <paramref name="frameLength"/> bytes long.</summary>
    private static byte[] Request(int frameLength)
    {
        byte[] frame = new byte[frameLength];
        int ipLength = frameLength - EthernetFrame.UntaggedHeaderLength;
        if (!EthernetFrame.TryCreate(frame, ResponderMac, HostMac, EtherType.Ipv4, out EthernetFrame ethernet) ||
            !Ipv4Packet.TryCreate(ethernet.Payload, ipLength - Ipv4Packet.MinHeaderLength, IpProtocol.Icmp, HostIp, ResponderIp, out Ipv4Packet ip) ||
            !IcmpV4Packet.TryCreate(ip.Payload, IcmpV4Type.EchoRequest, 0, out IcmpV4Packet icmp))
        {
            throw new InvalidOperationException("the request does not fit");
        }

        icmp.EchoIdentifier = 0x4e42;
        icmp.EchoSequence = 1;
        icmp.FillChecksum();
        return frame;
    }
}
