using System.Buffers;
using BenchmarkDotNet.Attributes;

namespace NetBufNative.Bench;

/// <summary>
/// Alloc+free pairs from 2 and 8 threads at once on one shared pool (8 oversubscribes this
/// 2-core machine). Every invocation runs <see cref="TotalPairs"/> pairs split over the threads,
/// so the reported time is per pair over all threads: with the default CPU-time clock
/// (<see cref="CpuTimeClock"/>) the summed CPU time per pair, with <c>--wall</c> the wall time,
/// whose inverse is the aggregate throughput. Threads are started once, outside the measurement.
/// </summary>
/// <remarks>
/// The whole section is measured <see cref="Rounds"/> times in one run, interleaved (round 1 of
/// every row, then round 2, ...; see <see cref="RoundsFirstOrderer"/>), so the target report can
/// give each ratio's spread over the rounds: on a shared VM one measurement of a 2-thread row
/// says little.
/// </remarks>
[MemoryDiagnoser]
public class MultiThreadBenchmarks
{
    /// <summary>Pairs per invocation, over all threads: 64 Ki amortizes the start/finish barriers.</summary>
    public const int TotalPairs = 1 << 16;

    /// <summary>How many times the section is measured in one run.</summary>
    public const int Rounds = 3;

    private WorkerGang _gang = null!;
    private NetBufPool _cached = null!;
    private Action<int> _arrayPoolWork = null!;
    private Action<int> _cachedWork = null!;
    private Action<int> _workerWork = null!;

    /// <summary>Threads running at once.</summary>
    [Params(2, 8)]
    public int Threads { get; set; }

    /// <summary>Which measurement of the section this is (1 to <see cref="Rounds"/>).</summary>
    [Params(1, 2, 3)]
    public int Round { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _gang = new WorkerGang(Threads);
        _cached = new NetBufPool(1024, SingleThreadBenchmarks.BufferLength, new NetBufPoolOptions { ThreadCacheSize = 32 });
        int perThread = TotalPairs / Threads;
        _arrayPoolWork = _ => ArrayPoolPairs(perThread);
        _cachedWork = _ => PoolPairs(_cached, perThread);
        _workerWork = _ => WorkerPairs(_cached, perThread);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _gang.Dispose();
        _cached.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = TotalPairs, Description = "ArrayPool<byte>.Shared")]
    public void ArrayPoolShared() => _gang.Run(_arrayPoolWork);

    [Benchmark(OperationsPerInvoke = TotalPairs, Description = "NetBufPool, thread cache")]
    public void NetBufPoolCached() => _gang.Run(_cachedWork);

    [Benchmark(OperationsPerInvoke = TotalPairs, Description = "NetBufWorker, thread cache")]
    public void NetBufWorkerCached() => _gang.Run(_workerWork);

    internal static void ArrayPoolPairs(int count)
    {
        ArrayPool<byte> pool = ArrayPool<byte>.Shared;
        for (int i = 0; i < count; i++)
        {
            pool.Return(pool.Rent(SingleThreadBenchmarks.BufferLength));
        }
    }

    internal static void PoolPairs(NetBufPool pool, int count)
    {
        for (int i = 0; i < count; i++)
        {
            using var buf = pool.Alloc();
        }
    }

    internal static void WorkerPairs(NetBufPool pool, int count)
    {
        // Opened once per thread and invocation, outside the loop.
        using var worker = pool.OpenWorker();
        for (int i = 0; i < count; i++)
        {
            using var buf = worker.Alloc();
        }
    }
}
