using System.Buffers;
using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using NetBufNative.Wire;

namespace NetBufNative.Bench;

/// <summary>
/// One packet's life in a forwarding loop: allocate, write a 64-byte frame (50 bytes of payload,
/// then a 14-byte Ethernet header pushed into the headroom), hand it to "driver code" as a pointer
/// and take it back, read it, free it. The ArrayPool row does the same work on a rented array; the hand-over
/// row adds what every driver call adds per frame (the pool's checked hand-over, to the driver and back).
/// </summary>
[MemoryDiagnoser]
public class PacketCycleBenchmarks
{
    private const int Packets = 256;
    private const int Headroom = 64;
    private const int PayloadLength = 50;
    private const int EthernetHeaderLength = EthernetFrame.UntaggedHeaderLength;

    private NetBufPool _pool = null!;

    [GlobalSetup]
    public void Setup() =>
        _pool = new NetBufPool(1024, SingleThreadBenchmarks.BufferLength, new NetBufPoolOptions { DefaultHeadroom = Headroom, ThreadCacheSize = 32 });

    [GlobalCleanup]
    public void Cleanup() => _pool.Dispose();

    [Benchmark(Baseline = true, OperationsPerInvoke = Packets, Description = "ArrayPool<byte>.Shared array, same frame")]
    public int ArrayPoolCycle()
    {
        int sum = 0;
        ArrayPool<byte> pool = ArrayPool<byte>.Shared;
        for (int i = 0; i < Packets; i++)
        {
            byte[] array = pool.Rent(SingleThreadBenchmarks.BufferLength);
            Span<byte> frame = array.AsSpan(Headroom - EthernetHeaderLength, EthernetHeaderLength + PayloadLength);
            frame[EthernetHeaderLength..].Fill((byte)i);
            WriteEthernetHeader(frame[..EthernetHeaderLength]);
            sum += ReadFrame(frame);
            pool.Return(array);
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Packets, Description = "NetBuf: alloc, append, prepend, to pointer and back, read, free")]
    public int NetBufCycle()
    {
        int sum = 0;
        NetBufPool pool = _pool;
        for (int i = 0; i < Packets; i++)
        {
            var buf = pool.Alloc();
            buf.Append(PayloadLength).Fill((byte)i);
            WriteEthernetHeader(buf.Prepend(EthernetHeaderLength));
            NetBufPtr ptr = buf.IntoBufPtr();
            using var back = pool.FromBufPtr(ptr);
            sum += ReadFrame(back.PacketWithHeader);
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Packets, Description = "NetBuf, plus a driver's checked hand-over both ways")]
    public int NetBufCycleWithHandOver()
    {
        // What a driver adds per frame: the pool re-lends the buffer when the driver takes it and again when it
        // gives it back (one compare-and-swap each), so a copy the other side kept goes stale.
        int sum = 0;
        NetBufPool pool = _pool;
        for (int i = 0; i < Packets; i++)
        {
            var buf = pool.Alloc();
            buf.Append(PayloadLength).Fill((byte)i);
            WriteEthernetHeader(buf.Prepend(EthernetHeaderLength));
            NetBufPtr ptr = buf.IntoBufPtr();
            NetBufPtr driverOwned = pool.HandOver(ptr);
            NetBufPtr returned = pool.HandOver(driverOwned);
            using var back = pool.FromBufPtr(returned);
            sum += ReadFrame(back.PacketWithHeader);
        }

        return sum;
    }

    private static void WriteEthernetHeader(Span<byte> header)
    {
        header[..12].Fill(0xFF);
        BinaryPrimitives.WriteUInt16BigEndian(header[12..], 0x0800);
    }

    private static int ReadFrame(ReadOnlySpan<byte> frame) =>
        BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) + frame[^1] + frame.Length;
}
