using BenchmarkDotNet.Attributes;

namespace NetBufNative.Bench;

/// <summary>
/// A driver ring's refill and completion: 32 buffers allocated and freed in one call each,
/// against 32 single alloc+free pairs. Times are per buffer.
/// </summary>
[MemoryDiagnoser]
public class BulkBenchmarks
{
    /// <summary>A typical NIC burst (DPDK's default burst size).</summary>
    public const int Burst = 32;

    /// <summary>Bursts per invocation.</summary>
    private const int Rounds = 32;

    private NetBufPool _pool = null!;
    private NetBufPtr[] _ring = null!;
    private NetBufBox[] _boxes = null!;

    [GlobalSetup]
    public void Setup()
    {
        _pool = new NetBufPool(1024, SingleThreadBenchmarks.BufferLength, new NetBufPoolOptions { ThreadCacheSize = 64 });
        _ring = new NetBufPtr[Burst];
        _boxes = new NetBufBox[Burst];
    }

    [GlobalCleanup]
    public void Cleanup() => _pool.Dispose();

    [Benchmark(Baseline = true, OperationsPerInvoke = Burst * Rounds, Description = "single Alloc+Dispose, per buffer")]
    public void SinglePairs()
    {
        NetBufPool pool = _pool;
        for (int i = 0; i < Burst * Rounds; i++)
        {
            using var buf = pool.Alloc();
        }
    }

    [Benchmark(OperationsPerInvoke = Burst * Rounds, Description = "TryAllocBulk+FreeBulk of 32 NetBufPtr, per buffer")]
    public void BulkPointers()
    {
        NetBufPool pool = _pool;
        NetBufPtr[] ring = _ring;
        for (int i = 0; i < Rounds; i++)
        {
            pool.TryAllocBulk(ring);
            pool.FreeBulk(ring);
        }
    }

    [Benchmark(OperationsPerInvoke = Burst * Rounds, Description = "TryAllocBulk+FreeBulk of 32 NetBufBox, per buffer")]
    public void BulkBoxes()
    {
        NetBufPool pool = _pool;
        NetBufBox[] boxes = _boxes;
        for (int i = 0; i < Rounds; i++)
        {
            pool.TryAllocBulk(boxes);
            pool.FreeBulk(boxes);
        }
    }
}
