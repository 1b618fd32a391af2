using System.Buffers;
using BenchmarkDotNet.Attributes;

namespace NetBufNative.Bench;

/// <summary>
/// Alloc+free pairs from 2 and 8 threads at once on one shared pool (8 oversubscribes this
/// 2-core machine). Every invocation runs <see cref="TotalPairs"/> pairs split over the threads,
/// so the reported time is wall time per pair over all threads: its inverse is the aggregate
/// throughput. Threads are started once, outside the measurement.
/// </summary>
[MemoryDiagnoser]
public class MultiThreadBenchmarks
{
    /// <summary>Pairs per invocation, over all threads: 64 Ki amortizes the start/finish barriers.</summary>
    public const int TotalPairs = 1 << 16;

    private WorkerGang _gang = null!;
    private NetBufPool _cached = null!;
    private NetBufPool _uncached = null!;
    private LockedFreeList _locked = null!;
    private Action<int> _arrayPoolWork = null!;
    private Action<int> _cachedWork = null!;
    private Action<int> _uncachedWork = null!;
    private Action<int> _lockedWork = null!;

    /// <summary>Threads running at once.</summary>
    [Params(2, 8)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _gang = new WorkerGang(Threads);
        _cached = new NetBufPool(1024, SingleThreadBenchmarks.BufferLength, new NetBufPoolOptions { ThreadCacheSize = 32 });
        _uncached = new NetBufPool(1024, SingleThreadBenchmarks.BufferLength, new NetBufPoolOptions { ThreadCacheSize = 0 });
        _locked = new LockedFreeList(1024);
        int perThread = TotalPairs / Threads;
        _arrayPoolWork = _ =>
        {
            ArrayPool<byte> pool = ArrayPool<byte>.Shared;
            for (int i = 0; i < perThread; i++)
            {
                pool.Return(pool.Rent(SingleThreadBenchmarks.BufferLength));
            }
        };
        _cachedWork = _ => Pairs(_cached, perThread);
        _uncachedWork = _ => Pairs(_uncached, perThread);
        _lockedWork = _ =>
        {
            for (int i = 0; i < perThread; i++)
            {
                _locked.Free(_locked.Alloc());
            }
        };
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _gang.Dispose();
        _cached.Dispose();
        _uncached.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = TotalPairs, Description = "ArrayPool<byte>.Shared")]
    public void ArrayPoolShared() => _gang.Run(_arrayPoolWork);

    [Benchmark(OperationsPerInvoke = TotalPairs, Description = "NetBufPool, thread cache")]
    public void NetBufPoolCached() => _gang.Run(_cachedWork);

    [Benchmark(OperationsPerInvoke = TotalPairs, Description = "NetBufPool, no cache")]
    public void NetBufPoolUncached() => _gang.Run(_uncachedWork);

    [Benchmark(OperationsPerInvoke = TotalPairs, Description = "lock-guarded free list (ArceOS design)")]
    public void LockedFreeListPair() => _gang.Run(_lockedWork);

    private static void Pairs(NetBufPool pool, int count)
    {
        for (int i = 0; i < count; i++)
        {
            using var buf = pool.Alloc();
        }
    }
}
