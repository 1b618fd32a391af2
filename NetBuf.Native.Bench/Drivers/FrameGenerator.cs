using System.Buffers.Binary;
using System.Diagnostics;
using NetBufNative.Drivers.Linux;
using NetBufNative.Processing;
using NetBufNative.Wire;

namespace NetBufNative.Bench.Drivers;

/// <summary>
/// An open-loop generator on a host's interface: our <see cref="AfPacketDriver"/> on it (a pool of its own), on a thread
/// of its own (pinned to a CPU where asked), sends copies of one pre-built frame as fast as the socket takes them, in
/// batches of 32, whatever becomes of them. Optionally it also receives, and counts the frames that come back with its
/// own address as destination (the macswap reflector's). Bounded in time; stopped by <see cref="Dispose"/>.
/// </summary>
internal sealed class FrameGenerator : IDisposable
{
    /// <summary>Frames per <c>sendmmsg</c>: 32, the library's default batch, which the drivers' measurements found enough.</summary>
    private const int Batch = 32;

    /// <summary>The generator's queues: room for 16 batches in flight each way, so the socket never waits on the queue.</summary>
    private const int QueueSize = 16 * Batch;

    /// <summary>The UDP port the frames go to: 9, discard.</summary>
    public const ushort DiscardPort = 9;

    private readonly AfPacketDriver _driver;
    private readonly NetBufPool _pool;
    private readonly byte[] _frame;
    private readonly bool _receive;
    private readonly int? _cpu;
    private readonly CancellationTokenSource _stop = new();
    private Thread? _thread;
    private Exception? _failure;
    private long _sent;
    private long _received;

    /// <summary>Opens the generator's socket on <paramref name="device"/> in <paramref name="ns"/>.</summary>
    /// <param name="ns">The host's namespace.</param>
    /// <param name="device">The host's interface.</param>
    /// <param name="frame">The frame sent, over and over.</param>
    /// <param name="receive">Whether to receive and count the frames addressed to the interface (the reflected ones).</param>
    /// <param name="cpu">The CPU to run on, or null for any.</param>
    public FrameGenerator(string ns, string device, byte[] frame, bool receive, int? cpu)
    {
        _pool = new NetBufPool(4 * QueueSize, 2048, new NetBufPoolOptions { Name = "bench-generator" });
        try
        {
            _driver = new AfPacketDriver(_pool, device, new AfPacketDriverOptions
            {
                NetworkNamespace = ns,
                RxQueueSize = receive ? QueueSize : 1,
                TxQueueSize = QueueSize,
                BatchSize = Batch,
            });
        }
        catch
        {
            _pool.Dispose();
            throw;
        }

        _frame = frame;
        _receive = receive;
        _cpu = cpu;
    }

    /// <summary>Frames the socket took so far (the offered load).</summary>
    public long Sent => Volatile.Read(ref _sent);

    /// <summary>Frames received with the generator's own address as destination (when receiving).</summary>
    public long Received => Volatile.Read(ref _received);

    /// <summary>The generator's socket's kernel drops (received frames lost on its full queue).</summary>
    public long SocketDrops => _driver.GetStatistics().Drops;

    /// <summary>A UDP/IPv4 frame of <paramref name="length"/> bytes (14 + 20 + 8 + payload) from <paramref name="source"/>
    /// (10.78.0.1, port 40000) to <paramref name="destination"/> (10.78.0.2, port 9, the discard port), UDP checksum 0 (none, as IPv4 allows).</summary>
    public static byte[] UdpFrame(int length, MacAddress source, MacAddress destination)
    {
        var frame = new byte[length];
        destination.WriteTo(frame);
        source.WriteTo(frame.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), 0x0800);
        Span<byte> ip = frame.AsSpan(14);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)ip.Length);
        ip[6] = 0x40; // don't fragment
        ip[8] = 64;
        ip[9] = 17;
        new Ipv4Address(10, 78, 0, 1).WriteTo(ip[12..]);
        new Ipv4Address(10, 78, 0, 2).WriteTo(ip[16..]);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], InternetChecksum.Compute(ip[..20]));
        Span<byte> udp = ip[20..];
        BinaryPrimitives.WriteUInt16BigEndian(udp, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], DiscardPort);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)udp.Length);
        for (int i = 8; i < udp.Length; i++)
        {
            udp[i] = (byte)i;
        }

        return frame;
    }

    /// <summary>An ICMP echo request of <paramref name="length"/> bytes (14 + 20 + 8 + data) from <paramref name="source"/>
    /// (10.78.0.1) to <paramref name="destination"/> (10.78.0.2), identifier <paramref name="identifier"/>, sequence 0,
    /// both checksums right: what an echo responder answers.</summary>
    public static byte[] IcmpEchoFrame(int length, MacAddress source, MacAddress destination, ushort identifier)
    {
        byte[] frame = UdpFrame(length, source, destination);
        Span<byte> ip = frame.AsSpan(14);
        ip[9] = 1;
        ip[10] = ip[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], InternetChecksum.Compute(ip[..20]));
        Span<byte> icmp = ip[20..];
        icmp[0] = (byte)IcmpV4Type.EchoRequest;
        icmp[1] = 0;
        icmp[2] = icmp[3] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(icmp[4..], identifier);
        icmp[6] = icmp[7] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], InternetChecksum.Compute(icmp));
        return frame;
    }

    /// <summary>Starts sending; stops by itself after <paramref name="limit"/> (a bound, should the caller never stop it).</summary>
    public void Start(TimeSpan limit)
    {
        long deadline = Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency);
        CancellationToken stop = _stop.Token;
        _thread = new Thread(() =>
        {
            try
            {
                if (_cpu is int cpu)
                {
                    ThreadAffinity.PinCurrentThread(cpu);
                }

                Run(deadline, stop);
            }
#pragma warning disable CA1031 // Reported by Dispose on the measuring thread.
            catch (Exception exception)
#pragma warning restore CA1031
            {
                _failure = exception;
            }
        })
        { IsBackground = true, Name = "generator" };
        _thread.Start();
    }

    /// <summary>Stops the thread (within 10 s), closes the socket; throws what the thread failed with.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        bool stopped = _thread?.Join(TimeSpan.FromSeconds(10)) ?? true;
        if (stopped)
        {
            _driver.Dispose();
            _pool.Dispose();
        }

        _stop.Dispose();
        if (!stopped)
        {
            throw new InvalidOperationException("the generator did not stop within 10 s");
        }

        if (_failure is not null)
        {
            throw new InvalidOperationException("the generator failed", _failure);
        }
    }

    private void Run(long deadline, CancellationToken stop)
    {
        if (_receive)
        {
            var posted = new NetBufPtr[QueueSize];
            if (!_pool.TryAllocBulk(posted))
            {
                throw new InvalidOperationException("the generator's pool is too small for its receive queue");
            }

            int accepted = _driver.RecycleRxBuffers(posted);
            _pool.FreeBulk(posted.AsSpan(accepted));
        }

        var batch = new NetBufPtr[Batch];
        var received = new NetBufPtr[Batch];
        MacAddress self = _driver.MacAddress;
        while (!stop.IsCancellationRequested && Stopwatch.GetTimestamp() < deadline)
        {
            _ = _driver.RecycleTxBuffers();
            if (_pool.TryAllocBulk(batch))
            {
                for (int i = 0; i < batch.Length; i++)
                {
                    NetBuf buffer = _pool.FromBufPtr(batch[i]);
                    buffer.SetPacketLength(_frame.Length);
                    _frame.CopyTo(buffer.Packet);
                    batch[i] = buffer.IntoBufPtr();
                }

                int sent = _driver.TransmitBatch(batch);
                _pool.FreeBulk(batch.AsSpan(sent));
                Volatile.Write(ref _sent, _sent + sent);
                if (sent == 0)
                {
                    _ = _driver.WaitForTransmit(TimeSpan.FromMilliseconds(1), CancellationToken.None);
                }
            }
            else
            {
                _ = _driver.WaitForTransmit(TimeSpan.FromMilliseconds(1), CancellationToken.None);
            }

            if (_receive)
            {
                int got = _driver.ReceiveBatch(received);
                long mine = 0;
                for (int i = 0; i < got; i++)
                {
                    if (received[i].Packet.Length >= 6 && MacAddress.Read(received[i].Packet) == self)
                    {
                        mine++;
                    }
                }

                int back = _driver.RecycleRxBuffers(received.AsSpan(0, got));
                _pool.FreeBulk(received.AsSpan(back, got - back));
                Volatile.Write(ref _received, _received + mine);
            }
        }
    }
}
