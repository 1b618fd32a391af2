using BenchmarkDotNet.Attributes;

namespace NetBufNative.Bench;

/// <summary>
/// What the diagnostic mode costs, and that it costs nothing when it is off: the pool's pair with
/// its thread cache (no diagnostic code on that path at all), the no-cache pair it replaces, and the
/// mode on without and with stack traces (every buffer poisoned on free and checked on leaving a
/// quarantine of 64, guard bytes armed and checked).
/// </summary>
[MemoryDiagnoser]
public class DiagnosticsBenchmarks
{
    /// <summary>Pairs per invocation: enough to dwarf the call overhead.</summary>
    private const int Pairs = 1024;

    private NetBufPool _cached = null!;
    private NetBufPool _plain = null!;
    private NetBufPool _diagnostics = null!;
    private NetBufPool _traced = null!;

    [GlobalSetup]
    public void Setup()
    {
        _cached = new NetBufPool(1024, 2048, new NetBufPoolOptions { ThreadCacheSize = 32 });
        _plain = new NetBufPool(1024, 2048, new NetBufPoolOptions { ThreadCacheSize = 0 });
        _diagnostics = new NetBufPool(1024, 2048, new NetBufPoolOptions { Diagnostics = new() { StackTraceSampleRate = 0 } });
        _traced = new NetBufPool(1024, 2048, new NetBufPoolOptions { Diagnostics = new() { StackTraceSampleRate = 1 } });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _cached.Dispose();
        _plain.Dispose();
        _diagnostics.Dispose();
        _traced.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Pairs, Description = "pool.Alloc() pair, thread cache (mode off)")]
    public int Cached() => Run(_cached, Pairs);

    [Benchmark(OperationsPerInvoke = Pairs, Description = "pool.Alloc() pair, no cache (mode off)")]
    public int NoCache() => Run(_plain, Pairs);

    [Benchmark(OperationsPerInvoke = Pairs, Description = "diagnostic mode: poison, quarantine, guard bytes")]
    public int Diagnostics() => Run(_diagnostics, Pairs);

    [Benchmark(OperationsPerInvoke = Pairs / 16, Description = "diagnostic mode with a stack trace per alloc and free")]
    public int Traced() => Run(_traced, Pairs / 16);

    private static int Run(NetBufPool pool, int pairs)
    {
        int sum = 0;
        for (int i = 0; i < pairs; i++)
        {
            using var buf = pool.Alloc();
            sum += buf.Headroom;
        }

        return sum;
    }
}
