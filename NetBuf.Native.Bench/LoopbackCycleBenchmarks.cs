using BenchmarkDotNet.Attributes;
using NetBufNative.Drivers;

namespace NetBufNative.Bench;

/// <summary>
/// A frame's whole trip through a driver, with the device taken out: allocate a transmit buffer,
/// transmit it, receive it (the loopback driver delivers it to itself), re-post the receive buffer,
/// recycle the sent one. Five driver calls, each through the driver core with its checked hand-over,
/// against the cached alloc+free pair on the same pool.
/// </summary>
/// <remarks>
/// In <see cref="MultiThreadBenchmarks.Rounds"/> interleaved rounds (see <see cref="RoundsFirstOrderer"/>);
/// the goal takes the median of the per-round ratios.
/// </remarks>
[MemoryDiagnoser]
public class LoopbackCycleBenchmarks
{
    /// <summary>Cycles per invocation.</summary>
    private const int Cycles = 1024;

    /// <summary>The frame: a minimum Ethernet frame.</summary>
    private const int FrameLength = 64;

    /// <summary>Receive buffers kept posted: a typical burst.</summary>
    private const int Posted = 32;

    private NetBufPool _pool = null!;
    private LoopbackDriver _driver = null!;

    /// <summary>Which measurement of the section this is (1 to <see cref="MultiThreadBenchmarks.Rounds"/>).</summary>
    [Params(1, 2, 3)]
    public int Round { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _pool = new NetBufPool(1024, SingleThreadBenchmarks.BufferLength, new NetBufPoolOptions { DefaultHeadroom = 64, ThreadCacheSize = 32 });
        _driver = new LoopbackDriver(_pool, queueSize: 256);
        var posted = new NetBufPtr[Posted];
        _ = _pool.TryAllocBulk(posted);
        _ = _driver.RecycleRxBuffers(posted);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _driver.Dispose();
        _pool.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Cycles, Description = "pool.Alloc()+Dispose pair (same pool)")]
    public void CachedPair()
    {
        NetBufPool pool = _pool;
        for (int i = 0; i < Cycles; i++)
        {
            using var buf = pool.Alloc();
        }
    }

    [Benchmark(OperationsPerInvoke = Cycles, Description = "loopback: alloc, transmit, receive, re-post, recycle")]
    public int Cycle()
    {
        LoopbackDriver driver = _driver;
        int length = 0;
        for (int i = 0; i < Cycles; i++)
        {
            NetBufPtr frame = driver.AllocTxBuffer(FrameLength);
            _ = driver.TryTransmit(frame);
            _ = driver.TryReceive(out NetBufPtr received);
            length += received.PacketLength;
            _ = driver.TryRecycleRxBuffer(received);
            _ = driver.RecycleTxBuffers();
        }

        return length;
    }
}
