using BenchmarkDotNet.Attributes;

namespace NetBufNative.Bench;

/// <summary>
/// The metadata layout's evidence: threads whose hot buffers are ADJACENT slots (thread i always
/// allocates and frees buffer i), with 64-byte slots (one cache line each, the layout shipped) and
/// 32-byte slots (two slots a line, as with the old layout's shared lines), and 128-byte slots.
/// The worker pair, the path with the least else to do; time per pair over all threads, on
/// one shared pool, as in <see cref="MultiThreadBenchmarks"/>; measured in 3 interleaved rounds.
/// </summary>
/// <remarks>
/// How the adjacency is forced, and checked in <see cref="Setup"/>: on a fresh pool the main
/// thread allocates boxes of buffers 0, 1, ... (its first refill puts the list's top, buffer 0, on
/// its cache's top); each box moves to its gang thread, which disposes it there, so that buffer is
/// the only one in that thread's cache; every pair then pops and pushes that same buffer. Each
/// thread then allocates once and the setup checks it got its own index back.
/// </remarks>
[MemoryDiagnoser]
public class SlotLayoutBenchmarks
{
    private WorkerGang _gang = null!;
    private NetBufPool _pool = null!;
    private Action<int> _workerWork = null!;

    /// <summary>Threads running at once; thread i's hot buffer is buffer i.</summary>
    [Params(2, 8)]
    public int Threads { get; set; }

    /// <summary>Bytes of metadata per buffer: 64 (one line each), 32 (two slots share a line), or
    /// 128 (a line and an empty one: neighbours never in one 128-byte pair of lines, which an
    /// adjacent-line prefetcher fetches together).</summary>
    [Params(32, 64, 128)]
    public int SlotStride { get; set; }

    /// <summary>Which measurement this is: the section runs round by round (see <see cref="RoundsFirstOrderer"/>).</summary>
    [Params(1, 2, 3)]
    public int Round { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _gang = new WorkerGang(Threads);
        _pool = new NetBufPool(
            1024,
            SingleThreadBenchmarks.BufferLength,
            new NetBufPoolOptions { ThreadCacheSize = 32, SlotStride = SlotStride });

        var boxes = new NetBufBox[Threads];
        for (int i = 0; i < Threads; i++)
        {
            boxes[i] = _pool.AllocBoxed();
            if (boxes[i].Index != i)
            {
                throw new InvalidOperationException($"Expected buffer {i} on the main thread, got {boxes[i].Index}.");
            }
        }

        // Each thread frees its box first: that buffer becomes the top (and only entry) of its cache.
        _gang.Run(id => boxes[id].Dispose());
        var hot = new int[Threads];
        _gang.Run(id =>
        {
            using var buf = _pool.Alloc();
            hot[id] = buf.BufferIndex;
        });
        for (int i = 0; i < Threads; i++)
        {
            if (hot[i] != i)
            {
                throw new InvalidOperationException($"Thread {i}'s hot buffer is {hot[i]}, not {i}: the layout is not forced.");
            }
        }

        if (Round == 1)
        {
            ReportSharedCacheLines();
        }

        int perThread = MultiThreadBenchmarks.TotalPairs / Threads;
        _workerWork = _ => MultiThreadBenchmarks.WorkerPairs(_pool, perThread);
    }

    /// <summary>
    /// Checks the other half of "threads touch no line another thread writes": the thread caches
    /// themselves. Every pair writes its cache's Active/Count/Allocations fields and the magazine's
    /// top; after a compacting collection (the engine collects between iterations) caches made by
    /// different threads may lie side by side. Prints which threads' hot cache lines coincide.
    /// </summary>
    private unsafe void ReportSharedCacheLines()
    {
        var caches = new Internal.ThreadCache[Threads];
        _gang.Run(id => caches[id] = _pool.CurrentCache());
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        var lines = new HashSet<nint>[Threads];
        for (int i = 0; i < Threads; i++)
        {
            lines[i] = [];
            Internal.ThreadCache cache = caches[i];
            fixed (int* active = &cache.Active)
            fixed (int* count = &cache.Count)
            fixed (long* allocations = &cache.Allocations)
            fixed (int* items = cache.Items)
            {
                foreach (nint address in new[] { (nint)active, (nint)count, (nint)allocations, (nint)items, (nint)(items + 1) })
                {
                    lines[i].Add(address >> 6);
                }
            }
        }

        var shared = new List<string>();
        for (int i = 0; i < Threads; i++)
        {
            for (int j = i + 1; j < Threads; j++)
            {
                if (lines[i].Overlaps(lines[j]))
                {
                    shared.Add($"{i}-{j}");
                }
            }
        }

        Console.WriteLine(
            $"// SlotLayout {Threads} threads, {SlotStride}-byte slots: hot buffers 0..{Threads - 1} verified; after a compacting GC, " +
            (shared.Count == 0 ? "no two threads' hot cache fields share a line." : $"threads {string.Join(", ", shared)} share a cache line of their thread caches' hot fields."));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _gang.Dispose();
        _pool.Dispose();
    }

    [Benchmark(OperationsPerInvoke = MultiThreadBenchmarks.TotalPairs, Description = "NetBufWorker, adjacent hot slots")]
    public void WorkerPairs() => _gang.Run(_workerWork);

}
