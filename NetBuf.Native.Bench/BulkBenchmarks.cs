using BenchmarkDotNet.Attributes;

namespace NetBufNative.Bench;

/// <summary>
/// A driver ring's refill and completion: 32 buffers allocated and freed in one call each, against
/// single alloc+free pairs of the same handle. Times are per buffer; every row works the same pool.
/// </summary>
/// <remarks>
/// The thread cache holds 64, so a whole burst fits in it (a burst of 32 from a cache of 32 would
/// need the cache to be full, which the single pairs' half-batch refills do not leave it).
/// </remarks>
[MemoryDiagnoser]
public class BulkBenchmarks
{
    /// <summary>A typical NIC burst (DPDK's default burst size, and <see cref="NetBufBatch.MaxCount"/>).</summary>
    public const int Burst = NetBufBatch.MaxCount;

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

    [Benchmark(Baseline = true, OperationsPerInvoke = Burst * Rounds, Description = "pool.Alloc()+Dispose pair, per buffer")]
    public void SinglePairs()
    {
        NetBufPool pool = _pool;
        for (int i = 0; i < Burst * Rounds; i++)
        {
            using var buf = pool.Alloc();
        }
    }

    [Benchmark(OperationsPerInvoke = Burst * Rounds, Description = "worker.AllocBatch(32)+Dispose, per buffer")]
    public void WorkerBatch()
    {
        using var worker = _pool.OpenWorker();
        for (int i = 0; i < Rounds; i++)
        {
            using var batch = worker.AllocBatch(Burst);
        }
    }

    [Benchmark(OperationsPerInvoke = Burst * Rounds, Description = "NetBufPtr: AllocBoxed().IntoBufPtr()+FromBufPtr().Dispose(), per buffer")]
    public void PointerPairs()
    {
        NetBufPool pool = _pool;
        for (int i = 0; i < Burst * Rounds; i++)
        {
            NetBufPtr pointer = pool.AllocBoxed().IntoBufPtr();
            pool.FromBufPtr(pointer).Dispose();
        }
    }

    [Benchmark(OperationsPerInvoke = Burst * Rounds, Description = "NetBufPtr: TryAllocBulk+FreeBulk of 32, per buffer")]
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

    [Benchmark(OperationsPerInvoke = Burst * Rounds, Description = "NetBufBox: AllocBoxed()+Dispose, per buffer")]
    public void BoxPairs()
    {
        NetBufPool pool = _pool;
        for (int i = 0; i < Burst * Rounds; i++)
        {
            pool.AllocBoxed().Dispose();
        }
    }

    [Benchmark(OperationsPerInvoke = Burst * Rounds, Description = "NetBufBox: TryAllocBulk+FreeBulk of 32, per buffer")]
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
