using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using NetBufNative.Apps;
using NetBufNative.Drivers;
using NetBufNative.Drivers.Linux;
using NetBufNative.Drivers.Linux.Xdp;
using NetBufNative.Wire;

namespace NetBufNative.Bench;

/// <summary>
/// "xdp" mode: frames per second through the Linux drivers in a namespace made for the run (and
/// always removed): transmit and receive-count-recycle loops and an ARP/ICMP echo responder, AF_XDP
/// (copy mode, the pool as UMEM) with one queue and with two queues sharing the UMEM, beside batched
/// AF_PACKET and TAP, and the kernel's own echo replies, at 64 and 1500 bytes; with GC bytes
/// allocated per frame on the drivers' threads. Needs root on Linux; says so and does nothing otherwise.
/// </summary>
/// <remarks>
/// <para>
/// Three set-ups, one generator: a batched AF_PACKET socket (batches of 32) on the kernel's side of
/// the device, on its own thread. A one-queue veth pair for the AF_XDP and AF_PACKET rows; a veth pair
/// with two queues each way for the two-queue AF_XDP rows (a socket and a thread per queue over one
/// pool); a TAP device, the generator on its kernel side, for the TAP rows. The generator's frames
/// are 64 flows (UDP source ports, or echo requests from 64 source addresses), so the sending veth's
/// flow hash spreads them over the two queues; the kernel's echo row uses one source (its neighbour).
/// </para>
/// <para>
/// On 2 shared vCPUs the generator competes with the drivers under test, so the receive and responder
/// rows measure the pair, and the generator may be the limit. Rates vary by ±40 % run to run.
/// </para>
/// </remarks>
internal static class DriverBench
{
    private const string Generator = "nbg0";
    private const string Device = "nbr0";
    private const string Generator2 = "nbg1";
    private const string Device2 = "nbr1";
    private const string Tap = "nbt0";
    private const int Flows = 64;

    /// <summary>One second per row: long enough for 100k+ frames, short enough for the whole table in about 40 s.</summary>
    private static readonly TimeSpan s_window = TimeSpan.FromSeconds(1);

    private static readonly Ipv4Address s_generatorIp = new(10, 77, 0, 1);
    private static readonly Ipv4Address s_deviceIp = new(10, 77, 0, 2);

    public static void Run()
    {
        if (!OperatingSystem.IsLinux() || !Environment.IsPrivilegedProcess)
        {
            Console.WriteLine("// drivers: skipped; the driver benchmarks need root on Linux (a veth pair in a network namespace). Run as root.");
            return;
        }

        string ns = string.Create(CultureInfo.InvariantCulture, $"nbbench-{Environment.ProcessId}");
        Ip("netns", "add", ns);
        try
        {
            Ip("netns", "exec", ns, "sh", "-c", "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6");
            Ip("-n", ns, "link", "add", Generator, "type", "veth", "peer", "name", Device);
            Ip("-n", ns, "link", "add", Generator2, "numtxqueues", "2", "numrxqueues", "2", "type", "veth", "peer", "name", Device2, "numtxqueues", "2", "numrxqueues", "2");
            foreach (string device in (string[])[Generator, Device, Generator2, Device2])
            {
                Ip("-n", ns, "link", "set", device, "up");
            }

            var veth = new Setup(ns, Generator, Device);
            var veth2 = new Setup(ns, Generator2, Device2);
            var tap = new Setup(ns, Tap, Tap);
            Console.WriteLine("// * Drivers: veth pairs (1 queue; 2 queues) and a TAP device in a namespace, generator AF_PACKET (batches of 32, 64 flows) on its own thread *");
            Console.WriteLine($"{"Row",-30} {"Bytes",6} {"kframes/s",10} {"B/frame",8} Per queue");
            foreach (int size in (int[])[64, 1500])
            {
                Print("tx AF_XDP", size, Transmit(veth, size, Kind.Xdp, 1));
                Print("tx AF_XDP 2 queues", size, Transmit(veth2, size, Kind.Xdp, 2));
                Print("tx AF_PACKET (batched)", size, Transmit(veth, size, Kind.AfPacket, 1));
                Print("tx TAP", size, Transmit(tap, size, Kind.Tap, 1));
                Print("rx+recycle AF_XDP", size, Receive(veth, size, Kind.Xdp, 1));
                Print("rx+recycle AF_XDP 2 queues", size, Receive(veth2, size, Kind.Xdp, 2));
                Print("rx+recycle AF_PACKET", size, Receive(veth, size, Kind.AfPacket, 1));
                Print("rx+recycle TAP", size, Receive(tap, size, Kind.Tap, 1));
                Print("echo responder AF_XDP", size, Respond(veth, size, Kind.Xdp, 1));
                Print("echo responder AF_XDP 2 queues", size, Respond(veth2, size, Kind.Xdp, 2));
                Print("echo responder AF_PACKET", size, Respond(veth, size, Kind.AfPacket, 1));
                Print("echo responder TAP", size, Respond(tap, size, Kind.Tap, 1));
                Print("echo by the kernel", size, Respond(veth, size, Kind.Kernel, 1));
            }
        }
        finally
        {
            Ip("netns", "del", ns);
        }
    }

    private enum Kind
    {
        Xdp,
        AfPacket,
        Tap,
        Kernel,
    }

    private static void Print(string row, int size, (double Rate, double Bytes, long[] PerQueue) result) =>
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"{row,-30} {size,6} {result.Rate / 1000,10:F0} {(double.IsNaN(result.Bytes) ? "n/a" : result.Bytes.ToString("F2", CultureInfo.InvariantCulture)),8} {Split(result.PerQueue)}"));

    /// <summary>Each queue's share of the frames, for rows with more than one queue ("48/52 %").</summary>
    private static string Split(long[] perQueue)
    {
        long total = perQueue.Sum();
        return perQueue.Length < 2 || total == 0 ? string.Empty : string.Join('/', perQueue.Select(f => (100 * f / total).ToString(CultureInfo.InvariantCulture))) + " %";
    }

    /// <summary>Opens <paramref name="queues"/> drivers on the set-up's device over one pool (AF_XDP: the first registers the UMEM, the others share it).</summary>
    private static INetDriver[] Open(Setup setup, Kind kind, int queues, out NetBufPool pool)
    {
        switch (kind)
        {
            case Kind.Xdp:
                pool = XdpDriver.CreatePool(4096 * queues);
                var drivers = new XdpDriver[queues];
                for (int q = 0; q < queues; q++)
                {
                    drivers[q] = new XdpDriver(pool, setup.Device, new XdpDriverOptions
                    {
                        NetworkNamespace = setup.Ns,
                        QueueId = q,
                        BindMode = XdpBindMode.Copy,
                        RxQueueSize = 1024,
                        TxQueueSize = 1024,
                        ShareUmemWith = q == 0 ? null : drivers[0],
                    });
                }

                return drivers;
            case Kind.Tap:
                pool = new NetBufPool(4096, 2048);
                return [new TapDriver(pool, setup.Device, new TapDriverOptions { NetworkNamespace = setup.Ns })];
            default:
                pool = new NetBufPool(4096, 2048);
                return [new AfPacketDriver(pool, setup.Device, new AfPacketDriverOptions { NetworkNamespace = setup.Ns, RxQueueSize = 1024, TxQueueSize = 1024 })];
        }
    }

    private static void Close(INetDriver[] drivers, NetBufPool pool)
    {
        foreach (INetDriver driver in drivers)
        {
            driver.Dispose();
        }

        pool.Dispose();
    }

    /// <summary>The responder's own hardware address: the driver's, except over TAP, whose device address is the kernel's side.</summary>

    /// <summary>Runs <paramref name="body"/> on a thread per driver (one per queue) at once; sums the frames and GC bytes.</summary>
    private static (double Rate, double Bytes, long[] PerQueue) OnThreads(INetDriver[] drivers, Func<INetDriver, (long Frames, long Bytes, double Seconds)> body)
    {
        var results = new (long Frames, long Bytes, double Seconds)[drivers.Length];
        Exception? failure = null;
        Thread[] threads = [.. drivers.Select((driver, q) => new Thread(() =>
        {
            try
            {
                results[q] = body(driver);
            }
#pragma warning disable CA1031 // Rethrown on the calling thread below.
            catch (Exception exception)
#pragma warning restore CA1031
            {
                failure = exception;
            }
        })
        { Name = $"queue {q}" })];
        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        foreach (Thread thread in threads)
        {
            thread.Join();
        }

        if (failure is not null)
        {
            throw new InvalidOperationException("a queue's thread failed", failure);
        }

        long frames = results.Sum(r => r.Frames);
        double seconds = results.Max(r => r.Seconds);
        return (frames / seconds, results.Sum(r => r.Bytes) / (double)Math.Max(1, frames), [.. results.Select(r => r.Frames)]);
    }

    /// <summary>Transmits frames of <paramref name="size"/> bytes as fast as the drivers take them (one thread per queue), recycling sent buffers.</summary>
    private static (double, double, long[]) Transmit(Setup setup, int size, Kind kind, int queues)
    {
        INetDriver[] drivers = Open(setup, kind, queues, out NetBufPool pool);
        try
        {
            return OnThreads(drivers, driver =>
            {
                var batch = new NetBufPtr[32];
                long frames = 0;
                long allocated = GC.GetAllocatedBytesForCurrentThread();
                var clock = Stopwatch.StartNew();
                while (clock.Elapsed < s_window)
                {
                    _ = driver.RecycleTxBuffers();
                    if (!pool.TryAllocBulk(batch))
                    {
                        _ = driver.WaitForTransmit(TimeSpan.FromMilliseconds(1));
                        continue;
                    }

                    for (int i = 0; i < batch.Length; i++)
                    {
                        NetBuf b = pool.FromBufPtr(batch[i]);
                        b.SetPacketLength(size);
                        FillFrame(b.Packet, driver.MacAddress);
                        batch[i] = b.IntoBufPtr();
                    }

                    int sent = driver.TransmitBatch(batch);
                    pool.FreeBulk(batch.AsSpan(sent));
                    frames += sent;
                }

                return (frames, GC.GetAllocatedBytesForCurrentThread() - allocated, clock.Elapsed.TotalSeconds);
            });
        }
        finally
        {
            Close(drivers, pool);
        }
    }

    /// <summary>Counts frames the generator floods at the device (64 UDP flows), recycling each at once; one thread per queue.</summary>
    private static (double, double, long[]) Receive(Setup setup, int size, Kind kind, int queues)
    {
        INetDriver[] drivers = Open(setup, kind, queues, out NetBufPool pool);
        using var stop = new CancellationTokenSource();
        Thread? generator = null;
        try
        {
            foreach (INetDriver driver in drivers)
            {
                Post(driver, driver.RxQueueSize);
            }

            generator = StartFlood(setup, size, drivers[0].MacAddress, stop.Token);
            Thread.Sleep(50);
            return OnThreads(drivers, driver =>
            {
                var batch = new NetBufPtr[64];
                long frames = 0;
                long allocated = GC.GetAllocatedBytesForCurrentThread();
                var clock = Stopwatch.StartNew();
                while (clock.Elapsed < s_window)
                {
                    _ = driver.WaitForReceive(TimeSpan.FromMilliseconds(10));
                    int got = driver.ReceiveBatch(batch);
                    for (int i = 0; i < got; i++)
                    {
                        _ = driver.TryRecycleRxBuffer(batch[i]);
                    }

                    frames += got;
                }

                return (frames, GC.GetAllocatedBytesForCurrentThread() - allocated, clock.Elapsed.TotalSeconds);
            });
        }
        finally
        {
            stop.Cancel();
            generator?.Join();
            Close(drivers, pool);
        }
    }

    /// <summary>
    /// The generator sends echo requests (from 64 source addresses, one for the kernel) in a window of
    /// 64 outstanding and counts replies; the responders (one per queue, each on its own thread, with
    /// <see cref="EchoResponder"/>), or the kernel, answer.
    /// </summary>
    private static (double, double, long[]) Respond(Setup setup, int size, Kind kind, int queues)
    {
        NetBufPool? pool = null;
        INetDriver[] responders = [];
        if (kind == Kind.Kernel)
        {
            Ip("-n", setup.Ns, "addr", "add", "10.77.0.2/24", "dev", setup.Device);
        }
        else
        {
            responders = Open(setup, kind, queues, out pool);
        }

        MacAddress deviceMac = responders.Length > 0 ? responders[0].MacAddress : default;
        using var stop = new CancellationTokenSource();
        var responderBytes = new long[responders.Length];
        var answered = new long[responders.Length];
        Thread[] threads = [.. responders.Select((responder, q) => new Thread(() => Serve(responder, responder.MacAddress, stop.Token, ref responderBytes[q], ref answered[q])) { Name = $"responder {q}" })];
        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        try
        {
            var generatorPool = new NetBufPool(1024, 2048);
            using (generatorPool)
            using (var generator = new AfPacketDriver(generatorPool, setup.Generator, new AfPacketDriverOptions { NetworkNamespace = setup.Ns, RxQueueSize = 512, TxQueueSize = 512 }))
            {
                if (kind == Kind.Kernel)
                {
                    Ip("-n", setup.Ns, "neigh", "replace", "10.77.0.1", "lladdr", generator.MacAddress.ToString().ToLowerInvariant(), "dev", setup.Device, "nud", "permanent");
                    deviceMac = ParseMac(Ip("-n", setup.Ns, "-br", "link", "show", setup.Device).Split(' ', StringSplitOptions.RemoveEmptyEntries)[2]);
                }

                Post(generator, 512);
                const int window = 64;
                var batch = new NetBufPtr[32];
                long replies = 0;
                long sent = 0;
                ushort sequence = 0;
                var clock = Stopwatch.StartNew();
                var lastReply = Stopwatch.StartNew();
                while (clock.Elapsed < s_window)
                {
                    _ = generator.RecycleTxBuffers();

                    // A reply lost (a full queue somewhere) would shrink the window for good: reopen it after 20 ms of silence.
                    if (lastReply.ElapsedMilliseconds > 20)
                    {
                        sent = replies;
                        lastReply.Restart();
                    }

                    int room = (int)Math.Min(window - (sent - replies), batch.Length);
                    if (room > 0 && generatorPool.TryAllocBulk(batch.AsSpan(0, room)))
                    {
                        for (int i = 0; i < room; i++)
                        {
                            NetBuf b = generatorPool.FromBufPtr(batch[i]);
                            b.SetPacketLength(size);
                            Ipv4Address source = kind == Kind.Kernel ? s_generatorIp : FlowAddress(sequence);
                            EchoRequest(b.Packet, generator.MacAddress, deviceMac, source, sequence++);
                            batch[i] = b.IntoBufPtr();
                        }

                        int accepted = generator.TransmitBatch(batch.AsSpan(0, room));
                        generatorPool.FreeBulk(batch.AsSpan(accepted, room - accepted));
                        sent += accepted;
                    }

                    _ = generator.WaitForReceive(TimeSpan.FromMilliseconds(1));
                    int got = generator.ReceiveBatch(batch);
                    for (int i = 0; i < got; i++)
                    {
                        Span<byte> f = batch[i].Packet;
                        if (f.Length > 34 && f[12] == 0x08 && f[13] == 0 && f[23] == 1 && f[34] == 0)
                        {
                            replies++;
                            lastReply.Restart();
                        }

                        _ = generator.TryRecycleRxBuffer(batch[i]);
                    }
                }

                double seconds = clock.Elapsed.TotalSeconds;
                stop.Cancel();
                foreach (Thread thread in threads)
                {
                    thread.Join();
                }

                return (replies / seconds, responders.Length == 0 ? double.NaN : responderBytes.Sum() / (double)Math.Max(1, answered.Sum()), answered);
            }
        }
        finally
        {
            stop.Cancel();
            foreach (Thread thread in threads)
            {
                thread.Join();
            }

            if (pool is not null)
            {
                Close(responders, pool);
            }

            if (kind == Kind.Kernel)
            {
                Ip("-n", setup.Ns, "addr", "del", "10.77.0.2/24", "dev", setup.Device);
            }
        }
    }

    /// <summary>The source address of a generated flow: one of 64 beside the generator's.</summary>
    private static Ipv4Address FlowAddress(int flow) => new(10, 77, 0, (byte)(100 + (flow % Flows)));

    /// <summary>The responder loop: receive a batch, answer ARP/ICMP echo in place, transmit the answers from the same buffers, recycle the rest; keep the receive queue posted.</summary>
    private static void Serve(INetDriver driver, MacAddress mac, CancellationToken stop, ref long allocatedBytes, ref long answered)
    {
        NetBufPool pool = driver.Pool;
        Post(driver, driver.RxQueueSize);
        var received = new NetBufPtr[32];
        var replies = new NetBufPtr[32];
        var fresh = new NetBufPtr[32];
        long start = GC.GetAllocatedBytesForCurrentThread();
        long count = 0;
        while (!stop.IsCancellationRequested)
        {
            int recycled = driver.RecycleTxBuffers();
            while (recycled > 0)
            {
                // Buffers sent went back to the pool: post as many fresh ones.
                int n = Math.Min(recycled, fresh.Length);
                if (!pool.TryAllocBulk(fresh.AsSpan(0, n)))
                {
                    break;
                }

                foreach (NetBufPtr buffer in fresh.AsSpan(0, n))
                {
                    if (!driver.TryRecycleRxBuffer(buffer))
                    {
                        pool.FromBufPtr(buffer).Dispose();
                    }
                }

                recycled -= n;
            }

            try
            {
                _ = driver.WaitForReceive(TimeSpan.FromMilliseconds(10), stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            int got = driver.ReceiveBatch(received);
            int answers = 0;
            for (int i = 0; i < got; i++)
            {
                NetBufPtr frame = received[i];
                if (EchoResponder.TryAnswer(frame.Packet, frame.PacketLength, mac, s_deviceIp, out int length) && length == frame.PacketLength)
                {
                    replies[answers++] = frame;
                }
                else
                {
                    _ = driver.TryRecycleRxBuffer(frame);
                }
            }

            int sent = driver.TransmitBatch(replies.AsSpan(0, answers));
            for (int i = sent; i < answers; i++)
            {
                _ = driver.TryRecycleRxBuffer(replies[i]);
            }

            count += sent;
        }

        Interlocked.Exchange(ref allocatedBytes, GC.GetAllocatedBytesForCurrentThread() - start);
        Interlocked.Exchange(ref answered, count);
    }

    private static Thread StartFlood(Setup setup, int size, MacAddress destination, CancellationToken stop)
    {
        var thread = new Thread(() =>
        {
            using var pool = new NetBufPool(1024, 2048);
            using var generator = new AfPacketDriver(pool, setup.Generator, new AfPacketDriverOptions { NetworkNamespace = setup.Ns, RxQueueSize = 1, TxQueueSize = 512 });
            var batch = new NetBufPtr[32];
            int flow = 0;
            while (!stop.IsCancellationRequested)
            {
                _ = generator.RecycleTxBuffers();
                if (!pool.TryAllocBulk(batch))
                {
                    continue;
                }

                for (int i = 0; i < batch.Length; i++)
                {
                    NetBuf b = pool.FromBufPtr(batch[i]);
                    b.SetPacketLength(size);
                    UdpFrame(b.Packet, generator.MacAddress, destination, flow++);
                    batch[i] = b.IntoBufPtr();
                }

                int sent = generator.TransmitBatch(batch);
                pool.FreeBulk(batch.AsSpan(sent));
            }
        })
        { Name = "flood" };
        thread.Start();
        return thread;
    }

    private static void Post(INetDriver driver, int count)
    {
        var buffers = new NetBufPtr[count];
        if (!driver.Pool.TryAllocBulk(buffers))
        {
            throw new InvalidOperationException("pool too small to post the receive queue");
        }

        foreach (NetBufPtr buffer in buffers)
        {
            if (!driver.TryRecycleRxBuffer(buffer))
            {
                driver.Pool.FromBufPtr(buffer).Dispose();
            }
        }
    }

    /// <summary>A frame of a local experimental ethertype (0x88B5): the kernel's stack drops it at once.</summary>
    private static void FillFrame(Span<byte> frame, MacAddress destination)
    {
        destination.WriteTo(frame);
        new MacAddress(0x02, 0, 0x5e, 0x10, 0, 0x01).WriteTo(frame[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(frame[12..], 0x88B5);
    }

    /// <summary>A UDP datagram of flow <paramref name="flow"/> (one of 64 source ports) to the device's address, filling <paramref name="frame"/>; the kernel's stack drops it (not its address).</summary>
    private static void UdpFrame(Span<byte> frame, MacAddress source, MacAddress destination, int flow)
    {
        Span<byte> ip = Ipv4Frame(frame, source, destination, s_generatorIp, 17);
        Span<byte> udp = ip[20..];
        BinaryPrimitives.WriteUInt16BigEndian(udp, (ushort)(40000 + (flow % Flows)));
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], 9);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)udp.Length);
        BinaryPrimitives.WriteUInt16BigEndian(udp[6..], 0);
    }

    /// <summary>Writes the Ethernet and IPv4 headers of a frame as long as <paramref name="frame"/>; returns the IPv4 packet.</summary>
    private static Span<byte> Ipv4Frame(Span<byte> frame, MacAddress source, MacAddress destination, Ipv4Address from, byte protocol)
    {
        destination.WriteTo(frame);
        source.WriteTo(frame[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(frame[12..], 0x0800);
        Span<byte> ip = frame[14..];
        ip[..20].Clear();
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)ip.Length);
        ip[8] = 64;
        ip[9] = protocol;
        from.WriteTo(ip[12..]);
        s_deviceIp.WriteTo(ip[16..]);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], InternetChecksum.Compute(ip[..20]));
        return ip;
    }

    /// <summary>An ICMP echo request filling <paramref name="frame"/> from <paramref name="from"/> to the device's address.</summary>
    private static void EchoRequest(Span<byte> frame, MacAddress source, MacAddress destination, Ipv4Address from, ushort sequence)
    {
        Span<byte> ip = Ipv4Frame(frame, source, destination, from, 1);
        Span<byte> icmp = ip[20..];
        icmp[..8].Clear();
        icmp[0] = 8;
        BinaryPrimitives.WriteUInt16BigEndian(icmp[4..], 0x4e42);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[6..], sequence);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], InternetChecksum.Compute(icmp));
    }

    private static MacAddress ParseMac(string text)
    {
        byte[] b = [.. text.Split(':').Select(part => Convert.ToByte(part, 16))];
        return new MacAddress(b[0], b[1], b[2], b[3], b[4], b[5]);
    }

    private static string Ip(params string[] arguments)
    {
        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException("ip did not start");
        string output = process.StandardOutput.ReadToEnd();
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? output : throw new InvalidOperationException($"ip {string.Join(' ', arguments)}: {error.Trim()}");
    }

    /// <summary>A measured device: the namespace, the generator's interface (the kernel's side), the drivers' interface.</summary>
    private sealed record Setup(string Ns, string Generator, string Device);
}
