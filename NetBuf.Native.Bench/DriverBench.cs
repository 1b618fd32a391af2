using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using NetBufNative.Drivers;
using NetBufNative.Drivers.Linux;
using NetBufNative.Wire;

namespace NetBufNative.Bench;

/// <summary>
/// "xdp" mode: frames per second through the Linux drivers on a veth pair in a namespace made for
/// the run (and always removed): transmit and receive-count-recycle loops and an ARP/ICMP echo
/// responder, AF_XDP (copy mode, the pool as UMEM) beside batched AF_PACKET, and the kernel's own echo
/// replies on the same set-up, at 64 and 1500 bytes; with GC bytes allocated per frame on the
/// driver's thread. Needs root on Linux; says so and does nothing otherwise.
/// </summary>
/// <remarks>
/// The load generator is an AF_PACKET socket (batches of 32) on the other veth end, on its own
/// thread: on 2 shared vCPUs it competes with the driver under test, so the receive and responder
/// rows measure the pair, and the generator may be the limit. Rates vary by ±40 % run to run.
/// </remarks>
internal static class DriverBench
{
    private const string Generator = "nbg0";
    private const string Device = "nbr0";

    /// <summary>One second per row: long enough for 100k+ frames, short enough for the whole table in about 20 s.</summary>
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
            Ip("-n", ns, "link", "set", Generator, "up");
            Ip("-n", ns, "link", "set", Device, "up");
            Console.WriteLine("// * Drivers: veth pair in a namespace, generator AF_PACKET (batches of 32) on its own thread *");
            Console.WriteLine($"{"Row",-28} {"Bytes",6} {"kframes/s",10} {"B/frame",8}");
            foreach (int size in (int[])[64, 1500])
            {
                Print("tx AF_XDP", size, Transmit(ns, size, xdp: true));
                Print("tx AF_PACKET (batched)", size, Transmit(ns, size, xdp: false));
                Print("rx+recycle AF_XDP", size, Receive(ns, size, xdp: true));
                Print("rx+recycle AF_PACKET", size, Receive(ns, size, xdp: false));
                Print("echo responder AF_XDP", size, Respond(ns, size, ResponderKind.Xdp));
                Print("echo responder AF_PACKET", size, Respond(ns, size, ResponderKind.AfPacket));
                Print("echo by the kernel", size, Respond(ns, size, ResponderKind.Kernel));
            }
        }
        finally
        {
            Ip("netns", "del", ns);
        }
    }

    private enum ResponderKind
    {
        Xdp,
        AfPacket,
        Kernel,
    }

    private static void Print(string row, int size, (double Rate, double Bytes) result) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{row,-28} {size,6} {result.Rate / 1000,10:F0} {(double.IsNaN(result.Bytes) ? "n/a" : result.Bytes.ToString("F2", CultureInfo.InvariantCulture)),8}"));

    private static INetDriver Open(string ns, string device, bool xdp, out NetBufPool pool)
    {
        if (xdp)
        {
            pool = XdpDriver.CreatePool(4096);
            return new XdpDriver(pool, device, new XdpDriverOptions { NetworkNamespace = ns, BindMode = XdpBindMode.Copy, RxQueueSize = 1024, TxQueueSize = 1024 });
        }

        pool = new NetBufPool(4096, 2048);
        return new AfPacketDriver(pool, device, new AfPacketDriverOptions { NetworkNamespace = ns, RxQueueSize = 1024, TxQueueSize = 1024 });
    }

    /// <summary>Transmits frames of <paramref name="size"/> bytes as fast as the driver takes them, recycling sent buffers.</summary>
    private static (double, double) Transmit(string ns, int size, bool xdp)
    {
        using INetDriver driver = Open(ns, Device, xdp, out NetBufPool pool);
        using (pool)
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

            double seconds = clock.Elapsed.TotalSeconds;
            return (frames / seconds, (GC.GetAllocatedBytesForCurrentThread() - allocated) / (double)Math.Max(1, frames));
        }
    }

    /// <summary>Counts frames the generator floods at the device, recycling each at once.</summary>
    private static (double, double) Receive(string ns, int size, bool xdp)
    {
        using INetDriver driver = Open(ns, Device, xdp, out NetBufPool pool);
        using (pool)
        {
            Post(driver, driver.RxQueueSize);
            using var stop = new CancellationTokenSource();
            Thread generator = StartFlood(ns, size, driver.MacAddress, stop.Token);
            var batch = new NetBufPtr[64];
            long frames = 0;
            Thread.Sleep(50);
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

            double seconds = clock.Elapsed.TotalSeconds;
            long bytes = GC.GetAllocatedBytesForCurrentThread() - allocated;
            stop.Cancel();
            generator.Join();
            return (frames / seconds, bytes / (double)Math.Max(1, frames));
        }
    }

    /// <summary>The generator sends echo requests in a window of 64 outstanding and counts replies; the responder (a driver with <see cref="EchoResponder"/>, or the kernel) answers on its own thread.</summary>
    private static (double, double) Respond(string ns, int size, ResponderKind kind)
    {
        NetBufPool? pool = null;
        INetDriver? responder = null;
        if (kind == ResponderKind.Kernel)
        {
            Ip("-n", ns, "addr", "add", "10.77.0.2/24", "dev", Device);
        }
        else
        {
            responder = Open(ns, Device, kind == ResponderKind.Xdp, out pool);
        }

        MacAddress deviceMac = responder?.MacAddress ?? default;
        using var stop = new CancellationTokenSource();
        long responderBytes = 0;
        long answered = 0;
        Thread? thread = responder is null ? null : new Thread(() => Serve(responder, stop.Token, ref responderBytes, ref answered)) { Name = "responder" };
        thread?.Start();
        try
        {
            var generatorPool = new NetBufPool(1024, 2048);
            using (generatorPool)
            using (var generator = new AfPacketDriver(generatorPool, Generator, new AfPacketDriverOptions { NetworkNamespace = ns, RxQueueSize = 512, TxQueueSize = 512 }))
            {
                if (kind == ResponderKind.Kernel)
                {
                    Ip("-n", ns, "neigh", "replace", "10.77.0.1", "lladdr", generator.MacAddress.ToString().ToLowerInvariant(), "dev", Device, "nud", "permanent");
                    deviceMac = ParseMac(Ip("-n", ns, "-br", "link", "show", Device).Split(' ', StringSplitOptions.RemoveEmptyEntries)[2]);
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
                            EchoRequest(b.Packet, generator.MacAddress, deviceMac, sequence++);
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
                thread?.Join();
                return (replies / seconds, responder is null ? double.NaN : Interlocked.Read(ref responderBytes) / (double)Math.Max(1, Interlocked.Read(ref answered)));
            }
        }
        finally
        {
            stop.Cancel();
            thread?.Join();
            responder?.Dispose();
            pool?.Dispose();
            if (kind == ResponderKind.Kernel)
            {
                Ip("-n", ns, "addr", "del", "10.77.0.2/24", "dev", Device);
            }
        }
    }

    /// <summary>The responder loop: receive a batch, answer ARP/ICMP echo in place, transmit the answers from the same buffers, recycle the rest; keep the receive queue posted.</summary>
    private static void Serve(INetDriver driver, CancellationToken stop, ref long allocatedBytes, ref long answered)
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
                if (EchoResponder.TryAnswer(frame.Packet, frame.PacketLength, driver.MacAddress, s_deviceIp, out int length) && length == frame.PacketLength)
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

    private static Thread StartFlood(string ns, int size, MacAddress destination, CancellationToken stop)
    {
        var thread = new Thread(() =>
        {
            using var pool = new NetBufPool(1024, 2048);
            using var generator = new AfPacketDriver(pool, Generator, new AfPacketDriverOptions { NetworkNamespace = ns, RxQueueSize = 1, TxQueueSize = 512 });
            var batch = new NetBufPtr[32];
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
                    FillFrame(b.Packet, destination);
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

    /// <summary>An ICMP echo request filling <paramref name="frame"/> from the generator to the device's address.</summary>
    private static void EchoRequest(Span<byte> frame, MacAddress source, MacAddress destination, ushort sequence)
    {
        destination.WriteTo(frame);
        source.WriteTo(frame[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(frame[12..], 0x0800);
        Span<byte> ip = frame[14..];
        ip[..20].Clear();
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)ip.Length);
        ip[8] = 64;
        ip[9] = 1;
        s_generatorIp.WriteTo(ip[12..]);
        s_deviceIp.WriteTo(ip[16..]);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], InternetChecksum.Compute(ip[..20]));
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
}
