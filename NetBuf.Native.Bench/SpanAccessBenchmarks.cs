using BenchmarkDotNet.Attributes;

namespace NetBufNative.Bench;

/// <summary>
/// The price of the ownership check on every view: reading a packet through a checked
/// <see cref="NetBuf"/> against building the same span from a raw pointer with no checks.
/// </summary>
[MemoryDiagnoser]
public unsafe class SpanAccessBenchmarks
{
    /// <summary>Accesses per invocation, so that the per-access cost is visible.</summary>
    private const int Accesses = 1024;

    private NetBufPool _pool = null!;
    private NetBufBox _box;
    private byte* _raw;
    private int _offset;
    private int _length;

    [GlobalSetup]
    public void Setup()
    {
        _pool = new NetBufPool(4, 2048);
        var buf = _pool.Alloc();
        buf.SetHeaderLength(14);
        buf.SetPacketLength(64);
        buf.Packet.Fill(1);
        var ptr = buf.IntoBufPtr();
        _raw = (byte*)ptr.BufferAddress;
        _offset = 14;
        _length = 64;
        _box = _pool.FromBufPtr(ptr).IntoBox();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _box.Dispose();
        _pool.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Accesses, Description = "raw pointer span (no checks)")]
    public int RawSpan()
    {
        int sum = 0;
        for (int i = 0; i < Accesses; i++)
        {
            var span = new Span<byte>(_raw + _offset, _length);
            sum += span[0] + span.Length;
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Accesses, Description = "NetBuf.Packet (checked)")]
    public int CheckedPacket()
    {
        var buf = _box.AsNetBuf();
        int sum = 0;
        for (int i = 0; i < Accesses; i++)
        {
            var span = buf.Packet;
            sum += span[0] + span.Length;
        }

        return sum;
    }
}
