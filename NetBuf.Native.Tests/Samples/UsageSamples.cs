// The code samples of README.md, PACKAGE.md and docs/usage.md live here, between "sample:"
// markers, and run as tests; DocumentationSamplesTests checks that every C# block in the docs is
// one of them. TopLevelSampleTests compiles each as a user's Program.cs: with the using directives
// of this file (less NUnit), the statements of its "given:" region (the sample's free variables)
// and the "stub:" types. "(unsafe)" after a sample's name: it needs AllowUnsafeBlocks.
using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics.Metrics;
using System.IO.Pipelines;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using NetBufNative;
using NetBufNative.Apps;
using NetBufNative.Capture;
using NetBufNative.Drivers;
using NetBufNative.Drivers.Linux;
using NetBufNative.Processing;
using NetBufNative.Wire;
using NUnit.Framework;

namespace Contoso.Samples;

public sealed class UsageSamples
{
    [Test]
    public void QuickStart()
    {
        // sample: quick-start
        using var pool = new NetBufPool(capacity: 1024, bufferLength: 2048,
            new NetBufPoolOptions { DefaultHeadroom = 128 });

        using (NetBuf buf = pool.Alloc())             // throws when exhausted; TryAlloc does not
        {
            "hello"u8.CopyTo(buf.Append(5));          // the payload
            buf.Prepend(14).Fill(0xFF);               // a header, in the headroom in front of it
            Console.WriteLine($"{buf.ToString()}: {buf.PacketWithHeader.Length} bytes on the wire");
        }                                             // back in the pool

        Console.WriteLine($"{pool.InUse} of {pool.Capacity} buffers in use");
        // end sample

        Assert.That(pool.InUse, Is.Zero);
    }

    [Test]
    public async Task AsyncCode()
    {
        // sample: async
        using var pool = new NetBufPool(capacity: 256, bufferLength: 2048);
        var queue = Channel.CreateBounded<NetBufBox>(capacity: 64);

        // A NetBuf is a ref struct: it cannot live across an await (CS4007). Fill it in a synchronous
        // method or a block without await, and move it into a NetBufBox, which can.
        await queue.Writer.WriteAsync(Frame(pool, "ping"u8));

        NetBufBox box = await queue.Reader.ReadAsync();
        using (NetBuf packet = box.IntoNetBuf())      // no await inside this block
        {
            // $"{packet}" does not compile (CS9244: a ref struct cannot fill a hole): call ToString().
            Console.WriteLine($"{packet.ToString()}: {packet.PacketLength} bytes");
        }

        await Task.Yield();                           // awaits after the block are fine

        static NetBufBox Frame(NetBufPool pool, ReadOnlySpan<byte> payload)
        {
            using NetBuf buf = pool.Alloc();
            payload.CopyTo(buf.Append(payload.Length));
            return buf.IntoBox();                     // buf holds nothing now: its Dispose does nothing
        }
        // end sample

        Assert.That(pool.InUse, Is.Zero);
    }

    [Test]
    public void Readme()
    {
        // given: readme
        byte[] payload = Encoding.ASCII.GetBytes("hello, wire");
        var device = new LoopbackDevice();
        // end given

        // sample: readme
        using var pool = new NetBufPool(capacity: 1024, bufferLength: 2048,
            new NetBufPoolOptions { DefaultHeadroom = 128, Name = "tx" });

        // Build a frame: payload first, then headers pushed into the headroom.
        using var buf = pool.Alloc();                 // throws when exhausted; TryAlloc does not
        payload.CopyTo(buf.Append(payload.Length));
        buf.Prepend(14).Fill(0xFF);                   // an Ethernet header, say
        Console.WriteLine($"frame of {buf.PacketWithHeader.Length} bytes");

        // Hand it to unsafe driver code and take it back, copying nothing.
        NetBufPtr ptr = buf.IntoBufPtr();             // buf now holds nothing; its Dispose is a no-op
        device.Transmit(ptr.HeaderAddress, ptr.HeaderLength + ptr.PacketLength);
        using var sent = pool.FromBufPtr(ptr);        // validated: wrong pool, twice, forged -> exception

        // Queue it: NetBufBox is storable, NetBuf is not.
        var queue = new Queue<NetBufBox>();
        queue.Enqueue(pool.Alloc().IntoBox());
        using var next = queue.Dequeue().IntoNetBuf();
        // end sample

        Assert.That(device.Frames.Single(), Has.Length.EqualTo(14 + payload.Length));
        Assert.That(sent.Packet.ToArray(), Is.EqualTo(payload));
    }

    [Test]
    public void ReceiveLoop()
    {
        // given: receive-loop
        var device = new LoopbackDevice();
        device.Frames.Add(Encoding.ASCII.GetBytes("first frame"));
        device.Frames.Add(Encoding.ASCII.GetBytes("second"));
        int received = 0;
        void Process(ReadOnlySpan<byte> packet) => received++;
        // end given

        // sample: receive-loop
        using var pool = new NetBufPool(capacity: 4096, bufferLength: 2048,
            new NetBufPoolOptions { DefaultHeadroom = 256, Name = "rx" });

        // Post a ring of empty buffers to the device: one batch, one CAS at most.
        var ring = new NetBufPtr[32];
        if (!pool.TryAllocBulk(ring))
        {
            throw new InvalidOperationException("pool exhausted");
        }

        // The device wrote a frame into some of them; take each back, set its length, use it.
        for (int i = 0; i < ring.Length; i++)
        {
            int length = device.Receive(ring[i].PacketAddress, room: pool.BufferLength - pool.DefaultHeadroom);
            using var frame = pool.FromBufPtr(ring[i]);
            ring[i] = default;
            if (length == 0)
            {
                continue;                             // nothing arrived: the buffer goes back
            }

            frame.SetPacketLength(length);
            Process(frame.Packet);
        }
        // end sample

        Assert.That(received, Is.EqualTo(2));
        Assert.That(pool.InUse, Is.Zero);
    }

    [Test]
    public void ProcessingLoop()
    {
        // given: worker-loop
        var device = new LoopbackDevice();
        int processed = 0;
        using var pool = new NetBufPool(capacity: 4096, bufferLength: 2048);
        // end given

        // sample: worker-loop
        // On the thread that runs the loop: bind its cache once, then allocate without lookups.
        using var worker = pool.OpenWorker();
        for (int round = 0; round < 100; round++)
        {
            using var frame = worker.Alloc();         // same NetBuf, same checks as pool.Alloc()
            frame.Append(64).Fill(0xAB);
            device.Transmit(frame.PacketWithHeader);
        }

        // A burst at a time: one handshake for 32 buffers, no atomic operation per buffer.
        using (var burst = worker.AllocBatch(32))
        {
            for (int i = 0; i < burst.Count; i++)
            {
                var buf = burst[i];                   // a view: read and write, not dispose
                buf.Append(60).Clear();
                processed++;
            }

            using var kept = burst.Take(0);           // move one out as an ordinary NetBuf
        }                                             // the rest go back in one go
        // end sample

        Assert.That(device.Frames, Has.Count.EqualTo(100));
        Assert.That(processed, Is.EqualTo(32));
        Assert.That(pool.InUse, Is.Zero);
    }

    [Test]
    public void Bridge()
    {
        // Two hosts in namespaces of their own (10.78.0.1 and 10.78.0.2) whose only path is the bridge below, run in a
        // third namespace (the sample opens its drivers on a thread that joined it). Root on Linux.
        NetBufNative.Tests.Drivers.Linux.LinuxTestEnvironment.RequireRootOnLinux("The bridge sample");
        using var hostA = NetBufNative.Tests.Drivers.Linux.TestNamespace.Create();
        using var hostB = NetBufNative.Tests.Drivers.Linux.TestNamespace.Create();
        using var middle = NetBufNative.Tests.Drivers.Linux.TestNamespace.Create();
        middle.IpIn("link", "add", "nbbrw1", "type", "veth", "peer", "name", "nbbrw0", "netns", hostA.Name);
        middle.IpIn("link", "add", "nbbre1", "type", "veth", "peer", "name", "nbbre0", "netns", hostB.Name);
        middle.IpIn("link", "set", "nbbrw1", "up");
        middle.IpIn("link", "set", "nbbre1", "up");
        hostA.IpIn("addr", "add", "10.78.0.1/24", "dev", "nbbrw0");
        hostA.IpIn("link", "set", "nbbrw0", "up");
        hostB.IpIn("addr", "add", "10.78.0.2/24", "dev", "nbbre0");
        hostB.IpIn("link", "set", "nbbre0", "up");
        var ping = Task.Run(() =>
        {
            Thread.Sleep(500);
            return hostA.Exec("ping", "-c", "3", "-i", "0.2", "-W", "2", "10.78.0.2");
        });

        _ = NetBufNative.Drivers.Linux.NamespaceThread.Run(middle.Name, () =>
        {
            // given: bridge
            string westInterface = "nbbrw1";
            string eastInterface = "nbbre1";
            TimeSpan runFor = TimeSpan.FromSeconds(2);
            // end given

            // sample: bridge
            // A bridge between two interfaces (root on Linux): both ports over one pool, so a frame leaves from the
            // buffer it arrived in; the loop keeps the receive queues posted, forwards, recycles and counts.
            using var pool = new NetBufPool(capacity: 2048, bufferLength: 2048, new NetBufPoolOptions { Name = "bridge" });
            using var west = new AfPacketDriver(pool, westInterface);    // reserves 256 + 256 buffers
            using var east = new AfPacketDriver(pool, eastInterface);
            using var bridge = L2Forwarder.CreateLoop(west, east);      // PollingMode.Adaptive: spins briefly, then sleeps

            using var stop = new CancellationTokenSource(runFor);       // or Console.CancelKeyPress, a host's stopping token
            bridge.Run(stop.Token);                                     // this thread, until stopped; Start() runs its own
            foreach (PacketPortCounters port in bridge.Counters)
            {
                Console.WriteLine(port);                                // received, transmitted, drops by reason
            }
            // end sample

            Assert.That(bridge.Counters[0].Received, Is.GreaterThanOrEqualTo(3), "the pings crossed the bridge");
            return 0;
        });

        Assert.That(ping.Result, Does.Contain("3 received"), ping.Result);
    }

    [Test]
    public async Task AsyncDriverLoop()
    {
        // given: async-driver-loop
        using var pool = new NetBufPool(capacity: 256, bufferLength: 2048);
        var (driver, wire) = LoopbackDriver.CreatePair(pool, queueSize: 64);
        using var stopping = new CancellationTokenSource();
        int handled = 0;
        void Handle(ReadOnlySpan<byte> frame)
        {
            if (++handled == 3)
            {
                stopping.Cancel();
            }
        }

        var sender = Task.Run(async () =>
        {
            while (Volatile.Read(ref handled) < 3)
            {
                _ = wire.RecycleTxBuffers();
                _ = wire.TryTransmit(wire.AllocTxBuffer(60));
                await Task.Delay(20);
            }
        });
        // end given

        // sample: async-driver-loop
        // The receive loop of a worker service (a BackgroundService's ExecuteAsync): while it waits, no thread is parked.
        var batch = new NetBufPtr[32];
        if (!pool.TryAllocBulk(batch))
        {
            throw new InvalidOperationException("pool exhausted");
        }

        driver.RecycleRxBuffers(batch);               // post the receive ring
        try
        {
            while (true)
            {
                if (!await driver.WaitForReceiveAsync(TimeSpan.FromSeconds(1), stopping.Token))
                {
                    continue;                         // a quiet second: a place for housekeeping
                }

                int count = driver.ReceiveBatch(batch);
                for (int i = 0; i < count; i++)
                {
                    Handle(batch[i].Packet);
                }

                driver.RecycleRxBuffers(batch.AsSpan(0, count));   // the same buffers, posted again
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // stopping: the host is shutting down
        }
        // end sample

        await sender.WaitAsync(TimeSpan.FromSeconds(5));
        driver.Dispose();
        wire.Dispose();
        Assert.That(handled, Is.GreaterThanOrEqualTo(3));
        Assert.That(pool.InUse, Is.Zero);
    }

    [Test]
    public void BuildWithHeadroom()
    {
        // given: build-with-headroom
        using var pool = new NetBufPool(16, 2048, new NetBufPoolOptions { DefaultHeadroom = 64 });
        byte[] payload = Encoding.ASCII.GetBytes("ping");
        // end given

        // sample: build-with-headroom
        using var buf = pool.Alloc();                 // starts with 64 bytes of headroom (the pool's option)
        payload.CopyTo(buf.Append(payload.Length));

        Span<byte> udp = buf.Prepend(8);
        BinaryPrimitives.WriteUInt16BigEndian(udp, 5353);                 // source port
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], 5353);            // destination port
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)(8 + payload.Length));
        BinaryPrimitives.WriteUInt16BigEndian(udp[6..], 0);               // no checksum

        Span<byte> ethernet = buf.Prepend(14);
        ethernet[..12].Fill(0xFF);                                        // broadcast, zero source
        BinaryPrimitives.WriteUInt16BigEndian(ethernet[12..], 0x0800);

        // On the receive side the same headers come off the front.
        ReadOnlySpan<byte> stripped = buf.TrimStart(14);
        // end sample

        Assert.That(BinaryPrimitives.ReadUInt16BigEndian(stripped[12..]), Is.EqualTo(0x0800));
        Assert.That(buf.HeaderLength, Is.EqualTo(8));
        Assert.That(buf.Packet.ToArray(), Is.EqualTo(payload));
    }

    [Test]
    public void UnsafeDriverCode()
    {
        // given: unsafe-driver
        using var pool = new NetBufPool(64, 2048);
        // end given

        // sample: unsafe-driver (unsafe)
        var buf = pool.Alloc();
        buf.Append(60);
        NetBufPtr ptr = buf.IntoBufPtr();

        // Driver code works on the raw addresses; the buffer cannot move or be reused meanwhile.
        unsafe
        {
            byte* frame = (byte*)ptr.PacketAddress;
            for (int i = 0; i < ptr.PacketLength; i++)
            {
                frame[i] = (byte)i;
            }
        }

        // Back in safe code: the pool checks the pointer before trusting it.
        if (pool.TryFromBufPtr(ptr, out var back))
        {
            using (back)
            {
                Console.WriteLine(back.Packet[59]);   // 59
            }
        }

        // A stale or foreign pointer is refused, and the pool is untouched.
        bool again = pool.TryFromBufPtr(ptr, out _); // false: already restored
        // end sample

        Assert.That(again, Is.False);
        Assert.That(pool.InUse, Is.Zero);
    }

    [Test]
    public async Task Pipelines()
    {
        // given: pipelines
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes("HTTP/1.1 200 OK\r\n\r\n"));
        // end given

        // sample: pipelines
        using var pool = new NetBufPool(capacity: 256, bufferLength: 4096);
        using var memoryPool = new NetBufMemoryPool(pool);

        // This pipe may hold 64 of the 256 buffers: segments of one buffer, and its writer pauses
        // at 62 buffers' worth of unread bytes, before the pool can run dry under it.
        var pipe = new Pipe(memoryPool.CreatePipeOptions(maxBuffers: 64));
        await pipe.Writer.WriteAsync(Encoding.UTF8.GetBytes("GET / HTTP/1.1\r\n\r\n"));
        await pipe.Writer.CompleteAsync();

        ReadResult result = await pipe.Reader.ReadAsync();
        Console.WriteLine(Encoding.UTF8.GetString(result.Buffer));       // segments are pool buffers
        pipe.Reader.AdvanceTo(result.Buffer.End);
        await pipe.Reader.CompleteAsync();                               // every buffer is back

        // A stream read into pool buffers: the read buffer must fit one (the default, 4096 bytes,
        // would make a pool of smaller buffers be passed over).
        var reader = PipeReader.Create(stream, memoryPool.CreateStreamPipeReaderOptions());
        ReadResult response = await reader.ReadAsync();
        Console.WriteLine($"{response.Buffer.Length} bytes read into a pool buffer");
        reader.AdvanceTo(response.Buffer.End);
        await reader.CompleteAsync();
        // end sample

        Assert.That(pool.InUse, Is.Zero);
        Assert.That(pool.GetStatistics().TotalAllocations, Is.GreaterThan(0));
    }

    [Test]
    public void SerializeIntoAPacket()
    {
        // given: buffer-writer
        using var pool = new NetBufPool(16, 2048, new NetBufPoolOptions { DefaultHeadroom = 64 });
        string text = "hello";
        // end given

        // sample: buffer-writer
        NetBufBox box = pool.AllocBoxed();
        var writer = new NetBufWriter(box);           // reusable: writer.Reset(nextBox)
        try
        {
            using var json = new Utf8JsonWriter(writer);
            json.WriteStartObject();
            json.WriteNumber("seq", 42);
            json.WriteString("text", text);
            json.WriteEndObject();
        }
        catch (InvalidOperationException)             // the document did not fit the tailroom
        {
            writer.Rollback();                        // the packet is as it was at new NetBufWriter(box)
        }

        NetBuf packet = box.AsNetBuf();               // a view: the box still owns the buffer
        var reader = new SequenceReader<byte>(packet.PacketSequence);
        Console.WriteLine($"{packet.PacketLength} bytes, starts with '{(char)packet.Packet[0]}'");
        box.Dispose();
        // end sample

        Assert.That(reader.Length, Is.EqualTo(25));
        Assert.That(pool.InUse, Is.Zero);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Kestrel(CancellationToken cancel)
    {
        // sample: kestrel (web)
        var builder = WebApplication.CreateBuilder();
        var pool = new NetBufPool(capacity: 4096, bufferLength: 4096,
            new NetBufPoolOptions { BlockMemory = NetBufBlockMemory.PinnedArray, Name = "kestrel" });
        builder.Services.AddSingleton<IMemoryPoolFactory<byte>>(new NetBufPoolFactory(pool));

        var app = builder.Build();
        app.MapPost("/echo", (HttpContext context) =>
            context.Request.BodyReader.CopyToAsync(context.Response.BodyWriter, context.RequestAborted));
        // end sample

        app.Urls.Add("http://127.0.0.1:0");
        await app.StartAsync(cancel);
        using (var client = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) })
        {
            using var response = await client.PostAsync(new Uri("/echo", UriKind.Relative), new StringContent("ping"), cancel);
            Assert.That(await response.Content.ReadAsStringAsync(cancel), Is.EqualTo("ping"));
        }

        await app.StopAsync(cancel);
        await app.DisposeAsync();
        Assert.That(pool.GetStatistics().TotalAllocations, Is.Positive);
        Assert.That(pool.InUse, Is.Zero);
        pool.Dispose();
    }

    [Test]
    public void Observe()
    {
        // sample: metrics
        using var pool = new NetBufPool(1024, 2048, new NetBufPoolOptions { Name = "rx0" });

        NetBufPoolStatistics stats = pool.GetStatistics();
        Console.WriteLine($"{stats.InUse}/{stats.Capacity} in use, peak {stats.HighWaterMark}, " +
                          $"{stats.AllocationFailures} failures");

        // Or from outside: dotnet-counters monitor --counters NetBuf.Native
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == NetBufMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            Console.WriteLine($"{instrument.Name} {value} {(tags.Length > 0 ? tags[0].Value : "process")}"));
        listener.Start();
        listener.RecordObservableInstruments();
        // end sample

        Assert.That(stats.Capacity, Is.EqualTo(1024));
    }

    [Test]
    public void Responder()
    {
        // given: responder
        using var pool = new NetBufPool(1024, 2048, new NetBufPoolOptions { DefaultHeadroom = 64 });
        var (peer, driver) = LoopbackDriver.CreatePair(pool);
        string path = Path.Combine(Path.GetTempPath(), $"sample-{Guid.NewGuid():N}.pcap");
        using var cancellation = new CancellationTokenSource();
        cancellation.Cancel(); // the sample's loop stops at once; a real one runs until its token is cancelled
        // end given

        // sample: responder
        // Any INetDriver: a TapDriver, an AfPacketDriver (one per fanout worker), a LoopbackDriver.
        // Recording is optional: every frame received and sent goes to a pcap file, from the pool buffers.
        using var writer = new PcapWriter(File.Create(path));
        using var recorded = new CapturingDriver(driver, writer);

        var responder = new EchoResponderLoop(recorded, Ipv4Address.Parse("10.77.0.2"),
            new EchoResponderLoopOptions { BatchSize = 32 });    // MacAddress: the driver's by default

        // On the driver's thread: answers ARP and ping until cancelled (or a time or frame limit).
        EchoResponderCounters counters = responder.Run(TimeSpan.FromMinutes(10), cancellationToken: cancellation.Token);
        Console.WriteLine($"{counters.EchoReplies} pings and {counters.ArpReplies} ARP requests answered, " +
            $"{counters.Ignored} frames ignored, {counters.Malformed} malformed");
        // end sample

        Assert.That(counters.Received, Is.Zero);
        Assert.That(driver.HeldBuffers, Is.EqualTo(0), "stopped before posting anything");
        peer.Dispose();
        writer.Dispose();
        File.Delete(path);
    }

    [Test]
    public void SharedPool()
    {
        // sample: shared-pool
        using var pool = new NetBufPool(256, 2048, new NetBufPoolOptions { Name = "forwarder" });
        using var west = new LoopbackDriver(pool, queueSize: 64);    // reserves 64 + 64
        using var east = new LoopbackDriver(pool, queueSize: 64);    // 256 reserved: the pool is covered
        try
        {
            using var third = new LoopbackDriver(pool, queueSize: 64);
        }
        catch (NetDriverException e) when (e.Kind == NetDriverErrorKind.InvalidParam)
        {
            // "forwarder cannot reserve 128 buffers for the loopback driver loop3 (receive queue 64, transmit
            // queue 64): of its 256 buffers, 256 are reserved (128 by the loopback driver loop1 (...); 128 by
            // ...), so 0 are left. Create the pool with at least 384 buffers, or reserve fewer (...)."
            Console.WriteLine(e.Message);
        }

        Console.WriteLine($"{pool.Reserved} of {pool.Capacity} buffers reserved");
        // end sample

        Assert.That(pool.Reserved, Is.EqualTo(256));
        Assert.That(() => new LoopbackDriver(pool, queueSize: 64), Throws.TypeOf<NetDriverException>().With.Message.Contains("at least 384 buffers"));
    }

    [Test]
    public void DiagnosticMode()
    {
        // given: diagnostic-mode
        var found = new List<string>();
        // end given

        // sample: diagnostic-mode
        // In a test or a debugging session: freed buffers are poisoned and held back, guard bytes
        // follow every buffer, and every allocation remembers its stack trace.
        using var pool = new NetBufPool(256, 2048, new NetBufPoolOptions
        {
            Diagnostics = new NetBufDiagnosticsOptions
            {
                QuarantineLength = 64,
                OnReport = report => found.Add($"{report}\n{report.AllocatedAt}"),
            },
        });

        // ... run the code under test ...

        foreach (NetBufDiagnostic leak in pool.GetOutstandingBuffers())
        {
            Console.WriteLine($"{leak}, allocated at:\n{leak.AllocatedAt}");
        }
        // end sample

        Assert.That(found, Is.Empty);
    }
}

// stub: LoopbackDevice
/// <summary>A stand-in for a device: transmits by copying out, receives from a list of frames.</summary>
internal sealed class LoopbackDevice
{
    public List<byte[]> Frames { get; } = [];

    public void Transmit(nint address, int length)
    {
        byte[] frame = new byte[length];
        Marshal.Copy(address, frame, 0, length);
        Frames.Add(frame);
    }

    public void Transmit(ReadOnlySpan<byte> frame) => Frames.Add(frame.ToArray());

    public int Receive(nint address, int room)
    {
        if (Frames.Count == 0)
        {
            return 0;
        }

        byte[] frame = Frames[0];
        Frames.RemoveAt(0);
        int length = Math.Min(frame.Length, room);
        Marshal.Copy(frame, 0, address, length);
        return length;
    }
}
// end stub

// stub: NetBufPoolFactory (web)
/// <summary>Hands Kestrel views of one <see cref="NetBufPool"/>: every connection's pipes use its buffers.</summary>
internal sealed class NetBufPoolFactory(NetBufPool pool) : IMemoryPoolFactory<byte>
{
    public MemoryPool<byte> Create(MemoryPoolOptions? options = null) => new NetBufMemoryPool(pool);
}
// end stub
