using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace NetBufNative.Bench;

/// <summary>
/// The tail under oversubscription: 8 threads on this 2-core machine (and 2 for comparison) run
/// bursts of 16 alloc+free pairs on one shared pool; each burst is timed, and the percentiles of
/// time per pair within a burst are printed. A preempted thread shows up as a slow burst, which
/// is the point: the pool must not turn preemption into unbounded waits (it has no locks).
/// </summary>
internal static class BurstLatency
{
    private const int PairsPerBurst = 16;
    private const int BurstsPerThread = 20_000;

    public static void Print()
    {
        Console.WriteLine();
        Console.WriteLine("// Burst latency: wall time per pair within a burst of 16 pairs, over all threads' bursts");
        var table = new TextTable("Pool", ">Threads", ">p50", ">p99", ">p99.9", ">max");
        foreach (int threads in new[] { 2, 8 })
        {
            using var cached = new NetBufPool(1024, SingleThreadBenchmarks.BufferLength, new NetBufPoolOptions { ThreadCacheSize = 32 });
            table.Add(Row("NetBufPool, thread cache", threads, () => NetBufBurst(cached)));
            using var uncached = new NetBufPool(1024, SingleThreadBenchmarks.BufferLength, new NetBufPoolOptions { ThreadCacheSize = 0 });
            table.Add(Row("NetBufPool, no cache", threads, () => NetBufBurst(uncached)));
            table.Add(Row("ArrayPool<byte>.Shared", threads, ArrayPoolBurst));
        }

        table.Print(Console.Out);
    }

    // Fully optimized from the first call: the measurement must not catch the JIT's first tier.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void NetBufBurst(NetBufPool pool)
    {
        for (int i = 0; i < PairsPerBurst; i++)
        {
            using var buf = pool.Alloc();
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ArrayPoolBurst()
    {
        ArrayPool<byte> pool = ArrayPool<byte>.Shared;
        for (int i = 0; i < PairsPerBurst; i++)
        {
            pool.Return(pool.Rent(SingleThreadBenchmarks.BufferLength));
        }
    }

    private static string[] Row(string name, int threads, Action burst)
    {
        var samples = new long[threads][];
        using var start = new Barrier(threads);
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            var mine = new long[BurstsPerThread];
            for (int w = 0; w < 10_000; w++)
            {
                burst();
            }

            start.SignalAndWait();
            for (int i = 0; i < mine.Length; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                burst();
                mine[i] = Stopwatch.GetTimestamp() - t0;
            }

            samples[t] = mine;
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());

        long[] all = [.. samples.SelectMany(s => s)];
        Array.Sort(all);
        string At(double quantile)
        {
            long ticks = all[Math.Min(all.Length - 1, (int)(quantile * all.Length))];
            double nsPerPair = ticks * 1e9 / Stopwatch.Frequency / PairsPerBurst;
            return nsPerPair.ToString(nsPerPair < 100 ? "0.0" : "0", CultureInfo.InvariantCulture) + " ns";
        }

        return [name, threads.ToString(CultureInfo.InvariantCulture), At(0.5), At(0.99), At(0.999), At(1.0)];
    }
}
