using BenchmarkDotNet.Attributes;

namespace NetBufNative.Bench;

/// <summary>
/// The shared-list paths under contention, from 2 and 8 threads on one pool: no thread cache
/// (every pair is two CAS on the shared head) and the lock-guarded list. Time per pair over
/// all threads, as in <see cref="MultiThreadBenchmarks"/>.
/// </summary>
[MemoryDiagnoser]
public class ContentionBenchmarks
{
    private WorkerGang _gang = null!;
    private NetBufPool _uncached = null!;
    private LockedFreeList _locked = null!;
    private Action<int> _uncachedWork = null!;
    private Action<int> _lockedWork = null!;

    /// <summary>Threads running at once.</summary>
    [Params(2, 8)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _gang = new WorkerGang(Threads);
        _uncached = new NetBufPool(1024, SingleThreadBenchmarks.BufferLength, new NetBufPoolOptions { ThreadCacheSize = 0 });
        _locked = new LockedFreeList(1024);
        int perThread = MultiThreadBenchmarks.TotalPairs / Threads;
        _uncachedWork = _ => MultiThreadBenchmarks.PoolPairs(_uncached, perThread);
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
        _uncached.Dispose();
    }

    [Benchmark(OperationsPerInvoke = MultiThreadBenchmarks.TotalPairs, Description = "NetBufPool, no cache")]
    public void NetBufPoolUncached() => _gang.Run(_uncachedWork);

    [Benchmark(OperationsPerInvoke = MultiThreadBenchmarks.TotalPairs, Description = "lock-guarded free list (ArceOS design)")]
    public void LockedFreeListPair() => _gang.Run(_lockedWork);
}
